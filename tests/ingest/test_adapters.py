"""Adapters: topic selection, network-server envelopes, model hints, webhooks, robustness."""

from __future__ import annotations

import base64
import copy
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wasteroute.ingest.adapters import match_topic, parse_uplink, parse_webhook
from wasteroute.ingest.decoders import encode_em310udl, encode_ldds75
from wasteroute.ingest.rejects import IngestLimits, Rejected, RejectReason
from wasteroute.ingest.schemas import CanonicalReading, native_topic

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DEV_EUI = "0004A30B001C0530"
TTS_TOPIC = "v3/app1@ttn/devices/dev1/up"
CS_APP = "17c82e96-be03-4f38-aef3-f83d48582d97"
CS_TOPIC = f"application/{CS_APP}/device/0101010101010101/event/up"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def tts_uplink(
    frame: bytes | None = None, f_port: int | None = None, decoded: dict[str, Any] | None = None
) -> dict[str, Any]:
    up: dict[str, Any] = {
        "f_cnt": 9,
        "rx_metadata": [{"gateway_ids": {"gateway_id": "gtw1"}, "rssi": -35, "snr": 5}],
        "received_at": "2026-11-22T11:15:45.789585559Z",
    }
    if frame is not None:
        up["frm_payload"] = b64(frame)
    if f_port is not None:
        up["f_port"] = f_port
    if decoded is not None:
        up["decoded_payload"] = decoded
    return {
        "end_device_ids": {
            "device_id": "dev1",
            "application_ids": {"application_id": "app1"},
            "dev_eui": DEV_EUI,
        },
        "received_at": "2026-11-22T11:15:46.014773143Z",
        "uplink_message": up,
    }


def cs_uplink(
    frame: bytes | None = None, f_port: int | None = None, obj: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
        "time": "2026-11-22T11:34:15.775023242+00:00",
        "deviceInfo": {"applicationId": CS_APP, "deviceName": "bin 7", "devEui": "0101010101010101"},
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -36, "snr": 10.5}],
    }
    if frame is not None:
        body["data"] = b64(frame)
    if f_port is not None:
        body["fPort"] = f_port
    if obj is not None:
        body["object"] = obj
    return body


def parse(topic: str, body: dict[str, Any] | bytes, **kwargs: Any) -> list[CanonicalReading]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_uplink(topic, payload, received_at=NOW, now=NOW, **kwargs)


def rejected(topic: str, body: dict[str, Any] | bytes, **kwargs: Any) -> Rejected:
    with pytest.raises(Rejected) as caught:
        parse(topic, body, **kwargs)
    return caught.value


# ------------------------------------------------------------------------------------------------
# topics


def test_topics_select_their_adapter() -> None:
    native = match_topic(native_topic("luebeck", "a84041000181c5e2"))
    assert (native.kind, native.city, native.device) == ("native", "luebeck", "a84041000181c5e2")
    tts = match_topic(TTS_TOPIC)
    assert (tts.kind, tts.application, tts.tenant, tts.device) == ("tts", "app1", "ttn", "dev1")
    open_source = match_topic("v3/app1/devices/dev1/up")
    assert (open_source.application, open_source.tenant) == ("app1", None)
    chirpstack = match_topic(CS_TOPIC)
    assert (chirpstack.kind, chirpstack.application, chirpstack.device) == (
        "chirpstack",
        CS_APP,
        "0101010101010101",
    )


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("wasteroute/luebeck/sensors/x/down", RejectReason.UNKNOWN_TOPIC),
        ("wasteroute/luebeck/sensors/x/up/extra", RejectReason.UNKNOWN_TOPIC),
        ("v3/app1@ttn/devices/dev1/join", RejectReason.UNKNOWN_TOPIC),
        ("", RejectReason.UNKNOWN_TOPIC),
        ("wasteroute//sensors/x/up", RejectReason.TOPIC_MALFORMED),
        ("wasteroute/Luebeck/sensors/x/up", RejectReason.TOPIC_MALFORMED),
        ("v3/@ttn/devices/dev1/up", RejectReason.TOPIC_MALFORMED),
        ("wasteroute/luebeck/sensors//up", RejectReason.DEVICE_ID_MALFORMED),
        (f"application/{CS_APP}/device/0101/event/up", RejectReason.DEVICE_ID_MALFORMED),
    ],
)
def test_bad_topics_are_refused(topic: str, reason: RejectReason) -> None:
    with pytest.raises(Rejected) as caught:
        match_topic(topic)
    assert caught.value.reason is reason


