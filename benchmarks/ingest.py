"""``wasteroute bench ingest``: end-to-end ingest throughput and latency on a real broker and database.

What it measures, in one run:

1. ``broker_only_msgs_per_s``: a plain paho subscriber (QoS 1, persistent session, auto-ack, paho's
   own per-message path) drains a backlog of N native readings. Ingest's client reads the socket in
   chunks and skips paho's per-message objects (:class:`~wasteroute.ingest.edge.IngestClient`), so
   ingest can drain faster than this baseline.
2. ``msgs_per_s``: the ingestor drains the same N from its own persistent session (parse, resolve,
   COPY staging, ``ON CONFLICT``, commit, ack in order). ``stored``/``lost``/``duplicates`` come from
   the database and the writer.
   ``cpu_us_per_msg`` / ``broker_only_cpu_us_per_msg``: CPU time of this process per message in each
   drain (broker and database excluded), a figure that shared machines disturb less than msgs/s.
3. ``p99_latency_ms``: readings published at a steady rate (1,000 msgs/s by default) while the
   ingestor runs; latency is from the publish call to the commit of the batch holding the reading.

Both drains start from a backlog so that the publisher (a paho client, slower than the broker) is
not what is measured. The broker is ``mosquitto`` with the shipped ``deploy/mosquitto.conf`` on a
free port unless ``--mqtt-url`` is given; the database is ``WASTEROUTE_DATABASE_URL`` or an embedded
PostgreSQL in a temporary directory. A bench city with its own sensors is created for the run and
deleted afterwards (``--keep`` keeps it). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.admin.service import import_city_seed
from wasteroute.config import DEFAULT_INGEST_BATCH_SIZE, Settings
from wasteroute.ingest.edge import BrokerAddress, InboundMessage
from wasteroute.ingest.schemas import native_topic
from wasteroute.ingest.service import Ingestor
from wasteroute.runtime.publish import Publisher
from wasteroute.storage.db import make_engine, make_session_factory, migrate, transaction
from wasteroute.storage.readings import BatchOutcome

log = logging.getLogger(__name__)

BENCH_HEIGHT_MM = 2_000.0
"""Container depth of the bench city's bins, mm."""
BENCH_OFFSET_MM = 100.0
"""Sensor mount offset above the full line in the bench city, mm."""


# --------------------------------------------------------------------------------------------------
# a city with N sensors, and native readings for it (also used by the loss tests)


def seed_document(
    slug: str,
    devices: Sequence[str],
    *,
    model: str = "native",
    height_mm: float = BENCH_HEIGHT_MM,
    mount_offset_mm: float = BENCH_OFFSET_MM,
) -> CitySeedDocument:
    """A minimal city: one depot, one container type (``height_mm`` deep) and one bin per device,
    each sensor mounted ``mount_offset_mm`` above the full line."""
    if not devices:
        raise ValueError("a bench city needs at least one device id")
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [10.68 + (i % 100) * 1e-4, 53.86 + (i // 100) * 1e-4],
            },
            "properties": {
                "external_id": f"{slug}-{i:06d}",
                "fraction": "residual",
                "container_type": "bench-bin",
                "sensor": {"device_id": dev, "model": model, "mount_offset_mm": mount_offset_mm},
            },
        }
        for i, dev in enumerate(devices)
    ]
    return CitySeedDocument.model_validate(
        {
            "city": {"slug": slug, "name": f"Bench {slug}", "center": [10.68, 53.86]},
            "container_types": [
                {
                    "code": "bench-bin",
                    "name": "bench bin",
                    "volume_l": 1100,
                    "height_mm": height_mm,
                    "service_s": 60,
                    "max_mass_kg": 440,
                }
            ],
            "depots": [{"external_id": "depot", "name": "Depot", "lon": 10.7, "lat": 53.88}],
            "bins": {"type": "FeatureCollection", "features": features},
        }
    )


