"""The ingest loop end to end: a real mosquitto (deploy/mosquitto.conf), a real PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from wasteroute.config import Settings
from wasteroute.ingest.schemas import native_topic
from wasteroute.ingest.service import Ingestor
from wasteroute.runtime.broker import BrokerHandle


def _publisher(broker: BrokerHandle) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-pub", protocol=mqtt.MQTTv5)
    if broker.passwords:
        c.username_pw_set("wasteroute-sim", broker.passwords["wasteroute-sim"])
    c.connect(broker.host, broker.port)
    c.loop_start()
    return c


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def mini_city_url(backend_mini_city_url: str) -> str:
    """The ingest loop runs on both backends: plain PostgreSQL and TimescaleDB."""
    return backend_mini_city_url


def test_readings_and_bad_messages_flow_through_broker_into_postgres(
    broker: BrokerHandle, mini_city_url: str
) -> None:
    settings = Settings(mqtt_client_id="test-ingest-loop", ingest_batch_size=200, ingest_batch_age_ms=50)
    ingestor = Ingestor(settings, mini_city_url, broker.url("wasteroute-ingest"))
    ingestor.start()
    assert ingestor.edge.wait_connected(10)
    time.sleep(0.3)  # SUBACK
    pub = _publisher(broker)
    t0 = datetime.now(UTC) - timedelta(days=2)
    n_good = 0
    infos = []
    for i in range(24):
        dev = f"70b3d57ed00{i:05x}"
        for h in range(20):
            body = {
                "device_id": dev,
                "measured_at": (t0 + timedelta(hours=h)).isoformat(),
                "distance_mm": 1200 - 40 * h,
                "battery_pct": 88,
                "temperature_c": 12.5,
            }
            infos.append(pub.publish(native_topic("testhafen", dev), json.dumps(body), qos=1))
            n_good += 1
    bad = [
        (native_topic("testhafen", "70b3d57ed0000001"), b"{not json"),
        (
            native_topic("testhafen", "ffffffffffffffff"),
            json.dumps(
                {"device_id": "ffffffffffffffff", "measured_at": t0.isoformat(), "fill_level": 0.3}
            ).encode(),
        ),
        (
            native_topic("anderstadt", "70b3d57ed0000002"),
            json.dumps(
                {"device_id": "70b3d57ed0000002", "measured_at": t0.isoformat(), "fill_level": 0.3}
            ).encode(),
        ),
        ("wasteroute/testhafen/sensors/x", b"{}"),
    ]
    for topic, payload in bad:
        infos.append(pub.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ingestor.writer.stats.received < n_good + len(bad) - 1:
        time.sleep(0.1)
    ingestor.stop()
    pub.loop_stop()
    pub.disconnect()
    assert _count(mini_city_url, "SELECT count(*) FROM sensor_reading") == n_good
    # the topic "wasteroute/testhafen/sensors/x" matches no subscription: the broker never delivers it
    reasons = {r for r in _reasons(mini_city_url)}
    assert reasons == {"invalid_json", "unknown_device", "wrong_city"}
    fill = _count(
        mini_city_url,
        "SELECT round(fill_level * 1000) FROM bin_state b JOIN sensor s ON s.bin_id = b.bin_id "
        "WHERE s.device_id = '70b3d57ed0000001'",
    )
    # last distance 1200 - 40*19 = 440 mm, offset 50, wheelie bin 1150 mm high -> (1150 - 390) / 1150
    assert fill == round((1150 - 390) / 1150 * 1000)


def _reasons(url: str) -> list[str]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return [r[0] for r in conn.execute("SELECT reason FROM dead_letter").fetchall()]
