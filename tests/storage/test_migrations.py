"""The migrations are the schema: up, down and up again on a real PostgreSQL."""

from __future__ import annotations

import psycopg

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
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(fresh_database_url: str) -> None:
    migrate(fresh_database_url)
    assert _tables(fresh_database_url) >= EXPECTED
    downgrade(fresh_database_url, "base")
    assert _tables(fresh_database_url) == {"alembic_version"}
    migrate(fresh_database_url)
    assert _tables(fresh_database_url) >= EXPECTED


def test_readings_are_partitioned_by_time_with_a_default_partition(database_url: str) -> None:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'sensor_reading'").fetchone()
        ts = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        parts = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sensor_reading'"
        ).fetchall()
        brin = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE tablename = 'sensor_reading' AND indexdef ILIKE '%USING brin%'"
        ).fetchone()
    if ts is None:  # the plain PostgreSQL path
        assert kind == ("p",)
        names = {p[0] for p in parts}
        assert "sensor_reading_default" in names
        assert len(names) >= 17  # 13 months back, this month, 3 ahead, default
        assert brin is not None
