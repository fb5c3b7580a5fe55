"""The isolation matrix over MQTT and webhooks, on a real mosquitto and a real PostgreSQL.

Two cities (Lübeck, Rostock) each register a The Things Stack application, a ChirpStack application
and a native gateway. The broker runs ``deploy/mosquitto.conf`` with the ACL generated from that
registry and every integration publishes as its own broker user; the real ingest loop reads them.
Every topic scheme x own city / other city: a reading of the integration's own city is stored, one
of the other city is dead-lettered as ``wrong_city`` with its raw bytes. The same over both webhooks
through the real API, with each city's gateway key.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.uplinks import chirpstack_uplink, tts_uplink
from tests.ingest.mqtt_probe import ProbeClient
from tests.support import DatabaseServer, seed_document
from wasteroute.admin.integrations import IntegrationCreate, register, render_acl
from wasteroute.admin.service import import_city_seed
from wasteroute.api.app import create_app
from wasteroute.config import Settings
from wasteroute.ingest.schemas import native_topic
from wasteroute.ingest.service import Ingestor
from wasteroute.runtime.broker import BrokerHandle, start_mosquitto
from wasteroute.storage.db import make_engine, make_session_factory, migrate, transaction
from wasteroute.storage.integrations import fetch_integrations
from wasteroute.storage.principals import PrincipalRepository

CITIES = {"luebeck": ("LU", "70b3d57ed0"), "rostock": ("RO", "70b3d57ee0")}
"""slug -> (external id prefix, DevEUI prefix) of the two cities (city-mini.json, 24 sensors each)."""
CHIRPSTACK_APP = {
    "luebeck": "0b7e2c51-6f0a-4d1e-8c3b-1a2b3c4d5e01",
    "rostock": "0b7e2c51-6f0a-4d1e-8c3b-1a2b3c4d5e02",
}
SCHEMES = ("native", "tts", "chirpstack")
SETTINGS = Settings()


def device(city: str, k: int) -> str:
    """The DevEUI of sensor ``k`` (0..23) of ``city``."""
    return f"{CITIES[city][1]}{k:06x}"


@dataclass
class Deployment:
    url: str
    city_ids: dict[str, int]
    broker: BrokerHandle
    users: dict[tuple[str, str], str]
    """(city, kind) -> the integration's broker user."""
    gateway_keys: dict[str, str]

    def client(self, city: str, kind: str) -> ProbeClient:
        user = self.users[(city, kind)]
        return ProbeClient(self.broker, user, self.broker.passwords[user])

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return list(conn.execute(sql, params).fetchall())


