"""Collection events reported by drivers: stored once per client-generated id, reflected on the
route stop and, for an emptying, on the bin's state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from wasteroute.storage.models import CollectionEvent
from wasteroute.vocabulary import EventKind

STOP_STATUSES = tuple(k.value for k in EventKind)
EMPTYING_KINDS = ("emptied", "overfilled", "detected_drop")
"""Events after which a container is empty: an overfilled container is emptied too (and reported as
overfilled, which the public overflow figures count)."""
DRIVER_EMPTYINGS = (EventKind.EMPTIED.value, EventKind.OVERFILLED.value)

_STOP_STATUS = (
    "WITH s AS (UPDATE route_stop SET status = coalesce((SELECT kind FROM collection_event "
    "WHERE route_stop_id = :stop AND kind = ANY(:kinds) AND withdrawn_at IS NULL "
    "ORDER BY occurred_at DESC, id DESC LIMIT 1), 'planned') "
    "WHERE id = :stop RETURNING route_id) "
    "UPDATE route SET version = version + 1 WHERE id IN (SELECT route_id FROM s)"
)
"""A stop's status is the kind of its latest report still standing (``planned`` when none is)."""


@dataclass(frozen=True, slots=True)
class StopEvent:
    """A driver's report about one stop. ``observed_fill`` 0..1.5; ``occurred_at`` UTC; WGS84 position."""

    client_event_id: uuid.UUID
    city_id: int
    vehicle_id: int
    route_stop_id: int
    bin_id: int
    kind: str
    observed_fill: float | None
    occurred_at: datetime
    lon: float | None
    lat: float | None

    def __post_init__(self) -> None:
        if self.kind not in STOP_STATUSES:
            raise ValueError(f"kind must be one of {', '.join(STOP_STATUSES)}, got {self.kind!r}")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        if self.observed_fill is not None and not 0 <= self.observed_fill <= 1.5:
            raise ValueError(f"observed_fill must lie in 0..1.5, got {self.observed_fill}")


def same_event(row: CollectionEvent, e: StopEvent) -> bool:
    """True when a stored row is the replay of ``e`` (same city, vehicle, stop and kind)."""
    return (row.city_id, row.vehicle_id, row.route_stop_id, row.kind) == (
        e.city_id,
        e.vehicle_id,
        e.route_stop_id,
        e.kind,
    )


class CollectionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_client_id(self, client_event_id: uuid.UUID) -> CollectionEvent | None:
        return self.session.scalars(
            select(CollectionEvent).where(CollectionEvent.client_event_id == client_event_id)
        ).first()

    def record(self, e: StopEvent) -> tuple[CollectionEvent, bool]:
        """Store ``e`` unless its client id is known; returns the stored row and whether it is new.

        A new event sets the stop's status to the kind of its latest event (by ``occurred_at``), bumps
        the route's ``version`` (cached tours become stale) and, for ``emptied`` and ``overfilled``,
        moves ``bin_state.last_emptied_at`` forward. Runs in the caller's transaction.
        """
        stmt = (
            insert(CollectionEvent)
            .values(
                city_id=e.city_id,
                bin_id=e.bin_id,
                vehicle_id=e.vehicle_id,
                route_stop_id=e.route_stop_id,
                kind=e.kind,
                observed_fill=e.observed_fill,
                occurred_at=e.occurred_at,
                client_event_id=e.client_event_id,
                lon=e.lon,
                lat=e.lat,
                source="driver",
            )
            .on_conflict_do_nothing(index_elements=[CollectionEvent.client_event_id])
            .returning(CollectionEvent.id)
        )
        new_id = self.session.execute(stmt).scalar()
        row = self.by_client_id(e.client_event_id)
        if row is None:  # pragma: no cover - the insert or a concurrent one made it
            raise RuntimeError("collection event vanished after insert")
        if new_id is None:
            return row, False
        self.session.execute(text(_STOP_STATUS), {"stop": e.route_stop_id, "kinds": list(STOP_STATUSES)})
        if e.kind in DRIVER_EMPTYINGS:
            self.session.execute(
                text(
                    "INSERT INTO bin_state (bin_id, city_id, measured_at, last_emptied_at, updated_at) "
                    "VALUES (:bin, :city, :at, :at, now()) ON CONFLICT (bin_id) DO UPDATE SET "
                    "last_emptied_at = GREATEST(bin_state.last_emptied_at, excluded.last_emptied_at), "
                    "updated_at = now()"
                ),
                {"bin": e.bin_id, "city": e.city_id, "at": e.occurred_at},
            )
        return row, True

    def withdraw(
        self, client_event_id: uuid.UUID, city_id: int, vehicle_id: int, at: datetime
    ) -> tuple[CollectionEvent, bool] | None:
        """Take back the vehicle's report ``client_event_id`` (the driver's undo); returns the row and
        whether it was withdrawn now (False: it already was), or None when the vehicle has no such
        report. The stop's status falls back to the latest report still standing (or ``planned``), the
        route's version moves, and an emptying no longer counts as the container's last one. The row
        stays stored with ``withdrawn_at``. Runs in the caller's transaction."""
        row = self.session.scalars(
            select(CollectionEvent)
            .where(
                CollectionEvent.client_event_id == client_event_id,
                CollectionEvent.city_id == city_id,
                CollectionEvent.vehicle_id == vehicle_id,
            )
            .with_for_update()
        ).first()
        if row is None:
            return None
        if row.withdrawn_at is not None:
            return row, False
        row.withdrawn_at = at
        self.session.flush()
        if row.route_stop_id is not None:
            self.session.execute(
                text(_STOP_STATUS), {"stop": row.route_stop_id, "kinds": list(STOP_STATUSES)}
            )
        if row.kind in DRIVER_EMPTYINGS:
            self.session.execute(
                text(
                    "UPDATE bin_state SET last_emptied_at = (SELECT max(occurred_at) FROM collection_event "
                    "WHERE bin_id = :bin AND kind = ANY(:kinds) AND withdrawn_at IS NULL), "
                    "updated_at = now() WHERE bin_id = :bin"
                ),
                {"bin": row.bin_id, "kinds": list(EMPTYING_KINDS)},
            )
        return row, True

    def emptied_since(self, city_id: int, since: datetime, limit: int) -> list[tuple[str, datetime]]:
        """(bin external id, time) of the city's emptyings at or after ``since``, oldest first."""
        rows = self.session.execute(
            text(
                "SELECT b.external_id, e.occurred_at FROM collection_event e JOIN bin b ON b.id = e.bin_id "
                "WHERE e.city_id = :city AND e.kind IN ('emptied', 'overfilled') AND e.withdrawn_at IS NULL "
                "AND e.occurred_at >= :since "
                "ORDER BY e.occurred_at, e.id LIMIT :limit"
            ),
            {"city": city_id, "since": since, "limit": limit},
        )
        return [(str(x), t) for x, t in rows]
