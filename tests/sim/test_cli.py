"""The ``sensors-sim`` command: seed files, JSON-lines runs, summary on the last line, MQTT publishing."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sensors_sim import generate_city, simulate
from sensors_sim.cli import main
from sensors_sim.engine import Message
from sensors_sim.output import MqttSink
from wasteroute.ingest.schemas import CHIRPSTACK_TOPIC_FILTER, NATIVE_TOPIC_FILTER, TTS_TOPIC_FILTER
from wasteroute.runtime.broker import BrokerHandle

RUN = [
    "run",
    "--city",
    "wismar",
    "--bins",
    "40",
    "--days",
    "1",
    "--start",
    "2026-03-02T00:00:00Z",
    "--no-progress",
]


def _last_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = capsys.readouterr().out.strip().splitlines()
    summary: dict[str, Any] = json.loads(out[-1])
    return summary


def test_city_command_writes_the_seed_and_the_geojson(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, gj = tmp_path / "city.json", tmp_path / "bins.geojson"
    assert (
        main(
            [
                "city",
                "--city",
                "luebeck",
                "--bins",
                "120",
                "--seed",
                "1",
                "--out",
                str(out),
                "--geojson",
                str(gj),
            ]
        )
        == 0
    )
    summary = _last_json(capsys)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert summary["bins"] == len(doc["bins"]["features"]) == 120
    assert summary["vehicles"] == len(doc["vehicles"])
    assert json.loads(gj.read_text(encoding="utf-8")) == doc["bins"]


def test_run_writes_byte_identical_json_lines_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main([*RUN, "--seed", "4", "--format", "mixed", "--out", str(a)]) == 0
    summary = _last_json(capsys)
    assert main([*RUN, "--seed", "4", "--format", "mixed", "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    lines = [json.loads(x) for x in a.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == summary["messages"] == sum(summary["messages_by_format"].values())
    assert set(summary["messages_by_format"]) == {"native", "tts", "chirpstack"}
    assert summary["bins"] == 40 and summary["days"] == 1.0 and summary["seconds"] >= 0
    assert summary["fault_rates"]["dropout"] == 0.02
    for line in lines:
        assert set(line) in (
            {"topic", "payload", "qos", "fault", "detail"},
            {"topic", "payload_b64", "qos", "fault", "detail"},
        )
        assert line["qos"] == 1
        if "payload_b64" in line:
            assert line["fault"] == "garbage" and line["detail"] == "binary"
    faults = Counter(line["fault"] for line in lines)
    assert faults["garbage"] == summary["faults"].get("garbage", 0)


def test_run_uses_a_city_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    city = tmp_path / "city.json"
    main(["city", "--city", "stralsund", "--bins", "25", "--out", str(city)])
    capsys.readouterr()
    out = tmp_path / "m.jsonl"
    assert main([*RUN, "--city-file", str(city), "--faults", "none", "--out", str(out)]) == 0
    summary = _last_json(capsys)
    assert summary["city"] == "stralsund" and summary["bins"] == 25 and summary["faults"] == {}
    topics = {json.loads(x)["topic"] for x in out.read_text(encoding="utf-8").splitlines()}
    assert all(t.startswith("wasteroute/stralsund/sensors/") for t in topics) and len(topics) == 25


def test_run_refuses_two_destinations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*RUN, "--out", "x.jsonl", "--mqtt-url", "mqtt://localhost:1"]) == 2
    assert "not both" in capsys.readouterr().err


def test_mqtt_sink_delivers_every_message_with_a_small_window(broker: BrokerHandle) -> None:
    received: Counter[tuple[str, bytes]] = Counter()
    lock = threading.Lock()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            received[(msg.topic, bytes(msg.payload))] += 1

    sub = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="sim-test-sub", protocol=mqtt.MQTTv5
    )
    url = broker.url("wasteroute-ingest")
    creds, _, _hostport = url.removeprefix("mqtt://").rpartition("@")
    if creds:
        user, _, pw = creds.partition(":")
        sub.username_pw_set(user, pw)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(broker.host, broker.port)
    sub.subscribe([(f, 1) for f in (NATIVE_TOPIC_FILTER, TTS_TOPIC_FILTER, CHIRPSTACK_TOPIC_FILTER)])
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        msgs: list[Message] = list(
            simulate(generate_city("wismar", 30, 1), 1, 1, "mixed", "none", datetime(2026, 3, 2, tzinfo=UTC))
        )
        sink = MqttSink(broker.url("wasteroute-sim"), client_id="sim-test-pub", max_inflight=20)
        for m in msgs:
            sink.send(m)
        sink.close(timeout_s=30)
        assert sink.acked == len(msgs) and sink.failed == 0
        expected = Counter((m.topic, m.payload) for m in msgs)
        deadline = threading.Event()
        for _ in range(100):
            with lock:
                if received == expected:
                    break
            deadline.wait(0.1)
        assert received == expected
    finally:
        sub.loop_stop()
        sub.disconnect()
