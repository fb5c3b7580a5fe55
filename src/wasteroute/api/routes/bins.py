"""Dispatchers: the city's bins with their current fill as GeoJSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from wasteroute.api.deps import Caller, SessionDep, require
from wasteroute.api.schemas import Fraction
from wasteroute.storage.cities import CityRepository

router = APIRouter(prefix="/api/v1/bins", tags=["dispatcher"])


@router.get("")
def bins_geojson(session: SessionDep, fraction: Fraction | None = None,
                 caller: Caller = require("dispatcher", "admin")) -> dict[str, Any]:
    features = []
    for b, t, s in CityRepository(session).bins_with_state(caller.city_id, fraction):
        features.append({
            "type": "Feature",
            "id": b.id,
            "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
            "properties": {
                "external_id": b.external_id, "fraction": b.fraction, "container_type": t.code,
                "volume_l": t.volume_l, "fill_level": s.fill_level if s else None,
                "measured_at": s.measured_at.isoformat() if s else None,
                "battery_pct": s.battery_pct if s else None,
            },
        })
    return {"type": "FeatureCollection", "features": features}
