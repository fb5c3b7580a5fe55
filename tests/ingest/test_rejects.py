"""Reject reasons and checks, and the corpus of good and bad uplinks in tests/data/uplinks/."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wasteroute.ingest.adapters import WebhookKind, parse_uplink, parse_webhook
from wasteroute.ingest.rejects import (
    IngestLimits,
    Rejected,
    RejectReason,
    check_time_window,
    load_json_object,
    parse_timestamp,
)

UPLINKS = Path(__file__).resolve().parents[1] / "data" / "uplinks"
BAD = json.loads((UPLINKS / "bad" / "manifest.json").read_text())
GOOD = json.loads((UPLINKS / "good" / "manifest.json").read_text())
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
LIMITS = IngestLimits()


def test_bad_corpus_is_large_and_covers_many_reasons() -> None:
    assert len(BAD) >= 25
    assert len({entry["file"] for entry in BAD}) == len(BAD)
    assert len({entry["reason"] for entry in BAD}) >= 20
    on_disk = {p.name for p in (UPLINKS / "bad").iterdir()} - {"manifest.json"}
    assert on_disk == {entry["file"] for entry in BAD}


@pytest.mark.parametrize("entry", BAD, ids=[entry["file"] for entry in BAD])
def test_every_bad_uplink_is_rejected_with_its_reason(entry: dict[str, str]) -> None:
    payload = (UPLINKS / "bad" / entry["file"]).read_bytes()
    with pytest.raises(Rejected) as caught:
        parse_uplink(entry["topic"], payload, received_at=NOW, now=NOW, limits=LIMITS)
    assert caught.value.reason == RejectReason(entry["reason"]), caught.value.detail
    assert caught.value.detail  # people get an explanation too


# only the time-window reasons depend on the clock (years 2099 and 2001, by design)
CLOCK_FREE = [e for e in BAD if e["reason"] not in ("timestamp_in_future", "timestamp_too_old")]


@pytest.mark.parametrize("entry", CLOCK_FREE, ids=[entry["file"] for entry in CLOCK_FREE])
def test_bad_uplinks_are_rejected_for_their_reason_whatever_the_clock(entry: dict[str, str]) -> None:
    """An end-to-end run uses the wall clock, so every other reason must win over the time window."""
    payload = (UPLINKS / "bad" / entry["file"]).read_bytes()
    for now in (NOW + timedelta(days=3000), NOW - timedelta(days=3000)):
        with pytest.raises(Rejected) as caught:
            parse_uplink(entry["topic"], payload, received_at=now, now=now)
        assert caught.value.reason == RejectReason(entry["reason"])


def _as_plain(reading: Any) -> dict[str, Any]:
    return {
        "device_id": reading.device_id,
        "measured_at": reading.measured_at.isoformat(),
        "source": reading.source,
        "distance_mm": reading.distance_mm,
        "fill_level": reading.fill_level,
        "battery_pct": reading.battery_pct,
        "battery_v": reading.battery_v,
        "temperature_c": reading.temperature_c,
        "tilt_deg": reading.tilt_deg,
        "tilted": reading.tilted,
        "rssi_dbm": reading.rssi_dbm,
        "snr_db": reading.snr_db,
    }


def _check_expected(
    readings: list[Any], expected: list[dict[str, Any]], source: str | None = None, *, from_topic: bool = True
) -> None:
    assert len(readings) == len(expected)
    for reading, want in zip(readings, expected, strict=True):
        got = _as_plain(reading)
        for key, value in want.items():
            if key == "extra":
                for extra_key, extra_value in value.items():
                    if extra_key == "tenant_id" and not from_topic:
                        continue  # only the TTS topic names the tenant
                    assert reading.extra.get(extra_key) == extra_value, extra_key
            elif key == "source" and source is not None:
                assert got[key] == source
            elif isinstance(value, float):
                assert got[key] == pytest.approx(value), key
            else:
                assert got[key] == value, key
        assert reading.measured_at.tzinfo is not None
        assert reading.measured_at.utcoffset() == timedelta(0)
        json.dumps(reading.extra)  # extra must be storable as JSON


@pytest.mark.parametrize("entry", GOOD, ids=[entry["file"] for entry in GOOD])
def test_every_good_uplink_parses_to_its_expected_values(entry: dict[str, Any]) -> None:
    payload = (UPLINKS / "good" / entry["file"]).read_bytes()
    now = datetime.fromisoformat(entry["now"])
    readings = parse_uplink(entry["topic"], payload, received_at=now, now=now, limits=LIMITS)
    _check_expected(readings, entry["expected"])


@pytest.mark.parametrize(
    "entry",
    [e for e in GOOD if not e["topic"].startswith("wasteroute/")],
    ids=[e["file"] for e in GOOD if not e["topic"].startswith("wasteroute/")],
)
def test_good_network_server_uplinks_parse_the_same_by_webhook(entry: dict[str, Any]) -> None:
    payload = (UPLINKS / "good" / entry["file"]).read_bytes()
    now = datetime.fromisoformat(entry["now"])
    kind: WebhookKind = "tts" if entry["topic"].startswith("v3/") else "chirpstack"
    readings = parse_webhook(kind, payload, received_at=now, now=now)
    _check_expected(readings, entry["expected"], source=f"webhook-{kind}", from_topic=False)


def test_good_corpus_covers_each_format() -> None:
    files = {entry["file"] for entry in GOOD}
    assert {"native_distance.json", "tts_em310udl_decoded.json", "tts_ldds75_raw.json"} <= files
    assert {"chirpstack_em310udl_raw.json", "chirpstack_ldds75_raw.json"} <= files


# ------------------------------------------------------------------------------------------------
# the checks themselves


def test_rejected_carries_a_stable_code_and_survives_pickling() -> None:
    error = Rejected(RejectReason.BAD_BASE64, "data is not base64")
    assert str(error) == "bad_base64: data is not base64"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.detail) == (RejectReason.BAD_BASE64, "data is not base64")


def test_reason_codes_are_unique_snake_case() -> None:
    values = [reason.value for reason in RejectReason]
    assert len(values) == len(set(values))
    assert all(v.replace("_", "").isalnum() and v.islower() for v in values)
    assert "unknown_device" in values


def test_payload_size_limit_is_inclusive() -> None:
    limits = IngestLimits(max_payload_bytes=64)
    body = b'{"k":"' + b"x" * 56 + b'"}'
    assert len(body) == 64
    assert load_json_object(body, limits) == {"k": "x" * 56}
    with pytest.raises(Rejected) as caught:
        load_json_object(body + b" ", limits)
    assert caught.value.reason is RejectReason.PAYLOAD_TOO_LARGE


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", RejectReason.EMPTY_PAYLOAD),
        (b"\xc3\x28", RejectReason.NOT_UTF8),
        (b'{"a":1,}', RejectReason.INVALID_JSON),
        (b"\xef\xbb\xbf{}", RejectReason.INVALID_JSON),  # a byte-order mark is not JSON
        (b'{"a":{"b":1,"b":2}}', RejectReason.DUPLICATE_KEY),
        (b'{"a":-Infinity}', RejectReason.NON_FINITE),
        (b'{"a":[1e999]}', RejectReason.NON_FINITE),
        (b"null", RejectReason.NOT_AN_OBJECT),
        (b"12", RejectReason.NOT_AN_OBJECT),
    ],
)
def test_json_loading_refuses_with_precise_reasons(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(Rejected) as caught:
        load_json_object(payload, LIMITS)
    assert caught.value.reason is reason


def test_time_window_bounds_are_inclusive() -> None:
    check_time_window(NOW + timedelta(seconds=300), now=NOW, limits=LIMITS)
    check_time_window(NOW - timedelta(days=400), now=NOW, limits=LIMITS)
    with pytest.raises(Rejected) as ahead:
        check_time_window(NOW + timedelta(seconds=301), now=NOW, limits=LIMITS)
    assert ahead.value.reason is RejectReason.TIMESTAMP_IN_FUTURE
    with pytest.raises(Rejected) as old:
        check_time_window(NOW - timedelta(days=400, seconds=1), now=NOW, limits=LIMITS)
    assert old.value.reason is RejectReason.TIMESTAMP_TOO_OLD


def test_retention_window_follows_the_limits() -> None:
    limits = IngestLimits(retention_days=30)
    with pytest.raises(Rejected) as old:
        check_time_window(NOW - timedelta(days=31), now=NOW, limits=limits)
    assert old.value.reason is RejectReason.TIMESTAMP_TOO_OLD


def test_timestamps_are_normalised_to_utc_and_need_a_zone() -> None:
    parsed = parse_timestamp("2022-07-18T09:34:15.775023242+02:00", "time")
    assert parsed == datetime(2022, 7, 18, 7, 34, 15, 775023, tzinfo=UTC)
    assert parsed.tzinfo is UTC
    for text in ("2022-07-18T09:34:15", "2022-07-18", "soon"):
        with pytest.raises(Rejected) as caught:
            parse_timestamp(text, "time")
        assert caught.value.reason is RejectReason.TIMESTAMP_INVALID


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_payload_bytes": 0}, "max_payload_bytes"),
        ({"future_tolerance_s": -1.0}, "future_tolerance_s"),
        ({"retention_days": 0}, "retention_days"),
        ({"max_distance_mm": float("nan")}, "max_distance_mm"),
        ({"max_fill_level": 0.5}, "max_fill_level"),
    ],
)
def test_limits_refuse_impossible_values(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        IngestLimits(**kwargs)
