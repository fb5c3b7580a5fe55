"""Periodic storage maintenance: reading partitions ahead, retention, and the ``bin_daily`` rollup.

On plain PostgreSQL ``sensor_reading`` is range-partitioned by month with a default partition. This
job creates the monthly partitions ahead of time, moves rows that waited in the default partition
into a partition created for their month (a partition cannot be added while the default holds rows
of its range), drops partitions wholly older than the retention window, and refreshes ``bin_daily``
(``INSERT … SELECT … ON CONFLICT DO UPDATE`` over the last whole days, the same window semantics as
TimescaleDB's continuous aggregate policy).

With TimescaleDB the licence's policies do retention and the rollup (``bin_daily`` is then a
continuous aggregate and is left alone); each run sets the retention policy to the configured window
(``WASTEROUTE_RETENTION_DAYS``). On an Apache-only build the job drops expired chunks itself.

Call :func:`run_maintenance` from the worker every few minutes; concurrent runs are serialised by an
advisory lock (a second caller returns at once with ``skipped=True``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from wasteroute.storage import partitions, timescale
from wasteroute.storage.db import make_engine

log = logging.getLogger(__name__)

LOCK_KEY = 0x57A57E01
"""``pg_try_advisory_lock`` key of the maintenance job."""
ROLLUP_DAYS = 3
"""Each rollup recomputes the day buckets from the one holding ``now - ROLLUP_DAYS`` up to ``now``."""
ROLLUP_TIMEZONE = "Europe/Berlin"
"""Time zone of the ``bin_daily`` day buckets (the same as the TimescaleDB continuous aggregate)."""
DDL_LOCK_TIMEOUT = "5s"
"""How long partition DDL may wait for its lock before this run gives up (ingest keeps writing)."""


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What one run did. ``backend``: "partitioned", "timescale" or "plain" (neither).

    ``default_rows`` counts readings left in the default partition (outside every monthly partition);
    anything above 0 deserves an alert. ``rollup``: "table" (refreshed here), "continuous_aggregate"
    (TimescaleDB refreshes it) or "none"."""

    backend: str
    skipped: bool
    partitions_created: tuple[str, ...] = ()
    partitions_dropped: tuple[str, ...] = ()
    rows_moved_from_default: int = 0
    expired_default_rows_deleted: int = 0
    default_rows: int = 0
    chunks_dropped: int = 0
    rollup: str = "none"
    rollup_rows: int = 0
    retention_policy_days: int | None = None
    retention_policy_changed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data (tuples become lists)."""
        return asdict(self)


def _month_start(d: date, add: int = 0) -> date:
    m = d.month - 1 + add
    return date(d.year + m // 12, m % 12 + 1, 1)


def _months_between(earlier: date, later: date) -> int:
    return (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month)


def default_partition(conn: Connection) -> str | None:
    """Name of ``sensor_reading``'s default partition, if it has one."""
    row = conn.execute(
        text(
            "SELECT d.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_class d ON d.oid = p.partdefid WHERE c.relname = 'sensor_reading'"
        )
    ).first()
    return str(row[0]) if row else None


