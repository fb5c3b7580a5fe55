"""Helpers of the API tests: two cities with every kind of object, keys of every role, and a client whose
requests run inside the test's rolled-back transaction (each request in a savepoint of its own). The
fixtures that hand them out are in conftest.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from tests.support import fill_reading, seed_document
from wasteroute.admin.service import import_city_seed
from wasteroute.api.app import create_app
from wasteroute.config import Settings
from wasteroute.ingest.service import limits_from
from wasteroute.ingest.webhook import StorePool, WebhookIngest
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.integrations import Integration, IntegrationInfo, load_integrations
from wasteroute.storage.models import (
    Alert,
    AnnouncedEventRow,
    Bin,
    CollectionEvent,
    ContainerType,
    Depot,
    DisposalFacility,
    Principal,
    Route,
    RouteStop,
    Sensor,
    Vehicle,
)
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.principals import PrincipalRepository
from wasteroute.storage.readings import (
    BatchOutcome,
    DeadLetterRow,
    ReadingRow,
    SensorInfo,
    load_sensor_directory,
    store_batch,
)
from wasteroute.storage.tours import TourAccess, TourRepository

ROLES = ("admin", "dispatcher", "driver", "gateway")
SETTINGS = Settings()


class ConnectionStore:
    """The webhook store of tests: writes through the test's connection, in a savepoint."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _pg(self) -> psycopg.Connection[Any]:
        raw = self.conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        return raw

    def write_and_commit(self, readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]) -> BatchOutcome:
        pg = self._pg()
        with pg.transaction():
            return store_batch(pg, readings, dead)

    def sensors(self) -> dict[str, SensorInfo]:
        return load_sensor_directory(self._pg())

    def integrations(self) -> list[IntegrationInfo]:
        return load_integrations(self._pg())

    def close(self) -> None:
        pass


class SessionTourStore:
    """The tour hot path of tests: the same queries through the test's (rolled-back) sessions."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    async def access(self, key_prefix: str, now: datetime) -> TourAccess | None:
        with self.factory() as s:
            return TourRepository(s).tour_access(key_prefix, now)

    async def route_json(self, route_id: int) -> str | None:
        with self.factory() as s:
            return TourRepository(s).route_json(route_id)

    async def close(self) -> None:
        pass


@dataclass
class CityWorld:
    """One city's objects and keys. ``spare_*`` objects are referenced by nothing (deletable)."""

    id: int
    slug: str
    prefix: str
    keys: dict[str, str]
    principal_ids: dict[str, int]
    vehicle_id: int
    other_vehicle_id: int
    depot_id: int
    facility_id: int
    container_type_id: int
    bin_ids: list[int]
    sensor_ids: list[int]
    device_ids: list[str]
    plan_id: int
    route_id: int
    stop_ids: list[int]
    other_vehicle_stop_id: int
    alert_id: int
    spare: dict[str, int] = field(default_factory=dict)
    other_route_id: int = 0
    """The route of ``other_vehicle_id`` in ``plan_id``."""


def _today(tz: str) -> Any:
    return datetime.now(ZoneInfo(tz)).date()