def test_topic_is_checked_before_the_payload() -> None:
    assert rejected("somewhere/else", b"").reason is RejectReason.UNKNOWN_TOPIC


# ------------------------------------------------------------------------------------------------
# native


def test_native_reading_keeps_the_topic_city_and_lower_cases_the_device() -> None:
    body = {"device_id": "A84041000181C5E2", "measured_at": "2026-11-22T11:00:00Z", "distance_mm": 850}
    (reading,) = parse("wasteroute/wismar/sensors/A84041000181C5E2/up", body)
    assert reading.device_id == "a84041000181c5e2"
    assert reading.extra == {"topic_city": "wismar"}
    assert reading.source == "native"


def test_native_limits_are_applied_beyond_the_schema() -> None:
    body = {"device_id": "a84041000181c5e2", "measured_at": "2026-11-22T11:00:00Z", "distance_mm": 5000}
    error = rejected(
        native_topic("luebeck", "a84041000181c5e2"), body, limits=IngestLimits(max_distance_mm=4000)
    )
    assert error.reason is RejectReason.DISTANCE_OUT_OF_RANGE


def test_native_unknown_fields_are_ignored() -> None:
    body = {"device_id": "s1", "measured_at": "2026-11-22T11:00:00Z", "fill_level": 0.2, "firmware": "1.2"}
    (reading,) = parse(native_topic("luebeck", "s1"), body)
    assert reading.fill_level == pytest.approx(0.2)


# ------------------------------------------------------------------------------------------------
# The Things Stack and ChirpStack


def test_tts_uses_the_dev_eui_and_the_network_server_time() -> None:
    (reading,) = parse(TTS_TOPIC, tts_uplink(encode_em310udl(battery_pct=50, distance_mm=700), f_port=85))
    assert reading.device_id == DEV_EUI.lower()
    assert reading.measured_at == datetime(2026, 11, 22, 11, 15, 45, 789585, tzinfo=UTC)
    assert reading.extra["time_source"] == "network_server"
    assert reading.extra["network_device_id"] == "dev1"


def test_tts_without_dev_eui_falls_back_to_the_device_id() -> None:
    body = tts_uplink(encode_em310udl(distance_mm=700), f_port=85)
    del body["end_device_ids"]["dev_eui"]
    (reading,) = parse(TTS_TOPIC, body)
    assert reading.device_id == "dev1"


def test_without_any_server_time_the_ingest_time_is_used() -> None:
    body = tts_uplink(encode_em310udl(distance_mm=700), f_port=85)
    del body["received_at"], body["uplink_message"]["received_at"]
    received = datetime(2026, 11, 22, 13, 0, tzinfo=UTC) - timedelta(hours=1, minutes=1)
    (reading,) = parse_uplink(TTS_TOPIC, json.dumps(body).encode(), received_at=received, now=NOW)
    assert reading.measured_at == received
    assert reading.extra["time_source"] == "ingest"


def test_omitted_zero_counters_read_as_zero() -> None:
    body = cs_uplink(encode_ldds75(battery_mv=3000, distance_mm=900), f_port=2)
    (reading,) = parse(CS_TOPIC, body)
    assert reading.extra["f_cnt"] == 0
    assert reading.extra["f_port"] == 2


def test_counters_may_be_quoted_as_in_the_protobuf_json_mapping() -> None:
    body = cs_uplink(encode_ldds75(battery_mv=3000, distance_mm=900), f_port=2)
    body["fCnt"] = "4294967295"
    (reading,) = parse(CS_TOPIC, body)
    assert reading.extra["f_cnt"] == 4294967295


