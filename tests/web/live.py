"""A live deployment for browser tests: a migrated database with the mini city, sensor history, keys,
a finished plan for today, the real app served by uvicorn in a thread and a plan worker in a thread.

Everything is committed (the browser talks to a real server over HTTP), so each live world gets a
database of its own.

The whole world runs on a clock of its own (:class:`~wasteroute.clock.RunningClock`): it starts on
Tuesday 8 December 2026 at 09:00 in Berlin, in the middle of the trucks' shift, whatever day and hour
the machine has; the server, the plan worker, the seeded readings and the browser (Playwright's
clock, see ``support.tablet``) all read it. ``WASTEROUTE_TEST_NOW`` (ISO 8601 with a zone) starts
it elsewhere, e.g. on a Sunday evening, to show that the pages do not care.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import uvicorn
from sqlalchemy.orm import Session

from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.admin.service import import_city_seed
from wasteroute.api.app import create_app
from wasteroute.clock import RunningClock
from wasteroute.config import Settings
from wasteroute.planning.jobs import plan_now, run_worker
from wasteroute.runtime.ports import free_port, wait_for_port
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import make_engine, make_session_factory, migrate, transaction
from wasteroute.storage.models import Sensor
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.principals import PrincipalRepository
from wasteroute.storage.readings import ReadingRow, store_batch

DATA = Path(__file__).parents[1] / "data"
SETTINGS = Settings()
PLAN_TIME_LIMIT_S = 2.0
"""Solver time per plan in the live world: the mini city has 24 bins, two trucks."""
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 8, 9, 0, tzinfo=BERLIN)
"""When the live world starts (a Tuesday morning, the trucks' shift runs 06:00-14:30)."""


def start_time() -> datetime:
    """:data:`START`, or ``WASTEROUTE_TEST_NOW`` (ISO 8601 with a zone) when set."""
    raw = os.environ.get("WASTEROUTE_TEST_NOW")
    if not raw:
        return START
    at = datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise ValueError(f"WASTEROUTE_TEST_NOW needs a time zone, e.g. 2026-12-06T21:30+01:00; got {raw!r}")
    return at


@dataclass(frozen=True)
class LiveCity:
    base_url: str
    database_url: str
    city_id: int
    slug: str
    keys: dict[str, str]
    """``dispatcher``, ``driver`` (a truck with a route today) and ``other_driver`` (another truck)."""
    driver_vehicles: dict[str, int]
    """The vehicle id of each driver key (``driver``, ``other_driver``)."""
    first_plan: dict[str, Any]
    clock: RunningClock
    """The world's time (server, worker, readings; browsers are set to it)."""

    @property
    def today(self) -> date:
        """Today in the city (Berlin) by the world's clock."""
        return self.clock().astimezone(BERLIN).date()


def _fill_now(index: int) -> float:
    """A spread of fill levels over the city: some bins nearly full, most half full, a few empty."""
    return [0.93, 0.35, 0.62, 0.88, 0.15, 0.71, 0.48, 0.97, 0.55, 0.28, 0.82, 0.4][index % 12]


def _readings(session: Session, city_id: int, now: datetime) -> list[ReadingRow]:
    """48 hourly readings per sensor ending at ``now``; one bin hot (fire alert), one tilted, one silent."""
    sensors = list(session.query(Sensor).filter(Sensor.city_id == city_id).order_by(Sensor.id))
    rows: list[ReadingRow] = []
    for k, s in enumerate(sensors):
        if k == len(sensors) - 1:
            continue  # a sensor that never reported: stale
        end = _fill_now(k)
        rate = 0.012 + 0.002 * (k % 4)
        for h in range(48):
            hours_back = 47 - h
            rows.append(
                ReadingRow(
                    sensor_id=s.id,
                    measured_at=now - timedelta(hours=hours_back),
                    city_id=city_id,
                    bin_id=s.bin_id,
                    fill_level=max(0.0, end - rate * hours_back),
                    distance_mm=None,
                    battery_pct=18.0 if k == 5 else 85.0,
                    battery_v=None,
                    temperature_c=71.0 if (k == 6 and hours_back == 0) else 11.0,
                    tilt_deg=58.0 if (k == 9 and hours_back == 0) else 2.0,
                    rssi_dbm=-95.0,
                    snr_db=6.5,
                    source="native",
                    raw=None,
                )
            )
    return rows


def seed_live_city(database_url: str, now: datetime) -> tuple[int, str, dict[str, int]]:
    """Migrate and import the mini city with sensor history up to ``now``; returns (city id, slug,
    vehicle ids by external id)."""
    migrate(database_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            doc = CitySeedDocument.model_validate(json.loads((DATA / "city-mini.json").read_text()))
            summary = import_city_seed(session, doc)
            session.flush()
            raw = session.connection().connection.driver_connection
            assert isinstance(raw, psycopg.Connection)
            store_batch(raw, _readings(session, summary.city_id, now), [])
            vehicles = {v.external_id: v.id for v in CityRepository(session).vehicles(summary.city_id)}
        return summary.city_id, summary.slug, vehicles
    finally:
        engine.dispose()


def issue_keys(
    database_url: str, city_id: int, plan_id: int, vehicles: dict[str, int]
) -> tuple[dict[str, str], dict[str, int]]:
    """A dispatcher key, a key for the driver of a truck with a route in ``plan_id`` (``driver``) and
    one for the driver of another truck (``other_driver``); and the vehicle id of each driver key."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as session:
            routed = {r.vehicle_id for r in PlanRepository(session).routes(plan_id)}
            if not routed:
                raise RuntimeError(f"plan {plan_id} has no route: the live city cannot test the driver page")
            mine = min(routed)
            other = min(v for v in vehicles.values() if v != mine)
            principals = PrincipalRepository(session, SETTINGS.secret_key.get_secret_value())

            def key(name: str, role: str, vehicle_id: int | None = None) -> str:
                return principals.create(city_id=city_id, name=name, role=role, vehicle_id=vehicle_id).key

            keys = {
                "dispatcher": key("Disposition", "dispatcher"),
                "driver": key("Fahrer A", "driver", mine),
                "other_driver": key("Fahrer B", "driver", other),
            }
            return keys, {"driver": mine, "other_driver": other}
    finally:
        engine.dispose()


@contextmanager
def serve(database_url: str, clock: RunningClock) -> Iterator[str]:
    """The real app on a free loopback port (uvicorn in a thread) plus a plan worker thread, both on
    ``clock``."""
    port = free_port()
    app = create_app(SETTINGS, database_url, pool_size=4, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="web-test-api", daemon=True)
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(SETTINGS, database_url, stop, 0.2, clock),
        name="web-test-worker",
        daemon=True,
    )
    thread.start()
    worker.start()
    try:
        if not wait_for_port("127.0.0.1", port, 20):
            raise RuntimeError("the API did not start listening within 20 s")
        while not server.started:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        stop.set()
        thread.join(10)
        worker.join(30)


FirstPlan = Callable[[str, str, RunningClock], dict[str, Any]]
"""Makes the live world's first plan: (database URL, city slug, clock) -> a dict with its ``plan_id``."""


def plan_today(database_url: str, slug: str, clock: RunningClock) -> dict[str, Any]:
    """A residual plan for today (by ``clock``), computed here as ``wasteroute plan`` does."""
    return plan_now(
        SETTINGS,
        database_url,
        city=slug,
        fraction="residual",
        service_date=None,
        time_limit_s=PLAN_TIME_LIMIT_S,
        seed=1,
        clock=clock,
    )


@contextmanager
def live_city(
    database_url: str, start: datetime | None = None, first_plan: FirstPlan = plan_today
) -> Iterator[LiveCity]:
    """A seeded city with a finished first plan (default: residual, today), served over HTTP, on its
    own clock starting at ``start`` (default :func:`start_time`)."""
    clock = RunningClock(start or start_time())
    city_id, slug, vehicles = seed_live_city(database_url, clock())
    first = first_plan(database_url, slug, clock)
    keys, drivers = issue_keys(database_url, city_id, int(first["plan_id"]), vehicles)
    with serve(database_url, clock) as base:
        yield LiveCity(base, database_url, city_id, slug, keys, drivers, first, clock)
