"""Gateways: webhook readings are stored (or dead-lettered with a 4xx) before the answer; a database
outage answers 503; bodies above 64 KiB answer 413; the collections feed serves the simulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.api.support import SETTINGS, World, build_city
from tests.api.uplinks import chirpstack_uplink, tts_uplink
from wasteroute.api.app import create_app
from wasteroute.storage.db import make_engine, make_session_factory, migrate, transaction
from wasteroute.storage.models import DeadLetter, SensorReading
from wasteroute.storage.readings import BatchStore


def _post(world: World, kind: str, body: bytes, city: str = "a") -> httpx.Response:
    r: httpx.Response = world.client.post(
        f"/api/v1/ingest/{kind}",
        content=body,
        headers={**world.key("gateway", city), "Content-Type": "application/json"},
    )
    return r


def _count(world: World, model: type[object]) -> int:
    with world.app.state.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_tts_uplink_is_stored_with_fill_from_distance(world: World) -> None:
    before = _count(world, SensorReading)
    r = world.client.post(
        "/api/v1/ingest/tts",
        content=tts_uplink(world.a.device_ids[8], distance_mm=575.0),
        headers={"Authorization": f"Bearer {world.a.keys['gateway']}"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 1, "duplicates": 0, "dead_lettered": 0, "refused": []}
    assert _count(world, SensorReading) == before + 1
    with world.app.state.session_factory() as s:
        fill = s.execute(
            text(
                "SELECT fill_level FROM bin_state st JOIN sensor se ON se.bin_id = st.bin_id "
                "WHERE se.device_id = :d"
            ),
            {"d": world.a.device_ids[8]},
        ).scalar_one()
    assert fill is not None and 0 < fill < 1


def test_a_resent_uplink_is_a_duplicate_not_a_second_row(world: World) -> None:
    body = chirpstack_uplink(world.a.device_ids[9])
    first = _post(world, "chirpstack?event=up", body)
    again = _post(world, "chirpstack?event=up", body)
    assert first.status_code == again.status_code == 200
    assert again.json()["duplicates"] == 1


def test_bad_payload_is_dead_lettered_and_answered_422(world: World) -> None:
    before = _count(world, DeadLetter)
    r = _post(world, "tts", b'{"end_device_ids": {"dev_eui": "zz"}, "uplink_message": 5}')
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] != "internal_error" and err["details"][0]["reason"] == err["code"]
    assert _count(world, DeadLetter) == before + 1


def test_another_citys_device_reads_as_unknown_and_is_not_stored(world: World) -> None:
    own_unknown = _post(world, "tts", tts_uplink("0123456789abcdef"))
    foreign = _post(world, "tts", tts_uplink(world.b.device_ids[0]))
    assert own_unknown.status_code == foreign.status_code == 422
    assert own_unknown.json() == foreign.json()
    with world.app.state.session_factory() as s:
        reasons = list(s.scalars(select(DeadLetter.reason).order_by(DeadLetter.id.desc()).limit(2)))
    assert reasons == ["wrong_city", "unknown_device"]


def test_chirpstack_status_events_are_acknowledged_without_storing(world: World) -> None:
    before = (_count(world, SensorReading), _count(world, DeadLetter))
    r = _post(world, "chirpstack?event=status", b'{"margin": 7}')
    assert r.status_code == 200
    assert (_count(world, SensorReading), _count(world, DeadLetter)) == before


def test_webhook_body_above_64_kib_answers_413_with_the_envelope(world: World) -> None:
    big = b'{"pad": "' + b"x" * (64 * 1024) + b'"}'
    r = _post(world, "tts", big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


def test_chunked_body_above_the_limit_answers_413(world: World) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    r = world.client.post(
        "/api/v1/ingest/tts",
        content=chunks(),
        headers={**world.key("gateway"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_collections_feed_lists_emptyings_since(world: World) -> None:
    event = {
        "client_event_id": str(uuid.uuid4()),
        "stop_id": world.a.stop_ids[2],
        "kind": "emptied",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    assert (
        world.client.post("/api/v1/driver/events", json=event, headers=world.key("driver")).status_code == 200
    )
    since = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    feed = world.client.get(
        "/api/v1/collections", params={"since": since}, headers=world.key("gateway")
    ).json()
    ids = [i["external_id"] for i in feed["items"]]
    assert len(ids) == 2 and all(i.startswith("TH-") for i in ids) and feed["next_since"] is None
    recent = world.client.get(
        "/api/v1/collections", params={"since": datetime.now(UTC).isoformat()}, headers=world.key("gateway")
    ).json()
    assert recent["items"] == []
    page = world.client.get(
        "/api/v1/collections", params={"since": since, "limit": 1}, headers=world.key("dispatcher")
    ).json()
    assert len(page["items"]) == 1 and page["next_since"] == page["items"][0]["collected_at"]


def test_real_commit_path_and_503_when_the_database_is_down(fresh_database_url: str) -> None:
    """The production store (its own connection, a real commit), then the same app with its database gone."""
    migrate(fresh_database_url)
    engine = make_engine(fresh_database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as s:
            city = build_city(s, "realhafen", "RH", "70b3d57ef0", "Realhafen")
        app = create_app(SETTINGS, fresh_database_url)
        with TestClient(app, raise_server_exceptions=False) as client:
            h = {"X-API-Key": city.keys["gateway"], "Content-Type": "application/json"}
            ok = client.post("/api/v1/ingest/tts", content=tts_uplink(city.device_ids[7]), headers=h)
            assert ok.status_code == 200 and ok.json()["stored"] == 1
            with engine.connect() as conn:  # committed: visible to another connection
                n = conn.execute(
                    text("SELECT count(*) FROM sensor_reading WHERE source = 'webhook-tts'")
                ).scalar()
            assert n == 1
            dead_url = BatchStore(fresh_database_url.rsplit("/", 1)[0] + "/no_such_database").url
            for store in app.state.webhooks.pool._all:
                store.close()
                store.url = dead_url  # the database is gone: every (re)connect fails
            down = client.post(
                "/api/v1/ingest/tts", content=tts_uplink(city.device_ids[7], minutes_ago=0.5), headers=h
            )
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "unavailable" and down.headers["Retry-After"] == "5"
    finally:
        engine.dispose()


def test_uplink_json_is_valid_for_both_network_servers() -> None:
    assert json.loads(tts_uplink("70b3d57ed0000001"))["end_device_ids"]["dev_eui"] == "70B3D57ED0000001"
    assert json.loads(chirpstack_uplink("70b3d57ed0000001"))["deviceInfo"]["devEui"] == "70b3d57ed0000001"
