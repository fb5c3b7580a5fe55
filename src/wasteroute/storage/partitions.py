"""Monthly range partitions of ``sensor_reading`` on plain PostgreSQL (the app job, not Timescale)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text


def _month_start(d: date, add: int = 0) -> date:
    m = d.month - 1 + add
    return date(d.year + m // 12, m % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"sensor_reading_{month:%Y_%m}"


def is_partitioned(conn: Connection) -> bool:
    row = conn.execute(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = 'sensor_reading'"
        )
    ).first()
    return row is not None


def ensure_partitions(
    conn: Connection, today: date, *, months_back: int = 13, months_ahead: int = 3
) -> list[str]:
    """Create the missing monthly partitions around ``today``; returns the names created.

    Readings older than ``months_back`` months or further ahead than ``months_ahead`` land in the
    default partition, so no reading is ever refused for its timestamp by the table itself.
    """
    if not is_partitioned(conn):
        return []
    created = []
    for k in range(-months_back, months_ahead + 1):
        start, end = _month_start(today, k), _month_start(today, k + 1)
        name = partition_name(start)
        exists = conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
        if exists:
            continue
        conn.execute(
            text(
                f"CREATE TABLE {name} PARTITION OF sensor_reading "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )
        created.append(name)
    return created


def drop_expired_partitions(conn: Connection, today: date, retention_days: int) -> list[str]:
    """Detach and drop monthly partitions wholly older than the retention window."""
    if not is_partitioned(conn):
        return []
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sensor_reading' "
            "AND c.relname ~ '^sensor_reading_[0-9]{4}_[0-9]{2}$'"
        )
    ).scalars()
    dropped = []
    cutoff = date.fromordinal(today.toordinal() - retention_days)
    for name in rows:
        y, m = int(name[-7:-3]), int(name[-2:])
        if _month_start(date(y, m, 1), 1) <= cutoff:
            conn.execute(text(f"ALTER TABLE sensor_reading DETACH PARTITION {name}"))
            conn.execute(text(f"DROP TABLE {name}"))
            dropped.append(name)
    return dropped