@pytest.fixture(scope="module")
def deployment(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    url = db_server.create("wasteroute_isolation")
    migrate(url)
    engine = make_engine(url, pool_size=1)
    city_ids: dict[str, int] = {}
    keys: dict[str, str] = {}
    try:
        with transaction(make_session_factory(engine)) as s:
            for slug, (prefix, devices) in CITIES.items():
                city_id = import_city_seed(s, seed_document(slug, prefix, devices, slug.title())).city_id
                city_ids[slug] = city_id
                for body in (
                    IntegrationCreate(kind="tts", application_id=f"{slug}-bins", tenant_id="ttn"),
                    IntegrationCreate(kind="chirpstack", application_id=CHIRPSTACK_APP[slug]),
                    IntegrationCreate(kind="native", application_id=f"gw-{slug}"),
                    IntegrationCreate(
                        kind="tts", application_id=f"{slug}-old", tenant_id="ttn", enabled=False
                    ),
                ):
                    register(s, city_id, slug, body)
                keys[slug] = (
                    PrincipalRepository(s, SETTINGS.secret_key.get_secret_value())
                    .create(city_id=city_id, name=f"{slug} gateway", role="gateway")
                    .key
                )
    finally:
        engine.dispose()
    registry = fetch_integrations(url)
    passwords = {i.broker_user: secrets.token_urlsafe(12) for i in registry}
    passwords["wasteroute-ingest"] = secrets.token_urlsafe(12)
    broker = start_mosquitto(tmp_path_factory.mktemp("mqtt"), passwords=passwords, acl=render_acl(registry))
    users = {(i.city_slug, i.kind): i.broker_user for i in registry if i.enabled}
    users[("luebeck", "disabled")] = next(i.broker_user for i in registry if not i.enabled)
    try:
        yield Deployment(url, city_ids, broker, users, keys)
    finally:
        broker.stop()


def _native(city: str, dev: str) -> tuple[str, bytes]:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return native_topic(city, dev), json.dumps(
        {"device_id": dev, "measured_at": at, "distance_mm": 640}
    ).encode()


def uplink(scheme: str, topic_city: str, dev: str) -> tuple[str, bytes]:
    """The topic of ``topic_city``'s integration of ``scheme`` and an uplink of device ``dev`` on it
    (the DevEUI in topic and body)."""
    if scheme == "native":
        return _native(topic_city, dev)
    if scheme == "tts":
        app = f"{topic_city}-bins"
        body = tts_uplink(dev, application=app, device_id=f"eui-{dev}")
        return f"v3/{app}@ttn/devices/eui-{dev}/up", body
    app = CHIRPSTACK_APP[topic_city]
    return f"application/{app}/device/{dev}/event/up", chirpstack_uplink(dev, application_id=app)


def test_every_topic_scheme_stores_its_own_city_and_dead_letters_the_other_city(
    deployment: Deployment,
) -> None:
    settings = Settings(mqtt_client_id=f"isolation-{secrets.token_hex(3)}", ingest_batch_age_ms=50)
    ingestor = Ingestor(settings, deployment.url, deployment.broker.url("wasteroute-ingest"))
    ingestor.start()
    assert ingestor.edge.wait_subscribed(15)
    cases: list[tuple[str, str, str, bytes]] = []  # scheme, topic city, device city, payload
    next_device = dict.fromkeys(CITIES, 0)
    try:
        for scheme in SCHEMES:
            for topic_city in CITIES:
                publisher = deployment.client(topic_city, scheme)
                try:
                    for device_city in CITIES:
                        dev = device(device_city, next_device[device_city])
                        next_device[device_city] += 1
                        topic, payload = uplink(scheme, topic_city, dev)
                        ack = publisher.publish(topic, payload)
                        assert ack is not None and not ack.is_failure, (scheme, topic_city, ack)
                        cases.append((scheme, topic_city, device_city, payload))
                finally:
                    publisher.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and ingestor.writer.stats.acked < len(cases):
            time.sleep(0.05)
    finally:
        ingestor.stop()
    assert ingestor.writer.stats.acked == len(cases) == 12

    stored = {
        bytes(raw): city
        for raw, city in deployment.rows("SELECT raw, city_id FROM sensor_reading")  # type: ignore[arg-type]
    }
    dead = {
        bytes(p): (reason, city, channel)  # type: ignore[arg-type]
        for p, reason, city, channel in deployment.rows(
            "SELECT payload, reason, city_id, channel FROM dead_letter WHERE channel = 'mqtt'"
        )
    }
    for scheme, topic_city, device_city, payload in cases:
        where = (scheme, topic_city, device_city)
        if topic_city == device_city:
            assert stored.get(payload) == deployment.city_ids[device_city], where
            assert payload not in dead, where
        else:
            assert payload not in stored, where
            reason, city, _ = dead[payload]  # the raw bytes are kept exactly
            assert reason == "wrong_city", where
            if scheme != "native":  # filed under the integration's city
                assert city == deployment.city_ids[topic_city], where
    assert len(stored) == 6 and len(dead) == 6


def test_the_generated_acl_lets_each_integration_publish_only_under_its_own_topics(
    deployment: Deployment,
) -> None:
    dev = device("rostock", 23)
    lu_tts = deployment.client("luebeck", "tts")
    lu_gw = deployment.client("luebeck", "native")
    disabled = deployment.client("luebeck", "disabled")
    watcher = ProbeClient(
        deployment.broker, "wasteroute-ingest", deployment.broker.passwords["wasteroute-ingest"]
    )
    try:
        watcher.subscribe("v3/+/devices/+/up")
        watcher.subscribe("application/+/device/+/event/up")
        watcher.subscribe("wasteroute/+/sensors/+/up")
        refused = {
            "Rostock's application": lu_tts.publish(f"v3/rostock-bins@ttn/devices/eui-{dev}/up"),
            "its application without tenant": lu_tts.publish(f"v3/luebeck-bins/devices/eui-{dev}/up"),
            "a ChirpStack topic": lu_tts.publish(
                f"application/{CHIRPSTACK_APP['luebeck']}/device/{dev}/event/up"
            ),
            "a native topic": lu_tts.publish(native_topic("luebeck", dev)),
            "Rostock's native topic": lu_gw.publish(native_topic("rostock", dev)),
            "a disabled integration's topic": disabled.publish(f"v3/luebeck-old@ttn/devices/eui-{dev}/up"),
        }
        for what, ack in refused.items():
            assert ack is not None and ack.is_failure, what
        allowed = lu_gw.publish(native_topic("luebeck", dev), b"{}")
        assert allowed is not None and not allowed.is_failure
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not watcher.received:
            time.sleep(0.05)
        time.sleep(0.3)
        assert watcher.received == [native_topic("luebeck", dev)]
    finally:
        for c in (lu_tts, lu_gw, disabled, watcher):
            c.close()


@pytest.fixture(scope="module")
def api(deployment: Deployment) -> Iterator[TestClient]:
    with TestClient(
        create_app(SETTINGS, deployment.url, pool_size=2), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.mark.parametrize("kind", ["tts", "chirpstack"])
def test_both_webhooks_store_the_keys_own_city_and_refuse_the_other_city_as_wrong_city(
    deployment: Deployment, api: TestClient, kind: str
) -> None:
    first = 12 if kind == "tts" else 18  # devices 0..11 belong to the MQTT matrix
    cases = []
    for i, (key_city, app_city, device_city) in enumerate(
        [
            ("luebeck", "luebeck", "luebeck"),
            ("luebeck", "luebeck", "rostock"),  # a Rostock device under Lübeck's application
            ("rostock", "rostock", "rostock"),
            ("rostock", "rostock", "luebeck"),
            ("rostock", "luebeck", "rostock"),  # Rostock's key naming Lübeck's application
        ]
    ):
        dev = device(device_city, first + i)
        if kind == "tts":
            body = tts_uplink(dev, application=f"{app_city}-bins", device_id=f"eui-{dev}")
        else:
            body = chirpstack_uplink(dev, application_id=CHIRPSTACK_APP[app_city])
        r = api.post(
            f"/api/v1/ingest/{kind}",
            content=body,
            headers={"X-API-Key": deployment.gateway_keys[key_city], "Content-Type": "application/json"},
        )
        cases.append((key_city, app_city, device_city, body, r.status_code, r.json()))
    stored = {bytes(raw) for (raw,) in deployment.rows("SELECT raw FROM sensor_reading")}  # type: ignore[arg-type]
    dead = {
        bytes(p): (reason, city)  # type: ignore[arg-type]
        for p, reason, city in deployment.rows(
            "SELECT payload, reason, city_id FROM dead_letter WHERE channel = 'webhook'"
        )
    }
    for key_city, app_city, device_city, body, status, answer in cases:
        where = (kind, key_city, app_city, device_city, answer)
        if key_city == app_city == device_city:
            assert status == 200 and answer["stored"] == 1, where
            assert body in stored and body not in dead, where
        else:
            assert status == 422, where
            # the sender learns no more than "not a sensor of your city"
            assert answer["error"]["code"] == "unknown_device", where
            assert body not in stored, where
            assert dead[body] == ("wrong_city", deployment.city_ids[key_city]), where
