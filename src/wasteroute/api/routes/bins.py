"""Dispatchers: the city's bins with current fill, forecast and sensor health as GeoJSON, and alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wasteroute.api.deps import Caller, NowDep, PageDep, SessionDep, require
from wasteroute.api.errors import AUTH_ERRORS, NOT_FOUND
from wasteroute.api.forecasts import (
    HORIZON_H,
    STALE_AFTER_H,
    cheap_state,
    needs_forecast,
    outlooks,
    state_of,
)
from wasteroute.api.schemas.bins import AlertList, AlertRead, BinMap, BinMapFeature, BinMapProperties
from wasteroute.api.schemas.common import PointGeometry
from wasteroute.errors import NotFound
from wasteroute.storage.alerts import AlertRepository
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.dispatch import DispatchRepository, MapBin
from wasteroute.storage.models import City
from wasteroute.vocabulary import AlertKind, BinState, Fraction, Role

router = APIRouter(prefix="/api/v1", tags=["dispatcher"])
DISPATCH = require(Role.DISPATCHER, Role.ADMIN)


def _city(session: SessionDep, caller: Caller) -> City:
    city = CityRepository(session).get(caller.city_id)
    if city is None:
        raise NotFound("your city no longer exists")
    return city


def _feature(b: MapBin, props: dict[str, Any]) -> BinMapFeature:
    return BinMapFeature(
        type="Feature",
        id=b.id,
        geometry=PointGeometry(type="Point", coordinates=[b.lon, b.lat]),
        properties=BinMapProperties(
            external_id=b.external_id,
            fraction=b.fraction,
            container_type=b.container_type,
            volume_l=b.volume_l,
            site_id=b.site_id,
            device_id=b.device_id,
            fill_level=b.fill_level,
            measured_at=b.measured_at,
            battery_pct=b.battery_pct,
            last_emptied_at=b.last_emptied_at,
            alerts=list(b.alerts),
            **props,
        ),
    )


@router.get(
    "/bins",
    response_model=BinMap,
    responses=AUTH_ERRORS,
    summary="Bins with current fill, 24 h forecast and sensor health (GeoJSON)",
)
def bins_geojson(
    session: SessionDep,
    page: PageDep,
    now: NowDep,
    fraction: Fraction | None = None,
    state: Annotated[
        BinState | None,
        Query(
            description=(
                "alert: open fire/tilt/battery alert; stale: no reading for 36 h; must_go_soon: at "
                "least half the threshold now and at the threshold within 24 h; ok: the rest"
            ),
        ),
    ] = None,
    caller: Caller = DISPATCH,
) -> BinMap:
    """Forecasts come from each bin's latest readings; they are computed for the returned page only
    (and, with ``state`` must_go_soon or ok, for the bins that could be must-go)."""
    city = _city(session, caller)
    bins = DispatchRepository(session).bins(caller.city_id, fraction)
    threshold = float(city.fill_threshold)
    if state is not None:
        if state in ("alert", "stale"):
            bins = [b for b in bins if cheap_state(b, now) == state]
        else:
            open_ = [b for b in bins if cheap_state(b, now) is None]
            candidates = [b for b in open_ if needs_forecast(b, threshold)]
            looks = outlooks(session, caller.city_id, candidates, now, threshold)
            bins = [b for b in open_ if state_of(b, looks.get(b.id), now, threshold) == state]
    total = len(bins)
    chosen = bins[page.offset : page.offset + page.limit]
    looks = outlooks(session, caller.city_id, chosen, now, threshold)
    features = []
    for b in chosen:
        o = looks[b.id]
        features.append(
            _feature(
                b,
                {
                    "forecast_fill_24h": o.fill_in_horizon,
                    "hours_to_threshold": o.hours_to_threshold,
                    "sensor_health": list(o.health),
                    "state": state_of(b, o, now, threshold),
                },
            )
        )
    return BinMap(
        type="FeatureCollection", features=features, total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/bins/{bin_id}",
    response_model=BinMapFeature,
    responses={**AUTH_ERRORS, **NOT_FOUND},
    summary="One bin with current fill, forecast and sensor health (GeoJSON Feature)",
)
def bin_feature(bin_id: int, session: SessionDep, now: NowDep, caller: Caller = DISPATCH) -> BinMapFeature:
    city = _city(session, caller)
    found = [b for b in DispatchRepository(session).bins(caller.city_id, None) if b.id == bin_id]
    if not found:
        raise NotFound(f"bin {bin_id} not found")
    b = found[0]
    o = outlooks(session, caller.city_id, [b], now, float(city.fill_threshold))[b.id]
    return _feature(
        b,
        {
            "forecast_fill_24h": o.fill_in_horizon,
            "hours_to_threshold": o.hours_to_threshold,
            "sensor_health": list(o.health),
            "state": state_of(b, o, now, float(city.fill_threshold)),
        },
    )


STORED_CODES = {"fire": "temperature", "tilt": "tilt", "battery": "battery_low"}
"""The ``code`` of a stored alert's ``detail``, by kind."""


