"""The migrations are the schema: up, down and up again on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.support import DatabaseServer
from wasteroute.storage.db import downgrade, migrate

EXPECTED = {
    "city",
    "container_type",
    "depot",
    "disposal_facility",
    "vehicle",
    "bin",
    "sensor",
    "sensor_reading",
    "bin_state",
    "collection_event",
    "plan",
    "route",
    "route_stop",
    "plan_bin",
    "dead_letter",
    "principal",
    "alert",
    "bin_daily",
}


def _tables(url: str) -> set[str]:
    """Tables, partitioned tables and views of the public schema (a TimescaleDB continuous aggregate
    is a view), without the partitions."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm', 'v') AND NOT c.relispartition"
        ).fetchall()
    return {r[0] for r in rows}


def _q(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


def _timescale_jobs(url: str) -> set[str]:
    if not _q(url, "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"):
        return set()
    return {
        r[0]
        for r in _q(
            url,
            "SELECT proc_name FROM timescaledb_information.jobs WHERE proc_name IN "
            "('policy_retention', 'policy_compression', 'policy_refresh_continuous_aggregate')",
        )
    }


POLICIES = {"policy_retention", "policy_compression", "policy_refresh_continuous_aggregate"}


def test_upgrade_downgrade_upgrade(backend: str, backend_fresh_url: str) -> None:
    url = backend_fresh_url
    migrate(url)
    assert _tables(url) >= EXPECTED
    assert _timescale_jobs(url) == (POLICIES if backend == "timescale" else set())
    downgrade(url, "base")
    assert _tables(url) == {"alembic_version"}
    assert _timescale_jobs(url) == set()  # the policies went with their tables
    migrate(url)
    assert _tables(url) >= EXPECTED
    assert _timescale_jobs(url) == (POLICIES if backend == "timescale" else set())


def test_readings_are_partitioned_by_time_with_a_default_partition(database_url: str) -> None:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'sensor_reading'").fetchone()
        parts = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sensor_reading'"
        ).fetchall()
        brin = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE tablename = 'sensor_reading' AND indexdef ILIKE '%USING brin%'"
        ).fetchone()
        daily = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'bin_daily'").fetchone()
    assert kind == ("p",)
    names = {p[0] for p in parts}
    assert "sensor_reading_default" in names
    assert len(names) >= 17  # 13 months back, this month, 3 ahead, default
    assert brin is not None
    assert daily == ("r",)


def test_readings_are_a_compressed_hypertable_with_policies_on_timescale(
    timescale_server: DatabaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = timescale_server.create()
    monkeypatch.setenv("WASTEROUTE_RETENTION_DAYS", "90")
    migrate(url)
    assert _q(
        url, "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
    ) == [("sensor_reading", True)]
    dims = _q(
        url,
        "SELECT column_name FROM timescaledb_information.dimensions WHERE hypertable_name = 'sensor_reading'",
    )
    assert dims == [("measured_at",)]
    assert _q(url, "SELECT view_name FROM timescaledb_information.continuous_aggregates") == [("bin_daily",)]
    policies = dict(
        _q(
            url,
            "SELECT proc_name, config::text FROM timescaledb_information.jobs "
            "WHERE hypertable_name = 'sensor_reading'",
        )
    )
    assert '"drop_after": "90 days"' in policies["policy_retention"]  # WASTEROUTE_RETENTION_DAYS
    assert '"compress_after": "14 days"' in policies["policy_compression"]


def test_old_alerts_and_plans_get_their_codes_from_their_english_texts(backend_mini_city_url: str) -> None:
    url = backend_mini_city_url
    downgrade(url, "0007")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        city, bin_a, bin_b = conn.execute(
            "SELECT city_id, min(id), max(id) FROM bin WHERE fraction = 'residual' GROUP BY city_id"
        ).fetchone()
        conn.execute(
            "INSERT INTO alert (city_id, bin_id, kind, raised_at, detail) VALUES "
            "(%s, %s, 'fire', now(), 'temperature 116.8 °C'), (%s, %s, 'tilt', now(), 'tilted 58°')",
            (city, bin_a, city, bin_b),
        )
        plan = conn.execute(
            "INSERT INTO plan (city_id, fraction, service_date, status, progress, options) "
            "VALUES (%s, 'residual', '2026-12-08', 'done', 1.0, '{}') RETURNING id",
            (city,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO plan_bin (plan_id, bin_id, category, forecast_fill, routed, reason) VALUES "
            "(%s, %s, 'may', 0.72, false, 'May go: forecast 72%% at 10:00.; left out: optional, not worth "
            "the detour (skipping costs 70.15, less than the detour to collect it)'), "
            "(%s, %s, 'must', 0.93, true, 'Must go: forecast 93%% at 10:00 reaches the 80%% threshold.')",
            (plan, bin_a, plan, bin_b),
        )
    migrate(url)
    assert _q(url, "SELECT kind, params FROM alert ORDER BY kind") == [
        ("fire", {"temperature_c": 116.8}),
        ("tilt", {"tilt_deg": 58}),
    ]
    assert _q(url, "SELECT routed, reason_code, drop_code FROM plan_bin ORDER BY routed") == [
        (False, None, "optional_not_worth"),
        (True, None, None),
    ]
