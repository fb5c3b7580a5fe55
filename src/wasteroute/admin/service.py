"""Import a city seed document (the simulator's output, or a city's own inventory)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from wasteroute.admin.schedules import store_schedule
from wasteroute.admin.schemas import BinFeature, CitySeedDocument
from wasteroute.storage.cities import CityRepository


@dataclass(frozen=True)
class ImportSummary:
    city_id: int
    slug: str
    container_types: int
    depots: int
    facilities: int
    vehicles: int
    bins: int
    sensors: int
    schedules: int = 0


def upsert_bin_features(
    repo: CityRepository, city_id: int, type_ids: dict[str, int], features: Sequence[BinFeature]
) -> tuple[dict[str, int], int]:
    """Create or update the bins of ``features`` and their sensors; returns external id -> bin id and
    the number of sensors written. ``type_ids`` maps container type codes to their ids."""
    rows = []
    for f in features:
        p = f.properties
        start, end = p.window()
        rows.append(
            {
                "city_id": city_id,
                "external_id": p.external_id,
                "site_id": p.site_id,
                "address": p.address,
                "lon": f.geometry.coordinates[0],
                "lat": f.geometry.coordinates[1],
                "fraction": p.fraction,
                "container_type_id": type_ids[p.container_type],
                "access_class": p.access_class,
                "collection_start": start,
                "collection_end": end,
            }
        )
    bins = repo.upsert_bins(rows)
    sensors = [
        {"city_id": city_id, "bin_id": bins[f.properties.external_id], **f.properties.sensor.model_dump()}
        for f in features
        if f.properties.sensor is not None
    ]
    return bins, repo.upsert_sensors(sensors)


def import_city_seed(session: Session, doc: CitySeedDocument) -> ImportSummary:
    """Create or update everything in ``doc`` inside the caller's transaction (idempotent)."""
    repo = CityRepository(session)
    c = doc.city
    city_id = repo.upsert_city(
        {
            "slug": c.slug,
            "name": c.name,
            "timezone": c.timezone,
            "center_lon": c.center[0],
            "center_lat": c.center[1],
            "fill_threshold": c.fill_threshold,
            "holiday_region": c.holiday_region,
        }
    )
    types = repo.upsert_container_types([{"city_id": city_id, **t.model_dump()} for t in doc.container_types])
    depots = repo.upsert_depots([{"city_id": city_id, **d.model_dump()} for d in doc.depots])
    facilities = repo.upsert_facilities([{"city_id": city_id, **f.model_dump()} for f in doc.facilities])
    vehicles = repo.upsert_vehicles(
        [
            {"city_id": city_id, "depot_id": depots[v.depot], **v.model_dump(exclude={"depot"})}
            for v in doc.vehicles
        ]
    )
    bins, sensors = upsert_bin_features(repo, city_id, types, doc.bins.features)
    for schedule in doc.schedules:
        store_schedule(session, city_id, schedule.fraction.value, schedule)
    return ImportSummary(
        city_id,
        c.slug,
        len(types),
        len(depots),
        len(facilities),
        len(vehicles),
        len(bins),
        sensors,
        len(doc.schedules),
    )
