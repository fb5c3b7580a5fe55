"""The input of the estimators: one container's readings and its known emptyings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.profile import to_epoch_s

FloatArray = NDArray[np.float64]


def _readonly(values: object, name: str) -> FloatArray:
    arr = np.array(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers (no NaN or infinity)")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class ReadingSeries:
    """Readings of one container, oldest first.

    ``times_s`` are epoch seconds (UTC), non-decreasing. ``fill_levels`` are fractions of the
    container's volume as the sensor reported them, noise, outliers and out-of-range values included
    (0 is empty, 1 is full, above 1 overfilled). ``emptied_at_s`` are the times of emptyings reported
    by drivers, in any order. ``fraction`` and ``container_type`` say which containers are similar
    (the fallback rate is the median of containers with the same pair). Use :meth:`from_readings` to
    build one from datetimes.
    """

    times_s: FloatArray
    fill_levels: FloatArray
    emptied_at_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    fraction: str = "residual"
    container_type: str = "unknown"

    def __post_init__(self) -> None:
        times = _readonly(self.times_s, "times_s")
        fills = _readonly(self.fill_levels, "fill_levels")
        reports = np.sort(_readonly(self.emptied_at_s, "emptied_at_s"))
        reports.setflags(write=False)
        if times.shape != fills.shape:
            raise ValueError(
                "times_s and fill_levels must have the same length, "
                f"got {times.shape[0]} and {fills.shape[0]}"
            )
        if times.shape[0] > 1 and np.any(np.diff(times) < 0):
            raise ValueError("times_s must be sorted oldest first (use ReadingSeries.from_readings to sort)")
        if not self.fraction or not self.container_type:
            raise ValueError("fraction and container_type must be non-empty strings")
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "fill_levels", fills)
        object.__setattr__(self, "emptied_at_s", reports)

    @classmethod
    def from_readings(
        cls,
        times: Sequence[datetime | float],
        fill_levels: Sequence[float],
        *,
        emptied_at: Sequence[datetime | float] = (),
        fraction: str = "residual",
        container_type: str = "unknown",
    ) -> ReadingSeries:
        """Build a series from timezone-aware datetimes (or epoch seconds) in any order."""
        if len(times) != len(fill_levels):
            raise ValueError(
                f"times and fill_levels must have the same length, got {len(times)} and {len(fill_levels)}"
            )
        t = np.array([to_epoch_s(x) for x in times], dtype=np.float64)
        y = np.array(fill_levels, dtype=np.float64)
        order = np.argsort(t, kind="stable")
        return cls(
            times_s=t[order],
            fill_levels=y[order],
            emptied_at_s=np.array([to_epoch_s(x) for x in emptied_at], dtype=np.float64),
            fraction=fraction,
            container_type=container_type,
        )

    def __len__(self) -> int:
        return int(self.times_s.shape[0])

    def until(self, now_s: float) -> ReadingSeries:
        """The readings and reports known at ``now_s`` (nothing after it)."""
        n = int(np.searchsorted(self.times_s, now_s, side="right"))
        return ReadingSeries(
            times_s=self.times_s[:n],
            fill_levels=self.fill_levels[:n],
            emptied_at_s=self.emptied_at_s[self.emptied_at_s <= now_s],
            fraction=self.fraction,
            container_type=self.container_type,
        )
