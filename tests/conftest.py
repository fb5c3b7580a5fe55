"""Shared fixtures: a real PostgreSQL built by the real migrations, and a real MQTT broker.

- ``WASTEROUTE_TEST_DATABASE_URL`` set: a fresh database is created on that server for this run and
  dropped afterwards; otherwise an embedded PostgreSQL is started in a temporary directory.
- ``WASTEROUTE_TEST_MQTT_URL`` set: that broker is used; otherwise ``mosquitto`` is started with the
  project's ``deploy/mosquitto.conf`` on a free port.
Each test that uses ``session`` runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.support import DATA, DatabaseServer, plain_url
from wasteroute.runtime.broker import BrokerHandle, start_mosquitto
from wasteroute.storage.db import make_engine, migrate

TESTS = Path(__file__).resolve().parent
SERVICE_FIXTURES = frozenset({"db_server", "timescale_server", "backend_server", "broker", "browser"})
"""The fixtures that reach a real service (PostgreSQL, TimescaleDB, the MQTT broker, Chromium);
``backend_server`` reaches one of the first two by name, which pytest does not see as a dependency."""


FAST_LANE = "not services and not slow"
NOT_UNIT = ("web", "integration", "api/test_schemathesis.py")
"""What the fast lane does not even import: the browser tests, the end-to-end checks across packages,
and the schema fuzzing of the API."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help=f"the fast lane (make test-fast): unit tests only, -m '{FAST_LANE}'",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("fast"):
        asked = config.option.markexpr
        config.option.markexpr = f"({asked}) and {FAST_LANE}" if asked else FAST_LANE


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if config.getoption("fast") and collection_path in {TESTS / p for p in NOT_UNIT}:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``services`` every test that uses a real service through a fixture, directly or through
    another fixture (``session``, ``world``, ``live`` ...); tests that start one on their own carry the
    mark themselves. The fast lane runs the rest, less what is marked ``slow``."""
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def db_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    url = os.environ.get("WASTEROUTE_TEST_DATABASE_URL")
    embedded = None
    if not url:
        from wasteroute.runtime.postgres import EmbeddedPostgres

        embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
        url = embedded.start()
    server = DatabaseServer(url)
    yield server
    server.drop_all()
    if embedded is not None:
        embedded.stop()


@pytest.fixture(scope="session")
def database_url(db_server: DatabaseServer) -> str:
    """A database migrated to head with the project's Alembic migrations."""
    url = db_server.create()
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    with engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield s
        finally:
            s.close()
            outer.rollback()


@pytest.fixture
def fresh_database_url(db_server: DatabaseServer) -> str:
    """An empty database of its own (for migration tests and multi-connection tests)."""
    return db_server.create("wasteroute_fresh")


@pytest.fixture
def mini_city_url(fresh_database_url: str) -> str:
    """A database of its own, migrated, with the tiny city of tests/data/city-mini.json committed."""
    return _with_mini_city(fresh_database_url)


def _with_mini_city(fresh_database_url: str) -> str:
    import json

    from wasteroute.admin.schemas import CitySeedDocument
    from wasteroute.admin.service import import_city_seed
    from wasteroute.storage.db import make_session_factory, transaction

    migrate(fresh_database_url)
    eng = make_engine(fresh_database_url)
    try:
        with transaction(make_session_factory(eng)) as s:
            doc = CitySeedDocument.model_validate(json.loads((DATA / "city-mini.json").read_text()))
            import_city_seed(s, doc)
    finally:
        eng.dispose()
    return fresh_database_url


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerHandle]:
    """A real broker: ``WASTEROUTE_TEST_MQTT_URL`` or mosquitto with deploy/mosquitto.conf."""
    url = os.environ.get("WASTEROUTE_TEST_MQTT_URL")
    if url:
        parts = urlsplit(url)
        user = parts.username or ""
        handle = BrokerHandle(
            parts.hostname or "127.0.0.1",
            parts.port or 1883,
            {u: parts.password or "" for u in ("wasteroute-ingest", "wasteroute-sim")} if user else {},
            "5",
            None,
        )
        yield handle
        return
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed; install it or set WASTEROUTE_TEST_MQTT_URL")
    handle = start_mosquitto(tmp_path / "mqtt")
    yield handle
    handle.stop()


# ---- both storage backends: plain PostgreSQL and a throw-away TimescaleDB cluster -------------------
# Tests that take ``backend_*`` fixtures run once per backend. The TimescaleDB cluster is started on
# first use (see tests/timescale_cluster.py); without the extension its tests fail when ``CI`` is set
# and are skipped with the reason otherwise.


@pytest.fixture(scope="session")
def timescale_server() -> Iterator[DatabaseServer]:
    from tests.timescale_cluster import TimescaleUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except TimescaleUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs the TimescaleDB backend: {exc}")
        pytest.skip(f"TimescaleDB backend not available: {exc}")
    yield DatabaseServer(cluster.url)
    cluster.stop()


@pytest.fixture(scope="session", params=("postgres", "timescale"))
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of this run of the test: "postgres" or "timescale"."""
    return str(request.param)


@pytest.fixture(scope="session")
def backend_server(backend: str, request: pytest.FixtureRequest) -> DatabaseServer:
    name = "db_server" if backend == "postgres" else "timescale_server"
    server: DatabaseServer = request.getfixturevalue(name)
    with psycopg.connect(plain_url(server.admin_url)) as conn:
        preload = str(conn.execute("SHOW shared_preload_libraries").fetchone())
    if (backend == "timescale") != ("timescaledb" in preload):
        pytest.fail(f"expected a {backend} server at {server.admin_url}, got preload {preload}")
    return server


@pytest.fixture
def backend_fresh_url(backend_server: DatabaseServer) -> str:
    """An empty database of its own on the backend of this run."""
    return backend_server.create("wasteroute_fresh")


@pytest.fixture
def backend_mini_city_url(backend_fresh_url: str) -> str:
    """Like ``mini_city_url``, on the backend of this run."""
    return _with_mini_city(backend_fresh_url)
