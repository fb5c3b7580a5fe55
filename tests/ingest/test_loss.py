"""Ingest loses nothing: real mosquitto (deploy/mosquitto.conf), real PostgreSQL, real processes.

(a) the ingestor process SIGKILLed twice mid-stream and restarted: every reading stored exactly once;
(b) PostgreSQL unreachable for 10 s mid-stream (a TCP proxy is cut): every reading stored;
SIGTERM: the batch in flight is written, committed and acked, so nothing is redelivered afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import psycopg
import pytest
from prometheus_client import REGISTRY

from benchmarks.ingest import (
    count_readings,
    device_ids,
    fast_publisher,
    native_stream,
    seed_city,
    seed_document,
)
from tests.relay import TcpProxy
from wasteroute.config import Settings
from wasteroute.ingest.service import Ingestor
from wasteroute.runtime.broker import BrokerHandle
from wasteroute.storage.db import migrate

SLUG = "verlusthafen"


class City:
    def __init__(self, url: str, city_id: int, devices: list[str]) -> None:
        self.url = url
        self.city_id = city_id
        self.devices = devices

    def count(self) -> int:
        return count_readings(self.url, self.city_id)

    def keys(self) -> set[tuple[str, datetime]]:
        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            rows = conn.execute(
                "SELECT s.device_id, r.measured_at FROM sensor_reading r JOIN sensor s ON s.id = r.sensor_id "
                "WHERE r.city_id = %s",
                (self.city_id,),
            ).fetchall()
        return {(str(d), t) for d, t in rows}


@pytest.fixture
def city(fresh_database_url: str) -> City:
    migrate(fresh_database_url)
    devices = device_ids("vh", 100)
    city_id = seed_city(fresh_database_url, seed_document(SLUG, devices))
    return City(fresh_database_url, city_id, devices)


def _wait(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


START = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)


def _expected_keys(devices: list[str], n: int) -> set[tuple[str, datetime]]:
    s = len(devices)
    return {(devices[i % s], START + timedelta(seconds=(i // s) * 60)) for i in range(n)}


class Stream(threading.Thread):
    """Publishes ``messages`` in the background at ``rate`` msgs/s (None: as fast as the broker acks)."""

    def __init__(self, url: str, messages: list[tuple[str, bytes]], rate: float | None = None) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.messages = messages
        self.rate = rate
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with fast_publisher(self.url, f"loss-pub-{os.getpid()}-{id(self)}") as pub:
                t0 = time.monotonic()
                for i, (topic, payload) in enumerate(self.messages):
                    if self.rate is not None:
                        delay = t0 + i / self.rate - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    pub.publish(topic, payload)
                assert pub.wait_all(120), "the broker did not acknowledge every message"
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            self.done.set()


# --------------------------------------------------------------------------------------------------
# the ingestor as a real process: ``python -m wasteroute ingest``


class IngestProcess:
    def __init__(self, city: City, broker: BrokerHandle, client_id: str, log_path: Path, **env: str) -> None:
        self.log: IO[bytes] = log_path.open("ab")
        environment = dict(os.environ)
        environment.update(
            WASTEROUTE_DATABASE_URL=city.url,
            WASTEROUTE_MQTT_URL=broker.url("wasteroute-ingest"),
            WASTEROUTE_MQTT_CLIENT_ID=client_id,
            WASTEROUTE_DATA_DIR=str(log_path.parent / "data"),
            **env,
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wasteroute", "ingest"], env=environment, stdout=self.log, stderr=self.log
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout_s: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def _create_session(client_id: str, city: City, broker: BrokerHandle) -> None:
    """Subscribe once with ``client_id`` so the broker queues everything published from now on."""
    ingestor = Ingestor(Settings(mqtt_client_id=client_id), city.url, broker.url("wasteroute-ingest"))
    ingestor.start()
    try:
        assert ingestor.edge.wait_subscribed(10)
    finally:
        ingestor.stop()


@pytest.fixture
def processes() -> Iterator[list[IngestProcess]]:
    started: list[IngestProcess] = []
    yield started
    for p in started:
        p.close()


@pytest.mark.slow
def test_ingestor_killed_twice_mid_stream_stores_all_50000_readings_once(
    broker: BrokerHandle, city: City, tmp_path: Path, processes: list[IngestProcess]
) -> None:
    n = 50_000
    messages = list(native_stream(SLUG, city.devices, n, start=START))
    log = tmp_path / "ingest.log"
    _create_session("loss-kill", city, broker)
    processes.append(IngestProcess(city, broker, "loss-kill", log))
    stream = Stream(broker.url("wasteroute-sim"), messages)
    stream.start()
    at_kill = []
    for threshold in (10_000, 25_000):
        _wait(lambda t=threshold: city.count() >= t, 120, f"{threshold} rows")  # type: ignore[misc]
        processes[-1].kill()
        at_kill.append(city.count())
        processes.append(IngestProcess(city, broker, "loss-kill", log))
    assert stream.done.wait(120) and stream.error is None
    _wait(lambda: city.count() >= n, 180, f"all {n} rows")
    assert processes[-1].terminate() == 0
    assert all(k < n for k in at_kill), f"both kills must happen mid-stream, rows at the kills: {at_kill}"
    assert city.count() == n
    assert city.keys() == _expected_keys(city.devices, n)


@pytest.mark.slow
def test_sigterm_commits_and_acks_the_batch_in_flight_so_nothing_is_redelivered(
    broker: BrokerHandle, city: City, tmp_path: Path, processes: list[IngestProcess]
) -> None:
    # the session exists before the process starts, so the broker queues the readings for it
    _create_session("loss-term", city, broker)
    stream = Stream(broker.url("wasteroute-sim"), list(native_stream(SLUG, city.devices, 500, start=START)))
    stream.start()
    assert stream.done.wait(30) and stream.error is None
    # a long batch age keeps the readings in the writer's open batch until SIGTERM
    log = tmp_path / "ingest.log"
    env = {"WASTEROUTE_INGEST_BATCH_SIZE": "20000", "WASTEROUTE_INGEST_BATCH_AGE_MS": "30000"}
    proc = IngestProcess(city, broker, "loss-term", log, **env)
    processes.append(proc)
    _wait(lambda: b"session present: True" in log.read_bytes(), 60, "the process to resume its session")
    time.sleep(2.0)  # the queued readings arrive right after CONNACK
    assert city.count() == 0, "the batch must still be open when SIGTERM arrives"
    t0 = time.monotonic()
    assert proc.terminate(30) == 0
    assert time.monotonic() - t0 < 15, "SIGTERM must close the open batch at once, not wait out its age"
    assert city.count() == 500
    # same client id again: a batch committed but not acked would be redelivered now
    settings = Settings(mqtt_client_id="loss-term", ingest_batch_age_ms=20)
    again = Ingestor(settings, city.url, broker.url("wasteroute-ingest"))
    again.start()
    try:
        assert again.edge.wait_subscribed(10)
        assert again.edge.session_present is True
        time.sleep(2.0)
        assert again.writer.stats.received == 0
    finally:
        again.stop()


# --------------------------------------------------------------------------------------------------
# the database unreachable: a TCP proxy between the ingestor and PostgreSQL, cut for 10 s


def _proxied_url(url: str) -> tuple[TcpProxy, str]:
    info = psycopg.conninfo.conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://"))
    host = str(info.get("host") or "localhost")
    port = int(str(info.get("port") or 5432))
    upstream: tuple[str, int] | str = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)
    proxy = TcpProxy(upstream)
    info.update(host="127.0.0.1", port=str(proxy.port))
    return proxy, psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


@pytest.mark.slow
def test_database_unreachable_for_10_s_mid_stream_loses_nothing(broker: BrokerHandle, city: City) -> None:
    proxy, dsn = _proxied_url(city.url)
    # queue (1,000) + the batch held in retry (500) < the broker's in-flight window (Receive Maximum
    # 2,000), so during the outage it is our bounded queue, not the broker's window, that fills
    settings = Settings(mqtt_client_id="loss-db-outage", ingest_batch_size=500, ingest_queue_size=1_000)
    ingestor = Ingestor(settings, dsn, broker.url("wasteroute-ingest"))
    ingestor.writer.max_backoff_s = 2.0
    retries0, full0 = (
        _sample("wasteroute_ingest_db_retries_total"),
        _sample("wasteroute_ingest_queue_full_total"),
    )
    n = 20_000
    messages = list(native_stream(SLUG, city.devices, n, start=START))
    ingestor.start()
    try:
        assert ingestor.edge.wait_subscribed(10)
        stream = Stream(broker.url("wasteroute-sim"), messages, rate=1_500)
        stream.start()
        _wait(lambda: city.count() >= 2_000, 60, "2,000 rows before the outage")
        proxy.cut()
        time.sleep(1.0)
        during = city.count()
        time.sleep(9.0)
        assert city.count() == during, "nothing can be committed while the database is unreachable"
        assert ingestor.writer.stats.retries > 0
        proxy.restore()
        assert stream.done.wait(120) and stream.error is None
        _wait(lambda: city.count() >= n, 120, f"all {n} rows after the outage")
        assert ingestor.writer.failure is None
    finally:
        ingestor.stop()
        proxy.close()
    assert city.count() == n
    assert city.keys() == _expected_keys(city.devices, n)
    assert ingestor.writer.stats.dead_lettered == 0, "an outage must never turn readings into dead letters"
    assert _sample("wasteroute_ingest_db_retries_total") > retries0
    # the bounded queue filled during the outage and held the network loop (the broker kept the rest)
    assert _sample("wasteroute_ingest_queue_full_total") > full0
