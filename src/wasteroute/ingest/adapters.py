"""Turn uplinks of every supported source into canonical readings.

Two entry points, both pure (bytes and times in, readings out, :class:`Rejected` for anything
bad):

* :func:`parse_uplink` for MQTT messages; the topic selects the adapter:

  ==================================================  ===========================================
  ``wasteroute/{city}/sensors/{device}/up``            native JSON (:class:`NativeReading`)
  ``v3/{application}@{tenant}/devices/{device}/up``    The Things Stack v3 uplink message
  ``application/{id}/device/{devEui}/event/up``        ChirpStack v4 ``UplinkEvent`` (JSON)
  ==================================================  ===========================================

* :func:`parse_webhook` for the HTTP integrations of The Things Stack and ChirpStack (the same JSON
  bodies, no topic).

Device ids: a LoRaWAN device is identified by its DevEUI in lower-case hex, the one identifier all
sources share (a Things Stack device without a DevEUI falls back to its device id). Readings carry
the network server's decoded values when it decoded the payload, otherwise our own byte decoders
run, chosen by the device's model (``model_hint``) or else by fPort. Measurement time: the network
server's receive time (``uplink_message.received_at`` for The Things Stack, ``time`` for
ChirpStack), falling back to the application server's time and then to ``received_at`` (when ingest
received the message); ``extra["time_source"]`` says which was used. Fill levels from distances
are computed later, from the container geometry (:mod:`wasteroute.ingest.geometry`).

A frame that decodes cleanly but carries no level (a sensor's device-information frame after
power-on) gives an empty list: there is nothing to store and nothing wrong.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import ValidationError

from wasteroute.ingest.decoded import measurement_from_decoded
from wasteroute.ingest.decoders import DecodeError, Measurement, SensorModel, find_model, model_for_fport
from wasteroute.ingest.rejects import (
    IngestLimits,
    JsonObject,
    Rejected,
    RejectReason,
    check_device_id,
    check_reading,
    get_int,
    get_list,
    get_object,
    get_str,
    load_json_object,
    parse_timestamp,
    reject,
    require_object,
    require_str,
)
from wasteroute.ingest.schemas import CanonicalReading, NativeReading

__all__ = [
    "IngestLimits",
    "ModelHint",
    "RejectReason",
    "Rejected",
    "TopicMatch",
    "WebhookKind",
    "match_topic",
    "parse_uplink",
    "parse_webhook",
]

ModelHint = Callable[[str], str | None]
"""Given a canonical device id, the sensor model registered for it (for example
``"milesight-em310-udl"``), or ``None`` when unknown. Supplied by the ingest service."""

WebhookKind = Literal["tts", "chirpstack"]
TopicKind = Literal["native", "tts", "chirpstack"]

_DEFAULT_LIMITS = IngestLimits()
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DEV_EUI_RE = re.compile(r"^[0-9A-Fa-f]{16}$")
_MAX_FCNT = 2**32 - 1  # LoRaWAN frame counters are 32 bits


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """What a topic says: the adapter, the device as written in the topic, and the topic's scope.

    ``city`` is set for native topics; ``application`` for The Things Stack (application id) and
    ChirpStack (application UUID); ``tenant`` for The Things Stack when the topic names one.
    """

    kind: TopicKind
    device: str
    city: str | None = None
    application: str | None = None
    tenant: str | None = None


def match_topic(topic: str) -> TopicMatch:
    """Which adapter handles ``topic``. Raises :class:`Rejected` for unknown or malformed topics.

    Topics repeat (one per device): matches are remembered, up to ``_TOPIC_CACHE_SIZE`` of them."""
    match = _topic_cache.get(topic)
    if match is None:
        match = _match_topic(topic)
        if len(_topic_cache) >= _TOPIC_CACHE_SIZE:
            _topic_cache.clear()
        _topic_cache[topic] = match
    return match


_TOPIC_CACHE_SIZE = 100_000
_topic_cache: dict[str, TopicMatch] = {}


def _match_topic(topic: str) -> TopicMatch:
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == "wasteroute" and parts[2] == "sensors" and parts[4] == "up":
        city = parts[1]
        if not _SLUG_RE.match(city):
            reject(
                RejectReason.TOPIC_MALFORMED,
                f"topic {topic[:200]!r}: city {city[:64]!r} is not a slug (lower-case letters, digits, '-')",
            )
        check_device_id(parts[3], "the topic's device id")
        return TopicMatch("native", parts[3], city=city)
    if len(parts) == 5 and parts[0] == "v3" and parts[2] == "devices" and parts[4] == "up":
        application, _, tenant = parts[1].partition("@")
        if not _TOKEN_RE.match(application) or (tenant and not _TOKEN_RE.match(tenant)):
            reject(
                RejectReason.TOPIC_MALFORMED,
                f"topic {topic[:200]!r}: {parts[1][:80]!r} is not '{{application id}}@{{tenant id}}'",
            )
        check_device_id(parts[3], "the topic's device id")
        return TopicMatch("tts", parts[3], application=application, tenant=tenant or None)
    if (
        len(parts) == 6
        and parts[0] == "application"
        and parts[2] == "device"
        and parts[4] == "event"
        and parts[5] == "up"
    ):
        if not _TOKEN_RE.match(parts[1]):
            reject(
                RejectReason.TOPIC_MALFORMED,
                f"topic {topic[:200]!r}: application id {parts[1][:80]!r} is malformed",
            )
        _dev_eui(parts[3], "the topic's DevEUI")
        return TopicMatch("chirpstack", parts[3], application=parts[1])
    reject(
        RejectReason.UNKNOWN_TOPIC,
        f"topic {topic[:200]!r} matches no uplink scheme; expected "
        "wasteroute/{city}/sensors/{device}/up, v3/{app}@{tenant}/devices/{device}/up "
        "or application/{id}/device/{devEui}/event/up",
    )


def parse_uplink(
    topic: str,
    payload: bytes,
    *,
    received_at: datetime,
    now: datetime,
    limits: IngestLimits = _DEFAULT_LIMITS,
    model_hint: ModelHint | None = None,
) -> list[CanonicalReading]:
    """Readings in one MQTT message.

    ``received_at``: when ingest received the message (the measurement time of last resort);
    ``now``: the ingest clock for the time-window checks; both timezone-aware. ``model_hint``
    names the sensor model of a device, for frames the network server did not decode.
    Raises :class:`Rejected`; returns an empty list for frames that carry no level.
    """
    _check_clock(received_at, now)
    match = match_topic(topic)
    if match.kind == "native":
        return [_parse_native(payload, match, now=now, limits=limits)]
    obj = load_json_object(payload, limits)
    context = _Context(received_at=received_at, now=now, limits=limits, model_hint=model_hint)
    if match.kind == "tts":
        return _parse_tts(obj, "tts", match, context)
    return _parse_chirpstack(obj, "chirpstack", match, context)


def parse_webhook(
    kind: WebhookKind,
    body: bytes,
    *,
    received_at: datetime,
    now: datetime,
    limits: IngestLimits = _DEFAULT_LIMITS,
    model_hint: ModelHint | None = None,
) -> list[CanonicalReading]:
    """Readings in one webhook body from The Things Stack (``"tts"``) or ChirpStack (``"chirpstack"``).

    The same JSON as their MQTT uplinks, without a topic (so nothing to cross-check against).
    Parameters and errors as for :func:`parse_uplink`; ``source`` is ``webhook-tts`` or
    ``webhook-chirpstack``.
    """
    _check_clock(received_at, now)
    if kind not in ("tts", "chirpstack"):
        raise ValueError(f"kind must be 'tts' or 'chirpstack', got {kind!r}")
    obj = load_json_object(body, limits)
    context = _Context(received_at=received_at, now=now, limits=limits, model_hint=model_hint)
    if kind == "tts":
        return _parse_tts(obj, "webhook-tts", None, context)
    return _parse_chirpstack(obj, "webhook-chirpstack", None, context)


# --------------------------------------------------------------------------------------------------
# native


def _parse_native(
    payload: bytes, match: TopicMatch, *, now: datetime, limits: IngestLimits
) -> CanonicalReading:
    # our own parse first: refuses duplicate keys, NaN/Infinity and non-objects with precise reasons
    load_json_object(payload, limits)
    try:
        native = NativeReading.model_validate_json(payload, strict=True)
    except ValidationError as exc:
        raise _rejected_from_validation(exc) from None
    try:
        measured_at = native.measured_at.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted by its offset
        reject(RejectReason.TIMESTAMP_INVALID, "measured_at lies outside the representable years")
    device_id = native.device_id.lower()
    topic_device = match.device.lower()
    if device_id != topic_device:
        reject(
            RejectReason.TOPIC_DEVICE_MISMATCH,
            f"the topic names device {topic_device!r}, the payload {device_id!r}",
        )
    extra: dict[str, object] = {"topic_city": match.city}
    if native.seq is not None:
        extra["seq"] = native.seq
    reading = CanonicalReading(
        device_id=device_id,
        measured_at=measured_at,
        source="native",
        distance_mm=native.distance_mm,
        fill_level=native.fill_level,
        battery_pct=native.battery_pct,
        battery_v=native.battery_v,
        temperature_c=native.temperature_c,
        tilt_deg=native.tilt_deg,
        rssi_dbm=native.rssi_dbm,
        snr_db=native.snr_db,
        extra=extra,
    )
    return check_reading(reading, now=now, limits=limits)


_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})


def _rejected_from_validation(exc: ValidationError) -> Rejected:
    error = exc.errors()[0]
    loc = error.get("loc", ())
    name = str(loc[0]) if loc else ""
    kind = error["type"]
    message = error.get("msg", "").removeprefix("Value error, ")
    where = name or "the reading"
    if kind == "missing":
        return Rejected(RejectReason.MISSING_FIELD, f"{where} is missing")
    if kind == "json_invalid":
        return Rejected(RejectReason.INVALID_JSON, f"not valid JSON: {message}")
    if kind == "model_type":
        return Rejected(RejectReason.NOT_AN_OBJECT, "expected one JSON object")
    if kind == "finite_number":
        return Rejected(RejectReason.NON_FINITE, f"{where} must be a finite number")
    if name == "device_id" and kind in ("value_error", "string_pattern_mismatch"):
        return Rejected(
            RejectReason.DEVICE_ID_MALFORMED,
            "device_id: device_id must be 1-64 characters of letters, digits, '_', '.', ':' or '-'",
        )
    if name == "measured_at" and kind == "timezone_aware":
        return Rejected(
            RejectReason.TIMESTAMP_INVALID,
            "measured_at: measured_at needs a time zone (for example 2026-11-22T10:00:00Z)",
        )
    if name == "measured_at" and not kind.endswith("_type"):
        return Rejected(RejectReason.TIMESTAMP_INVALID, f"measured_at: {message}")
    if kind in _RANGE_ERRORS:
        reason = {
            "distance_mm": RejectReason.DISTANCE_OUT_OF_RANGE,
            "fill_level": RejectReason.FILL_OUT_OF_RANGE,
        }.get(name, RejectReason.VALUE_OUT_OF_RANGE)
        return Rejected(reason, f"{where}: {message}")
    if not loc and kind == "value_error":
        return Rejected(RejectReason.NO_MEASUREMENT, message)
    return Rejected(RejectReason.WRONG_TYPE, f"{where}: {message}")


# --------------------------------------------------------------------------------------------------
# network servers


@dataclass(frozen=True, slots=True)
class _Context:
    received_at: datetime
    now: datetime
    limits: IngestLimits
    model_hint: ModelHint | None


def _parse_tts(
    obj: JsonObject, source: str, match: TopicMatch | None, ctx: _Context
) -> list[CanonicalReading]:
    ids = require_object(obj, "end_device_ids", "")
    network_device = require_str(ids, "device_id", "end_device_ids")
    check_device_id(network_device, "end_device_ids.device_id")
    app_ids = get_object(ids, "application_ids", "end_device_ids", required=False)
    application = (
        get_str(app_ids, "application_id", "end_device_ids.application_ids", required=False)
        if app_ids
        else None
    )
    if match is not None:
        if match.device.lower() != network_device.lower():
            reject(
                RejectReason.TOPIC_DEVICE_MISMATCH,
                f"the topic names device {match.device!r}, end_device_ids.device_id is {network_device!r}",
            )
        if application is not None and match.application != application:
            reject(
                RejectReason.TOPIC_DEVICE_MISMATCH,
                f"the topic names application {match.application!r}, the uplink {application!r}",
            )
    dev_eui = get_str(ids, "dev_eui", "end_device_ids", required=False)
    device_id = _dev_eui(dev_eui, "end_device_ids.dev_eui") if dev_eui else network_device.lower()

    up = require_object(obj, "uplink_message", "")
    # The Things Stack omits fields whose value is 0: an absent f_port or f_cnt is 0
    f_port = get_int(up, "f_port", "uplink_message", default=0, maximum=255)
    f_cnt = get_int(up, "f_cnt", "uplink_message", default=0, maximum=_MAX_FCNT)
    measured_at, time_source = _first_time(
        (
            (up, "received_at", "uplink_message", "network_server"),
            (obj, "received_at", "", "application_server"),
        ),
        ctx.received_at,
    )
    decoded = get_object(up, "decoded_payload", "uplink_message", required=False)
    frame = get_str(up, "frm_payload", "uplink_message", required=False)
    gateway = _best_gateway(get_list(up, "rx_metadata", "uplink_message"), "rssi", "snr", _tts_gateway_id)

    measurement, decoder = _measure(
        decoded,
        "uplink_message.decoded_payload",
        frame,
        "uplink_message.frm_payload",
        f_port,
        device_id,
        ctx.model_hint,
    )
    if measurement is None:
        return []
    extra: dict[str, object] = {
        "f_port": f_port,
        "f_cnt": f_cnt,
        "decoder": decoder,
        "time_source": time_source,
        "network_device_id": network_device,
        "application_id": application if application is not None else (match.application if match else None),
        "tenant_id": match.tenant if match else None,
        **gateway.extra(),
    }
    if obj.get("simulated") is True:
        extra["simulated"] = True
    return [_finish(device_id, measured_at, source, measurement, gateway, extra, ctx)]


def _parse_chirpstack(
    obj: JsonObject, source: str, match: TopicMatch | None, ctx: _Context
) -> list[CanonicalReading]:
    info = require_object(obj, "deviceInfo", "")
    device_id = _dev_eui(require_str(info, "devEui", "deviceInfo"), "deviceInfo.devEui")
    application = get_str(info, "applicationId", "deviceInfo", required=False)
    if match is not None:
        if match.device.lower() != device_id:
            reject(
                RejectReason.TOPIC_DEVICE_MISMATCH,
                f"the topic names DevEUI {match.device!r}, deviceInfo.devEui is {device_id!r}",
            )
        if application is not None and match.application != application:
            reject(
                RejectReason.TOPIC_DEVICE_MISMATCH,
                f"the topic names application {match.application!r}, the uplink {application!r}",
            )
    # proto3 JSON omits default values: an absent fPort or fCnt is 0
    f_port = get_int(obj, "fPort", "", default=0, maximum=255)
    f_cnt = get_int(obj, "fCnt", "", default=0, maximum=_MAX_FCNT)
    measured_at, time_source = _first_time(((obj, "time", "", "network_server"),), ctx.received_at)
    decoded = get_object(obj, "object", "", required=False)
    frame = get_str(obj, "data", "", required=False)
    gateway = _best_gateway(get_list(obj, "rxInfo", ""), "rssi", "snr", _chirpstack_gateway_id)

    measurement, decoder = _measure(decoded, "object", frame, "data", f_port, device_id, ctx.model_hint)
    if measurement is None:
        return []
    extra: dict[str, object] = {
        "f_port": f_port,
        "f_cnt": f_cnt,
        "decoder": decoder,
        "time_source": time_source,
        "network_device_id": _optional_str(info, "deviceName"),
        "application_id": application if application is not None else (match.application if match else None),
        "tenant_id": _optional_str(info, "tenantId"),
        "deduplication_id": _optional_str(obj, "deduplicationId"),
        "dev_addr": _optional_str(obj, "devAddr"),
        **gateway.extra(),
    }
    return [_finish(device_id, measured_at, source, measurement, gateway, extra, ctx)]


def _finish(
    device_id: str,
    measured_at: datetime,
    source: str,
    measurement: Measurement,
    gateway: _Gateway,
    extra: dict[str, object],
    ctx: _Context,
) -> CanonicalReading:
    merged = {key: value for key, value in {**measurement.extra, **extra}.items() if value is not None}
    reading = CanonicalReading(
        device_id=device_id,
        measured_at=measured_at,
        source=source,
        distance_mm=measurement.distance_mm,
        fill_level=measurement.fill_level,
        battery_pct=measurement.battery_pct,
        battery_v=measurement.battery_v,
        temperature_c=measurement.temperature_c,
        tilt_deg=measurement.tilt_deg,
        tilted=measurement.tilted,
        rssi_dbm=gateway.rssi_dbm,
        snr_db=gateway.snr_db,
        extra=merged,
    )
    return check_reading(reading, now=ctx.now, limits=ctx.limits)


def _measure(
    decoded: JsonObject | None,
    decoded_where: str,
    frame_b64: str | None,
    frame_where: str,
    f_port: int,
    device_id: str,
    model_hint: ModelHint | None,
) -> tuple[Measurement | None, str]:
    """(measurement, decoder name); ``None`` when a frame decoded cleanly but has no level."""
    if decoded is None:
        return _decode_frame(frame_b64, frame_where, f_port, device_id, model_hint)
    from_server = measurement_from_decoded(decoded, decoded_where)
    if from_server.has_level:
        return from_server, "network_server"
    try:
        return _decode_frame(frame_b64, frame_where, f_port, device_id, model_hint)
    except Rejected as exc:
        reject(
            RejectReason.NO_MEASUREMENT,
            f"{decoded_where} has no distance or fill level, and the raw frame gives none either "
            f"({exc.reason.value}: {exc.detail})",
        )


def _decode_frame(
    frame_b64: str | None, frame_where: str, f_port: int, device_id: str, model_hint: ModelHint | None
) -> tuple[Measurement | None, str]:
    model = _choose_model(f_port, device_id, model_hint)
    if frame_b64 is None:
        reject(RejectReason.MISSING_FIELD, f"{frame_where} is missing; expected the frame bytes in base64")
    try:
        frame = base64.b64decode(frame_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        reject(RejectReason.BAD_BASE64, f"{frame_where} is not valid base64: {exc}")
    try:
        measurement = model.decode(frame)
    except DecodeError as exc:
        reject(RejectReason.UNDECODABLE_BYTES, f"{frame_where} ({model.name}, fPort {f_port}): {exc}")
    if measurement.sensor_fault is not None:
        reject(RejectReason.SENSOR_FAULT, measurement.sensor_fault)
    if not measurement.has_level:
        return None, model.name
    return measurement, model.name


def _choose_model(f_port: int, device_id: str, model_hint: ModelHint | None) -> SensorModel:
    hinted = model_hint(device_id) if model_hint is not None else None
    if f_port == 0:
        reject(RejectReason.UNSUPPORTED_FPORT, "fPort 0 carries only MAC commands, no application payload")
    if hinted is not None:
        model = find_model(hinted)
        if model is None:
            reject(
                RejectReason.UNKNOWN_SENSOR_MODEL,
                f"device {device_id} is registered as model {hinted!r}, which has no decoder here; "
                "configure a payload formatter on the network server or use a supported model",
            )
        if f_port not in model.f_ports:
            ports = ", ".join(str(p) for p in sorted(model.f_ports))
            reject(
                RejectReason.UNSUPPORTED_FPORT,
                f"fPort {f_port} is not a measurement port of {model.name} (expected {ports})",
            )
        return model
    model = model_for_fport(f_port)
    if model is None:
        reject(
            RejectReason.UNKNOWN_SENSOR_MODEL,
            f"no sensor model is known for device {device_id} and no decoder uses fPort {f_port}; "
            "register the device's model or configure a payload formatter on the network server",
        )
    return model


# --------------------------------------------------------------------------------------------------
# helpers


@dataclass(frozen=True, slots=True)
class _Gateway:
    rssi_dbm: float | None = None
    snr_db: float | None = None
    gateway_id: str | None = None
    count: int = 0

    def extra(self) -> dict[str, object]:
        return {"gateway_id": self.gateway_id, "gateway_count": self.count}


def _tts_gateway_id(entry: JsonObject) -> str | None:
    ids = entry.get("gateway_ids")
    if isinstance(ids, dict):
        value = ids.get("gateway_id")
        return value if isinstance(value, str) else None
    return None


def _chirpstack_gateway_id(entry: JsonObject) -> str | None:
    value = entry.get("gatewayId")
    return value if isinstance(value, str) else None


def _metric(entry: JsonObject, key: str) -> float | None:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _best_gateway(
    entries: list[object], rssi_key: str, snr_key: str, gateway_id: Callable[[JsonObject], str | None]
) -> _Gateway:
    """The gateway that heard the uplink best: highest SNR, then highest RSSI.

    Receive metadata is diagnostics only, so malformed entries are skipped, never refused.
    """
    best: _Gateway | None = None
    best_key = (float("-inf"), float("-inf"))
    count = 0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        count += 1
        rssi = _metric(entry, rssi_key)
        if rssi is None:
            rssi = _metric(entry, "channel_rssi")
        snr = _metric(entry, snr_key)
        key = (snr if snr is not None else float("-inf"), rssi if rssi is not None else float("-inf"))
        if best is None or key > best_key:
            best = _Gateway(rssi, snr, gateway_id(entry))
            best_key = key
    if best is None:
        return _Gateway()
    return _Gateway(best.rssi_dbm, best.snr_db, best.gateway_id, count)


def _first_time(
    candidates: tuple[tuple[JsonObject, str, str, str], ...], received_at: datetime
) -> tuple[datetime, str]:
    for obj, key, where, label in candidates:
        text = get_str(obj, key, where, required=False)
        if text is not None:
            return parse_timestamp(text, f"{where}.{key}" if where else key), label
    return received_at.astimezone(UTC), "ingest"


def _dev_eui(value: str, where: str) -> str:
    if not _DEV_EUI_RE.match(value):
        reject(RejectReason.DEVICE_ID_MALFORMED, f"{where} {value[:80]!r} is not a DevEUI (16 hex digits)")
    return value.lower()


def _optional_str(obj: JsonObject, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _check_clock(received_at: datetime, now: datetime) -> None:
    if received_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("received_at and now must be timezone-aware datetimes (UTC)")