def _stored_alerts(repo: AlertRepository, city_id: int) -> list[AlertRead]:
    """The city's open alerts as stored (fire, tilt, battery)."""
    return [
        AlertRead(
            id=a.id,
            kind=AlertKind(a.kind),
            source="stored",
            bin_id=a.bin_id,
            bin_external_id=a.bin_external_id,
            sensor_id=a.sensor_id,
            raised_at=a.raised_at,
            detail=a.detail,
            code=STORED_CODES.get(a.kind, a.kind),
            params=dict(a.params or {}),
            lon=a.lon,
            lat=a.lat,
        )
        for a in repo.open_alerts(city_id)
    ]


@router.get(
    "/alerts",
    response_model=AlertList,
    responses=AUTH_ERRORS,
    summary="Open alerts: fire, tilt, battery (stored) and stale sensors, overflow forecasts (computed)",
)
def alerts(session: SessionDep, page: PageDep, now: NowDep, caller: Caller = DISPATCH) -> AlertList:
    city = _city(session, caller)
    repo = AlertRepository(session)
    items = _stored_alerts(repo, caller.city_id)
    for s in repo.stale_sensors(caller.city_id, now - timedelta(hours=STALE_AFTER_H)):
        detail = (
            f"sensor {s.device_id}: no reading since {s.last_reading_at.isoformat()}"
            if s.last_reading_at
            else f"sensor {s.device_id}: no reading yet"
        )
        items.append(
            AlertRead(
                id=None,
                kind=AlertKind.STALE,
                source="computed",
                bin_id=s.bin_id,
                bin_external_id=s.bin_external_id,
                sensor_id=s.sensor_id,
                raised_at=s.last_reading_at,
                detail=detail,
                code="no_reading_since" if s.last_reading_at else "no_reading_yet",
                params={
                    "device_id": s.device_id,
                    **({"since": s.last_reading_at.isoformat()} if s.last_reading_at else {}),
                },
                lon=s.lon,
                lat=s.lat,
            )
        )
    threshold = float(city.fill_threshold)
    candidates = [
        b
        for b in DispatchRepository(session).bins(caller.city_id, None)
        if cheap_state(b, now) is None and b.fill_level is not None and b.fill_level >= 0.5
    ]
    looks = outlooks(session, caller.city_id, candidates, now, threshold)
    for b in candidates:
        o = looks[b.id]
        if o.fill_in_horizon is not None and o.fill_in_horizon >= 1.0:
            items.append(
                AlertRead(
                    id=None,
                    kind=AlertKind.OVERFLOW_FORECAST,
                    source="computed",
                    bin_id=b.id,
                    bin_external_id=b.external_id,
                    sensor_id=None,
                    raised_at=None,
                    detail=f"expected {o.fill_in_horizon:.0%} full within {HORIZON_H:.0f} h",
                    code="overflow_expected",
                    params={"fill_pct": round(100 * o.fill_in_horizon), "hours": round(HORIZON_H)},
                    lon=b.lon,
                    lat=b.lat,
                )
            )
    return AlertList(
        items=items[page.offset : page.offset + page.limit],
        total=len(items),
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/alerts/{alert_id}/clear",
    response_model=AlertList,
    responses={**AUTH_ERRORS, **NOT_FOUND},
    summary="Close a stored alert (after the fire brigade or the crew dealt with it)",
)
def clear_alert(alert_id: int, session: SessionDep, now: NowDep, caller: Caller = DISPATCH) -> AlertList:
    if not AlertRepository(session).clear(alert_id, caller.city_id, now):
        raise NotFound(f"alert {alert_id} not found")
    items = _stored_alerts(AlertRepository(session), caller.city_id)
    return AlertList(items=items, total=len(items), limit=len(items), offset=0)
