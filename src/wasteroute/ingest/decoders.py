"""Byte decoders (and encoders, for tests) of the fill-level sensors we support without a
network-server codec.

Written from the vendors' documented byte layouts:

Milesight EM310-UDL (LoRaWAN fPort 85)
    A sequence of ``channel id, channel type, value`` items with no length byte, so an unknown
    item makes the rest of the frame unreadable and is an error. Items: ``01 75`` battery, 1 byte,
    %; ``03 82`` distance, uint16 little-endian, mm; ``04 00`` position, 1 byte, 0 normal / 1 tilt;
    ``FF xx`` device information (protocol, hardware and firmware version, power-on event, LoRaWAN
    class, serial number, reset event, TSL version). A frame with only device information (sent
    after power-on) carries no measurement.

Dragino LDDS75 (LoRaWAN fPort 2)
    Exactly 8 bytes, big-endian: battery in mV (2 bytes; the top two bits are flags, masked off),
    distance in mm (uint16; 0 means no ultrasonic probe answered), interrupt flag (1 byte),
    DS18B20 temperature (int16, tenths of a degree Celsius), sensor flag (1 byte; 1 = ultrasonic
    probe detected).

Decoders raise :class:`DecodeError` (a ``ValueError``) with a message that says what was expected;
adapters turn it into a rejection. :data:`SENSOR_MODELS` maps model names to the fPorts they use
and a function from frame bytes to a :class:`Measurement`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

EM310_UDL = "milesight-em310-udl"
LDDS75 = "dragino-ldds75"


class DecodeError(ValueError):
    """Frame bytes that do not follow the sensor's documented layout."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a sensor frame says, in our units. Every field is optional.

    ``sensor_fault`` is set when the device reports that its level probe gave no valid value
    (the level fields are then ``None``). ``extra`` keeps sensor-specific details (JSON values only).
    """

    distance_mm: float | None = None
    fill_level: float | None = None
    battery_pct: float | None = None
    battery_v: float | None = None
    temperature_c: float | None = None
    tilt_deg: float | None = None
    tilted: bool | None = None
    sensor_fault: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def has_level(self) -> bool:
        """True when the frame carries a distance or a fill level."""
        return self.distance_mm is not None or self.fill_level is not None


# --------------------------------------------------------------------------------------------------
# Milesight EM310-UDL


@dataclass(frozen=True, slots=True)
class Em310UdlFrame:
    """A decoded EM310-UDL uplink. ``device_info`` holds the ``0xFF`` items (hex strings, flags)."""

    battery_pct: int | None = None
    distance_mm: int | None = None
    tilted: bool | None = None
    device_info: dict[str, str | bool] = field(default_factory=dict)


# channel 0xFF: type -> (name, value length in bytes)
_EM310_INFO_ITEMS: dict[int, tuple[str, int]] = {
    0x01: ("protocol_version", 1),
    0x09: ("hardware_version", 2),
    0x0A: ("firmware_version", 2),
    0x0B: ("power_on", 1),
    0x0F: ("lorawan_class", 1),
    0x16: ("serial_number", 8),
    0xFE: ("reset", 1),
    0xFF: ("tsl_version", 2),
}
_LORAWAN_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CB"}


def decode_em310udl(data: bytes) -> Em310UdlFrame:
    """Decode an EM310-UDL frame (fPort 85). Raises :class:`DecodeError`."""
    if not data:
        raise DecodeError("EM310-UDL frame is empty; expected channel/type items such as 01 75 <battery>")
    battery: int | None = None
    distance: int | None = None
    tilted: bool | None = None
    info: dict[str, str | bool] = {}
    seen: set[tuple[int, int]] = set()
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise DecodeError(f"EM310-UDL frame ends inside an item header at byte {i}")
        channel, kind = data[i], data[i + 1]
        if (channel, kind) in seen:
            raise DecodeError(f"EM310-UDL item {channel:02x} {kind:02x} appears twice (byte {i})")
        seen.add((channel, kind))
        i += 2
        if (channel, kind) == (0x01, 0x75):
            _need(data, i, 1, "battery")
            battery = data[i]
            i += 1
        elif (channel, kind) == (0x03, 0x82):
            _need(data, i, 2, "distance")
            distance = int.from_bytes(data[i : i + 2], "little")
            i += 2
        elif (channel, kind) == (0x04, 0x00):
            _need(data, i, 1, "position")
            if data[i] not in (0, 1):
                raise DecodeError(f"EM310-UDL position must be 0 (normal) or 1 (tilt), got {data[i]}")
            tilted = data[i] == 1
            i += 1
        elif channel == 0xFF and kind in _EM310_INFO_ITEMS:
            name, size = _EM310_INFO_ITEMS[kind]
            _need(data, i, size, name)
            value = data[i : i + size]
            i += size
            if name in ("power_on", "reset"):
                info[name] = True
            elif name == "lorawan_class":
                info[name] = _LORAWAN_CLASSES.get(value[0], f"unknown-{value[0]}")
            else:
                info[name] = value.hex()
        else:
            raise DecodeError(
                f"EM310-UDL item {channel:02x} {kind:02x} at byte {i - 2} is unknown; expected 01 75 "
                "(battery), 03 82 (distance), 04 00 (position) or ff xx (device information)"
            )
    return Em310UdlFrame(battery_pct=battery, distance_mm=distance, tilted=tilted, device_info=info)


def _need(data: bytes, start: int, size: int, name: str) -> None:
    if start + size > len(data):
        raise DecodeError(
            f"EM310-UDL {name} needs {size} byte(s) at byte {start}, the frame has {len(data) - start}"
        )


def encode_em310udl(
    *,
    battery_pct: int | None = None,
    distance_mm: int | None = None,
    tilted: bool | None = None,
    serial_number: str | None = None,
    power_on: bool = False,
) -> bytes:
    """Build an EM310-UDL frame (items in the order battery, distance, position, device info).

    ``battery_pct`` 0..255 (the device sends 0..100), ``distance_mm`` 0..65535, ``serial_number``
    16 hex digits. Raises ``ValueError`` for values the layout cannot hold.
    """
    out = bytearray()
    if battery_pct is not None:
        _check_uint("battery_pct", battery_pct, 0xFF)
        out += bytes((0x01, 0x75, battery_pct))
    if distance_mm is not None:
        _check_uint("distance_mm", distance_mm, 0xFFFF)
        out += bytes((0x03, 0x82)) + distance_mm.to_bytes(2, "little")
    if tilted is not None:
        out += bytes((0x04, 0x00, 1 if tilted else 0))
    if power_on:
        out += bytes((0xFF, 0x0B, 0xFF))
    if serial_number is not None:
        if not re.fullmatch(r"[0-9a-fA-F]{16}", serial_number):
            raise ValueError(f"serial_number must be 16 hex digits, got {serial_number!r}")
        out += bytes((0xFF, 0x16)) + bytes.fromhex(serial_number)
    return bytes(out)


def _em310udl_measurement(data: bytes) -> Measurement:
    frame = decode_em310udl(data)
    extra: dict[str, object] = {}
    if frame.device_info:
        extra["device_info"] = dict(frame.device_info)
    return Measurement(
        distance_mm=None if frame.distance_mm is None else float(frame.distance_mm),
        battery_pct=None if frame.battery_pct is None else float(frame.battery_pct),
        tilted=frame.tilted,
        extra=extra,
    )


# --------------------------------------------------------------------------------------------------
# Dragino LDDS75

LDDS75_FRAME_BYTES = 8


@dataclass(frozen=True, slots=True)
class Ldds75Frame:
    """A decoded LDDS75 uplink: battery mV, distance mm, interrupt flag, DS18B20 °C, sensor flag."""

    battery_mv: int
    distance_mm: int
    interrupt_flag: int
    temperature_c: float
    sensor_flag: int

    @property
    def battery_v(self) -> float:
        """Battery voltage in volts."""
        return self.battery_mv / 1000.0


def decode_ldds75(data: bytes) -> Ldds75Frame:
    """Decode an LDDS75 frame (fPort 2, exactly 8 bytes). Raises :class:`DecodeError`."""
    if len(data) != LDDS75_FRAME_BYTES:
        raise DecodeError(f"LDDS75 frame has {len(data)} bytes; expected exactly {LDDS75_FRAME_BYTES}")
    return Ldds75Frame(
        battery_mv=int.from_bytes(data[0:2], "big") & 0x3FFF,
        distance_mm=int.from_bytes(data[2:4], "big"),
        interrupt_flag=data[4],
        temperature_c=int.from_bytes(data[5:7], "big", signed=True) / 10.0,
        sensor_flag=data[7],
    )


def encode_ldds75(
    *,
    battery_mv: int,
    distance_mm: int,
    interrupt_flag: int = 0,
    temperature_c: float = 0.0,
    sensor_flag: int = 1,
) -> bytes:
    """Build an LDDS75 frame. ``battery_mv`` 0..16383, ``distance_mm`` 0..65535, ``temperature_c``
    -3276.8..3276.7 (rounded to tenths), flags 0..255. Raises ``ValueError`` otherwise."""
    _check_uint("battery_mv", battery_mv, 0x3FFF)
    _check_uint("distance_mm", distance_mm, 0xFFFF)
    _check_uint("interrupt_flag", interrupt_flag, 0xFF)
    _check_uint("sensor_flag", sensor_flag, 0xFF)
    tenths = round(temperature_c * 10)
    if not -0x8000 <= tenths <= 0x7FFF:
        raise ValueError(f"temperature_c must lie in [-3276.8, 3276.7], got {temperature_c!r}")
    return (
        battery_mv.to_bytes(2, "big")
        + distance_mm.to_bytes(2, "big")
        + bytes((interrupt_flag,))
        + tenths.to_bytes(2, "big", signed=True)
        + bytes((sensor_flag,))
    )


def _ldds75_measurement(data: bytes) -> Measurement:
    frame = decode_ldds75(data)
    fault: str | None = None
    if frame.sensor_flag == 0:
        fault = "LDDS75 reports no ultrasonic probe (sensor flag 0)"
    elif frame.distance_mm == 0:
        fault = "LDDS75 reports distance 0, which means the ultrasonic probe did not answer"
    return Measurement(
        distance_mm=None if fault else float(frame.distance_mm),
        battery_v=frame.battery_v,
        temperature_c=frame.temperature_c,
        sensor_fault=fault,
        extra={"interrupt": frame.interrupt_flag != 0, "sensor_flag": frame.sensor_flag},
    )


def _check_uint(name: str, value: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [0, {maximum}], got {value!r}")


# --------------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True, slots=True)
class SensorModel:
    """A sensor model we decode: canonical ``name``, the fPorts its measurements use, a decoder."""

    name: str
    f_ports: frozenset[int]
    decode: Callable[[bytes], Measurement]
    aliases: tuple[str, ...] = ()


SENSOR_MODELS: dict[str, SensorModel] = {
    EM310_UDL: SensorModel(EM310_UDL, frozenset({85}), _em310udl_measurement, ("em310-udl", "em310udl")),
    LDDS75: SensorModel(LDDS75, frozenset({2}), _ldds75_measurement, ("ldds75",)),
}


def _alias_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_ALIAS: dict[str, SensorModel] = {
    _alias_key(alias): model for model in SENSOR_MODELS.values() for alias in (model.name, *model.aliases)
}
_BY_FPORT: dict[int, SensorModel] = {
    port: model for model in SENSOR_MODELS.values() for port in model.f_ports
}


def find_model(name: str) -> SensorModel | None:
    """The model called ``name`` (case, spaces and punctuation ignored: "EM310-UDL" works)."""
    return _BY_ALIAS.get(_alias_key(name))


def model_for_fport(f_port: int) -> SensorModel | None:
    """The model whose measurements use ``f_port``, when it is unambiguous (85 -> EM310-UDL, 2 -> LDDS75)."""
    return _BY_FPORT.get(f_port)
