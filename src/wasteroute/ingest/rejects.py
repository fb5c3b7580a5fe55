"""Why an uplink is refused, and the checks that decide it.

Every refusal is a :class:`Rejected` exception with a stable, machine-readable
:class:`RejectReason` (stored with the raw bytes in the dead-letter table and counted in metrics)
and a human ``detail`` that says what was expected. The checks here are pure: bytes, JSON values
and datetimes in, values out.

Order of the checks, the same for every format: size and encoding, JSON shape, field types and
identifiers, measurement decoding, value ranges, and last the time window (too far in the future
or older than the retention window). A payload that is wrong in several ways is therefore refused
for the first of these, whatever the clock says.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NoReturn

from wasteroute.ingest.schemas import DEVICE_ID_RE, CanonicalReading

JsonObject = dict[str, object]


class RejectReason(StrEnum):
    """Stable reason codes for refused uplinks. The values are part of the public interface."""

    EMPTY_PAYLOAD = "empty_payload"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    DUPLICATE_KEY = "duplicate_key"
    NOT_AN_OBJECT = "not_an_object"
    NON_FINITE = "non_finite"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_TOPIC = "unknown_topic"
    TOPIC_MALFORMED = "topic_malformed"
    DEVICE_ID_MALFORMED = "device_id_malformed"
    TOPIC_DEVICE_MISMATCH = "topic_device_mismatch"
    UNKNOWN_DEVICE = "unknown_device"
    """Decided by the ingest service against the database, never by the adapters."""
    WRONG_CITY = "wrong_city"
    """Decided by the ingest service: the device is registered in another city than the topic's."""
    BAD_BASE64 = "bad_base64"
    UNDECODABLE_BYTES = "undecodable_bytes"
    UNKNOWN_SENSOR_MODEL = "unknown_sensor_model"
    UNSUPPORTED_FPORT = "unsupported_fport"
    SENSOR_FAULT = "sensor_fault"
    NO_MEASUREMENT = "no_measurement"
    DISTANCE_OUT_OF_RANGE = "distance_out_of_range"
    FILL_OUT_OF_RANGE = "fill_out_of_range"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    TIMESTAMP_INVALID = "timestamp_invalid"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"


class Rejected(Exception):
    """An uplink that ingest refuses: ``reason`` for machines, ``detail`` for people."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


def reject(reason: RejectReason, detail: str) -> NoReturn:
    """Raise :class:`Rejected` (reads better inside expressions and helpers)."""
    raise Rejected(reason, detail)


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Bounds an uplink must respect.

    ``max_payload_bytes``: largest accepted MQTT payload or webhook body, bytes (default 64 KiB).
    ``future_tolerance_s``: how far a measurement time may lie ahead of the ingest clock, seconds
    (default 300; covers gateway clock drift). ``retention_days``: readings older than this are
    refused because retention would drop them anyway (default 400). ``max_distance_mm``: largest
    plausible sensor distance, mm (default 10 000). ``max_fill_level``: largest accepted fill level
    as a fraction (default 1.5; above 1 means heaped above the rim).
    """

    max_payload_bytes: int = 64 * 1024
    future_tolerance_s: float = 300.0
    retention_days: int = 400
    max_distance_mm: float = 10_000.0
    max_fill_level: float = 1.5

    def __post_init__(self) -> None:
        if isinstance(self.max_payload_bytes, bool) or not isinstance(self.max_payload_bytes, int):
            raise TypeError(f"max_payload_bytes must be an int, got {self.max_payload_bytes!r}")
        if self.max_payload_bytes < 1:
            raise ValueError(f"max_payload_bytes must be at least 1, got {self.max_payload_bytes}")
        if not math.isfinite(self.future_tolerance_s) or self.future_tolerance_s < 0:
            raise ValueError(
                f"future_tolerance_s must be a finite number >= 0, got {self.future_tolerance_s}"
            )
        if isinstance(self.retention_days, bool) or not isinstance(self.retention_days, int):
            raise TypeError(f"retention_days must be an int, got {self.retention_days!r}")
        if self.retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, got {self.retention_days}")
        if not math.isfinite(self.max_distance_mm) or self.max_distance_mm <= 0:
            raise ValueError(f"max_distance_mm must be a finite number > 0, got {self.max_distance_mm}")
        if not math.isfinite(self.max_fill_level) or not 1.0 <= self.max_fill_level <= 10.0:
            raise ValueError(f"max_fill_level must lie in [1, 10], got {self.max_fill_level}")


