"""Repository of a city's master data: the city, container types, depots, facilities, vehicles, bins
and sensors. Upserts are keyed by each object's external id within its city."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from wasteroute.storage.models import (
    Bin,
    BinState,
    City,
    ContainerType,
    Depot,
    DisposalFacility,
    Sensor,
    Vehicle,
)


class CityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # cities
    def by_slug(self, slug: str) -> City | None:
        return self.session.scalars(select(City).where(City.slug == slug)).first()

    def get(self, city_id: int) -> City | None:
        return self.session.get(City, city_id)

    def all(self) -> Sequence[City]:
        return self.session.scalars(select(City).order_by(City.slug)).all()

    def upsert_city(self, values: dict[str, Any]) -> int:
        stmt = insert(City).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[City.slug], set_={k: stmt.excluded[k] for k in values if k != "slug"}
        )
        return int(self.session.execute(stmt.returning(City.id)).scalar_one())

    def _upsert(self, model: Any, rows: list[dict[str, Any]], key: str) -> dict[str, int]:
        """Upsert rows unique on (city_id, key); returns key -> id."""
        if not rows:
            return {}
        out: dict[str, int] = {}
        for chunk_start in range(0, len(rows), 1000):
            chunk = rows[chunk_start : chunk_start + 1000]
            stmt = insert(model).values(chunk)
            cols = [c for c in chunk[0] if c not in ("city_id", key)]
            stmt = stmt.on_conflict_do_update(
                index_elements=[model.city_id, getattr(model, key)], set_={c: stmt.excluded[c] for c in cols}
            )
            for k, i in self.session.execute(stmt.returning(getattr(model, key), model.id)):
                out[str(k)] = int(i)
        return out

    def upsert_container_types(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        return self._upsert(ContainerType, rows, "code")

    def upsert_depots(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        return self._upsert(Depot, rows, "external_id")

    def upsert_facilities(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        return self._upsert(DisposalFacility, rows, "external_id")

    def upsert_vehicles(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        return self._upsert(Vehicle, rows, "external_id")

    def upsert_bins(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        return self._upsert(Bin, rows, "external_id")

    def upsert_sensors(self, rows: list[dict[str, Any]]) -> int:
        """Sensors are unique by device id across all cities (a DevEUI is global)."""
        if not rows:
            return 0
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            stmt = insert(Sensor).values(chunk)
            stmt = stmt.on_conflict_do_update(
                index_elements=[Sensor.device_id],
                set_={c: stmt.excluded[c] for c in ("bin_id", "model", "mount_offset_mm")},
                where=Sensor.city_id == stmt.excluded.city_id,
            )
            self.session.execute(stmt)
        return len(rows)

    # reads used by planning and the API
    def container_types(self, city_id: int) -> Sequence[ContainerType]:
        return self.session.scalars(select(ContainerType).where(ContainerType.city_id == city_id)).all()

    def depots(self, city_id: int) -> Sequence[Depot]:
        return self.session.scalars(select(Depot).where(Depot.city_id == city_id).order_by(Depot.id)).all()

    def facilities(self, city_id: int) -> Sequence[DisposalFacility]:
        return self.session.scalars(
            select(DisposalFacility).where(DisposalFacility.city_id == city_id).order_by(DisposalFacility.id)
        ).all()

    def vehicles(self, city_id: int, fraction: str | None = None) -> Sequence[Vehicle]:
        q = select(Vehicle).where(Vehicle.city_id == city_id, Vehicle.active)
        if fraction:
            q = q.where(Vehicle.fraction == fraction)
        return self.session.scalars(q.order_by(Vehicle.id)).all()

    def bins_with_state(
        self, city_id: int, fraction: str | None = None
    ) -> list[tuple[Bin, ContainerType, BinState | None]]:
        q = (
            select(Bin, ContainerType, BinState)
            .join(ContainerType, ContainerType.id == Bin.container_type_id)
            .outerjoin(BinState, BinState.bin_id == Bin.id)
            .where(Bin.city_id == city_id, Bin.active)
        )
        if fraction:
            q = q.where(Bin.fraction == fraction)
        return [(b, t, s) for b, t, s in self.session.execute(q.order_by(Bin.id))]

    def bin_external_ids(self, bin_ids: Sequence[int]) -> dict[int, str]:
        """The external id of each of these bins."""
        if not bin_ids:
            return {}
        rows = self.session.execute(select(Bin.id, Bin.external_id).where(Bin.id.in_(bin_ids)))
        return {int(i): str(e) for i, e in rows}

    def bin_inventory(self, city_id: int) -> list[tuple[Bin, str, Sensor | None]]:
        """Every bin of the city (active or not) with its container type's code and its first sensor
        (``None`` without one), ordered by id: the rows of the CSV export."""
        first_sensor = (
            select(Sensor.id)
            .where(Sensor.bin_id == Bin.id)
            .order_by(Sensor.id)
            .limit(1)
            .correlate(Bin)
            .scalar_subquery()
        )
        q = (
            select(Bin, ContainerType.code, Sensor)
            .join(ContainerType, ContainerType.id == Bin.container_type_id)
            .outerjoin(Sensor, Sensor.id == first_sensor)
            .where(Bin.city_id == city_id)
            .order_by(Bin.id)
        )
        return [(b, str(code), sensor) for b, code, sensor in self.session.execute(q)]

    def count_bins(self, city_id: int) -> int:
        from sqlalchemy import func

        return int(
            self.session.scalar(select(func.count()).select_from(Bin).where(Bin.city_id == city_id)) or 0
        )
