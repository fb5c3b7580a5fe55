"""Plain helpers of the whole suite, imported by tests and fixtures alike: the test data folder, the tiny
city under other names, and throw-away databases on a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.config import normalise_database_url
from wasteroute.storage.readings import ReadingRow

DATA = Path(__file__).parent / "data"
"""Small fixed inputs of the tests (cities, uplinks, benchmark instances)."""


def plain_url(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


class DatabaseServer:
    """Creates throw-away databases on a real server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = normalise_database_url(admin_url)
        self.created: list[str] = []

    def url_for(self, name: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + name))

    def create(self, prefix: str = "wasteroute_test") -> str:
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(plain_url(self.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url_for(name)

    def drop_all(self) -> None:
        with psycopg.connect(plain_url(self.admin_url), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_document(slug: str, prefix: str, device_prefix: str, name: str) -> CitySeedDocument:
    """city-mini.json under another slug, with its own external ids and device ids."""
    raw = (DATA / "city-mini.json").read_text()
    raw = raw.replace('"testhafen"', f'"{slug}"').replace('"Testhafen"', f'"{name}"')
    raw = raw.replace('"TH-', f'"{prefix}-').replace('"70b3d57ed0', f'"{device_prefix}')
    doc = json.loads(raw)
    return CitySeedDocument.model_validate(doc)


def fill_reading(
    sensor_id: int, bin_id: int, city_id: int, at: datetime, fill: float, **fields: Any
) -> ReadingRow:
    """A plain fill reading as ingest stores it from a native uplink (good radio, full battery);
    ``fields`` set any other field of the row."""
    row = ReadingRow(
        sensor_id=sensor_id,
        measured_at=at,
        city_id=city_id,
        bin_id=bin_id,
        fill_level=fill,
        distance_mm=None,
        battery_pct=90.0,
        battery_v=None,
        temperature_c=12.0,
        tilt_deg=None,
        rssi_dbm=-90.0,
        snr_db=7.0,
        source="native",
        raw=None,
    )
    return dataclasses.replace(row, **fields)


def calendar_inputs(
    weekdays: frozenset[int] | None,
    on_holidays: bool = False,
    *,
    holiday_region: str | None = "SH",
    service_date: date = date(2026, 11, 21),
) -> Any:
    """The plan inputs of a city with no bins, for what a plan job reads of its calendar."""
    from wasteroute.planning.assembly import PlanInputs

    return PlanInputs(
        city_id=1,
        slug="testhafen",
        timezone="Europe/Berlin",
        threshold=0.8,
        holiday_region=holiday_region,
        service_date=service_date,
        fraction="residual",
        bins=(),
        histories={},
        vehicles=(),
        depots=(),
        facilities=(),
        service_weekdays=weekdays,
        open_on_holidays=on_holidays,
    )


def small_simulation(**overrides: Any) -> Any:
    """A ``SimulationConfig`` small enough for the test suite (a few days, a short search); fields
    given override it."""
    from wasteroute.simulation.loop import SimulationConfig

    base: dict[str, Any] = {
        "days": 3,
        "warmup_days": 4,
        "run_in_days": 1,
        "seed": 2,
        "plan_time_limit_s": 2.0,
        "plan_iterations": 150,
        "report_interval_h": 3.0,
    }
    return SimulationConfig(**(base | overrides))