# --------------------------------------------------------------------------------------------------
# bytes -> JSON object


def check_payload_size(payload: bytes, limits: IngestLimits) -> None:
    """Refuse an empty payload or one larger than ``limits.max_payload_bytes``."""
    if not payload:
        reject(RejectReason.EMPTY_PAYLOAD, "the payload is empty; expected one JSON object")
    if len(payload) > limits.max_payload_bytes:
        reject(
            RejectReason.PAYLOAD_TOO_LARGE,
            f"the payload has {len(payload)} bytes; at most {limits.max_payload_bytes} are accepted",
        )


def decode_utf8(payload: bytes) -> str:
    """The payload as text; refuses bytes that are not UTF-8."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        reject(RejectReason.NOT_UTF8, f"the payload is not UTF-8 text (byte {exc.start} is invalid)")


class _JsonRefusal(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> JsonObject:
    result: JsonObject = {}
    for key, value in pairs:
        if key in result:
            raise _JsonRefusal(RejectReason.DUPLICATE_KEY, f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _JsonRefusal(RejectReason.NON_FINITE, f"the number {text[:40]} is too large for a float")
    return value


def _no_constants(name: str) -> object:
    raise _JsonRefusal(RejectReason.NON_FINITE, f"{name} is not a number; expected a finite number")


_STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates, parse_float=_finite_float, parse_constant=_no_constants
)
"""One decoder for every payload (``json.loads`` with hooks builds a new decoder per call)."""


def load_json_object(payload: bytes, limits: IngestLimits) -> JsonObject:
    """Parse ``payload`` as one JSON object.

    Refuses, in this order: empty or oversized payloads, non-UTF-8 bytes, malformed JSON
    (including nesting too deep to parse), a key repeated within one object, ``NaN``,
    ``Infinity`` and numbers that overflow a float, and a top-level value that is not an object.
    """
    check_payload_size(payload, limits)
    text = decode_utf8(payload)
    try:
        if text.startswith("\ufeff"):  # as json.loads: a byte order mark is not JSON
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value: object = _STRICT_JSON.decode(text)
    except _JsonRefusal as exc:
        reject(exc.reason, exc.detail)
    except json.JSONDecodeError as exc:
        reject(
            RejectReason.INVALID_JSON, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    except RecursionError:
        reject(RejectReason.INVALID_JSON, "not valid JSON: nested too deeply to parse")
    except ValueError as exc:  # for example an integer literal with too many digits
        reject(RejectReason.INVALID_JSON, f"not valid JSON: {exc}")
    if not isinstance(value, dict):
        reject(RejectReason.NOT_AN_OBJECT, f"expected one JSON object, got {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --------------------------------------------------------------------------------------------------
# typed access to JSON objects
#
# ``where`` is the path of ``obj`` inside the message ("" for the top level), used in messages.


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def get_object(obj: JsonObject, key: str, where: str, *, required: bool = True) -> JsonObject | None:
    """``obj[key]`` as a JSON object; ``None`` when absent (or null) and not ``required``."""
    value = obj.get(key)
    if value is None:
        if required:
            reject(RejectReason.MISSING_FIELD, f"{_path(where, key)} is missing; expected an object")
        return None
    if not isinstance(value, dict):
        reject(RejectReason.WRONG_TYPE, f"{_path(where, key)} must be an object, got {_json_type(value)}")
    return value


def require_object(obj: JsonObject, key: str, where: str) -> JsonObject:
    """``obj[key]`` as a JSON object; refuses a missing or null value."""
    value = get_object(obj, key, where, required=True)
    if value is None:  # pragma: no cover - get_object refuses it already
        reject(RejectReason.MISSING_FIELD, f"{_path(where, key)} is missing; expected an object")
    return value


def get_list(obj: JsonObject, key: str, where: str) -> list[object]:
    """``obj[key]`` as a JSON array; an empty list when absent (or null)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        reject(RejectReason.WRONG_TYPE, f"{_path(where, key)} must be an array, got {_json_type(value)}")
    return value