def build_city(session: Session, slug: str, prefix: str, device_prefix: str, name: str) -> CityWorld:
    summary = import_city_seed(session, seed_document(slug, prefix, device_prefix, name))
    city_id = summary.city_id
    repo = CityRepository(session)
    vehicles = {v.external_id: v for v in repo.vehicles(city_id)}
    vehicle = vehicles[f"{prefix}-101"]
    other_vehicle = vehicles[f"{prefix}-102"]
    depot = repo.depots(city_id)[0]
    facility = repo.facilities(city_id)[0]
    types = {t.code: t for t in repo.container_types(city_id)}
    rows = repo.bins_with_state(city_id)
    bins = [b for b, _, _ in rows]
    residual = [b for b in bins if b.fraction == "residual"]
    sensors = list(session.query(Sensor).filter(Sensor.city_id == city_id).order_by(Sensor.id))
    pepper = SETTINGS.secret_key.get_secret_value()
    keys: dict[str, str] = {}
    principal_ids: dict[str, int] = {}
    principals = PrincipalRepository(session, pepper)
    for role in ROLES:
        issued = principals.create(
            city_id=city_id,
            name=f"{name} {role}",
            role=role,
            vehicle_id=vehicle.id if role == "driver" else None,
        )
        keys[role] = issued.key
        principal_ids[role] = issued.principal_id
    day = _today("Europe/Berlin")
    plans = PlanRepository(session)
    plan = plans.create(city_id=city_id, fraction="residual", service_date=day, options={"time_limit_s": 1})
    t0 = datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)

    def stops_for(route_bins: list[Bin]) -> list[RouteStop]:
        out = [
            RouteStop(
                city_id=city_id,
                seq=0,
                kind="start",
                depot_id=depot.id,
                lon=depot.lon,
                lat=depot.lat,
                eta=t0,
                departure=t0,
            )
        ]
        for i, b in enumerate(route_bins, start=1):
            at = t0 + timedelta(minutes=10 * i)
            out.append(
                RouteStop(
                    city_id=city_id,
                    seq=i,
                    kind="stop",
                    bin_id=b.id,
                    lon=b.lon,
                    lat=b.lat,
                    eta=at,
                    departure=at + timedelta(minutes=1),
                    load_volume_l=100.0 * i,
                    load_mass_kg=30.0 * i,
                )
            )
        n = len(route_bins)
        at = t0 + timedelta(minutes=10 * (n + 1))
        out.append(
            RouteStop(city_id=city_id, seq=n + 1, kind="break", eta=at, departure=at + timedelta(minutes=30))
        )
        at = at + timedelta(minutes=40)
        out.append(
            RouteStop(
                city_id=city_id,
                seq=n + 2,
                kind="facility",
                facility_id=facility.id,
                lon=facility.lon,
                lat=facility.lat,
                eta=at,
                departure=at + timedelta(minutes=15),
            )
        )
        at = at + timedelta(minutes=30)
        out.append(
            RouteStop(
                city_id=city_id,
                seq=n + 3,
                kind="end",
                depot_id=depot.id,
                lon=depot.lon,
                lat=depot.lat,
                eta=at,
                departure=at,
            )
        )
        return out

    stops = stops_for(residual[:3])
    route = plans.add_route(
        Route(
            plan_id=plan.id,
            city_id=city_id,
            vehicle_id=vehicle.id,
            distance_m=12_345,
            duration_s=3 * 3600,
            start_at=t0,
            end_at=t0 + timedelta(hours=3),
            trips=[{"facility_id": facility.id, "stops": 3, "volume_l": 300.0, "mass_kg": 90.0}],
        ),
        stops,
    )
    other_stops = stops_for(residual[3:5])
    other_route = plans.add_route(
        Route(
            plan_id=plan.id,
            city_id=city_id,
            vehicle_id=other_vehicle.id,
            distance_m=9_000,
            duration_s=2 * 3600,
            start_at=t0,
            end_at=t0 + timedelta(hours=2),
            trips=[],
        ),
        other_stops,
    )
    plans.finish(plan.id, summary={"routes": 2, "km": 21.3}, diagnosis=None, finished_at=datetime.now(UTC))
    session.add(
        CollectionEvent(
            city_id=city_id,
            bin_id=residual[5].id,
            vehicle_id=vehicle.id,
            kind="emptied",
            observed_fill=0.7,
            occurred_at=datetime.now(UTC) - timedelta(days=1),
            source="driver",
        )
    )
    alert = Alert(
        city_id=city_id,
        bin_id=residual[6].id,
        kind="fire",
        raised_at=datetime.now(UTC),
        detail="temperature 80.0 °C",
        params={"temperature_c": 80.0},
    )
    session.add(alert)
    # spare objects nothing refers to
    spare_depot = Depot(
        city_id=city_id, external_id=f"{prefix}-spare-depot", name="spare", lon=10.7, lat=53.9
    )
    spare_type = ContainerType(
        city_id=city_id,
        code=f"{prefix}-spare-type",
        name="spare",
        volume_l=240,
        height_mm=1000,
        service_s=30,
        max_mass_kg=100,
    )
    spare_facility = DisposalFacility(
        city_id=city_id,
        external_id=f"{prefix}-spare-fac",
        name="spare",
        lon=10.6,
        lat=53.8,
        fractions=["glass"],
    )
    session.add_all([spare_depot, spare_type, spare_facility])
    session.flush()
    spare_vehicle = Vehicle(
        city_id=city_id,
        depot_id=depot.id,
        external_id=f"{prefix}-spare-veh",
        name="spare",
        fraction="glass",
        volume_l=10_000,
        mass_kg=5_000,
    )
    spare_bin = Bin(
        city_id=city_id,
        external_id=f"{prefix}-spare-bin",
        lon=10.7,
        lat=53.86,
        fraction="glass",
        container_type_id=types["wheelie-1100"].id,
    )
    session.add_all([spare_vehicle, spare_bin])
    session.flush()
    spare_sensor = Sensor(city_id=city_id, device_id=f"{device_prefix}ffffff", bin_id=None)
    spare_principal = Principal(
        city_id=city_id,
        name="spare",
        role="dispatcher",
        key_prefix=f"{prefix.lower()}spare",
        key_hash="0" * 64,
    )
    spare_integration = Integration(
        city_id=city_id,
        kind="native",
        application_id=f"{prefix.lower()}-spare-gw",
        topic_prefix=f"wasteroute/{slug}",
        broker_user=f"native-{slug}-spare",
    )
    spare_event = AnnouncedEventRow(
        city_id=city_id,
        name="spare market",
        first_day=date(2026, 11, 24),
        last_day=date(2026, 12, 30),
        lon=10.69,
        lat=53.87,
        radius_m=500,
        factors={"*": 1.5},
    )
    session.add_all([spare_sensor, spare_principal, spare_integration, spare_event])
    session.flush()
    write_readings(session, city_id, sensors[:6], datetime.now(UTC))
    return CityWorld(
        id=city_id,
        slug=slug,
        prefix=prefix,
        keys=keys,
        principal_ids=principal_ids,
        vehicle_id=vehicle.id,
        other_vehicle_id=other_vehicle.id,
        depot_id=depot.id,
        facility_id=facility.id,
        container_type_id=types["wheelie-1100"].id,
        bin_ids=[b.id for b in bins],
        sensor_ids=[s.id for s in sensors],
        device_ids=[s.device_id for s in sensors],
        plan_id=plan.id,
        route_id=route.id,
        stop_ids=[s.id for s in stops if s.kind == "stop"],
        other_vehicle_stop_id=next(s.id for s in other_stops if s.kind == "stop"),
        alert_id=alert.id,
        spare={
            "depots": spare_depot.id,
            "container-types": spare_type.id,
            "facilities": spare_facility.id,
            "vehicles": spare_vehicle.id,
            "bins": spare_bin.id,
            "sensors": spare_sensor.id,
            "principals": spare_principal.id,
            "integrations": spare_integration.id,
            "events": spare_event.id,
        },
        other_route_id=other_route.id,
    )


