"""Storage maintenance: native monthly partitions and the ``bin_daily`` table on plain PostgreSQL; the
retention policy and the continuous aggregate on TimescaleDB; locking and checks on both."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.support import DatabaseServer
from wasteroute.storage.db import migrate
from wasteroute.storage.maintenance import LOCK_KEY, run_maintenance

BERLIN = ZoneInfo("Europe/Berlin")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _q(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(_plain(url)) as conn:
        cur = conn.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []


def _insert(url: str, rows: list[tuple[int, datetime, float | None]]) -> None:
    with psycopg.connect(_plain(url)) as conn:
        conn.cursor().executemany(
            "INSERT INTO sensor_reading (sensor_id, measured_at, city_id, fill_level, source) "
            "VALUES (%s, %s, 1, %s, 'native')",
            rows,
        )


def _partitions(url: str) -> set[str]:
    return {
        r[0]
        for r in _q(
            url,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sensor_reading'",
        )
    }


def _month(d: date, add: int) -> date:
    m = d.month - 1 + add
    return date(d.year + m // 12, m % 12 + 1, 1)


@pytest.fixture
def db(fresh_database_url: str) -> str:
    """Plain PostgreSQL: readings natively partitioned, ``bin_daily`` a table."""
    migrate(fresh_database_url)
    return fresh_database_url


@pytest.fixture
def any_db(backend_fresh_url: str) -> str:
    """Each backend in turn: plain PostgreSQL, then TimescaleDB."""
    migrate(backend_fresh_url)
    return backend_fresh_url


@pytest.fixture
def tsdb(timescale_server: DatabaseServer) -> str:
    """TimescaleDB: readings a hypertable, ``bin_daily`` a continuous aggregate."""
    url = timescale_server.create("wasteroute_fresh")
    migrate(url)
    return url


NOW = datetime.now(UTC).replace(microsecond=0)


def test_partitions_are_created_ahead_and_dropped_beyond_retention(db: str) -> None:
    later = NOW + timedelta(days=190)  # about six months on: the migration's partitions run out
    before = _partitions(db)
    report = run_maintenance(db, later, retention_days=400, months_ahead=3)
    after = _partitions(db)
    assert report.backend == "partitioned" and not report.skipped
    wanted_ahead = {f"sensor_reading_{_month(later.date(), k):%Y_%m}" for k in range(4)}
    assert wanted_ahead <= after
    assert set(report.partitions_created) == after - before
    cutoff = later.date() - timedelta(days=400)
    gone = {
        p
        for p in before
        if p != "sensor_reading_default" and _month(date(int(p[-7:-3]), int(p[-2:]), 1), 1) <= cutoff
    }
    assert gone and set(report.partitions_dropped) == gone and not gone & after
    # a second run has nothing left to do
    again = run_maintenance(db, later, retention_days=400, months_ahead=3)
    assert again.partitions_created == () and again.partitions_dropped == ()


def test_readings_waiting_in_the_default_partition_move_into_their_new_month(db: str) -> None:
    future = NOW + timedelta(days=160)  # beyond the partitions the migration made: lands in default
    old = NOW - timedelta(days=500)  # beyond retention
    _insert(db, [(1, future, 0.5), (2, future, 0.6), (1, old, 0.1)])
    assert _q(db, "SELECT count(*) FROM sensor_reading_default") == [(3,)]
    report = run_maintenance(db, NOW + timedelta(days=100), retention_days=400, months_ahead=3)
    month = f"sensor_reading_{future:%Y_%m}"
    assert report.rows_moved_from_default == 2 and month in report.partitions_created
    assert report.expired_default_rows_deleted == 1 and report.default_rows == 0
    placed = _q(db, "SELECT tableoid::regclass::text, sensor_id FROM sensor_reading ORDER BY sensor_id")
    assert placed == [(month, 1), (month, 2)]
    # the moved partition is a real partition: new readings of that month go straight into it
    _insert(db, [(3, future, 0.7)])
    assert _q(db, f"SELECT count(*) FROM {month}") == [(3,)]


def _expected_daily(
    rows: list[tuple[int, datetime, float | None]], first_day: date
) -> dict[tuple[int, date], tuple[Any, ...]]:
    by_day: dict[tuple[int, date], list[tuple[datetime, float | None]]] = defaultdict(list)
    for sensor, at, fill in rows:
        day = at.astimezone(BERLIN).date()
        if day >= first_day and at <= NOW:
            by_day[(sensor, day)].append((at, fill))
    out = {}
    for key, items in by_day.items():
        fills = [f for _, f in items if f is not None]
        last = max(items)[1]
        out[key] = (min(fills), max(fills), last, len(items))
    return out


def test_bin_daily_rollup_recomputes_the_last_days_idempotently(db: str) -> None:
    rows: list[tuple[int, datetime, float | None]] = []
    for sensor in (7, 8):
        for h in range(0, 24 * 6, 5):  # six days back, every five hours
            at = NOW - timedelta(hours=h)
            rows.append((sensor, at, round(0.05 + (h % 17) / 20, 3)))
    _insert(db, rows)
    report = run_maintenance(db, NOW, rollup_days=3)
    assert report.rollup == "table"
    first_day = (NOW - timedelta(days=3)).astimezone(BERLIN).date()
    expected = _expected_daily(rows, first_day)
    got = {
        (s, d.astimezone(BERLIN).date()): (round(mn, 3), round(mx, 3), round(last, 3), n)
        for s, d, mn, mx, last, n in _q(
            db, "SELECT sensor_id, day, min_fill, max_fill, last_fill, n FROM bin_daily"
        )
    }
    assert got == {
        k: (round(a, 3), round(b, 3), round(c, 3) if c is not None else None, n)
        for k, (a, b, c, n) in expected.items()
    }
    assert all(d.hour == 0 for (d,) in _q(db, "SELECT day AT TIME ZONE 'Europe/Berlin' FROM bin_daily"))
    assert report.rollup_rows == len(expected)
    # a reading arrives late for yesterday; the next run updates that day and leaves the rest unchanged
    yesterday = NOW - timedelta(days=1)
    _insert(db, [(7, yesterday + timedelta(seconds=1), 1.2)])
    run_maintenance(db, NOW, rollup_days=3)
    day = yesterday.astimezone(BERLIN).date()
    ((mx, n),) = [
        (round(r[0], 3), r[1])
        for r in _q(
            db,
            "SELECT max_fill, n FROM bin_daily "
            "WHERE sensor_id = 7 AND (day AT TIME ZONE 'Europe/Berlin')::date = %s",
            (day,),
        )
    ]
    assert mx == 1.2 and n == expected[(7, day)][3] + 1
    assert len(_q(db, "SELECT 1 FROM bin_daily")) == len(expected)


def test_a_second_concurrent_run_is_skipped(any_db: str) -> None:
    with psycopg.connect(_plain(any_db)) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        report = run_maintenance(any_db, NOW)
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    assert report.skipped
    assert not run_maintenance(any_db, NOW).skipped


def test_now_must_be_timezone_aware(any_db: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_maintenance(any_db, datetime(2026, 11, 22, 12, 0))


def test_each_backend_reports_its_own_kind_of_maintenance(backend: str, any_db: str) -> None:
    report = run_maintenance(any_db, NOW, retention_days=400)
    assert not report.skipped
    if backend == "postgres":
        assert (report.backend, report.rollup, report.retention_policy_days) == ("partitioned", "table", None)
    else:
        assert (report.backend, report.rollup) == ("timescale", "continuous_aggregate")
        assert report.partitions_created == () and report.retention_policy_days == 400
    assert report.as_dict()["backend"] == report.backend


def _retention_job(url: str) -> tuple[int, str]:
    ((job, drop_after),) = _q(
        url,
        "SELECT job_id, config->>'drop_after' FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_retention' AND hypertable_name = 'sensor_reading'",
    )
    return int(job), str(drop_after)


def test_timescale_retention_follows_the_configured_days(tsdb: str) -> None:
    assert _retention_job(tsdb)[1] == "400 days"  # the migration's default
    first = run_maintenance(tsdb, NOW, retention_days=30)
    assert first.retention_policy_days == 30 and first.retention_policy_changed
    job, drop_after = _retention_job(tsdb)
    assert drop_after == "30 days"
    again = run_maintenance(tsdb, NOW, retention_days=30)
    assert again.retention_policy_days == 30 and not again.retention_policy_changed
    assert _retention_job(tsdb)[0] == job  # unchanged policy: the same job
    # the policy really drops what is older than 30 days (chunks of 7 days: well past the cutoff)
    _insert(tsdb, [(1, NOW - timedelta(days=60), 0.2), (1, NOW - timedelta(days=2), 0.4)])
    _q(tsdb, f"CALL run_job({job})")
    assert _q(tsdb, "SELECT fill_level FROM sensor_reading") == [(pytest.approx(0.4),)]


def test_timescale_bin_daily_means_what_the_plain_rollup_means(tsdb: str) -> None:
    rows: list[tuple[int, datetime, float | None]] = []
    for sensor in (7, 8):
        for h in range(2, 24 * 6, 5):
            at = NOW - timedelta(hours=h)
            rows.append((sensor, at, round(0.05 + (h % 17) / 20, 3)))
    _insert(tsdb, rows)
    report = run_maintenance(tsdb, NOW)
    assert report.rollup == "continuous_aggregate" and report.rollup_rows == 0  # TimescaleDB refreshes it
    with psycopg.connect(_plain(tsdb), autocommit=True) as conn:
        conn.execute("CALL refresh_continuous_aggregate('bin_daily', NULL, NULL)")
    expected = _expected_daily(rows, date(2000, 1, 1))
    got = {
        (s, d.astimezone(BERLIN).date()): (round(mn, 3), round(mx, 3), round(last, 3), n)
        for s, d, mn, mx, last, n in _q(
            tsdb, "SELECT sensor_id, day, min_fill, max_fill, last_fill, n FROM bin_daily"
        )
    }
    assert got == {k: (round(a, 3), round(b, 3), round(c, 3), n) for k, (a, b, c, n) in expected.items()}
