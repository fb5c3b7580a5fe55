"""TimescaleDB detection and the small, guarded Timescale-only SQL.

Everything else in the project sees the same tables either way: ``sensor_reading`` (a hypertable
with Timescale, natively range-partitioned otherwise) and ``bin_daily`` (a continuous aggregate
with Timescale, a table refreshed by an app job otherwise).
"""

from __future__ import annotations

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
    conn.execute(
        text(f"SELECT add_retention_policy('sensor_reading', INTERVAL '{int(retention_days)} days')")
    )


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
