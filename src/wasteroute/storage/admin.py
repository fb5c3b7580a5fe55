"""Create, read, update and delete a city's master data, always scoped to the caller's city.

Every read takes the city id: an object of another city is answered exactly as a missing one
(``None``). Writes run in a savepoint so that a refused write (a unique key, a reference still in
use) becomes a :class:`~wasteroute.errors.Conflict` and leaves the caller's transaction usable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wasteroute.errors import Conflict
from wasteroute.storage.models import Base, City, Sensor

M = TypeVar("M", bound=Base)


def _constraint_message(exc: IntegrityError) -> str:
    text = str(exc.orig or exc).lower()
    if "foreign key" in text and ("still referenced" in text or "is still" in text):
        return "other objects still refer to this one; remove or re-assign them first (or deactivate it)"
    if "foreign key" in text:
        return "a referenced object does not exist"
    if "unique" in text or "duplicate key" in text:
        return "an object with this identifier already exists"
    if "check" in text:
        return "a value is out of the allowed range"
    return "the change conflicts with existing data"


@contextmanager
def refused_as_conflict(session: Session) -> Iterator[None]:
    """Run a write in a savepoint; a constraint violation becomes a ``Conflict`` (409)."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        raise Conflict(_constraint_message(exc)) from None


class CityObjects:
    """Generic access to rows that carry a ``city_id`` column."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def page(self, model: type[M], city_id: int, *, limit: int, offset: int) -> tuple[Sequence[M], int]:
        """One page of the city's rows ordered by id, and the total count."""
        col = model.city_id  # type: ignore[attr-defined]
        total = int(self.session.scalar(select(func.count()).select_from(model).where(col == city_id)) or 0)
        rows = self.session.scalars(
            select(model).where(col == city_id).order_by(model.id).limit(limit).offset(offset)  # type: ignore[attr-defined]
        ).all()
        return rows, total

    def get(self, model: type[M], obj_id: int, city_id: int) -> M | None:
        """The row with this id if it belongs to ``city_id``; ``None`` when missing or foreign."""
        if not -(2**63) <= obj_id < 2**63:
            return None
        row = self.session.get(model, obj_id)
        if row is None or row.city_id != city_id:  # type: ignore[attr-defined]
            return None
        return row

    def create(self, model: type[M], values: dict[str, Any]) -> M:
        row = model(**values)
        with refused_as_conflict(self.session):
            self.session.add(row)
        return row

    def update(self, row: M, values: dict[str, Any]) -> M:
        with refused_as_conflict(self.session):
            for k, v in values.items():
                setattr(row, k, v)
        return row

    def delete(self, row: Base) -> None:
        with refused_as_conflict(self.session):
            self.session.delete(row)

    def city(self, city_id: int) -> City | None:
        return self.session.get(City, city_id)

    def foreign_devices(self, city_id: int, device_ids: Sequence[str]) -> set[str]:
        """Those of ``device_ids`` already registered by another city (device ids are global)."""
        if not device_ids:
            return set()
        rows = self.session.scalars(
            select(Sensor.device_id).where(Sensor.device_id.in_(list(device_ids)), Sensor.city_id != city_id)
        )
        return set(rows)
