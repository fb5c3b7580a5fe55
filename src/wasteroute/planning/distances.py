"""Distance and travel-time matrices without a road network (pure numpy).

The default provider of the product: great-circle (haversine) distance times a road-detour factor,
and a travel time from a speed per road class. Every provider returns two square integer matrices
of the same shape, metres and seconds, with zeros on the diagonal, row = origin, column = destination.

Points are ``(lat_deg, lon_deg)`` pairs in WGS84 degrees, in the order the caller wants the matrix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

DEFAULT_DETOUR_FACTOR = 1.3
"""Road distance / great-circle distance in built-up areas; 1.3 is a common planning value."""

DEFAULT_SPEEDS_KMH: Mapping[str, float] = {"urban": 25.0}
"""Average driving speed per road class in km/h, including stops at junctions."""

Point: TypeAlias = tuple[float, float]
"""``(lat_deg, lon_deg)`` in WGS84 degrees."""

IntMatrix: TypeAlias = NDArray[np.int64]

_ROW_BLOCK = 512
"""Rows computed per numpy block: bounds temporary memory to a few blocks of n float64 values."""

_SERIES_MAX_X = 0.01
"""Largest half-chord (unit sphere) for which the arcsine is replaced by its series (~127 km arcs)."""


class DistanceProvider(Protocol):
    """Anything that turns points into travel matrices (the numpy default, OSRM, a cache...)."""

    def matrices(self, points: Sequence[Point]) -> tuple[IntMatrix, IntMatrix]:
        """Return ``(distance_m, duration_s)``: two ``n x n`` int64 matrices, zero diagonal."""
        ...


def as_point_array(points: Sequence[Point] | NDArray[np.float64]) -> NDArray[np.float64]:
    """Validate points and return them as an ``(n, 2)`` float64 array of ``(lat_deg, lon_deg)``.

    Raises ``ValueError`` on a wrong shape, a non-finite value, a latitude outside -90..90 or a
    longitude outside -180..180 (a swapped ``(lon, lat)`` pair is the usual cause).
    """
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 2), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"points must be (lat_deg, lon_deg) pairs, got an array of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.argwhere(~np.isfinite(array))[0][0])
        raise ValueError(f"point {bad} is not finite: {tuple(array[bad])}")
    lat_bad = np.flatnonzero(np.abs(array[:, 0]) > 90.0)
    if lat_bad.size:
        i = int(lat_bad[0])
        raise ValueError(
            f"point {i} has latitude {array[i, 0]}, expected -90..90 degrees "
            "(points are (lat, lon), not (lon, lat))"
        )
    lon_bad = np.flatnonzero(np.abs(array[:, 1]) > 180.0)
    if lon_bad.size:
        i = int(lon_bad[0])
        raise ValueError(f"point {i} has longitude {array[i, 1]}, expected -180..180 degrees")
    return array


def haversine_m(points: Sequence[Point] | NDArray[np.float64]) -> NDArray[np.float64]:
    """Great-circle distances between all pairs of points, metres, as an ``n x n`` float64 matrix."""
    unit = _unit_vectors(as_point_array(points))
    n = unit.shape[1]
    out = np.empty((n, n), dtype=np.float64)
    for start in range(0, n, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n)
        _great_circle_block(unit, start, stop, out[start:stop])
    return out


def _unit_vectors(array: NDArray[np.float64]) -> NDArray[np.float64]:
    """Points on the unit sphere, ``(n, 3)``, one coordinate per row for contiguous broadcasting."""
    lat = np.radians(array[:, 0])
    lon = np.radians(array[:, 1])
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)])


def _great_circle_block(unit: NDArray[np.float64], start: int, stop: int, out: NDArray[np.float64]) -> None:
    """Write rows ``start:stop`` of the great-circle matrix (metres) into ``out``.

    Uses the chord between unit vectors, ``angle = 2 asin(chord / 2)``: the same value as the haversine
    formula, computed from coordinate differences (no cancellation at short range) and one
    transcendental function per entry instead of three.
    """
    n = unit.shape[1]
    diff = np.empty((stop - start, n), dtype=np.float64)
    out.fill(0.0)
    for axis in range(3):
        np.subtract(unit[axis, None, :], unit[axis, start:stop, None], out=diff)
        np.square(diff, out=diff)
        out += diff
    np.sqrt(out, out=out)
    out *= 0.5  # x = chord / 2 = sin(angle / 2)
    if out.size and float(out.max()) <= _SERIES_MAX_X:
        # angle = 2 asin(x) = x (2 + x^2 (1/3 + x^2 (3/20 + x^2 5/56))) + O(x^9): below 1e-13 relative
        # error for arcs up to ~127 km, and cheaper than arcsin (the common, city-sized case).
        x2 = np.square(out, out=diff)
        poly = x2 * (5.0 / 56.0)
        poly += 3.0 / 20.0
        poly *= x2
        poly += 1.0 / 3.0
        poly *= x2
        poly += 2.0
        out *= poly
    else:
        np.clip(out, 0.0, 1.0, out=out)
        np.arcsin(out, out=out)
        out *= 2.0
    out *= EARTH_RADIUS_M


@dataclass(frozen=True)
class GreatCircleProvider:
    """Road distance = great-circle distance x ``detour_factor``; time from a speed per road class.

    ``speeds_kmh`` maps a road class to an average speed in km/h (default ``{"urban": 25.0}``).
    Each point may name the road class of the street it lies on (``road_classes``, one per point,
    default ``default_class`` for all); each half of an arc is driven at the speed of the class at
    its end, so an arc between two points of one class is driven at that class's speed and the
    matrix stays symmetric. Distances are rounded to whole metres and times to whole seconds.
    """

    detour_factor: float = DEFAULT_DETOUR_FACTOR
    speeds_kmh: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KMH))
    default_class: str = "urban"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.detour_factor) and self.detour_factor >= 1.0):
            raise ValueError(
                "detour_factor must be a finite number >= 1.0 (road >= straight line), "
                f"got {self.detour_factor}"
            )
        if not self.speeds_kmh:
            raise ValueError("speeds_kmh must name at least one road class, e.g. {'urban': 25.0}")
        for name, speed in self.speeds_kmh.items():
            if not (math.isfinite(speed) and speed > 0.0):
                raise ValueError(
                    f"speed of road class {name!r} must be a positive number of km/h, got {speed}"
                )
        if self.default_class not in self.speeds_kmh:
            raise ValueError(
                f"default_class {self.default_class!r} is not one of the road classes "
                f"{sorted(self.speeds_kmh)}"
            )
        object.__setattr__(self, "speeds_kmh", dict(self.speeds_kmh))

    def matrices(
        self, points: Sequence[Point], road_classes: Sequence[str] | None = None
    ) -> tuple[IntMatrix, IntMatrix]:
        """Return ``(distance_m, duration_s)`` as ``n x n`` int64 matrices for ``points``.

        ``road_classes``: optional road class per point (same length as ``points``).
        """
        array = as_point_array(points)
        n = array.shape[0]
        seconds_per_m = self._seconds_per_m(n, road_classes)
        uniform_pace = float(seconds_per_m[0]) if n and np.all(seconds_per_m == seconds_per_m[0]) else None
        distance_m = np.empty((n, n), dtype=np.int64)
        duration_s = np.empty((n, n), dtype=np.int64)
        unit = _unit_vectors(array)
        block = np.empty((min(_ROW_BLOCK, n), n), dtype=np.float64)
        for start in range(0, n, _ROW_BLOCK):
            stop = min(start + _ROW_BLOCK, n)
            rows = block[: stop - start]
            _great_circle_block(unit, start, stop, rows)
            rows *= self.detour_factor
            np.rint(rows, out=rows)
            distance_m[start:stop] = rows
            # Half of each arc at the origin's pace, half at the destination's pace (seconds per metre).
            if uniform_pace is not None:
                rows *= uniform_pace
            else:
                rows *= (seconds_per_m[start:stop, None] + seconds_per_m[None, :]) * 0.5
            np.rint(rows, out=rows)
            duration_s[start:stop] = rows
        return distance_m, duration_s

    def _seconds_per_m(self, n: int, road_classes: Sequence[str] | None) -> NDArray[np.float64]:
        if road_classes is None:
            return np.full(n, 3.6 / self.speeds_kmh[self.default_class], dtype=np.float64)
        if len(road_classes) != n:
            raise ValueError(f"road_classes has {len(road_classes)} entries, expected one per point ({n})")
        pace = np.empty(n, dtype=np.float64)
        for i, name in enumerate(road_classes):
            speed = self.speeds_kmh.get(name)
            if speed is None:
                raise ValueError(
                    f"point {i} has road class {name!r}, expected one of {sorted(self.speeds_kmh)}"
                )
            pace[i] = 3.6 / speed
        return pace


def point_set_key(points: Sequence[Point], provider: str) -> tuple[str, NDArray[np.int64]]:
    """A cache key for a set of points and the order that puts ``points`` into the key's order.

    Points are rounded to 6 decimals (about 0.1 m) and sorted, so the same bins, depots and
    facilities give the same key whatever order a plan lists them in. Returns ``(key, order)``:
    ``points[order[k]]`` is the ``k``-th point of the canonical order."""
    import hashlib

    array = np.round(as_point_array(points), 6)
    order = np.lexsort((array[:, 1], array[:, 0])) if len(array) else np.zeros(0, dtype=np.int64)
    digest = hashlib.sha256(provider.encode())
    digest.update(np.ascontiguousarray(array[order]).tobytes())
    return digest.hexdigest(), order.astype(np.int64)


def reorder(matrix: IntMatrix, order: NDArray[np.int64]) -> IntMatrix:
    """Turn a matrix in canonical order (see :func:`point_set_key`) into the caller's order."""
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return np.ascontiguousarray(matrix[np.ix_(inverse, inverse)])
