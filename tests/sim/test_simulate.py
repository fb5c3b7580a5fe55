"""The simulation: reproducible, well-formed in every format, faults at their configured rates."""

from __future__ import annotations

import base64
import itertools
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from sensors_sim import (
    FaultRates,
    HttpCollectionFeed,
    ListCollectionFeed,
    Message,
    SimStats,
    generate_city,
    simulate,
)
from sensors_sim.envelopes import NetworkIds, tts_device_id
from sensors_sim.payloads import decode_frame
from wasteroute.ingest.schemas import NativeReading, native_topic

START = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def small_city() -> dict[str, Any]:
    return generate_city("wismar", 60, 11)


def _lines(msgs: list[Message]) -> str:
    return "\n".join(m.json_line() for m in msgs)


def _bins_by_device(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    types = {t["code"]: t for t in doc["container_types"]}
    out = {}
    for f in doc["bins"]["features"]:
        p = dict(f["properties"])
        p["height_mm"] = types[p["container_type"]]["height_mm"]
        out[p["sensor"]["device_id"]] = p
    return out


def lora_reading(topic: str, payload: bytes, ids: NetworkIds) -> tuple[str, datetime, dict[str, Any]]:
    """Parse a TTS / ChirpStack uplink strictly: (dev_eui, time, reading fields); raises if invalid."""
    body = json.loads(payload)
    if not isinstance(body, dict):
        raise TypeError("uplink must be a JSON object")
    if topic.startswith("v3/"):
        up = body["uplink_message"]
        f_port, data, ts = up.get("f_port", 0), up["frm_payload"], up["received_at"]
        dev = body["end_device_ids"]["dev_eui"].lower()
        if topic != f"v3/{ids.tts_app}@{ids.tts_tenant}/devices/{body['end_device_ids']['device_id']}/up":
            raise ValueError("topic does not name the device")
    else:
        f_port, data, ts = body.get("fPort", 0), body["data"], body["time"]
        dev = body["deviceInfo"]["devEui"]
        if topic != f"application/{body['deviceInfo']['applicationId']}/device/{dev}/event/up":
            raise ValueError("topic does not name the device")
    if not isinstance(f_port, int) or not isinstance(data, str):
        raise TypeError("fPort must be an integer and the frame a base64 string")
    fields = decode_frame(f_port, base64.b64decode(data, validate=True))
    return dev, datetime.fromisoformat(ts), fields


def test_same_seed_gives_byte_identical_messages(small_city: dict[str, Any]) -> None:
    a = list(simulate(small_city, 2, 5, "mixed", "default", START))
    b = list(simulate(small_city, 2, 5, "mixed", "default", START))
    assert len(a) > 2000
    assert _lines(a) == _lines(b)
    c = list(simulate(small_city, 2, 6, "mixed", "default", START))
    assert _lines(a) != _lines(c)


def test_fill_trajectories_do_not_depend_on_the_fault_rates(small_city: dict[str, Any]) -> None:
    st_none, st_faulty = SimStats(), SimStats()
    list(simulate(small_city, 3, 5, "native", "none", START, stats=st_none))
    list(simulate(small_city, 3, 5, "native", "stuck=0.1,dropout=0.1", START, stats=st_faulty))
    assert st_none.collections == st_faulty.collections > 0
    assert st_none.fill_at_collection_sum == pytest.approx(st_faulty.fill_at_collection_sum)
    assert st_none.reports == st_faulty.reports


@pytest.mark.parametrize("fmt", ["native", "tts", "chirpstack"])
def test_every_message_is_well_formed_and_every_garbage_one_is_not(
    small_city: dict[str, Any], fmt: str
) -> None:
    bins = _bins_by_device(small_city)
    ids = NetworkIds.for_city("wismar")
    stats = SimStats()
    faults = FaultRates(
        dropout=0.02, duplicate=0.02, stuck=0.02, garbage=0.08, skew=0.02, fire=0.02, tilt=0.02
    )
    msgs = list(simulate(small_city, 2, 9, fmt, faults, START, stats=stats))
    kinds: Counter[str] = Counter()
    for m in msgs:
        assert m.qos == 1 and m.fmt == fmt and m.device_id in bins
        if m.fault == "garbage":
            kinds[m.detail or ""] += 1
            with pytest.raises((ValueError, TypeError, KeyError, ValidationError)):
                if fmt == "native":
                    NativeReading.model_validate_json(m.payload)
                else:
                    lora_reading(m.topic, m.payload, ids)
            continue
        assert m.detail is None
        if fmt == "native":
            r = NativeReading.model_validate_json(m.payload)
            assert m.topic == native_topic("wismar", r.device_id) and r.device_id == m.device_id
            dev, ts, distance = r.device_id, r.measured_at, r.distance_mm
        else:
            dev, ts, fields = lora_reading(m.topic, m.payload, ids)
            distance = fields["distance_mm"]
            assert dev == m.device_id
        b = bins[dev]
        assert distance is not None and distance >= b["sensor"]["mount_offset_mm"]
        if m.fault is None:
            assert distance <= b["sensor"]["mount_offset_mm"] + b["height_mm"] + 60
        if m.fault == "skew":
            assert ts > START + timedelta(days=2)
        else:
            assert START <= ts <= START + timedelta(days=2, seconds=2)
    expected = {"invalid_json", "truncated", "binary", "wrong_types", "out_of_range"}
    if fmt != "native":
        expected.add("short_frame")
    assert set(kinds) == expected
    assert sum(kinds.values()) == stats.faults["garbage"]


def test_tts_and_chirpstack_uplinks_carry_the_documented_fields(small_city: dict[str, Any]) -> None:
    msgs = list(simulate(small_city, 1, 2, "mixed", "none", START))
    fmts = Counter(m.fmt for m in msgs)
    assert set(fmts) == {"native", "tts", "chirpstack"}
    for m in msgs:
        body = json.loads(m.payload)
        if m.fmt == "tts":
            e = body["end_device_ids"]
            assert e["device_id"] == tts_device_id(m.device_id) and e["dev_eui"] == m.device_id.upper()
            assert e["application_ids"]["application_id"] == "wismar-bins"
            up = body["uplink_message"]
            assert up["f_port"] in (85, 2) and "decoded_payload" not in up  # raw bytes only
            assert "f_cnt" not in up or up["f_cnt"] > 0  # zero values are omitted
            assert isinstance(up["settings"]["frequency"], str)
            assert up["rx_metadata"] and up["rx_metadata"][0]["gateway_ids"]["gateway_id"].startswith(
                "wismar-gw-"
            )
            assert datetime.fromisoformat(body["received_at"]) >= datetime.fromisoformat(up["received_at"])
        elif m.fmt == "chirpstack":
            d = body["deviceInfo"]
            assert d["devEui"] == m.device_id and d["tags"]["bin"].startswith("HWI-")
            assert body["fPort"] in (85, 2) and "object" not in body
            assert "fCnt" not in body or body["fCnt"] > 0
            assert isinstance(body["txInfo"]["frequency"], int) and body["rxInfo"][0]["gatewayId"]
            assert len(body["deduplicationId"]) == 36
        else:
            assert m.topic.startswith("wasteroute/wismar/sensors/")


def test_native_model_devices_send_a_decoded_payload_through_lorawan(small_city: dict[str, Any]) -> None:
    bins = _bins_by_device(small_city)
    seen = 0
    for m in simulate(small_city, 0.5, 2, "tts", "none", START):
        if bins[m.device_id]["sensor"]["model"] != "native":
            continue
        up = json.loads(m.payload)["uplink_message"]
        assert up["f_port"] == 1
        assert json.loads(base64.b64decode(up["frm_payload"])) == up["decoded_payload"]
        seen += 1
    assert seen > 0


@pytest.fixture(scope="module")
def faulty_run() -> tuple[FaultRates, SimStats, list[Message], dict[str, dict[str, Any]]]:
    doc = generate_city("stralsund", 300, 4)
    rates = FaultRates(
        dropout=0.05, duplicate=0.03, stuck=0.04, battery=0.1, garbage=0.05, skew=0.03, fire=0.02, tilt=0.03
    )
    stats = SimStats()
    msgs = list(simulate(doc, 3, 8, "native", rates, START, stats=stats))
    return rates, stats, msgs, _bins_by_device(doc)


def test_fault_rates_land_near_the_configured_ones(
    faulty_run: tuple[FaultRates, SimStats, list[Message], dict[str, dict[str, Any]]],
) -> None:
    rates, stats, msgs, bins = faulty_run
    n = stats.reports
    assert n > 20_000
    labels = Counter(m.fault for m in msgs)
    # per report, decided independently for every report
    assert stats.faults["dropout"] / n == pytest.approx(rates.dropout, rel=0.15)
    assert labels["garbage"] / n == pytest.approx(rates.garbage, rel=0.15)
    assert labels["skew"] / n == pytest.approx(rates.skew, rel=0.15)
    delivered_ok = n - stats.faults["dropout"] - labels["garbage"] - labels["skew"]
    assert labels["duplicate"] / delivered_ok == pytest.approx(rates.duplicate, rel=0.15)
    # the messages that reached the broker: reports - lost + duplicates
    assert len(msgs) == n - stats.faults["dropout"] + labels["duplicate"]
    # episodes: the share of affected reports
    assert stats.faults["stuck"] / n == pytest.approx(rates.stuck, rel=0.3)
    assert stats.faults["fire"] / stats.fire_capable_reports == pytest.approx(rates.fire, rel=0.3)
    assert stats.faults["tilt"] / stats.tilt_capable_reports == pytest.approx(rates.tilt, rel=0.3)
    # battery: a share of the sensors drains (and some of them die within the run)
    draining = {m.device_id for m in msgs if m.fault == "battery"}
    assert len(draining) / len(bins) == pytest.approx(rates.battery, abs=0.05)
    assert 0 < stats.dead_sensors <= len(draining)


def test_faulty_messages_show_their_fault(
    faulty_run: tuple[FaultRates, SimStats, list[Message], dict[str, dict[str, Any]]],
) -> None:
    _, stats, msgs, _ = faulty_run
    end = stats.end
    assert end is not None
    stuck_values: dict[str, set[int]] = defaultdict(set)
    previous: dict[str, Message] = {}
    for m in msgs:
        if m.fault == "duplicate":
            assert previous[m.device_id].payload == m.payload
            continue
        if m.fault != "garbage":
            r = json.loads(m.payload)
            if m.fault == "fire":
                assert r["temperature_c"] >= 70
            elif m.fault == "tilt":
                assert r["tilt_deg"] >= 40
            elif m.fault == "skew":
                assert datetime.fromisoformat(r["measured_at"]) > end
            elif m.fault == "battery":
                assert r.get("battery_pct", 0) <= 30 or r.get("battery_v", 0) <= 3.2
            elif m.fault == "stuck":
                stuck_values[m.device_id].add(r["distance_mm"])
            elif m.fault is None:
                assert r.get("temperature_c", 0) < 60 and r.get("tilt_deg", 0) == 0
        previous[m.device_id] = m
    # a stuck sensor repeats one value per episode: far fewer distinct values than stuck reports
    assert sum(len(v) for v in stuck_values.values()) < stats.faults["stuck"] / 4


def test_dead_sensors_fall_silent(
    faulty_run: tuple[FaultRates, SimStats, list[Message], dict[str, dict[str, Any]]],
) -> None:
    _, stats, msgs, _ = faulty_run
    last_at: dict[str, datetime] = {}
    for m in msgs:
        last_at[m.device_id] = m.at
    assert stats.end is not None
    assert len(stats.died_at) == stats.dead_sensors > 0
    for device, t in last_at.items():
        if device in stats.died_at:
            assert t < stats.died_at[device]
        else:
            assert stats.end - t < timedelta(hours=4)


def test_containers_overflow_and_distances_clip_at_the_mount_offset(small_city: dict[str, Any]) -> None:
    bins = _bins_by_device(small_city)
    stats = SimStats()
    at_offset = 0
    for m in simulate(small_city, 10, 3, "native", "none", START, baseline=False, stats=stats):
        r = json.loads(m.payload)
        offset = bins[m.device_id]["sensor"]["mount_offset_mm"]
        assert r["distance_mm"] >= offset
        at_offset += r["distance_mm"] == offset
    assert stats.collections == 0
    assert at_offset > 100


def test_closed_loop_empties_what_the_service_collected(small_city: dict[str, Any]) -> None:
    bins = _bins_by_device(small_city)
    by_ext = {p["external_id"]: d for d, p in bins.items()}
    chosen = sorted(by_ext)[:5]
    when = START + timedelta(days=4, hours=10)
    feed = ListCollectionFeed([(ext, when) for ext in chosen] + [("not-a-bin", when)])
    stats = SimStats()
    fills: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for m in simulate(small_city, 6, 3, "native", "none", START, feed=feed, stats=stats):
        r = json.loads(m.payload)
        p = bins[m.device_id]
        fill = 1 - (r["distance_mm"] - p["sensor"]["mount_offset_mm"]) / p["height_mm"]
        fills[m.device_id].append((m.at, fill))
    assert stats.collections == len(chosen)  # no fixed rounds when a feed is given
    for ext in chosen:
        series = fills[by_ext[ext]]
        before = [f for t, f in series if when - timedelta(hours=2) <= t < when]
        after = [f for t, f in series if when < t <= when + timedelta(hours=2)]
        assert before and after and after[0] < 0.1 < before[-1]
    others = [d for e, d in by_ext.items() if e not in chosen]
    for d in others:
        levels = [f for _, f in fills[d]]
        assert all(b > a - 0.1 for a, b in itertools.pairwise(levels))  # only grows (noise aside)


def test_http_feed_reads_the_services_collections(small_city: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []
    ext = small_city["bins"]["features"][0]["properties"]["external_id"]
    when = START + timedelta(days=1, hours=9)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        since = datetime.fromisoformat(request.url.params["since"])
        items = [{"external_id": ext, "collected_at": when.isoformat().replace("+00:00", "Z")}]
        return httpx.Response(200, json={"items": items if since <= when else []})

    feed = HttpCollectionFeed(
        "http://service.test/api/collections", token="k1", transport=httpx.MockTransport(handler)
    )
    stats = SimStats()
    list(simulate(small_city, 2, 1, "native", "none", START, feed=feed, stats=stats))
    assert stats.collections == 1  # applied once although the service reports it on every poll
    assert len(seen) == 48 and seen[0].headers["Authorization"] == "Bearer k1"
    with pytest.raises(ValueError, match="http"):
        HttpCollectionFeed("ftp://service.test/")
