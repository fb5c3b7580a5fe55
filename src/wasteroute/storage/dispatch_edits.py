"""Reads and writes behind the dispatcher's daily questions: the plans of a service day with who
started them, a container's fill history, and hand edits of stored tours (moving and locking stops)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A plan job of a service day with the name of the key that started it."""

    id: int
    fraction: str
    service_date: date
    status: str
    progress: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str | None
    routes: int
    distance_m: int


@dataclass(frozen=True, slots=True)
class FillPoint:
    measured_at: datetime
    fill_level: float | None


@dataclass(frozen=True, slots=True)
class EditRoute:
    """A stored route with what a hand edit needs: its plan, day, truck limits and version."""

    id: int
    plan_id: int
    city_id: int
    plan_status: str
    service_date: date
    fraction: str
    vehicle_id: int
    vehicle_name: str
    vehicle_fraction: str
    volume_l: float
    mass_kg: float
    shift_start: time
    shift_end: time
    max_duration_s: int
    access_class: str
    timezone: str


@dataclass(frozen=True, slots=True)
class EditStop:
    """A stored stop with its service time and window (container type, facility opening hours)."""

    id: int
    route_id: int
    seq: int
    kind: str
    lon: float | None
    lat: float | None
    eta: datetime
    departure: datetime
    load_volume_l: float
    load_mass_kg: float
    status: str
    locked: bool
    bin_id: int | None
    facility_id: int | None
    service_s: int | None
    window_start: time | None
    window_end: time | None
    access_class: str | None
    bin_fraction: str | None


_ROUTE = """
SELECT r.id, r.plan_id, r.city_id, p.status, p.service_date, p.fraction, v.id, v.name, v.fraction,
       v.volume_l, v.mass_kg, v.shift_start, v.shift_end, v.max_duration_s, v.access_class, c.timezone
FROM route r JOIN plan p ON p.id = r.plan_id JOIN vehicle v ON v.id = r.vehicle_id
JOIN city c ON c.id = r.city_id
WHERE r.id = :id AND r.city_id = :city
"""

_STOPS = """
SELECT s.id, s.route_id, s.seq, s.kind, s.lon, s.lat, s.eta, s.departure, s.load_volume_l,
       s.load_mass_kg, s.status, s.locked, s.bin_id, s.facility_id,
       CASE WHEN s.kind = 'stop' THEN t.service_s WHEN s.kind = 'facility' THEN f.unload_s END,
       CASE WHEN s.kind = 'stop' THEN b.collection_start WHEN s.kind = 'facility' THEN f.opens END,
       CASE WHEN s.kind = 'stop' THEN b.collection_end WHEN s.kind = 'facility' THEN f.closes END,
       b.access_class, b.fraction
FROM route_stop s
LEFT JOIN bin b ON b.id = s.bin_id
LEFT JOIN container_type t ON t.id = b.container_type_id
LEFT JOIN disposal_facility f ON f.id = s.facility_id
WHERE s.route_id = :route
ORDER BY s.seq
"""


class DispatchEditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def day_plans(self, city_id: int, fraction: str | None, day: date) -> list[DayPlan]:
        """The plan jobs of ``day`` (newest first) with their creator's name, routes and metres."""
        rows = self.session.execute(
            text(
                "SELECT p.id, p.fraction, p.service_date, p.status, p.progress, p.created_at, "
                "p.started_at, p.finished_at, pr.name, "
                "(SELECT count(*) FROM route r WHERE r.plan_id = p.id), "
                "(SELECT coalesce(sum(r.distance_m), 0) FROM route r WHERE r.plan_id = p.id) "
                "FROM plan p LEFT JOIN principal pr ON pr.id = p.created_by "
                "WHERE p.city_id = :city AND p.service_date = :day "
                "AND (CAST(:fraction AS text) IS NULL OR p.fraction = :fraction) "
                "ORDER BY p.created_at DESC, p.id DESC LIMIT 200"
            ),
            {"city": city_id, "day": day, "fraction": fraction},
        )
        return [
            DayPlan(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], int(r[9]), int(r[10])) for r in rows
        ]

    def next_plan_day(self, city_id: int, fraction: str | None, after: date, until: date) -> date | None:
        """The first day in (``after``, ``until``] with a finished plan (of ``fraction``), or None."""
        row = self.session.execute(
            text(
                "SELECT min(service_date) FROM plan WHERE city_id = :city AND status = 'done' "
                "AND service_date > :after AND service_date <= :until "
                "AND (CAST(:fraction AS text) IS NULL OR fraction = :fraction)"
            ),
            {"city": city_id, "after": after, "until": until, "fraction": fraction},
        ).first()
        return row[0] if row else None

    def bin_fraction(self, city_id: int, bin_id: int) -> tuple[str, str] | None:
        """(external id, fraction) of the city's bin, or None (another city's bin answers the same)."""
        if not 0 < bin_id < 2**63:
            return None
        row = self.session.execute(
            text("SELECT external_id, fraction FROM bin WHERE id = :id AND city_id = :city"),
            {"id": bin_id, "city": city_id},
        ).first()
        return (str(row[0]), str(row[1])) if row else None

    def fills(
        self, city_id: int, bin_id: int, since: datetime, until: datetime, limit: int
    ) -> list[FillPoint]:
        """The bin's readings in [since, until), oldest first; at most ``limit`` (the newest ones)."""
        rows = self.session.execute(
            text(
                "SELECT measured_at, fill_level FROM (SELECT measured_at, fill_level FROM sensor_reading "
                "WHERE city_id = :city AND bin_id = :bin AND measured_at >= :since AND measured_at < :until "
                "ORDER BY measured_at DESC LIMIT :limit) x ORDER BY measured_at"
            ),
            {"city": city_id, "bin": bin_id, "since": since, "until": until, "limit": limit},
        )
        return [FillPoint(r[0], r[1]) for r in rows]

    def emptyings(self, city_id: int, bin_id: int, since: datetime, until: datetime) -> list[datetime]:
        rows = self.session.execute(
            text(
                "SELECT occurred_at FROM collection_event WHERE city_id = :city AND bin_id = :bin "
                "AND kind IN ('emptied', 'overfilled') AND occurred_at >= :since AND occurred_at < :until "
                "ORDER BY occurred_at"
            ),
            {"city": city_id, "bin": bin_id, "since": since, "until": until},
        )
        return [r[0] for r in rows]

    def route(self, route_id: int, city_id: int) -> EditRoute | None:
        if not 0 < route_id < 2**63:
            return None
        row = self.session.execute(text(_ROUTE), {"id": route_id, "city": city_id}).first()
        return EditRoute(*row) if row else None

    def route_of_stop(self, stop_id: int, city_id: int) -> int | None:
        if not 0 < stop_id < 2**63:
            return None
        row = self.session.execute(
            text("SELECT route_id FROM route_stop WHERE id = :id AND city_id = :city"),
            {"id": stop_id, "city": city_id},
        ).first()
        return int(row[0]) if row else None

    def lock_route(self, route_id: int) -> None:
        """Hold the route row until the transaction ends (two dispatchers editing the same tour)."""
        self.session.execute(text("SELECT id FROM route WHERE id = :id FOR UPDATE"), {"id": route_id})

    def stops(self, route_id: int) -> list[EditStop]:
        return [EditStop(*r) for r in self.session.execute(text(_STOPS), {"route": route_id})]

    def locked_stops(self, route_ids: Sequence[int]) -> set[int]:
        if not route_ids:
            return set()
        rows = self.session.execute(
            text("SELECT id FROM route_stop WHERE route_id = ANY(:ids) AND locked"), {"ids": list(route_ids)}
        )
        return {int(r[0]) for r in rows}

    def set_locked(self, stop_id: int, locked: bool) -> None:
        self.session.execute(
            text("UPDATE route_stop SET locked = :locked WHERE id = :id"), {"id": stop_id, "locked": locked}
        )
        self.session.execute(
            text(
                "UPDATE route SET version = version + 1 "
                "WHERE id = (SELECT route_id FROM route_stop WHERE id = :id)"
            ),
            {"id": stop_id},
        )

    def write_route(
        self,
        route_id: int,
        stops: Sequence[tuple[int, int, datetime, datetime, float, float]],
        *,
        distance_m: int,
        duration_s: int,
        start_at: datetime,
        end_at: datetime,
        trips: list[dict[str, Any]],
    ) -> None:
        """Put the stops ``(stop id, seq, eta, departure, load l, load kg)`` on the route in this order
        (a stop of another route moves here) and store the route's new figures; version + 1."""
        # (route_id, seq) is unique: number the rows below zero first (distinct, like the new order),
        # then flip them, so no intermediate state collides with a row not yet renumbered
        for stop_id, seq, eta, departure, vol, mass in stops:
            self.session.execute(
                text(
                    "UPDATE route_stop SET route_id = :route, seq = :seq, eta = :eta, departure = :dep, "
                    "load_volume_l = :vol, load_mass_kg = :mass WHERE id = :id"
                ),
                {
                    "route": route_id,
                    "seq": -1 - seq,
                    "eta": eta,
                    "dep": departure,
                    "vol": vol,
                    "mass": mass,
                    "id": stop_id,
                },
            )
        self.session.execute(
            text("UPDATE route_stop SET seq = -1 - seq WHERE route_id = :route AND seq < 0"),
            {"route": route_id},
        )
        self.session.execute(
            text(
                "UPDATE route SET distance_m = :d, duration_s = :s, start_at = :a, end_at = :e, "
                "trips = CAST(:trips AS jsonb), version = version + 1 WHERE id = :id"
            ),
            {
                "d": distance_m,
                "s": duration_s,
                "a": start_at,
                "e": end_at,
                "trips": json.dumps(trips),
                "id": route_id,
            },
        )
