"""From a measured distance to a fill level, through the container's geometry.

An ultrasonic or radar sensor sits under the lid and measures the distance down to the waste
surface. Two lengths describe the container, both in millimetres:

``height_mm``
    usable depth: from the full line (the rim) down to the floor.
``mount_offset_mm``
    how far the sensor sits above the full line (0 when it is mounted exactly at the rim).

So the sensor sees ``mount_offset_mm`` when the container is exactly full and
``mount_offset_mm + height_mm`` when it is empty, and::

    fill_level = (height_mm - (distance_mm - mount_offset_mm)) / height_mm

1 is full, values above 1 mean waste heaped above the rim. The result is clipped to
[0, :data:`MAX_FILL_LEVEL`]; :func:`estimate_fill` also says when and why a value was clipped or
lies beyond a full container, so callers can keep the reading but flag it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum

from wasteroute.ingest.schemas import CanonicalReading

MAX_FILL_LEVEL = 1.5
"""Upper clip of a computed fill level (fraction); the same bound the native schema accepts."""


class FillFlag(StrEnum):
    """How a computed fill level relates to the container."""

    OK = "ok"
    """0 <= fill <= 1: a surface inside the container."""
    OVERFILLED = "overfilled"
    """1 < fill <= 1.5: waste above the rim (plausible: heaped, or bags on top)."""
    ABOVE_MAX = "above_max"
    """fill > 1.5 before clipping: something is very close to the sensor (lid, insect, condensation)."""
    BELOW_EMPTY = "below_empty"
    """fill < 0 before clipping: the distance is longer than the container is deep (wrong geometry,
    echo through an opening, or a missing floor)."""


@dataclass(frozen=True, slots=True)
class ContainerGeometry:
    """Depth of a container and where its sensor sits, mm. See the module docstring."""

    height_mm: float
    mount_offset_mm: float = 0.0

    def __post_init__(self) -> None:
        _check_geometry(self.height_mm, self.mount_offset_mm)


@dataclass(frozen=True, slots=True)
class FillEstimate:
    """A computed fill level (clipped to [0, 1.5]), the unclipped value and how it was judged."""

    fill_level: float
    raw_fill_level: float
    flag: FillFlag


def _check_geometry(height_mm: float, mount_offset_mm: float) -> None:
    if isinstance(height_mm, bool) or not math.isfinite(height_mm) or height_mm <= 0:
        raise ValueError(f"height_mm must be a finite number > 0 (container depth in mm), got {height_mm!r}")
    if isinstance(mount_offset_mm, bool) or not math.isfinite(mount_offset_mm) or mount_offset_mm < 0:
        raise ValueError(
            f"mount_offset_mm must be a finite number >= 0 (sensor height above the full line in mm), "
            f"got {mount_offset_mm!r}"
        )


def _check_distance(distance_mm: float) -> None:
    if isinstance(distance_mm, bool) or not math.isfinite(distance_mm) or distance_mm < 0:
        raise ValueError(f"distance_mm must be a finite number >= 0, got {distance_mm!r}")


def estimate_fill(distance_mm: float, geometry: ContainerGeometry) -> FillEstimate:
    """Fill level for a measured ``distance_mm`` (sensor to surface, mm), with a judgement flag."""
    _check_distance(distance_mm)
    raw = (geometry.height_mm - (distance_mm - geometry.mount_offset_mm)) / geometry.height_mm
    if raw < 0.0:
        return FillEstimate(0.0, raw, FillFlag.BELOW_EMPTY)
    if raw > MAX_FILL_LEVEL:
        return FillEstimate(MAX_FILL_LEVEL, raw, FillFlag.ABOVE_MAX)
    if raw > 1.0:
        return FillEstimate(raw, raw, FillFlag.OVERFILLED)
    return FillEstimate(raw, raw, FillFlag.OK)


def fill_from_distance(distance_mm: float, height_mm: float, mount_offset_mm: float = 0.0) -> float:
    """Fill level (fraction, clipped to [0, 1.5]) for a distance in mm.

    ``height_mm`` is the depth from the full line to the floor; ``mount_offset_mm`` the sensor's
    height above the full line (default 0). Raises ``ValueError`` for a negative or non-finite
    distance or an impossible geometry. Use :func:`estimate_fill` to learn whether it was clipped.
    """
    return estimate_fill(distance_mm, ContainerGeometry(height_mm, mount_offset_mm)).fill_level


def distance_from_fill(fill_level: float, height_mm: float, mount_offset_mm: float = 0.0) -> float:
    """The distance in mm a sensor measures at ``fill_level`` (inverse of :func:`fill_from_distance`).

    ``fill_level`` must lie in [0, 1.5]; above ``1 + mount_offset_mm / height_mm`` the surface
    would be above the sensor, which is refused.
    """
    _check_geometry(height_mm, mount_offset_mm)
    if (
        isinstance(fill_level, bool)
        or not math.isfinite(fill_level)
        or not 0.0 <= fill_level <= MAX_FILL_LEVEL
    ):
        raise ValueError(f"fill_level must lie in [0, {MAX_FILL_LEVEL}], got {fill_level!r}")
    distance_mm = mount_offset_mm + height_mm * (1.0 - fill_level)
    if distance_mm < 0:
        raise ValueError(
            f"fill_level {fill_level} puts the surface {-distance_mm:g} mm above the sensor, "
            "which cannot be measured"
        )
    return distance_mm


def apply_geometry(reading: CanonicalReading, geometry: ContainerGeometry) -> CanonicalReading:
    """``reading`` with its fill level computed from its distance, when it has a distance.

    The container's configured geometry is authoritative: a fill level the device computed itself
    is replaced and kept as ``extra["device_fill_level"]``. ``extra["fill_flag"]`` records the
    :class:`FillFlag`, and ``extra["raw_fill_level"]`` the unclipped value when it was clipped.
    A reading without a distance is returned unchanged.
    """
    if reading.distance_mm is None:
        return reading
    estimate = estimate_fill(reading.distance_mm, geometry)
    extra = dict(reading.extra)
    extra["fill_flag"] = estimate.flag.value
    if estimate.fill_level != estimate.raw_fill_level:
        extra["raw_fill_level"] = estimate.raw_fill_level
    if reading.fill_level is not None:
        extra["device_fill_level"] = reading.fill_level
    return dataclasses.replace(reading, fill_level=estimate.fill_level, extra=extra)
