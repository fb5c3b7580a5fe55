"""Calibration of fill forecasts from their own recent errors (pure numpy, no I/O).

A forecast gives a mean and a model standard deviation. How far the truth really falls from the mean,
in units of that standard deviation, is measured by replaying the forecast a horizon ago and
comparing it with what the sensor saw since (:func:`standardized_errors`). The empirical distribution
of these standardized errors, mixed with a standard normal worth ``prior_weight`` observations (so a
handful of errors cannot make the band collapse, and a fleet without history keeps the normal model),
gives the predictive distribution :class:`Calibration`: a split-conformal correction that keeps the
model's per-container spread and fixes its shape (too narrow a core, heavy tails, skew).

:func:`reliability` and :func:`band_coverage` score a set of forecasts against outcomes: the share of
observations inside a band and, per probability bin, the predicted overflow probability against the
observed frequency.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_SQRT2 = math.sqrt(2.0)


def normal_sf(x: float) -> float:
    """P(Z >= x) for a standard normal Z."""
    return 0.5 * math.erfc(x / _SQRT2)


@dataclass(frozen=True)
class Calibration:
    """Distribution of the standardized forecast error ``(truth - mean) / sd``.

    ``errors`` are observed standardized errors, sorted; ``prior_weight`` is how many observations
    the standard normal prior counts for. With no errors this is the plain normal model.
    """

    errors: tuple[float, ...] = ()
    prior_weight: float = 20.0

    def __post_init__(self) -> None:
        if not self.prior_weight > 0:
            raise ValueError(f"prior_weight must be > 0, got {self.prior_weight}")
        values = [float(v) for v in self.errors]
        if not all(math.isfinite(v) for v in values):
            raise ValueError("errors must be finite numbers")
        object.__setattr__(self, "errors", tuple(sorted(values)))

    @classmethod
    def from_errors(cls, errors: Sequence[float] | FloatArray, *, prior_weight: float = 20.0) -> Calibration:
        arr = np.asarray(errors, dtype=np.float64)
        return cls(errors=tuple(arr[np.isfinite(arr)].tolist()), prior_weight=prior_weight)

    @property
    def n(self) -> int:
        return len(self.errors)

    @property
    def weight(self) -> float:
        """Share of the empirical part in the mixture (0 without errors)."""
        return self.n / (self.n + self.prior_weight)

    def _empirical_sf(self, x: float) -> float:
        # the n errors split the line into n + 1 equally likely gaps (split-conformal ranks);
        # the survival function falls linearly inside each gap and the outer gaps end at +-1 sd
        # beyond the extremes
        z = self.errors
        n = len(z)
        lo, hi = z[0] - 1.0, z[-1] + 1.0
        if x <= lo:
            return 1.0
        if x >= hi:
            return 0.0
        k = bisect.bisect_right(z, x)  # x lies in gap k: between z[k-1] (or lo) and z[k] (or hi)
        a = z[k - 1] if k > 0 else lo
        b = z[k] if k < n else hi
        frac = 0.0 if b <= a else (x - a) / (b - a)
        return 1.0 - (k + frac) / (n + 1)

    def survival(self, x: float) -> float:
        """P(standardized error >= x)."""
        if not math.isfinite(x):
            return 0.0 if x > 0 else 1.0
        prior = normal_sf(x)
        if not self.errors:
            return prior
        w = self.weight
        return w * self._empirical_sf(x) + (1.0 - w) * prior

    def quantile(self, p: float) -> float:
        """The standardized error ``x`` with P(error <= x) = p (bisection on the survival function)."""
        if not 0 < p < 1:
            raise ValueError(f"p must be between 0 and 1 (exclusive), got {p}")
        lo, hi = -50.0, 50.0
        target = 1.0 - p
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if self.survival(mid) > target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def interval(self, coverage: float) -> tuple[float, float]:
        """Central interval of the standardized error holding ``coverage`` of the mass."""
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be between 0 and 1 (exclusive), got {coverage}")
        return _interval(self, coverage)


@lru_cache(maxsize=256)
def _interval(cal: Calibration, coverage: float) -> tuple[float, float]:
    tail = 0.5 * (1.0 - coverage)
    return cal.quantile(tail), cal.quantile(1.0 - tail)


NORMAL = Calibration()
"""The uncalibrated normal model."""


def standardized_errors(
    predicted: FloatArray, predicted_sd: FloatArray, observed: FloatArray, noise_sd: FloatArray
) -> FloatArray:
    """``(observed - predicted) / sqrt(predicted_sd**2 + noise_sd**2)`` per forecast.

    ``observed`` are sensor readings, so their noise adds to the forecast's spread; rows with a
    non-positive spread are dropped.
    """
    predicted, predicted_sd, observed, noise_sd = (
        np.asarray(a, dtype=np.float64) for a in (predicted, predicted_sd, observed, noise_sd)
    )
    if not predicted.shape == predicted_sd.shape == observed.shape == noise_sd.shape:
        raise ValueError(
            "predicted, predicted_sd, observed and noise_sd must have the same shape, got "
            f"{predicted.shape}, {predicted_sd.shape}, {observed.shape} and {noise_sd.shape}"
        )
    scale = np.sqrt(predicted_sd**2 + noise_sd**2)
    ok = scale > 0
    return np.asarray((observed[ok] - predicted[ok]) / scale[ok], dtype=np.float64)


def band_coverage(low: FloatArray, high: FloatArray, truth: FloatArray) -> float:
    """Share of ``truth`` inside ``[low, high]`` (0 for no forecasts)."""
    low, high, truth = (np.asarray(a, dtype=np.float64) for a in (low, high, truth))
    if not low.shape == high.shape == truth.shape:
        raise ValueError(
            f"low, high and truth must have the same shape, got {low.shape}, {high.shape}, {truth.shape}"
        )
    if truth.shape[0] == 0:
        return 0.0
    return float(np.mean((truth >= low) & (truth <= high)))


@dataclass(frozen=True)
class ReliabilityBin:
    """Forecasts whose probability fell in ``[low, high)``: how many, their mean probability, and how
    often the event happened."""

    low: float
    high: float
    count: int
    mean_probability: float
    observed_frequency: float


def reliability(
    probabilities: FloatArray,
    outcomes: NDArray[np.bool_],
    edges: Sequence[float] = (0, 0.01, 0.05, 0.2, 0.5, 0.8, 1),
) -> list[ReliabilityBin]:
    """Reliability table: predicted probability against observed frequency per bin of ``edges``.

    The last bin includes 1. Empty bins are left out. A calibrated forecast has
    ``mean_probability`` close to ``observed_frequency`` in every well-filled bin.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    o = np.asarray(outcomes, dtype=bool)
    if p.shape != o.shape:
        raise ValueError(f"probabilities and outcomes must have the same shape, got {p.shape} and {o.shape}")
    e = [float(v) for v in edges]
    if len(e) < 2 or any(b <= a for a, b in itertools.pairwise(e)) or e[0] < 0 or e[-1] > 1:
        raise ValueError(
            f"edges must be increasing within [0, 1] with at least two values, got {list(edges)}"
        )
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    out: list[ReliabilityBin] = []
    for i, (a, b) in enumerate(itertools.pairwise(e)):
        last = i == len(e) - 2
        sel = (p >= a) & ((p <= b) if last else (p < b))
        k = int(sel.sum())
        if k:
            out.append(ReliabilityBin(a, b, k, float(p[sel].mean()), float(o[sel].mean())))
    return out