def test_the_best_gateway_is_the_one_with_the_highest_snr() -> None:
    body = tts_uplink(encode_em310udl(distance_mm=700), f_port=85)
    body["uplink_message"]["rx_metadata"] = [
        {"gateway_ids": {"gateway_id": "near"}, "rssi": -40, "snr": 4},
        "not an object",
        {"gateway_ids": {"gateway_id": "clear"}, "channel_rssi": -100, "snr": 9.5},
        {"gateway_ids": {"gateway_id": "odd"}, "rssi": "loud"},
    ]
    (reading,) = parse(TTS_TOPIC, body)
    assert (reading.rssi_dbm, reading.snr_db) == (-100.0, 9.5)
    assert reading.extra["gateway_id"] == "clear"
    assert reading.extra["gateway_count"] == 3


def test_decoded_payload_wins_over_the_raw_frame() -> None:
    body = tts_uplink(encode_em310udl(distance_mm=700), f_port=85, decoded={"distance_mm": 1234})
    (reading,) = parse(TTS_TOPIC, body)
    assert reading.distance_mm == 1234
    assert reading.extra["decoder"] == "network_server"


def test_decoded_payload_without_a_level_falls_back_to_the_frame() -> None:
    body = tts_uplink(encode_em310udl(battery_pct=80, distance_mm=700), f_port=85, decoded={"rssi_note": 1})
    (reading,) = parse(TTS_TOPIC, body)
    assert reading.distance_mm == 700
    assert reading.extra["decoder"] == "milesight-em310-udl"


@pytest.mark.parametrize(
    ("decoded", "field", "value"),
    [
        ({"fill_percent": 63}, "fill_level", 0.63),
        ({"fillingLevel": 0.4}, "fill_level", 0.4),
        ({"percent": "80 %"}, "fill_level", 0.8),
        ({"distance_cm": 41.5}, "distance_mm", 415.0),
        ({"Distance": "1.2 m"}, "distance_mm", 1200.0),
        ({"distance": 900, "Bat": "3050 mV"}, "battery_v", 3.05),
        ({"distance": 900, "battery": 88}, "battery_pct", 88.0),
        ({"distance": 900, "temp": -4.5}, "temperature_c", -4.5),
        ({"distance": 900, "position": "normal"}, "tilted", False),
        ({"distance": 900, "tilted": True}, "tilted", True),
        ({"distance": 900, "angle": "12°"}, "tilt_deg", 12.0),
    ],
)
def test_common_decoded_field_names_are_mapped(decoded: dict[str, Any], field: str, value: object) -> None:
    (reading,) = parse(CS_TOPIC, cs_uplink(None, 85, decoded))
    assert getattr(reading, field) == pytest.approx(value)


@pytest.mark.parametrize(
    "decoded",
    [{"distance": True}, {"distance": [1]}, {"distance": "12 kg"}, {"distance": 9, "position": "upside"}],
)
def test_decoded_fields_of_the_wrong_type_are_refused(decoded: dict[str, Any]) -> None:
    assert rejected(CS_TOPIC, cs_uplink(None, 85, decoded)).reason is RejectReason.WRONG_TYPE


def test_model_hint_chooses_the_decoder_whatever_the_port_default() -> None:
    frame = encode_ldds75(battery_mv=3300, distance_mm=640, temperature_c=-3.5)
    seen: list[str] = []

    def hint(device_id: str) -> str | None:
        seen.append(device_id)
        return "Dragino LDDS75"

    (reading,) = parse(CS_TOPIC, cs_uplink(frame, 2), model_hint=hint)
    assert seen == ["0101010101010101"]
    assert reading.distance_mm == 640
    assert reading.temperature_c == pytest.approx(-3.5)
    assert reading.extra["decoder"] == "dragino-ldds75"


def test_model_hint_refuses_a_port_the_model_does_not_use() -> None:
    frame = encode_ldds75(battery_mv=3300, distance_mm=640)
    error = rejected(CS_TOPIC, cs_uplink(frame, 85), model_hint=lambda _: "ldds75")
    assert error.reason is RejectReason.UNSUPPORTED_FPORT


