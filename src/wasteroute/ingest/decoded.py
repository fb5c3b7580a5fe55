"""Measurements from payloads a network server already decoded.

The Things Stack puts a payload formatter's output in ``uplink_message.decoded_payload``,
ChirpStack a codec's output in ``object``. Vendors name the fields differently; this module maps
the common names (matched case-insensitively) onto a :class:`~wasteroute.ingest.decoders.Measurement`:

=================  =====================================================================
distance (mm)      ``distance``, ``distance_mm``, ``dist``, ``dist_mm``; ``distance_cm`` (x10),
                   ``distance_m`` (x1000)
fill level (0..1)  ``fill_level``, ``fillinglevel`` (FIWARE ``fillingLevel``)
fill level (%)     ``fill_level_pct``, ``fill_pct``, ``fill_percent``, ``fill_percentage``,
                   ``percent``, ``percentage``, ``fillinglvl`` (divided by 100)
battery (%)        ``battery``, ``battery_pct``, ``battery_percent``, ``battery_level``, ``batterylevel``
battery (V)        ``battery_v``, ``battery_voltage``, ``battery_vol``, ``batv``, ``bat``;
                   ``battery_mv`` / ``bat_mv`` (divided by 1000)
temperature (°C)   ``temperature``, ``temperature_c``, ``temp``, ``temp_c``, ``tempc``, ``tempc_ds18b20``
tilt               ``position`` ("normal" / "tilt"), ``tilted`` or ``tilt`` (boolean),
                   ``tilt_deg`` / ``tilt_angle`` / ``angle`` (degrees)
=================  =====================================================================

Numbers may also come as strings with an optional unit that matches the field (some vendor
decoders return ``"1500 mm"`` or ``"3.05 V"``); any other string is a wrong type. When several
names for one quantity are present, the first in the order above wins.
"""

from __future__ import annotations

import math
import re

from wasteroute.ingest.decoders import Measurement
from wasteroute.ingest.rejects import JsonObject, RejectReason, reject, to_float

# quantity -> ((field name, scale), ...); names are lower-case
_DISTANCE = (
    ("distance", 1.0),
    ("distance_mm", 1.0),
    ("dist", 1.0),
    ("dist_mm", 1.0),
    ("distance_cm", 10.0),
    ("distance_m", 1000.0),
)
_FILL_FRACTION = (("fill_level", 1.0), ("fillinglevel", 1.0))
_FILL_PERCENT = (
    ("fill_level_pct", 1.0),
    ("fill_pct", 1.0),
    ("fill_percent", 1.0),
    ("fill_percentage", 1.0),
    ("percent", 1.0),
    ("percentage", 1.0),
    ("fillinglvl", 1.0),
)
_BATTERY_PCT = (
    ("battery", 1.0),
    ("battery_pct", 1.0),
    ("battery_percent", 1.0),
    ("battery_level", 1.0),
    ("batterylevel", 1.0),
)
_BATTERY_V = (
    ("battery_v", 1.0),
    ("battery_voltage", 1.0),
    ("battery_vol", 1.0),
    ("batv", 1.0),
    ("bat", 1.0),
    ("battery_mv", 0.001),
    ("bat_mv", 0.001),
)
_TEMPERATURE = (
    ("temperature", 1.0),
    ("temperature_c", 1.0),
    ("temp", 1.0),
    ("temp_c", 1.0),
    ("tempc", 1.0),
    ("tempc_ds18b20", 1.0),
)
_TILT_DEG = (("tilt_deg", 1.0), ("tilt_angle", 1.0), ("angle", 1.0))

# unit suffixes accepted in numeric strings, per quantity, with the factor to the quantity's unit
# (mm, %, V, °C, degrees); an explicit unit replaces the scale implied by the field name
_DISTANCE_UNITS = {"": None, "mm": 1.0, "cm": 10.0, "m": 1000.0}
_PCT_UNITS = {"": None, "%": 1.0}
_VOLT_UNITS = {"": None, "v": 1.0, "mv": 0.001}
_TEMP_UNITS = {"": None, "c": 1.0, "°c": 1.0, "℃": 1.0}
_DEG_UNITS = {"": None, "°": 1.0, "deg": 1.0}
_NO_UNITS: dict[str, float | None] = {"": None}

_NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s]*)\s*$")


def _number(value: object, where: str, units: dict[str, float | None]) -> tuple[float, float | None]:
    """(number, unit factor or None when no unit was given)."""
    if isinstance(value, bool):
        reject(RejectReason.WRONG_TYPE, f"{where} must be a number, got a boolean")
    if isinstance(value, int | float):
        number = to_float(value, where)
        factor: float | None = None
    elif isinstance(value, str):
        match = _NUMBER_WITH_UNIT.match(value)
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in units:
            reject(RejectReason.WRONG_TYPE, f"{where} must be a number, got the string {value[:40]!r}")
        number = float(match.group(1))
        factor = units[unit]
    else:
        reject(RejectReason.WRONG_TYPE, f"{where} must be a number, got {type(value).__name__}")
    if not math.isfinite(number):
        reject(RejectReason.NON_FINITE, f"{where} must be a finite number")
    return number, factor


def _pick(
    fields: dict[str, tuple[str, object]],
    names: tuple[tuple[str, float], ...],
    where: str,
    units: dict[str, float | None],
) -> tuple[float | None, str | None]:
    """(value in the quantity's unit, original field name) of the first name present."""
    for name, scale in names:
        if name in fields:
            original, value = fields[name]
            if value is None:
                continue
            number, factor = _number(value, f"{where}.{original}", units)
            # an explicit unit replaces the scale implied by the field name
            return (number * factor if factor is not None else number * scale), original
    return None, None


def measurement_from_decoded(decoded: JsonObject, where: str) -> Measurement:
    """Map a network server's decoded payload onto a measurement (see the module docstring).

    ``where`` names the object in messages (for example ``"uplink_message.decoded_payload"``).
    Raises :class:`~wasteroute.ingest.rejects.Rejected` for wrong types. The names of all decoded
    fields are listed in ``extra["decoded_fields"]`` (their values stay in the raw payload).
    """
    fields: dict[str, tuple[str, object]] = {}
    for key, value in decoded.items():
        fields.setdefault(key.strip().lower(), (key, value))

    distance_mm, _ = _pick(fields, _DISTANCE, where, _DISTANCE_UNITS)
    fill_level, _ = _pick(fields, _FILL_FRACTION, where, _NO_UNITS)
    if fill_level is None:
        fill_pct, _ = _pick(fields, _FILL_PERCENT, where, _PCT_UNITS)
        fill_level = None if fill_pct is None else fill_pct / 100.0
    battery_pct, _ = _pick(fields, _BATTERY_PCT, where, _PCT_UNITS)
    battery_v, _ = _pick(fields, _BATTERY_V, where, _VOLT_UNITS)
    temperature_c, _ = _pick(fields, _TEMPERATURE, where, _TEMP_UNITS)
    tilt_deg, _ = _pick(fields, _TILT_DEG, where, _DEG_UNITS)
    tilted = _tilted(fields, where)

    extra: dict[str, object] = {"decoded_fields": sorted(original for original, _ in fields.values())}
    return Measurement(
        distance_mm=distance_mm,
        fill_level=fill_level,
        battery_pct=battery_pct,
        battery_v=battery_v,
        temperature_c=temperature_c,
        tilt_deg=tilt_deg,
        tilted=tilted,
        extra=extra,
    )


def _tilted(fields: dict[str, tuple[str, object]], where: str) -> bool | None:
    if "position" in fields:
        original, value = fields["position"]
        if value is not None:
            if isinstance(value, str) and value.strip().lower() in ("normal", "tilt", "tilted"):
                return value.strip().lower() != "normal"
            reject(RejectReason.WRONG_TYPE, f'{where}.{original} must be "normal" or "tilt", got {value!r}')
    for name in ("tilted", "tilt"):
        if name in fields:
            original, value = fields[name]
            if value is None:
                continue
            if isinstance(value, bool):
                return value
            reject(RejectReason.WRONG_TYPE, f"{where}.{original} must be a boolean, got {value!r}")
    return None
