"""The ingest write path: idempotent batch insert of readings, dead letters and alerts.

COPY (binary) into a temporary staging table, then ``INSERT … SELECT … ON CONFLICT DO NOTHING`` on
the ``(sensor_id, measured_at)`` key, the latest state per bin and the fire/tilt alerts, all in the
caller's transaction. The caller commits and only then acknowledges the messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from wasteroute.storage.integrations import IntegrationInfo

FIRE_TEMPERATURE_C = 65.0
TILT_ALERT_DEG = 45.0

_COLUMNS = (
    "sensor_id",
    "measured_at",
    "city_id",
    "bin_id",
    "fill_level",
    "distance_mm",
    "battery_pct",
    "battery_v",
    "temperature_c",
    "tilt_deg",
    "rssi_dbm",
    "snr_db",
    "source",
    "raw",
)
_TYPES = (
    "int8",
    "timestamptz",
    "int4",
    "int8",
    "float4",
    "float4",
    "float4",
    "float4",
    "float4",
    "float4",
    "float4",
    "float4",
    "text",
    "bytea",
)
_COLS = ", ".join(_COLUMNS)

_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS sensor_reading_stage "
    "(LIKE sensor_reading INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)

_MERGE = f"""
WITH ins AS (
    INSERT INTO sensor_reading ({_COLS})
    SELECT {_COLS} FROM sensor_reading_stage
    ON CONFLICT (sensor_id, measured_at) DO NOTHING
    RETURNING {_COLS}
), latest AS (
    SELECT DISTINCT ON (bin_id) * FROM ins WHERE bin_id IS NOT NULL ORDER BY bin_id, measured_at DESC
), state AS (
    INSERT INTO bin_state (bin_id, city_id, sensor_id, measured_at, fill_level, distance_mm, battery_pct,
                           battery_v, temperature_c, tilt_deg, updated_at)
    SELECT bin_id, city_id, sensor_id, measured_at, fill_level, distance_mm, battery_pct, battery_v,
           temperature_c, tilt_deg, now() FROM latest
    ON CONFLICT (bin_id) DO UPDATE SET
        sensor_id = excluded.sensor_id, measured_at = excluded.measured_at, fill_level = excluded.fill_level,
        distance_mm = excluded.distance_mm, battery_pct = excluded.battery_pct,
        battery_v = excluded.battery_v,
        temperature_c = excluded.temperature_c, tilt_deg = excluded.tilt_deg, updated_at = now()
    WHERE excluded.measured_at > bin_state.measured_at
), alerts AS (
    INSERT INTO alert (city_id, bin_id, sensor_id, kind, raised_at, detail, params)
    SELECT DISTINCT ON (bin_id, kind) city_id, bin_id, sensor_id, kind, measured_at, detail, params FROM (
        SELECT city_id, bin_id, sensor_id, 'fire' AS kind, measured_at,
               format('temperature %s °C', round(temperature_c::numeric, 1)) AS detail,
               jsonb_build_object('temperature_c', round(temperature_c::numeric, 1)) AS params
        FROM ins WHERE temperature_c >= {FIRE_TEMPERATURE_C} AND bin_id IS NOT NULL
        UNION ALL
        SELECT city_id, bin_id, sensor_id, 'tilt', measured_at,
               format('tilted %s°', round(tilt_deg::numeric, 0)),
               jsonb_build_object('tilt_deg', round(tilt_deg::numeric, 0))
        FROM ins WHERE tilt_deg >= {TILT_ALERT_DEG} AND bin_id IS NOT NULL
    ) a ORDER BY bin_id, kind, measured_at
    ON CONFLICT (bin_id, kind) WHERE cleared_at IS NULL DO NOTHING
)
SELECT count(*) FROM ins
"""


@dataclass(slots=True)
class ReadingRow:
    """A reading tied to its sensor and bin, ready to store. Fill level 0..1.5, distance in mm.

    Read-only by convention; not ``frozen`` because one is built per reading on ingest's hot path
    (a frozen dataclass costs about 1.5 µs more to build)."""

    sensor_id: int
    measured_at: datetime
    city_id: int
    bin_id: int | None
    fill_level: float | None
    distance_mm: float | None
    battery_pct: float | None
    battery_v: float | None
    temperature_c: float | None
    tilt_deg: float | None
    rssi_dbm: float | None
    snr_db: float | None
    source: str
    raw: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """A message that could not become a reading, kept with its raw bytes and the reason."""

    channel: str
    topic: str | None
    payload: bytes
    reason: str
    detail: str
    city_id: int | None = None


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    stored: int
    duplicates: int
    dead_lettered: int


def store_batch(
    conn: psycopg.Connection[Any], readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]
) -> BatchOutcome:
    """Write one batch inside the caller's open transaction; the caller commits."""
    stored = 0
    with conn.cursor() as cur:
        if readings:
            cur.execute(_STAGE)
            with cur.copy(f"COPY sensor_reading_stage ({_COLS}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(list(_TYPES))
                for r in readings:
                    copy.write_row(
                        (
                            r.sensor_id,
                            r.measured_at,
                            r.city_id,
                            r.bin_id,
                            r.fill_level,
                            r.distance_mm,
                            r.battery_pct,
                            r.battery_v,
                            r.temperature_c,
                            r.tilt_deg,
                            r.rssi_dbm,
                            r.snr_db,
                            r.source,
                            r.raw,
                        )
                    )
            cur.execute(_MERGE)
            row = cur.fetchone()
            stored = int(row[0]) if row else 0
            cur.execute("TRUNCATE sensor_reading_stage")
        if dead:
            cur.executemany(
                "INSERT INTO dead_letter (channel, topic, payload, reason, detail, city_id) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [(d.channel, d.topic, d.payload, d.reason, d.detail, d.city_id) for d in dead],
            )
    return BatchOutcome(stored=stored, duplicates=len(readings) - stored, dead_lettered=len(dead))


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """What ingest needs to turn a device's reading into a bin's fill level."""

    sensor_id: int
    device_id: str
    city_id: int
    city_slug: str
    bin_id: int | None
    model: str
    mount_offset_mm: float
    height_mm: float | None


def load_sensor_directory(conn: psycopg.Connection[Any]) -> dict[str, SensorInfo]:
    """Every registered sensor by device id (lower case), with its bin's container height."""
    sql = (
        "SELECT s.id, s.device_id, s.city_id, c.slug, s.bin_id, s.model, s.mount_offset_mm, t.height_mm "
        "FROM sensor s JOIN city c ON c.id = s.city_id "
        "LEFT JOIN bin b ON b.id = s.bin_id LEFT JOIN container_type t ON t.id = b.container_type_id"
    )
    with conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    out: dict[str, SensorInfo] = {}
    for row in rows:
        sid, dev, city_id, slug, bin_id, model, offset, height = row
        out[str(dev).lower()] = SensorInfo(
            sensor_id=int(sid),
            device_id=str(dev).lower(),
            city_id=int(city_id),
            city_slug=str(slug),
            bin_id=int(bin_id) if bin_id is not None else None,
            model=str(model),
            mount_offset_mm=float(offset),
            height_mm=float(height) if height is not None else None,
        )
    return out


class StorageUnavailable(Exception):
    """The database cannot be reached or the batch could not be committed; retry later."""


class BatchRejected(Exception):
    """The database refused the batch's content (a constraint, a value); the rows must be isolated."""


class BatchStore:
    """One dedicated psycopg connection for the ingest writer; reconnects after failures."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            # keepalives: a silent network partition fails the commit in about 30 s instead of hanging
            self._conn = psycopg.connect(
                self.url,
                connect_timeout=5,
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
                tcp_user_timeout=30_000,
            )
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def write_and_commit(self, readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]) -> BatchOutcome:
        """Store one batch in one transaction and commit it; raises StorageUnavailable on failure."""
        try:
            conn = self._connection()
            with conn.transaction():
                outcome = store_batch(conn, readings, dead)
            return outcome
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            # the content: a value out of a column's range, a constraint; isolate the rows
            self._drop()
            raise BatchRejected(f"{type(exc).__name__}: {exc}") from exc
        except psycopg.Error as exc:
            # the server: down, read-only after a failover, permissions, a timeout; retry later
            self._drop()
            raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def sensors(self) -> dict[str, SensorInfo]:
        try:
            conn = self._connection()
            with conn.transaction():
                return load_sensor_directory(conn)
        except psycopg.Error as exc:
            self._drop()
            raise StorageUnavailable(str(exc)) from exc

    def integrations(self) -> list[IntegrationInfo]:
        """The registered network-server integrations (see :mod:`wasteroute.storage.integrations`)."""
        from wasteroute.storage.integrations import load_integrations

        try:
            conn = self._connection()
            with conn.transaction():
                return load_integrations(conn)
        except psycopg.Error as exc:
            self._drop()
            raise StorageUnavailable(str(exc)) from exc

    def close(self) -> None:
        self._drop()