def test_model_hint_naming_an_unknown_model_is_refused() -> None:
    error = rejected(CS_TOPIC, cs_uplink(b"\x01", 85), model_hint=lambda _: "acme-9000")
    assert error.reason is RejectReason.UNKNOWN_SENSOR_MODEL
    assert "acme-9000" in error.detail


def test_a_decoded_level_needs_no_model() -> None:
    (reading,) = parse(CS_TOPIC, cs_uplink(b"\x01", 33, {"distance": 500}), model_hint=lambda _: "acme-9000")
    assert reading.distance_mm == 500


def test_device_info_frames_yield_no_reading() -> None:
    assert (
        parse(TTS_TOPIC, tts_uplink(encode_em310udl(power_on=True, serial_number="6136c19146090000"), 85))
        == []
    )


def test_application_in_topic_must_match_the_payload() -> None:
    error = rejected("v3/other-app@ttn/devices/dev1/up", tts_uplink(encode_em310udl(distance_mm=1), 85))
    assert error.reason is RejectReason.TOPIC_DEVICE_MISMATCH
    body = cs_uplink(encode_em310udl(distance_mm=1), 85)
    error = rejected(CS_TOPIC.replace(CS_APP, "another-app"), body)
    assert error.reason is RejectReason.TOPIC_DEVICE_MISMATCH


def test_chirpstack_dev_eui_comparison_ignores_case() -> None:
    body = cs_uplink(encode_em310udl(distance_mm=1000), 85)
    body["deviceInfo"]["devEui"] = "0A0B0C0D0E0F0102"
    (reading,) = parse(f"application/{CS_APP}/device/0a0b0c0d0e0f0102/event/up", body)
    assert reading.device_id == "0a0b0c0d0e0f0102"


# ------------------------------------------------------------------------------------------------
# webhooks


def test_webhooks_parse_without_a_topic_and_mark_their_source() -> None:
    body = json.dumps(tts_uplink(encode_em310udl(distance_mm=1500), 85)).encode()
    (reading,) = parse_webhook("tts", body, received_at=NOW, now=NOW)
    assert reading.source == "webhook-tts"
    assert reading.distance_mm == 1500
    body = json.dumps(cs_uplink(encode_ldds75(battery_mv=3000, distance_mm=800), 2)).encode()
    (reading,) = parse_webhook("chirpstack", body, received_at=NOW, now=NOW)
    assert reading.source == "webhook-chirpstack"
    assert reading.extra["network_device_id"] == "bin 7"


def test_webhook_of_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        parse_webhook("helium", b"{}", received_at=NOW, now=NOW)  # type: ignore[arg-type]


def test_naive_clocks_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_uplink(TTS_TOPIC, b"{}", received_at=datetime(2026, 11, 22), now=NOW)


# ------------------------------------------------------------------------------------------------
# robustness


def _random_uplink(rng: random.Random) -> tuple[str, dict[str, Any], CanonicalReading | None]:
    """A random valid uplink and the values it must parse to (None when it carries no level)."""
    distance = rng.randint(0, 9000)
    if rng.random() < 0.5:
        battery = rng.randint(0, 100)
        tilted = rng.choice([None, True, False])
        frame, port = encode_em310udl(battery_pct=battery, distance_mm=distance, tilted=tilted), 85
        want = CanonicalReading(
            "x", NOW, "", distance_mm=float(distance), battery_pct=float(battery), tilted=tilted
        )
    else:
        mv, temp = rng.randint(2500, 3700), rng.randint(-300, 600) / 10
        frame, port = encode_ldds75(battery_mv=mv, distance_mm=distance or 1, temperature_c=temp), 2
        want = CanonicalReading(
            "x", NOW, "", distance_mm=float(distance or 1), battery_v=mv / 1000, temperature_c=temp
        )
    if rng.random() < 0.5:
        return TTS_TOPIC, tts_uplink(frame, port), want
    return CS_TOPIC, cs_uplink(frame, port), want


