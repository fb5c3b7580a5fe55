"""The MQTT edge against a real mosquitto (deploy/mosquitto.conf) and a real PostgreSQL:

(c) the bad-payload corpus published between good readings: each dead-lettered with its reason and
    its raw bytes, ingest still running, every good reading stored;
(d) each format's documented example through the broker to the expected stored values;
a broker killed and restarted on the same port and data directory (session resumed, nothing lost);
shared subscriptions; the Prometheus endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from paho.mqtt.client import topic_matches_sub

from benchmarks.ingest import (
    count_readings,
    device_ids,
    fast_publisher,
    native_stream,
    seed_city,
    seed_document,
)
from tests.support import DATA
from wasteroute.config import Settings
from wasteroute.ingest.service import TOPICS, Ingestor, run_ingestor
from wasteroute.runtime.broker import BrokerHandle, start_mosquitto
from wasteroute.runtime.ports import free_port
from wasteroute.storage.db import migrate

UPLINKS = DATA / "uplinks"
HEIGHT_MM = 2_500.0
OFFSET_MM = 100.0


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(_plain(url)) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def _wait(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def _publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    with fast_publisher(url, f"edge-pub-{os.getpid()}-{time.monotonic_ns()}") as pub:
        for topic, payload in messages:
            pub.publish(topic, payload)
        assert pub.wait_all(60)


@pytest.fixture
def db(fresh_database_url: str) -> str:
    migrate(fresh_database_url)
    return fresh_database_url


@pytest.fixture
def ingestor_factory(db: str) -> Iterator[Callable[..., Ingestor]]:
    started: list[Ingestor] = []

    def make(url: str, client_id: str, **settings: Any) -> Ingestor:
        ing = Ingestor(Settings(mqtt_client_id=client_id, ingest_batch_age_ms=20, **settings), db, url)
        ing.start()
        started.append(ing)
        assert ing.edge.wait_subscribed(10), "the ingestor must be granted its subscriptions"
        return ing

    yield make
    for ing in started:
        ing.stop()


# --------------------------------------------------------------------------------------------------
# (c) the bad-payload corpus through the broker


def test_bad_corpus_through_broker_is_dead_lettered_while_good_readings_around_it_are_stored(
    broker: BrokerHandle, db: str, ingestor_factory: Callable[..., Ingestor]
) -> None:
    manifest = json.loads((UPLINKS / "bad" / "manifest.json").read_text())
    kinds = {e["reason"] for e in manifest}
    assert len(kinds) >= 20, f"the corpus must hold at least 20 kinds of bad payloads, has {len(kinds)}"
    deliverable = [e for e in manifest if any(topic_matches_sub(f, e["topic"]) for f in TOPICS)]
    # only topics outside our subscriptions never reach ingest (the broker routes nothing to us)
    assert {e["file"] for e in manifest} - {e["file"] for e in deliverable} == {
        "unknown_topic.json",
        "chirpstack_status_event.json",
    }
    devices = device_ids("korpus", 10)
    city_id = seed_city(db, seed_document("korpusstadt", devices))
    good = native_stream(
        "korpusstadt", devices, 5 * (len(deliverable) + 1), start=datetime.now(UTC) - timedelta(days=1)
    )
    messages: list[tuple[str, bytes]] = []
    for entry in deliverable:
        messages += [next(good) for _ in range(5)]
        messages.append((entry["topic"], (UPLINKS / "bad" / entry["file"]).read_bytes()))
    messages += [next(good) for _ in range(5)]
    n_good = 5 * (len(deliverable) + 1)
    ing = ingestor_factory(broker.url("wasteroute-ingest"), "edge-corpus")
    _publish(broker.url("wasteroute-sim"), messages)
    _wait(lambda: ing.writer.stats.acked >= len(messages), 60, "every message committed")

    stored = _rows(db, "SELECT topic, payload, reason, detail FROM dead_letter ORDER BY id")
    expected = Counter(
        (e["topic"], (UPLINKS / "bad" / e["file"]).read_bytes(), e["reason"]) for e in deliverable
    )
    assert Counter((t, bytes(p), r) for t, p, r, _ in stored) == expected
    assert all(detail for *_, detail in stored), "every dead letter says why"
    assert count_readings(db, city_id) == n_good
    # ingest is still running: more good readings are stored
    assert ing.writer.failure is None and ing.edge.connected.is_set()
    more = list(native_stream("korpusstadt", devices, 20, start=datetime.now(UTC) - timedelta(hours=2)))
    _publish(broker.url("wasteroute-sim"), more)
    _wait(lambda: count_readings(db, city_id) == n_good + 20, 30, "the readings after the corpus")


# --------------------------------------------------------------------------------------------------
# (d) the documented examples of every format through the broker

_MODEL_OF_FPORT = {85: "em310-udl", 2: "ldds75"}  # the documented sensors' measurement ports


def _registered_model(payload: bytes) -> str | None:
    """The model an operator registers for the device whose LoRaWAN frame this is (None: native)."""
    obj = json.loads(payload)
    uplink = obj.get("uplink_message")
    f_port = uplink.get("f_port") if isinstance(uplink, dict) else obj.get("fPort")
    return _MODEL_OF_FPORT.get(f_port) if isinstance(f_port, int) else None


def _expected_fill(reading: dict[str, Any]) -> float | None:
    if reading["distance_mm"] is not None:
        return max(0.0, (HEIGHT_MM - (float(reading["distance_mm"]) - OFFSET_MM)) / HEIGHT_MM)
    fill = reading["fill_level"]
    return None if fill is None else float(fill)


def _fixed(now: datetime) -> Callable[[], datetime]:
    return lambda: now


def _more_than(ing: Ingestor, acked: int) -> Callable[[], bool]:
    return lambda: ing.writer.stats.acked > acked


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-4 * max(1.0, abs(b))


def test_documented_examples_through_broker_are_stored_with_the_expected_values(
    broker: BrokerHandle, db: str, ingestor_factory: Callable[..., Ingestor]
) -> None:
    manifest = json.loads((UPLINKS / "good" / "manifest.json").read_text())
    formats = {e["topic"].split("/")[0] for e in manifest}
    assert formats == {"wasteroute", "v3", "application"}, "native, The Things Stack and ChirpStack examples"
    devices_by_city: dict[str, set[str]] = {}
    for e in manifest:
        for r in e["expected"]:
            city = r["extra"].get("topic_city", "luebeck")
            devices_by_city.setdefault(str(city), set()).add(r["device_id"])
    for slug, devs in devices_by_city.items():
        seed_city(db, seed_document(slug, sorted(devs), height_mm=HEIGHT_MM, mount_offset_mm=OFFSET_MM))
    ing = ingestor_factory(broker.url("wasteroute-ingest"), "edge-examples")
    checked = 0
    for e in manifest:
        now = datetime.fromisoformat(e["now"].replace("Z", "+00:00"))
        ing.resolver.clock = _fixed(now)  # the examples' reference clock
        payload = (UPLINKS / "good" / e["file"]).read_bytes()
        model = _registered_model(payload)
        for r in e["expected"]:  # the operator registered the model whose frames the device sends
            if model:
                _rows(
                    db,
                    "UPDATE sensor SET model = %s WHERE device_id = %s RETURNING id",
                    (model, r["device_id"]),
                )
        ing.directory.reload()
        before = ing.writer.stats.acked
        _publish(broker.url("wasteroute-sim"), [(e["topic"], payload)])
        _wait(_more_than(ing, before), 30, e["file"])
        rows = _rows(
            db,
            "SELECT s.device_id, r.measured_at, r.source, r.fill_level, r.distance_mm, r.battery_pct, "
            "r.battery_v, r.temperature_c, r.tilt_deg, r.rssi_dbm, r.snr_db, r.raw FROM sensor_reading r "
            "JOIN sensor s ON s.id = r.sensor_id ORDER BY r.measured_at",
        )
        if not e["expected"]:  # a frame without a level (device information) is kept, not stored
            assert rows == []
            kept = _rows(db, "SELECT reason, payload FROM dead_letter ORDER BY id DESC LIMIT 1")
            assert kept == [("no_reading", payload)], e["file"]
            continue
        assert len(rows) == len(e["expected"]), e["file"]
        for row, r in zip(rows, e["expected"], strict=True):
            dev, at, source, fill, dist, bpct, bv, temp, tilt, rssi, snr, raw = row
            assert (dev, at, source) == (
                r["device_id"],
                datetime.fromisoformat(r["measured_at"]),
                r["source"],
            ), e["file"]
            assert bytes(raw) == payload
            assert _close(fill, _expected_fill(r)), (e["file"], fill, _expected_fill(r))
            want_tilt = r["tilt_deg"] if r["tilt_deg"] is not None else (90.0 if r["tilted"] else None)
            for got, want in (
                (dist, r["distance_mm"]),
                (bpct, r["battery_pct"]),
                (bv, r["battery_v"]),
                (temp, r["temperature_c"]),
                (tilt, want_tilt),
                (rssi, r["rssi_dbm"]),
                (snr, r["snr_db"]),
            ):
                assert _close(got, want), (e["file"], got, want)
            checked += 1
        _rows(db, "DELETE FROM sensor_reading RETURNING 1")  # several examples share a device and time
    assert checked == sum(len(e["expected"]) for e in manifest)
    assert _rows(db, "SELECT count(*) FROM dead_letter") == [(sum(1 for e in manifest if not e["expected"]),)]


# --------------------------------------------------------------------------------------------------
# broker crash: same port, same data directory


def test_broker_killed_and_restarted_resumes_the_session_and_loses_nothing(
    tmp_path: Path, db: str, ingestor_factory: Callable[..., Ingestor]
) -> None:
    devices = device_ids("crash", 20)
    city_id = seed_city(db, seed_document("absturzstadt", devices))
    messages = list(
        native_stream("absturzstadt", devices, 2_000, start=datetime.now(UTC) - timedelta(days=1))
    )
    broker = start_mosquitto(tmp_path / "mqtt")
    restarted: BrokerHandle | None = None
    try:
        ing = ingestor_factory(broker.url("wasteroute-ingest"), "edge-crash")
        assert ing.edge.session_present is False
        _publish(broker.url("wasteroute-sim"), messages[:1_000])
        _wait(lambda: count_readings(db, city_id) == 1_000, 30, "the first 1,000 readings")
        assert broker.process is not None
        broker.process.send_signal(signal.SIGUSR1)  # as the 10 s autosave would: the session is on disk
        time.sleep(0.5)
        broker.kill()
        _wait(lambda: not ing.edge.connected.is_set(), 10, "the ingestor to notice the crash")
        time.sleep(2.0)  # the ingestor retries with backoff against a dead port
        restarted = start_mosquitto(tmp_path / "mqtt", port=broker.port)
        # published before the ingestor is back: only a resumed session can hold them
        _publish(restarted.url("wasteroute-sim"), messages[1_000:])
        _wait(lambda: count_readings(db, city_id) == 2_000, 60, "the readings published after the restart")
        assert ing.edge.connects >= 2
        assert ing.edge.session_present is True
        assert ing.writer.failure is None
    finally:
        broker.stop()
        if restarted is not None:
            restarted.stop()


# --------------------------------------------------------------------------------------------------
# scale-out: shared subscriptions with stable client ids


def test_shared_subscription_members_split_the_stream_and_store_everything(
    broker: BrokerHandle, db: str, ingestor_factory: Callable[..., Ingestor]
) -> None:
    devices = device_ids("shared", 20)
    city_id = seed_city(db, seed_document("teilstadt", devices))
    members = [
        ingestor_factory(broker.url("wasteroute-ingest"), f"edge-shared-{k}", mqtt_shared_group="ingest")
        for k in range(2)
    ]
    assert all(m.edge.topics[0].startswith("$share/ingest/") for m in members)
    _publish(
        broker.url("wasteroute-sim"),
        list(native_stream("teilstadt", devices, 2_000, start=datetime.now(UTC) - timedelta(days=1))),
    )
    _wait(lambda: count_readings(db, city_id) == 2_000, 30, "2,000 readings")
    shares = [m.writer.stats.received for m in members]
    assert sum(shares) == 2_000 and min(shares) > 0, shares


# --------------------------------------------------------------------------------------------------
# operations: Prometheus metrics of a running ingestor


def test_metrics_port_serves_the_ingest_counters(broker: BrokerHandle, db: str) -> None:
    devices = device_ids("metrik", 5)
    seed_city(db, seed_document("metrikstadt", devices))
    port = free_port()
    stop = threading.Event()
    settings = Settings(mqtt_client_id="edge-metrics", ingest_batch_age_ms=20)
    box: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: box.update(
            ing=run_ingestor(settings, db, broker.url("wasteroute-ingest"), stop, metrics_port=port)
        ),
        daemon=True,
    )
    runner.start()
    try:

        def scrape() -> dict[str, float]:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            out: dict[str, float] = {}
            for line in text.splitlines():
                if line.startswith("wasteroute_ingest_") and " " in line:
                    name, value = line.rsplit(" ", 1)
                    out[name] = float(value)
            return out

        _wait(
            lambda: _scrape_ok(scrape) and scrape().get("wasteroute_ingest_connected") == 1.0, 20, "connected"
        )
        before = scrape().get("wasteroute_ingest_stored_total", 0.0)
        _publish(
            broker.url("wasteroute-sim"),
            list(native_stream("metrikstadt", devices, 50, start=datetime.now(UTC) - timedelta(days=1))),
        )
        _wait(lambda: scrape().get("wasteroute_ingest_stored_total", 0.0) >= before + 50, 20, "50 stored")
        sample = scrape()
        assert sample['wasteroute_ingest_received_total{channel="mqtt"}'] >= 50
        assert sample["wasteroute_ingest_batch_seconds_count"] >= 1
        assert "wasteroute_ingest_queue_depth" in sample
    finally:
        stop.set()
        runner.join(30)
    assert box["ing"].writer.stats.stored == 50
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def _scrape_ok(scrape: Callable[[], dict[str, float]]) -> bool:
    try:
        scrape()
        return True
    except httpx.TransportError:
        return False