def write_readings(session: Session, city_id: int, sensors: list[Sensor], now: datetime) -> None:
    """Twelve hourly readings per sensor, filling 2 %/h from a level that differs per sensor."""
    session.flush()
    rows = []
    for k, s in enumerate(sensors):
        for h in range(12):
            rows.append(
                fill_reading(s.id, s.bin_id, city_id, now - timedelta(hours=11 - h), 0.3 + 0.1 * k + 0.02 * h)
            )
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    store_batch(raw, rows, [])


@dataclass
class World:
    a: CityWorld
    b: CityWorld
    app: FastAPI
    client: TestClient
    conn: Connection

    def key(self, role: str, city: str = "a") -> dict[str, str]:
        c = self.a if city == "a" else self.b
        return {"X-API-Key": c.keys[role]}


def make_client(session: Session, settings: Settings = SETTINGS) -> tuple[FastAPI, TestClient, Connection]:
    """An app whose sessions and webhook writes use the test's connection (rolled back afterwards)."""
    conn = session.connection()
    url = str(session.get_bind().engine.url.render_as_string(hide_password=False))
    app = create_app(settings, url, pool_size=1)
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    app.state.session_factory = factory
    app.state.webhooks = WebhookIngest(StorePool(lambda: ConnectionStore(conn)), limits_from(settings))
    app.state.tour_store = SessionTourStore(factory)
    return app, client, conn


def two_city_world(session: Session) -> Iterator[World]:
    """Testhafen and Zweithafen in the session's transaction, and a client on it."""
    a = build_city(session, "testhafen", "TH", "70b3d57ed0", "Testhafen")
    b = build_city(session, "zweithafen", "ZH", "70b3d57ee0", "Zweithafen")
    session.flush()
    app, client, conn = make_client(session)
    try:
        yield World(a, b, app, client, conn)
    finally:
        client.__exit__(None, None, None)
