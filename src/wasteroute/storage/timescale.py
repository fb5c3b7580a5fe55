"""TimescaleDB detection and the small, guarded Timescale-only SQL.

Everything else in the project sees the same tables either way: ``sensor_reading`` (a hypertable
with Timescale, natively range-partitioned otherwise) and ``bin_daily`` (a continuous aggregate
with Timescale, a table refreshed by an app job otherwise).
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, text

CHUNK_INTERVAL = "7 days"
COMPRESS_AFTER = "14 days"


def timescale_available(conn: Connection) -> bool:
    """True when the server can load the ``timescaledb`` extension (it must be preloaded)."""
    row = conn.execute(
        text("SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    if row is None or row[0] is None:
        return False
    preload = conn.execute(text("SHOW shared_preload_libraries")).scalar_one()
    return "timescaledb" in str(preload)


def timescale_installed(conn: Connection) -> bool:
    """True when the extension is created in this database."""
    return conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first() is not None


def _licence_has_policies(conn: Connection) -> bool:
    return str(conn.execute(text("SHOW timescaledb.license")).scalar_one()) == "timescale"


def make_hypertable(conn: Connection, retention_days: int) -> None:
    """Turn the (empty, unpartitioned) ``sensor_reading`` into a hypertable with policies."""
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    conn.execute(
        text(
            "SELECT create_hypertable('sensor_reading', 'measured_at', "
            f"chunk_time_interval => INTERVAL '{CHUNK_INTERVAL}', if_not_exists => true)"
        )
    )
    if not _licence_has_policies(conn):
        return  # Apache-only build: hypertable without compression, retention or aggregates.
    conn.execute(
        text(
            "ALTER TABLE sensor_reading SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'sensor_id', timescaledb.compress_orderby = 'measured_at DESC')"
        )
    )
    conn.execute(text(f"SELECT add_compression_policy('sensor_reading', INTERVAL '{COMPRESS_AFTER}')"))
    set_retention_days(conn, retention_days)


def configured_retention_days(default: int) -> int:
    """``WASTEROUTE_RETENTION_DAYS`` when set (a whole number of days >= 1), else ``default``."""
    raw = os.environ.get("WASTEROUTE_RETENTION_DAYS", "").strip()
    if not raw:
        return default
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"WASTEROUTE_RETENTION_DAYS: expected a whole number of days, got {raw!r}") from None
    if days < 1:
        raise ValueError(f"WASTEROUTE_RETENTION_DAYS: expected at least 1 day, got {days}")
    return days


def retention_days(conn: Connection) -> int | None:
    """Days after which the retention policy drops ``sensor_reading`` chunks (None: no policy)."""
    row = conn.execute(
        text(
            "SELECT extract(epoch FROM CAST(config->>'drop_after' AS interval)) / 86400 "
            "FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_retention' AND hypertable_name = 'sensor_reading'"
        )
    ).first()
    return None if row is None else round(float(row[0]))


def set_retention_days(conn: Connection, days: int) -> bool:
    """Make the retention policy of ``sensor_reading`` drop chunks older than ``days`` (replacing a
    policy with another window); returns True when the policy was created or changed."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"retention days must be a whole number >= 1, got {days!r}")
    current = retention_days(conn)
    if current == days:
        return False
    if current is not None:
        conn.execute(text("SELECT remove_retention_policy('sensor_reading')"))
    conn.execute(
        text("SELECT add_retention_policy('sensor_reading', make_interval(days => :d))"), {"d": days}
    )
    return True


def create_daily_aggregate(conn: Connection) -> None:
    """``bin_daily`` as a continuous aggregate (Timescale licence with policies only)."""
    conn.execute(
        text(
            """
            CREATE MATERIALIZED VIEW bin_daily WITH (timescaledb.continuous) AS
            SELECT sensor_id, time_bucket('1 day', measured_at, 'Europe/Berlin') AS day,
                   min(fill_level) AS min_fill, max(fill_level) AS max_fill,
                   last(fill_level, measured_at) AS last_fill, count(*) AS n
            FROM sensor_reading GROUP BY sensor_id, day WITH NO DATA
            """
        )
    )
    conn.execute(
        text(
            "SELECT add_continuous_aggregate_policy('bin_daily', start_offset => INTERVAL '3 days', "
            "end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour')"
        )
    )


def has_continuous_aggregates(conn: Connection) -> bool:
    return timescale_installed(conn) and _licence_has_policies(conn)
