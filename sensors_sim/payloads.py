"""Byte layouts of the sensor models the simulator emits, with encoders and strict decoders.

Written from the vendors' documented layouts (the service has its own decoders; the two must agree).

Milesight EM310-UDL, LoRaWAN fPort 85. Channel-id / channel-type pairs without a length byte;
an unknown pair makes the frame invalid::

    01 75 BB          battery, uint8, percent
    03 82 DD DD       distance, uint16 little-endian, millimetres
    04 00 PP          position, uint8: 0 = normal, 1 = tilt

Dragino LDDS75, LoRaWAN fPort 2, exactly 8 bytes, big-endian::

    [0:2]  battery: (value & 0x3FFF) millivolts
    [2:4]  distance, uint16, millimetres (0 = no sensor reading)
    [4]    interrupt flag, 0 or 1
    [5:7]  DS18B20 temperature, int16, tenths of a degree Celsius
    [7]    sensor flag, 1 = ultrasonic probe detected

Devices of our own ("native") model send their reading as compact UTF-8 JSON on fPort 1 with
the field names of the native format (``distance_mm``, ``battery_pct``, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

EM310_FPORT = 85
LDDS75_FPORT = 2
NATIVE_FPORT = 1

MAX_DISTANCE_MM = 10_000
"""Largest distance a valid reading may carry, mm (the native schema's bound)."""


@dataclass(frozen=True, slots=True)
class Em310Frame:
    """A decoded EM310-UDL uplink: battery percent, distance mm, tilted or upright."""

    battery_pct: int
    distance_mm: int
    tilted: bool


@dataclass(frozen=True, slots=True)
class Ldds75Frame:
    """A decoded LDDS75 uplink: battery volts, distance mm, interrupt, temperature degC, probe flag."""

    battery_v: float
    distance_mm: int
    interrupt: bool
    temperature_c: float
    sensor_flag: int


def _check_uint(name: str, value: int, bits: int) -> None:
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} must fit an unsigned {bits}-bit field (0..{(1 << bits) - 1}), got {value}")


def encode_em310(battery_pct: int, distance_mm: int, tilted: bool) -> bytes:
    """An EM310-UDL frame (battery, distance, position), as the device sends it on fPort 85."""
    _check_uint("battery_pct", battery_pct, 8)
    _check_uint("distance_mm", distance_mm, 16)
    return bytes(
        (0x01, 0x75, battery_pct, 0x03, 0x82, distance_mm & 0xFF, distance_mm >> 8, 0x04, 0x00, int(tilted))
    )


def decode_em310(data: bytes) -> Em310Frame:
    """Decode an EM310-UDL frame; raises ``ValueError`` on a truncated frame, an unknown channel or a
    frame without a distance."""
    battery: int | None = None
    distance: int | None = None
    tilted = False
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise ValueError(f"EM310 frame truncated inside a channel header at byte {i}")
        ch, typ = data[i], data[i + 1]
        i += 2
        if (ch, typ) == (0x01, 0x75):
            if i + 1 > len(data):
                raise ValueError("EM310 frame truncated in the battery channel")
            battery = data[i]
            i += 1
        elif (ch, typ) == (0x03, 0x82):
            if i + 2 > len(data):
                raise ValueError("EM310 frame truncated in the distance channel")
            distance = data[i] | (data[i + 1] << 8)
            i += 2
        elif (ch, typ) == (0x04, 0x00):
            if i + 1 > len(data):
                raise ValueError("EM310 frame truncated in the position channel")
            if data[i] not in (0, 1):
                raise ValueError(f"EM310 position must be 0 or 1, got {data[i]}")
            tilted = data[i] == 1
            i += 1
        else:
            raise ValueError(f"EM310 frame has an unknown channel {ch:02x} {typ:02x}")
    if distance is None:
        raise ValueError("EM310 frame has no distance channel")
    return Em310Frame(battery_pct=battery if battery is not None else -1, distance_mm=distance, tilted=tilted)


def encode_ldds75(battery_mv: int, distance_mm: int, temperature_c: float, interrupt: bool = False) -> bytes:
    """An 8-byte LDDS75 frame, as the device sends it on fPort 2 (probe flag set)."""
    _check_uint("battery_mv", battery_mv, 14)
    _check_uint("distance_mm", distance_mm, 16)
    t = round(temperature_c * 10)
    if not -32768 <= t <= 32767:
        raise ValueError(f"temperature_c must fit int16 tenths (-3276.8..3276.7), got {temperature_c}")
    return (
        battery_mv.to_bytes(2, "big")
        + distance_mm.to_bytes(2, "big")
        + bytes((int(interrupt),))
        + t.to_bytes(2, "big", signed=True)
        + b"\x01"
    )


def decode_ldds75(data: bytes) -> Ldds75Frame:
    """Decode an LDDS75 frame; raises ``ValueError`` unless it is exactly 8 bytes."""
    if len(data) != 8:
        raise ValueError(f"LDDS75 frame must be 8 bytes, got {len(data)}")
    return Ldds75Frame(
        battery_v=(int.from_bytes(data[0:2], "big") & 0x3FFF) / 1000.0,
        distance_mm=int.from_bytes(data[2:4], "big"),
        interrupt=bool(data[4] & 0x01),
        temperature_c=int.from_bytes(data[5:7], "big", signed=True) / 10.0,
        sensor_flag=data[7],
    )


def encode_native_frame(fields: dict[str, Any]) -> bytes:
    """The fPort-1 frame of a native-model device: compact UTF-8 JSON of its reading fields."""
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()


def decode_frame(f_port: int, data: bytes) -> dict[str, Any]:
    """Decode a frame of any simulated model into native-format fields, and check their ranges.

    Raises ``ValueError`` when the frame does not decode or carries a value a valid reading cannot
    have (no distance, distance above ``MAX_DISTANCE_MM`` or 0, battery above 100 %, temperature
    outside -50..200 degC).
    """
    out: dict[str, Any]
    if f_port == EM310_FPORT:
        em = decode_em310(data)
        out = {"distance_mm": em.distance_mm, "tilt_deg": 90.0 if em.tilted else 0.0}
        if em.battery_pct >= 0:
            out["battery_pct"] = em.battery_pct
    elif f_port == LDDS75_FPORT:
        ld = decode_ldds75(data)
        if ld.sensor_flag != 1:
            raise ValueError("LDDS75 reports no ultrasonic probe")
        out = {"distance_mm": ld.distance_mm, "battery_v": ld.battery_v, "temperature_c": ld.temperature_c}
    elif f_port == NATIVE_FPORT:
        obj = json.loads(data.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("native frame must be a JSON object")
        out = obj
    else:
        raise ValueError(f"no simulated model uses fPort {f_port}")
    check_ranges(out)
    return out


def check_ranges(fields: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless ``fields`` hold a plausible reading (see ``decode_frame``)."""
    d = fields.get("distance_mm")
    if isinstance(d, bool) or not isinstance(d, int | float):
        raise ValueError(f"distance_mm must be a number, got {d!r}")
    if not 0 < d <= MAX_DISTANCE_MM:
        raise ValueError(f"distance_mm must be in 1..{MAX_DISTANCE_MM}, got {d}")
    bounds = {
        "battery_pct": (0, 100),
        "battery_v": (0, 10),
        "temperature_c": (-50, 200),
        "tilt_deg": (0, 180),
    }
    for key, (lo, hi) in bounds.items():
        v = fields.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise ValueError(f"{key} must be a number in {lo}..{hi}, got {v!r}")