def test_random_frames_in_both_envelopes_parse_to_what_was_encoded() -> None:
    rng = random.Random(2026)
    for _ in range(400):
        topic, body, want = _random_uplink(rng)
        (reading,) = parse(topic, body)
        assert want is not None
        assert reading.distance_mm == want.distance_mm
        assert reading.battery_pct == want.battery_pct
        assert reading.battery_v == pytest.approx(want.battery_v)
        assert reading.temperature_c == pytest.approx(want.temperature_c)
        assert reading.tilted == want.tilted


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randrange(len(buf) + 1)
        if choice < 0.4 and buf:
            buf[min(position, len(buf) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            buf.insert(position, rng.choice(b'{}[]",:0-9.eE\\ \x00\xff'))
        elif buf:
            del buf[min(position, len(buf) - 1)]
    return bytes(buf)


def _mutate_json(rng: random.Random, value: Any) -> Any:
    """Replace one randomly chosen value somewhere in the JSON tree with a value of another type."""
    value = copy.deepcopy(value)
    replacements: list[Any] = [
        None,
        True,
        -1,
        1e308,
        10**400,
        "",
        "x",
        [],
        {},
        2**70,
        "2026-13-45T99:00:00Z",
        "0001-01-01T00:00:00+01:00",
    ]
    node = value
    for _ in range(rng.randint(1, 4)):
        if isinstance(node, dict) and node:
            key = rng.choice(sorted(node))
            if rng.random() < 0.4 or not isinstance(node[key], dict | list):
                node[key] = rng.choice(replacements)
                return value
            node = node[key]
        elif isinstance(node, list) and node:
            index = rng.randrange(len(node))
            node[index] = rng.choice(replacements)
            return value
    return value


def test_mangled_uplinks_are_rejected_never_crash() -> None:
    """Whatever arrives, the adapters answer with readings or Rejected, never another exception."""
    rng = random.Random(4711)
    outcomes: dict[str, int] = {}
    for _ in range(1500):
        topic, body, _ = _random_uplink(rng)
        if rng.random() < 0.5:
            payload = _mutate(rng, json.dumps(body).encode())
        else:
            payload = json.dumps(_mutate_json(rng, body)).encode()
        try:
            readings = parse(topic, payload)
            outcomes["parsed"] = outcomes.get("parsed", 0) + len(readings)
        except Rejected as exc:
            outcomes[exc.reason.value] = outcomes.get(exc.reason.value, 0) + 1
    assert outcomes.get("parsed", 0) > 0
    assert len(outcomes) >= 6  # mangling reaches many different checks


def test_numbers_beyond_float_range_are_refused_or_ignored_never_crash() -> None:
    huge = 10**400
    error = rejected(CS_TOPIC, cs_uplink(None, 85, {"distance": huge}))
    assert error.reason is RejectReason.NON_FINITE
    body = cs_uplink(None, 85, {"distance": 5})
    body["rxInfo"] = [{"gatewayId": "g", "rssi": huge, "snr": 3}]
    (reading,) = parse(CS_TOPIC, body)
    assert reading.rssi_dbm is None and reading.snr_db == 3.0


@pytest.mark.parametrize(("key", "value"), [("fPort", 256), ("fCnt", 2**32), ("fPort", -1)])
def test_lorawan_counters_outside_their_field_width_are_refused(key: str, value: int) -> None:
    body = cs_uplink(None, 85, {"distance": 5})
    body[key] = value
    assert rejected(CS_TOPIC, body).reason is RejectReason.VALUE_OUT_OF_RANGE


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_times_that_leave_the_representable_range_in_utc_are_invalid(when: str) -> None:
    body = {"device_id": "s1", "measured_at": when, "fill_level": 0.5}
    assert rejected(native_topic("luebeck", "s1"), body).reason is RejectReason.TIMESTAMP_INVALID
    cs_body = cs_uplink(None, 85, {"distance": 5})
    cs_body["time"] = when
    assert rejected(CS_TOPIC, cs_body).reason is RejectReason.TIMESTAMP_INVALID
