"""Alerts of a city: stored ones (fire, tilt, battery raised by ingest) and stale sensors found by
query. Another city's alert answers as a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int | None
    kind: str
    bin_id: int | None
    bin_external_id: str | None
    sensor_id: int | None
    raised_at: datetime
    detail: str
    lon: float | None
    lat: float | None
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StaleSensor:
    sensor_id: int
    device_id: str
    bin_id: int | None
    bin_external_id: str | None
    last_reading_at: datetime | None
    lon: float | None
    lat: float | None


class AlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_alerts(self, city_id: int) -> list[AlertRow]:
        rows = self.session.execute(
            text(
                "SELECT a.id, a.kind, a.bin_id, b.external_id, a.sensor_id, a.raised_at, a.detail, b.lon, "
                "b.lat, a.params "
                "FROM alert a LEFT JOIN bin b ON b.id = a.bin_id "
                "WHERE a.city_id = :city AND a.cleared_at IS NULL ORDER BY a.raised_at DESC, a.id DESC"
            ),
            {"city": city_id},
        )
        return [AlertRow(*r) for r in rows]

    def clear(self, alert_id: int, city_id: int, at: datetime) -> bool:
        """Close an open alert of the city; False when there is none with this id."""
        if not 0 < alert_id < 2**63:
            return False
        row = self.session.execute(
            text(
                "UPDATE alert SET cleared_at = :at WHERE id = :id AND city_id = :city AND cleared_at IS NULL "
                "RETURNING id"
            ),
            {"id": alert_id, "city": city_id, "at": at},
        ).first()
        return row is not None

    def stale_sensors(self, city_id: int, older_than: datetime) -> list[StaleSensor]:
        """Sensors on active bins whose bin has no reading since ``older_than`` (or none at all)."""
        rows = self.session.execute(
            text(
                "SELECT s.id, s.device_id, s.bin_id, b.external_id, st.measured_at, b.lon, b.lat "
                "FROM sensor s JOIN bin b ON b.id = s.bin_id AND b.active "
                "LEFT JOIN bin_state st ON st.bin_id = b.id AND st.sensor_id IS NOT NULL "
                "WHERE s.city_id = :city AND (st.measured_at IS NULL OR st.measured_at < :older) "
                "ORDER BY st.measured_at NULLS FIRST, s.id"
            ),
            {"city": city_id, "older": older_than},
        )
        return [StaleSensor(*r) for r in rows]