def get_str(obj: JsonObject, key: str, where: str, *, required: bool = True) -> str | None:
    """``obj[key]`` as a string; ``None`` when absent (or null) and not ``required``."""
    value = obj.get(key)
    if value is None:
        if required:
            reject(RejectReason.MISSING_FIELD, f"{_path(where, key)} is missing; expected a string")
        return None
    if not isinstance(value, str):
        reject(RejectReason.WRONG_TYPE, f"{_path(where, key)} must be a string, got {_json_type(value)}")
    return value


def require_str(obj: JsonObject, key: str, where: str) -> str:
    """``obj[key]`` as a string; refuses a missing or null value."""
    value = get_str(obj, key, where, required=True)
    if value is None:  # pragma: no cover - get_str refuses it already
        reject(RejectReason.MISSING_FIELD, f"{_path(where, key)} is missing; expected a string")
    return value


def get_int(obj: JsonObject, key: str, where: str, *, default: int, maximum: int = 2**63 - 1) -> int:
    """``obj[key]`` as an integer in [0, ``maximum``]; ``default`` when absent (or null).

    Decimal strings are accepted too (the protobuf JSON mapping may quote integers). Network
    servers omit zero values, so the default for counters and ports is 0, never "missing".
    """
    value = obj.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        reject(RejectReason.WRONG_TYPE, f"{_path(where, key)} must be an integer, got a boolean")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        reject(RejectReason.WRONG_TYPE, f"{_path(where, key)} must be an integer, got {_json_type(value)}")
    if not 0 <= value <= maximum:
        shown = str(value) if abs(value) < 10**30 else "a number that large"
        reject(
            RejectReason.VALUE_OUT_OF_RANGE, f"{_path(where, key)} must lie in [0, {maximum}], got {shown}"
        )
    return value


# --------------------------------------------------------------------------------------------------
# identifiers and times


def to_float(value: int | float, where: str) -> float:
    """A JSON number as a finite float; refuses integers too large for a float, NaN and infinities."""
    try:
        number = float(value)
    except OverflowError:
        reject(RejectReason.NON_FINITE, f"{where} is too large for a float")
    if not math.isfinite(number):
        reject(RejectReason.NON_FINITE, f"{where} must be a finite number")
    return number


def check_device_id(device_id: str, where: str) -> str:
    """A device id as stored: lower-case, 1-64 characters of letters, digits, ``_ . : -``."""
    if not DEVICE_ID_RE.match(device_id):
        reject(
            RejectReason.DEVICE_ID_MALFORMED,
            f"{where} {device_id[:80]!r} is not a device id; "
            "expected 1-64 letters, digits, '_', '.', ':' or '-'",
        )
    return device_id.lower()


