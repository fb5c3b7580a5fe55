"""Reads of stored routes for drivers and dispatchers: a vehicle's tour of a day, stops with their bin,
container type and facility. The driver's tour is built as JSON by PostgreSQL in one statement
(the tablet's hot path: one round trip, no per-stop Python objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session

from wasteroute.config import normalise_database_url

_UTC = """to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""

_TOUR_ROUTE = """
SELECT r.id FROM route r JOIN plan p ON p.id = r.plan_id
WHERE r.vehicle_id = :vehicle AND r.city_id = :city AND p.service_date = :day AND p.status = 'done'
ORDER BY p.finished_at DESC NULLS LAST, p.id DESC LIMIT 1
"""

_TOUR_BODY = f"""
SELECT json_build_object(
    'route_id', rt.id, 'plan_id', rt.plan_id, 'service_date', p.service_date, 'fraction', p.fraction,
    'vehicle_id', v.id, 'vehicle_external_id', v.external_id, 'vehicle_name', v.name,
    'vehicle_access_class', v.access_class,
    'distance_km', round(rt.distance_m / 1000.0, 3), 'duration_h', round(rt.duration_s / 3600.0, 3),
    'start_at', {_UTC.format(col="rt.start_at")}, 'end_at', {_UTC.format(col="rt.end_at")},
    'stops', (
        SELECT coalesce(json_agg(json_build_object(
            'id', s.id, 'seq', s.seq, 'kind', s.kind, 'lon', s.lon, 'lat', s.lat,
            'eta', {_UTC.format(col="s.eta")}, 'departure', {_UTC.format(col="s.departure")},
            'status', s.status, 'bin_id', s.bin_id, 'bin_external_id', b.external_id, 'address', b.address,
            'container_type', t.code, 'facility_id', s.facility_id, 'facility_name', f.name,
            'load_volume_l', s.load_volume_l, 'load_mass_kg', s.load_mass_kg
        ) ORDER BY s.seq), '[]'::json)
        FROM route_stop s
        LEFT JOIN bin b ON b.id = s.bin_id
        LEFT JOIN container_type t ON t.id = b.container_type_id
        LEFT JOIN disposal_facility f ON f.id = s.facility_id
        WHERE s.route_id = rt.id
    )
)::text
FROM r JOIN route rt ON rt.id = r.id JOIN plan p ON p.id = rt.plan_id JOIN vehicle v ON v.id = rt.vehicle_id
"""
_TOUR_JSON = f"WITH r AS ({_TOUR_ROUTE}) {_TOUR_BODY}"
_ROUTE_JSON = f"WITH r AS (SELECT :route AS id) {_TOUR_BODY}"

_TOUR_ACCESS = """
SELECT p.id, p.city_id, p.role, p.vehicle_id, p.key_hash, p.disabled, t.id, t.version
FROM principal p JOIN city c ON c.id = p.city_id
LEFT JOIN LATERAL (
    SELECT r.id, r.version FROM route r JOIN plan pl ON pl.id = r.plan_id
    WHERE r.vehicle_id = p.vehicle_id AND r.city_id = p.city_id AND pl.status = 'done'
      AND pl.service_date = (CAST(:now AS timestamptz) AT TIME ZONE c.timezone)::date
    ORDER BY pl.finished_at DESC NULLS LAST, pl.id DESC LIMIT 1
) t ON true
WHERE p.key_prefix = :prefix
"""


@dataclass(frozen=True, slots=True)
class TourAccess:
    """A key's principal and, for a driver, the id and version of their vehicle's route of today."""

    principal_id: int
    city_id: int
    role: str
    vehicle_id: int | None
    key_hash: str
    disabled: bool
    route_id: int | None
    route_version: int | None


@dataclass(frozen=True, slots=True)
class StopDetail:
    """One stop of a stored route with what a driver or a map needs. Times are UTC."""

    id: int
    seq: int
    kind: str
    lon: float | None
    lat: float | None
    eta: datetime
    departure: datetime
    status: str
    bin_id: int | None
    bin_external_id: str | None
    container_type: str | None
    facility_id: int | None
    facility_name: str | None
    load_volume_l: float
    load_mass_kg: float


@dataclass(frozen=True, slots=True)
class RouteHeader:
    id: int
    plan_id: int
    city_id: int
    vehicle_id: int
    vehicle_name: str
    vehicle_external_id: str
    fraction: str
    service_date: date
    distance_m: int
    duration_s: int
    start_at: datetime
    end_at: datetime


class TourRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def tour_json(self, city_id: int, vehicle_id: int, day: date) -> str | None:
        """The vehicle's tour of ``day`` (latest finished plan) as a JSON text, or None."""
        row = self.session.execute(
            text(_TOUR_JSON), {"city": city_id, "vehicle": vehicle_id, "day": day}
        ).first()
        return str(row[0]) if row else None

    def tour_access(self, key_prefix: str, now: datetime) -> TourAccess | None:
        """The principal holding ``key_prefix`` and its vehicle's route of today (``now``, aware, in the
        city's time zone), in one round trip (the tablet's hot path). The caller checks the key's
        digest."""
        row = self.session.execute(text(_TOUR_ACCESS), {"prefix": key_prefix, "now": now}).first()
        return TourAccess(*row) if row else None

    def route_json(self, route_id: int) -> str | None:
        """One route with its stops as the driver's tour JSON text."""
        row = self.session.execute(text(_ROUTE_JSON), {"route": route_id}).first()
        return str(row[0]) if row else None

    def tour_route_id(self, city_id: int, vehicle_id: int, day: date) -> int | None:
        row = self.session.execute(
            text(_TOUR_ROUTE), {"city": city_id, "vehicle": vehicle_id, "day": day}
        ).first()
        return int(row[0]) if row else None

    def route(self, route_id: int, city_id: int) -> RouteHeader | None:
        """The route if it belongs to ``city_id`` (another city's route answers None, like a missing one)."""
        if not 0 < route_id < 2**63:
            return None
        row = self.session.execute(
            text(
                "SELECT r.id, r.plan_id, r.city_id, r.vehicle_id, v.name, v.external_id, p.fraction, "
                "p.service_date, r.distance_m, r.duration_s, r.start_at, r.end_at FROM route r "
                "JOIN plan p ON p.id = r.plan_id JOIN vehicle v ON v.id = r.vehicle_id "
                "WHERE r.id = :id AND r.city_id = :city"
            ),
            {"id": route_id, "city": city_id},
        ).first()
        return RouteHeader(*row) if row else None

    def stops(self, route_ids: list[int]) -> dict[int, list[StopDetail]]:
        """Stops of the given routes in order, by route id."""
        out: dict[int, list[StopDetail]] = {r: [] for r in route_ids}
        if not route_ids:
            return out
        rows = self.session.execute(
            text(
                "SELECT s.route_id, s.id, s.seq, s.kind, s.lon, s.lat, s.eta, s.departure, s.status, "
                "s.bin_id, "
                "b.external_id, t.code, s.facility_id, f.name, s.load_volume_l, s.load_mass_kg "
                "FROM route_stop s LEFT JOIN bin b ON b.id = s.bin_id "
                "LEFT JOIN container_type t ON t.id = b.container_type_id "
                "LEFT JOIN disposal_facility f ON f.id = s.facility_id "
                "WHERE s.route_id = ANY(:ids) ORDER BY s.route_id, s.seq"
            ),
            {"ids": route_ids},
        )
        for route_id, *rest in rows:
            out[int(route_id)].append(StopDetail(*rest))
        return out

    def driver_stop(self, stop_id: int, city_id: int, vehicle_id: int) -> tuple[int, int | None, str] | None:
        """(stop id, bin id, kind) of a stop on one of the vehicle's routes, or None."""
        if not 0 < stop_id < 2**63:
            return None
        row = self.session.execute(
            text(
                "SELECT s.id, s.bin_id, s.kind FROM route_stop s JOIN route r ON r.id = s.route_id "
                "WHERE s.id = :id AND s.city_id = :city AND r.vehicle_id = :vehicle"
            ),
            {"id": stop_id, "city": city_id, "vehicle": vehicle_id},
        ).first()
        return (int(row[0]), int(row[1]) if row[1] is not None else None, str(row[2])) if row else None


class AsyncTourStore:
    """The tour hot path on an asyncio engine (served on the event loop, not in the thread pool)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        # single read-only statements: autocommit saves the BEGIN/ROLLBACK round trips; a connection
        # the server dropped is replaced after the failing request (no ping before every checkout)
        self.engine: AsyncEngine = create_async_engine(
            normalise_database_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_recycle=1800,
            isolation_level="AUTOCOMMIT",
        )

    async def access(self, key_prefix: str, now: datetime) -> TourAccess | None:
        """:meth:`TourRepository.tour_access` in one round trip."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(text(_TOUR_ACCESS), {"prefix": key_prefix, "now": now})).first()
        return TourAccess(*row) if row else None

    async def route_json(self, route_id: int) -> str | None:
        """:meth:`TourRepository.route_json`."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(text(_ROUTE_JSON), {"route": route_id})).first()
        return str(row[0]) if row else None

    async def close(self) -> None:
        await self.engine.dispose()