def adopt_default_rows(conn: Connection, month: date, default: str) -> int:
    """Create ``month``'s partition from the default partition's rows of that month; returns the rows
    moved (0 and nothing created when there are none). Runs in the caller's transaction."""
    start, end = _month_start(month), _month_start(month, 1)
    bounds = {"s": start, "e": end}
    n = int(
        conn.execute(
            text(f"SELECT count(*) FROM {default} WHERE measured_at >= :s AND measured_at < :e"), bounds
        ).scalar_one()
    )
    if n == 0:
        return 0
    name = partitions.partition_name(start)
    conn.execute(text(f"CREATE TABLE {name} (LIKE sensor_reading INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {default} WHERE measured_at >= :s AND measured_at < :e RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    conn.execute(
        text(
            f"ALTER TABLE sensor_reading ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
    log.warning("moved %d readings of %s from the default partition into %s", n, start, name)
    return n


def maintain_partitions(
    conn: Connection, today: date, *, retention_days: int, months_ahead: int
) -> tuple[list[str], list[str], int, int, int]:
    """Partitions from the retention cutoff's month to ``months_ahead`` months after ``today``.

    Returns (created, dropped, rows moved from the default, expired default rows deleted, rows left in
    the default). Runs in the caller's transaction.
    """
    default = default_partition(conn)
    cutoff = today - timedelta(days=retention_days)
    months_back = max(0, _months_between(cutoff, today))
    moved = 0
    created: list[str] = []
    if default is not None:
        for k in range(-months_back, months_ahead + 1):
            month = _month_start(today, k)
            if conn.execute(text("SELECT to_regclass(:n)"), {"n": partitions.partition_name(month)}).scalar():
                continue
            n = adopt_default_rows(conn, month, default)
            if n:
                moved += n
                created.append(partitions.partition_name(month))
    created += partitions.ensure_partitions(conn, today, months_back=months_back, months_ahead=months_ahead)
    dropped = partitions.drop_expired_partitions(conn, today, retention_days)
    expired = left = 0
    if default is not None:
        expired = (
            conn.execute(
                text(f"DELETE FROM {default} WHERE measured_at < :cutoff"), {"cutoff": cutoff}
            ).rowcount
            or 0
        )
        left = int(conn.execute(text(f"SELECT count(*) FROM {default}")).scalar_one())
    return created, dropped, moved, expired, left


_ROLLUP = """
INSERT INTO bin_daily (sensor_id, day, min_fill, max_fill, last_fill, n)
SELECT sensor_id, date_trunc('day', measured_at, :tz) AS day, min(fill_level), max(fill_level),
       (array_agg(fill_level ORDER BY measured_at DESC))[1], count(*)
FROM sensor_reading
WHERE measured_at >= date_trunc('day', CAST(:now AS timestamptz) - make_interval(days => :days), :tz)
  AND measured_at <= :now
GROUP BY sensor_id, day
ON CONFLICT (sensor_id, day) DO UPDATE SET
    min_fill = excluded.min_fill, max_fill = excluded.max_fill, last_fill = excluded.last_fill, n = excluded.n
"""


def refresh_bin_daily(
    conn: Connection, now: datetime, *, days: int = ROLLUP_DAYS, timezone: str = ROLLUP_TIMEZONE
) -> int:
    """Recompute ``bin_daily`` for every day bucket (a whole day in ``timezone``) from the one holding
    ``now - days`` up to ``now``; returns the rows written. Runs in the caller's transaction.

    ``last_fill`` is the fill of the day's latest reading; ``n`` counts the day's readings. Readings
    later than ``now`` are left for a later run.
    """
    if days < 0:
        raise ValueError(f"days must be >= 0 (days recomputed before today), got {days}")
    result = conn.execute(text(_ROLLUP), {"tz": timezone, "now": now, "days": days})
    return int(result.rowcount or 0)


def bin_daily_kind(conn: Connection) -> str:
    """ "table", "continuous_aggregate" (a TimescaleDB view) or "missing"."""
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'bin_daily'")).scalar()
    if kind is None:
        return "missing"
    return "table" if kind in ("r", "p") else "continuous_aggregate"


def run_maintenance(
    database_url: str,
    now: datetime,
    *,
    retention_days: int = 400,
    months_ahead: int = 3,
    rollup_days: int = ROLLUP_DAYS,
    timezone: str = ROLLUP_TIMEZONE,
) -> MaintenanceReport:
    """One maintenance run at ``now`` (timezone-aware): partitions, retention, rollup.

    ``retention_days`` (default 400) bounds the readings kept; ``months_ahead`` (default 3) monthly
    partitions are kept ready; ``rollup_days`` (default 3) whole days of ``bin_daily`` are recomputed.
    Each step commits on its own, so partition DDL holds its locks only briefly.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime (UTC)")
    if retention_days < 1 or months_ahead < 0:
        raise ValueError("retention_days must be >= 1 and months_ahead >= 0")
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar_one():
                conn.rollback()
                log.info("storage maintenance already running elsewhere; skipped")
                return MaintenanceReport(backend="unknown", skipped=True)
            conn.commit()
            try:
                return _run(conn, now, retention_days, months_ahead, rollup_days, timezone)
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def _run(
    conn: Connection, now: datetime, retention_days: int, months_ahead: int, rollup_days: int, timezone: str
) -> MaintenanceReport:
    today = now.date()
    created: list[str] = []
    dropped: list[str] = []
    moved = expired = left = chunks = 0
    policy_days: int | None = None
    policy_changed = False
    if partitions.is_partitioned(conn):
        backend = "partitioned"
        conn.execute(text(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'"))
        created, dropped, moved, expired, left = maintain_partitions(
            conn, today, retention_days=retention_days, months_ahead=months_ahead
        )
        conn.commit()
    elif timescale.timescale_installed(conn):
        backend = "timescale"
        if timescale.has_continuous_aggregates(conn):  # the licence's policy drops expired chunks
            policy_changed = timescale.set_retention_days(conn, retention_days)
            policy_days = retention_days
            conn.commit()
            if policy_changed:
                log.info("TimescaleDB retention policy set to %d days", retention_days)
        else:  # Apache-only build: no retention policy, drop expired chunks here
            cutoff = now - timedelta(days=retention_days)
            chunks = len(
                conn.execute(
                    text("SELECT drop_chunks('sensor_reading', older_than => CAST(:c AS timestamptz))"),
                    {"c": cutoff},
                ).all()
            )
            conn.commit()
    else:
        backend = "plain"
        conn.execute(
            text("DELETE FROM sensor_reading WHERE measured_at < :c"),
            {"c": now - timedelta(days=retention_days)},
        )
        conn.commit()
    kind = bin_daily_kind(conn)
    rollup_rows = 0
    if kind == "table":
        rollup_rows = refresh_bin_daily(conn, now, days=rollup_days, timezone=timezone)
        conn.commit()
    report = MaintenanceReport(
        backend=backend,
        skipped=False,
        partitions_created=tuple(created),
        partitions_dropped=tuple(dropped),
        rows_moved_from_default=moved,
        expired_default_rows_deleted=expired,
        default_rows=left,
        chunks_dropped=chunks,
        rollup=kind if kind != "missing" else "none",
        rollup_rows=rollup_rows,
        retention_policy_days=policy_days,
        retention_policy_changed=policy_changed,
    )
    if left:
        log.warning("%d readings sit in the default partition (outside every monthly partition)", left)
    log.info("storage maintenance: %s", report)
    return report