def parse_timestamp(value: str, where: str) -> datetime:
    """An ISO 8601 time with a zone (``Z`` or an offset), normalised to UTC.

    Fractions beyond microseconds (network servers send nanoseconds) are truncated.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        reject(RejectReason.TIMESTAMP_INVALID, f"{where} {value[:80]!r} is not an ISO 8601 time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        reject(
            RejectReason.TIMESTAMP_INVALID,
            f"{where} {value[:80]!r} has no time zone; expected for example 2026-11-22T10:00:00Z",
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted by its offset
        reject(RejectReason.TIMESTAMP_INVALID, f"{where} {value[:80]!r} lies outside the representable years")


def check_time_window(measured_at: datetime, *, now: datetime, limits: IngestLimits) -> None:
    """Refuse a measurement time too far ahead of ``now`` or older than the retention window."""
    if measured_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("measured_at and now must be timezone-aware datetimes")
    ahead_s = (measured_at - now).total_seconds()
    if ahead_s > limits.future_tolerance_s:
        reject(
            RejectReason.TIMESTAMP_IN_FUTURE,
            f"measured at {measured_at.isoformat()}, {ahead_s:.0f} s ahead of the ingest clock "
            f"({now.isoformat()}); at most {limits.future_tolerance_s:.0f} s are tolerated",
        )
    oldest = now - timedelta(days=limits.retention_days)
    if measured_at < oldest:
        reject(
            RejectReason.TIMESTAMP_TOO_OLD,
            f"measured at {measured_at.isoformat()}, before the retention window "
            f"({limits.retention_days} days, oldest accepted {oldest.isoformat()})",
        )


# --------------------------------------------------------------------------------------------------
# the finished reading

# (field, lower bound, upper bound, unit) for the values that are not levels; the same bounds as
# the native schema.
_VALUE_BOUNDS: tuple[tuple[str, float, float, str], ...] = (
    ("battery_pct", 0.0, 100.0, "%"),
    ("battery_v", 0.0, 10.0, "V"),
    ("temperature_c", -50.0, 200.0, "°C"),
    ("tilt_deg", 0.0, 180.0, "degrees"),
    ("rssi_dbm", -200.0, 20.0, "dBm"),
    ("snr_db", -50.0, 50.0, "dB"),
)
_BOUNDED_VALUES = operator.attrgetter(*(b[0] for b in _VALUE_BOUNDS))
"""The values of :data:`_VALUE_BOUNDS` of a reading, as a tuple in that order."""


def check_reading(reading: CanonicalReading, *, now: datetime, limits: IngestLimits) -> CanonicalReading:
    """Final checks every adapter applies to what it produced; returns ``reading`` unchanged.

    A reading needs a distance or a fill level; all numbers must be finite and in range; the
    measurement time must lie in the accepted window.
    """
    if not _plausible(reading, limits):
        _explain_implausible(reading, limits)
    check_time_window(reading.measured_at, now=now, limits=limits)
    return reading


def _plausible(r: CanonicalReading, limits: IngestLimits) -> bool:
    """True when a level is present and every value lies in its bounds (NaN and infinities fail
    every comparison with finite bounds, so they are out too); the common case, checked cheaply."""
    distance, fill = r.distance_mm, r.fill_level
    if distance is None:
        if fill is None:
            return False
    elif not 0.0 <= distance <= limits.max_distance_mm:
        return False
    if fill is not None and not 0.0 <= fill <= limits.max_fill_level:
        return False
    for value, (_, low, high, _) in zip(_BOUNDED_VALUES(r), _VALUE_BOUNDS, strict=True):
        if value is not None and not low <= value <= high:
            return False
    return True


def _explain_implausible(reading: CanonicalReading, limits: IngestLimits) -> None:
    """Raise :class:`Rejected` with the first reason :func:`_plausible` said no."""
    if reading.distance_mm is None and reading.fill_level is None:
        reject(RejectReason.NO_MEASUREMENT, "the uplink carries neither a distance nor a fill level")
    for name in ("distance_mm", "fill_level", *(b[0] for b in _VALUE_BOUNDS)):
        value = getattr(reading, name)
        if value is not None and not math.isfinite(value):
            reject(RejectReason.NON_FINITE, f"{name} must be a finite number, got {value}")
    if reading.distance_mm is not None and not 0.0 <= reading.distance_mm <= limits.max_distance_mm:
        reject(
            RejectReason.DISTANCE_OUT_OF_RANGE,
            f"distance {reading.distance_mm:g} mm lies outside [0, {limits.max_distance_mm:g}] mm",
        )
    if reading.fill_level is not None and not 0.0 <= reading.fill_level <= limits.max_fill_level:
        reject(
            RejectReason.FILL_OUT_OF_RANGE,
            f"fill level {reading.fill_level:g} lies outside [0, {limits.max_fill_level:g}] "
            "(a fraction; 1 is full)",
        )
    for name, low, high, unit in _VALUE_BOUNDS:
        value = getattr(reading, name)
        if value is not None and not low <= value <= high:
            reject(
                RejectReason.VALUE_OUT_OF_RANGE, f"{name} {value:g} lies outside [{low:g}, {high:g}] {unit}"
            )
    raise AssertionError(f"no reason found for refusing {reading!r}")  # pragma: no cover