def seed_city(database_url: str, doc: CitySeedDocument) -> int:
    """Import ``doc`` (idempotent) and return the city's id."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as session:
            return import_city_seed(session, doc).city_id
    finally:
        engine.dispose()


def device_ids(prefix: str, n: int) -> list[str]:
    """``n`` device ids ``<prefix>-000000`` … (lower case; valid sensor ids)."""
    return [f"{prefix}-{i:06d}" for i in range(n)]


def native_payload(device_id: str, measured_at: datetime, distance_mm: float, seq: int) -> bytes:
    """One native reading as a gateway sends it (compact JSON, UTF-8)."""
    body = {
        "device_id": device_id,
        "measured_at": measured_at.isoformat().replace("+00:00", "Z"),
        "distance_mm": distance_mm,
        "battery_pct": 87.0,
        "temperature_c": 11.5,
        "rssi_dbm": -97.0,
        "snr_db": 7.5,
        "seq": seq,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def native_stream(
    slug: str, devices: Sequence[str], n: int, *, start: datetime, step_s: float = 60.0, seq0: int = 0
) -> Iterator[tuple[str, bytes]]:
    """``n`` distinct readings, round robin over ``devices``; reading ``k`` of a device is at
    ``start + k * step_s`` seconds, so every (device, time) key is unique for a given ``seq0``."""
    s = len(devices)
    for i in range(seq0, seq0 + n):
        dev = devices[i % s]
        at = start + timedelta(seconds=(i // s) * step_s)
        distance = 300.0 + (i * 37) % 1_500
        yield native_topic(slug, dev), native_payload(dev, at, distance, i)


def count_readings(database_url: str, city_id: int | None = None, since: datetime | None = None) -> int:
    """Rows of ``sensor_reading`` (of one city; measured after ``since``). The key is unique, so this
    counts distinct readings."""
    sql = "SELECT count(*) FROM sensor_reading WHERE (%s::int IS NULL OR city_id = %s)"
    params: tuple[object, ...] = (city_id, city_id)
    if since is not None:
        sql += " AND measured_at > %s"
        params = (*params, since)
    with psycopg.connect(_plain(database_url)) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def delete_city(database_url: str, city_id: int) -> None:
    """Remove a bench city, its readings and its dead letters."""
    with psycopg.connect(_plain(database_url)) as conn:
        conn.execute("DELETE FROM sensor_reading WHERE city_id = %s", (city_id,))
        conn.execute("DELETE FROM dead_letter WHERE city_id = %s", (city_id,))
        conn.execute("DELETE FROM city WHERE id = %s", (city_id,))


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# --------------------------------------------------------------------------------------------------
# the measurements


class DrainSubscriber:
    """A plain paho QoS 1 subscriber with a persistent session (auto-ack): the broker-only baseline."""

    def __init__(self, url: str, client_id: str, topic: str, protocol: str = "5") -> None:
        self.address = BrokerAddress.parse(url)
        self.v5 = protocol == "5"
        if self.v5:
            self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        else:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False
            )
        if self.address.username:
            self.client.username_pw_set(self.address.username, self.address.password)
        self.receive_maximum = 2_000
        self.client.max_inflight_messages_set(2_000)
        self.topic = topic
        self.count = 0
        self.target = 0
        self.done = threading.Event()
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    def connect(self, *, clean: bool = False) -> None:
        if not self.v5:
            self.client.connect(self.address.host, self.address.port, keepalive=30)
            self.client.loop_start()
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0 if clean else 3_600
        props.ReceiveMaximum = self.receive_maximum
        self.client.connect(
            self.address.host, self.address.port, keepalive=30, clean_start=clean, properties=props
        )
        self.client.loop_start()

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fast_publisher(url: str, client_id: str, window: int = 10_000) -> Publisher:
    """A :class:`Publisher` whose paho client does not limit in-flight messages itself.

    The publisher's own ``window`` already keeps message ids below 65,535; paho's limit adds a scan
    of every in-flight message on each PUBACK (quadratic: ≈850 msgs/s at a 10,000 window here, against
    ≈6,000 without it). Call before entering the context.
    """
    pub = Publisher(url, client_id, window=window)
    pub.client.max_inflight_messages_set(0)
    return pub


def _forget_session(url: str, client_id: str) -> None:
    """End a persistent session on the broker (connect with a clean start and Session Expiry 0)."""
    addr = BrokerAddress.parse(url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if addr.username:
        c.username_pw_set(addr.username, addr.password)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    try:
        c.connect(addr.host, addr.port, keepalive=10, clean_start=True, properties=props)
        c.loop_start()
        time.sleep(0.2)
        c.disconnect()
        c.loop_stop()
    except OSError:
        log.warning("could not clear the bench session %s", client_id)


@dataclass
class BenchOptions:
    """``messages``: backlog drained by both subscribers; ``latency_rate``: msgs/s of the steady
    phase, for ``latency_s`` seconds; ``sensors``: bench city size; ``batch_size``: ingest batch."""

    messages: int = 50_000
    latency_rate: float = 1_000.0
    latency_s: float = 5.0
    sensors: int = 1_000
    batch_size: int = DEFAULT_INGEST_BATCH_SIZE
    batch_age_ms: int = 100
    keep: bool = False
    protocol: str = "5"

    def __post_init__(self) -> None:
        if self.messages < 1:
            raise ValueError(f"messages must be >= 1, got {self.messages}")
        if self.latency_rate <= 0 or self.latency_s < 0:
            raise ValueError("latency_rate must be > 0 msgs/s and latency_s >= 0 s")
        if self.sensors < 1:
            raise ValueError(f"sensors must be >= 1, got {self.sensors}")
        if self.protocol not in ("5", "3.1.1"):
            raise ValueError(f"protocol must be '5' or '3.1.1', got {self.protocol!r}")


class _CommitClock:
    """Commit-side bookkeeping: counts committed messages, matches steady-phase payloads to their
    publish time (``perf_counter``) and records latencies, s."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.committed = 0
        self.target = 0
        self.reached = threading.Event()
        self.reached_at = 0.0
        self.sent: dict[bytes, float] = {}
        self.latencies_s: list[float] = []

    def __call__(self, batch: Sequence[InboundMessage], outcome: BatchOutcome) -> None:
        now = time.perf_counter()
        with self.lock:
            self.committed += len(batch)
            if self.committed >= self.target and not self.reached.is_set():
                self.reached_at = now
                self.reached.set()
            if self.sent:
                for m in batch:
                    t0 = self.sent.pop(m.payload, None)
                    if t0 is not None:
                        self.latencies_s.append(now - t0)


def p99(values: Sequence[float]) -> float:
    """The 99th percentile (nearest rank below), NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def run_bench(database_url: str, ingest_url: str, publish_url: str, opts: BenchOptions) -> dict[str, Any]:
    """One benchmark run (see the module docstring); returns the result fields."""
    tag = secrets.token_hex(3)
    slug = f"bench-{tag}"
    devices = device_ids(f"bench-{tag}", opts.sensors)
    city_id = seed_city(database_url, seed_document(slug, devices))
    topic_filter = f"wasteroute/{slug}/sensors/+/up"
    ingest_id, baseline_id = f"bench-ingest-{tag}", f"bench-baseline-{tag}"
    settings = Settings(
        mqtt_client_id=ingest_id,
        ingest_batch_size=opts.batch_size,
        ingest_batch_age_ms=opts.batch_age_ms,
        mqtt_session_expiry_s=3_600,
    )
    clock = _CommitClock()
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    try:
        # persistent sessions for both consumers, so the broker queues the backlog for each
        baseline = DrainSubscriber(ingest_url, baseline_id, topic_filter, opts.protocol)
        baseline.connect()
        if not baseline.subscribed.wait(10):
            raise RuntimeError("the baseline subscriber was not granted its subscription")
        baseline.disconnect()
        ingestor = Ingestor(
            settings, database_url, ingest_url, opts.protocol, topics=[topic_filter], on_commit=clock
        )
        ingestor.start()
        if not ingestor.edge.wait_subscribed(15):
            raise RuntimeError("the ingestor could not subscribe; check the broker URL and its ACL")
        ingestor.stop()

        with fast_publisher(publish_url, f"bench-pub-{tag}") as pub:
            pub.publish_all(native_stream(slug, devices, opts.messages, start=start))
            if not pub.wait_all(120):
                raise RuntimeError("the broker did not acknowledge every published message")

        baseline = DrainSubscriber(ingest_url, baseline_id, topic_filter, opts.protocol)
        baseline.target = opts.messages
        t0, c0 = time.perf_counter(), time.process_time()
        baseline.connect()
        baseline.done.wait(max(60.0, opts.messages / 1_000))
        broker_s = time.perf_counter() - t0
        broker_cpu_s = time.process_time() - c0
        broker_count = baseline.count
        baseline.disconnect()

        clock.target = opts.messages
        ingestor = Ingestor(
            settings, database_url, ingest_url, opts.protocol, topics=[topic_filter], on_commit=clock
        )
        t0, c0 = time.perf_counter(), time.process_time()
        ingestor.start()
        clock.reached.wait(max(60.0, opts.messages / 1_000))
        ingest_s = (clock.reached_at if clock.reached.is_set() else time.perf_counter()) - t0
        ingest_cpu_s = time.process_time() - c0
        stored = count_readings(database_url, city_id)
        duplicates = ingestor.writer.stats.duplicates

        # steady phase: publish at a fixed rate while the ingestor runs
        n_steady = int(opts.latency_rate * opts.latency_s)
        steady = list(native_stream(slug, devices, n_steady, start=start, seq0=opts.messages))
        with fast_publisher(publish_url, f"bench-pub2-{tag}") as pub:
            t_start = time.perf_counter()
            for i, (topic, payload) in enumerate(steady):
                delay = t_start + i / opts.latency_rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                with clock.lock:
                    clock.sent[payload] = time.perf_counter()
                pub.publish(topic, payload)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and clock.sent:
            time.sleep(0.05)
        ingestor.stop()
        steady_stored = count_readings(database_url, city_id) - stored
    finally:
        _forget_session(ingest_url, ingest_id)
        _forget_session(ingest_url, baseline_id)
        if not opts.keep:
            delete_city(database_url, city_id)
    return {
        "messages": opts.messages,
        "stored": stored,
        "lost": opts.messages - stored,
        "duplicates": duplicates,
        "seconds": round(ingest_s, 3),
        "msgs_per_s": round(opts.messages / ingest_s, 1),
        "broker_only_msgs_per_s": round(broker_count / broker_s, 1),
        "p99_latency_ms": round(p99(clock.latencies_s) * 1_000, 1),
        "ratio_to_broker_only": round((opts.messages / ingest_s) / (broker_count / broker_s), 3),
        "cpu_us_per_msg": round(ingest_cpu_s / opts.messages * 1e6, 1),
        "broker_only_cpu_us_per_msg": round(broker_cpu_s / max(broker_count, 1) * 1e6, 1),
        "latency_messages": n_steady,
        "latency_stored": steady_stored,
        "latency_rate_msgs_per_s": opts.latency_rate,
        "batch_size": opts.batch_size,
        "mqtt_protocol": opts.protocol,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


# --------------------------------------------------------------------------------------------------
# command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wasteroute bench ingest", description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=50_000, help="backlog size drained by both consumers")
    p.add_argument("--mqtt-url", help="use this broker (user must read and, without --publish-url, write)")
    p.add_argument("--publish-url", help="broker URL for the publisher (default: --mqtt-url)")
    p.add_argument("--sensors", type=int, default=1_000, help="sensors of the bench city")
    p.add_argument("--batch-size", type=int, default=DEFAULT_INGEST_BATCH_SIZE, help="largest ingest batch")
    p.add_argument("--batch-age-ms", type=int, default=100)
    p.add_argument("--latency-rate", type=float, default=1_000.0, help="msgs/s of the steady phase")
    p.add_argument("--latency-seconds", type=float, default=5.0, help="length of the steady phase, s")
    p.add_argument("--keep", action="store_true", help="keep the bench city and its readings")
    p.add_argument("--protocol", choices=["5", "3.1.1"], default="5", help="MQTT version of both consumers")
    p.add_argument("--json", action="store_true", help="print only the JSON result line on stdout")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.json:
        logging.getLogger("wasteroute").setLevel(logging.WARNING)
    opts = BenchOptions(
        messages=args.messages,
        latency_rate=args.latency_rate,
        latency_s=args.latency_seconds,
        sensors=args.sensors,
        batch_size=args.batch_size,
        batch_age_ms=args.batch_age_ms,
        keep=args.keep,
        protocol=args.protocol,
    )
    with tempfile.TemporaryDirectory(prefix="wasteroute-bench-") as tmp:
        work = Path(tmp)
        pg = None
        broker = None
        try:
            database_url = os.environ.get("WASTEROUTE_DATABASE_URL")
            if not database_url:
                from wasteroute.runtime.postgres import EmbeddedPostgres

                pg = EmbeddedPostgres(work / "postgres")
                pg.start()
                database_url = pg.create_database("wasteroute_bench")
            migrate(database_url)
            if args.mqtt_url:
                ingest_url = args.mqtt_url
                publish_url = args.publish_url or args.mqtt_url
            else:
                from wasteroute.runtime.broker import start_mosquitto

                broker = start_mosquitto(work / "mqtt")
                ingest_url = broker.url("wasteroute-ingest")
                publish_url = broker.url("wasteroute-sim")
            result = run_bench(database_url, ingest_url, publish_url, opts)
        finally:
            if broker is not None:
                broker.stop()
            if pg is not None:
                pg.stop()
    if not args.json:
        print(
            f"{result['stored']}/{result['messages']} stored, {result['lost']} lost, "
            f"{result['msgs_per_s']:.0f} msgs/s end to end vs {result['broker_only_msgs_per_s']:.0f} "
            f"broker only, p99 {result['p99_latency_ms']} ms at {opts.latency_rate:.0f} msgs/s",
            file=sys.stderr,
        )
    print(json.dumps(result), flush=True)
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
