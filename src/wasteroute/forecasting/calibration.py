"""Calibration of fill forecasts from their own recent errors (pure numpy, no I/O).

A forecast gives a mean and a model standard deviation ``sd``. How far the true fill falls from the
mean, in units of ``sd``, depends on the horizon in a way the model's ``sd`` does not capture
(deposits come in bags, rates drift from day to day). The fleet forecast therefore replays its own
forecasts from a few days ago and compares them with what the sensors read since, at a few anchor
horizons (``ANCHOR_HORIZONS_H``). Readings carry noise that the true fill does not:
:func:`truth_errors` takes it out, so the errors describe the true fill.

At each anchor, :class:`Calibration` turns the errors into a distribution: their empirical
distribution (each error one observation) mixed with a standard normal prior worth
``prior_weight`` observations (so a small group leans on the normal model and a group without
history keeps it), with exponential tails beyond the outer tenth (so far-out probabilities are small
but never zero, and a few errors cannot make a band collapse). Between anchors the quantiles are
interpolated in the logarithm of the horizon; before the first and after the last anchor the nearest
anchor holds. Probabilities and bands follow that distribution instead of a normal one.

:func:`reliability` and :func:`band_coverage` score a set of forecasts against outcomes: the share of
observations inside a band and, per probability bin, the predicted overflow probability against the
observed frequency.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_SQRT2 = math.sqrt(2.0)

ANCHOR_HORIZONS_H = (3.0, 6.0, 12.0, 24.0, 48.0, 72.0)
"""Horizons (hours) at which the fleet forecast measures its errors."""

_PRIOR_POINTS = 200
"""The normal prior enters as this many evenly spaced quantiles sharing its weight."""
_TAIL_SHARE = 0.1
"""Share of the mass in each exponential tail (at least ``_TAIL_MIN_WEIGHT`` observations' worth)."""
_TAIL_MIN_WEIGHT = 5.0
_TAIL_PRIOR_SCALE = 1.0
"""Prior scale of the exponential tails (standard deviations per e-fold of probability) ..."""
_TAIL_PRIOR_WEIGHT = 2.0
"""... worth this many exceedances."""
_NEIGHBOUR_WEIGHT = 0.5
"""Weight of an error at a neighbouring anchor in an anchor's distribution (errors change little
from one anchor to the next, and the neighbours halve the noise of small samples)."""
_GRID_LOGIT = np.linspace(-21.0, 21.0, 1201)
_GRID_P = 1.0 / (1.0 + np.exp(-_GRID_LOGIT))
"""Probabilities at which each anchor's quantile function is tabulated (logit-spaced)."""
_GRID_S = 1.0 / (1.0 + np.exp(_GRID_LOGIT))
"""``1 - _GRID_P`` without cancellation."""
_MAX_CACHED_HORIZONS = 512


def normal_sf(x: float) -> float:
    """P(Z >= x) for a standard normal Z."""
    return 0.5 * math.erfc(x / _SQRT2)


def normal_quantile(p: float) -> float:
    """The x with P(Z <= x) = p for a standard normal Z (bisection on :func:`normal_sf`)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1 (exclusive), got {p}")
    lo, hi = -40.0, 40.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if normal_sf(mid) > 1.0 - p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@cache
def _prior_points() -> FloatArray:
    pts = np.array([normal_quantile((j + 0.5) / _PRIOR_POINTS) for j in range(_PRIOR_POINTS)])
    pts.setflags(write=False)
    return pts


@dataclass(frozen=True)
class _Table:
    """One anchor's distribution: quantiles on ``_GRID_P`` and the scales of its exponential tails."""

    q: FloatArray
    lower_scale: float
    upper_scale: float


def _tail_scale(excess: FloatArray, weights: FloatArray) -> float:
    """Scale of an exponential tail from weighted exceedances (their weighted median over ln 2, so a
    few wild errors do not blow it up), shrunk toward the prior scale."""
    total = float(weights.sum())
    if total <= 0:
        return _TAIL_PRIOR_SCALE
    order = np.argsort(excess)
    cum = np.cumsum(weights[order])
    median = float(excess[order][min(int(np.searchsorted(cum, 0.5 * total)), order.shape[0] - 1)])
    scale = median / math.log(2.0)
    return (total * scale + _TAIL_PRIOR_WEIGHT * _TAIL_PRIOR_SCALE) / (total + _TAIL_PRIOR_WEIGHT)


def _table(errors: FloatArray, prior_weight: float, neighbours: FloatArray | None = None) -> _Table:
    """Tabulate the distribution of ``errors`` (sorted) mixed with the normal prior and with
    ``neighbours`` (errors at the neighbouring anchors, at half weight), with exponential tails."""
    prior = _prior_points()
    near = neighbours if neighbours is not None else np.zeros(0)
    values = np.concatenate([errors, near, prior])
    weights = np.concatenate(
        [
            np.ones(errors.shape[0]),
            np.full(near.shape[0], _NEIGHBOUR_WEIGHT),
            np.full(prior.shape[0], prior_weight / prior.shape[0]),
        ]
    )
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    total = float(w.sum())
    cdf = (np.cumsum(w) - 0.5 * w) / total  # each point at the middle of its own mass
    tail = min(max(_TAIL_SHARE, _TAIL_MIN_WEIGHT / total), 0.25)
    lower = float(np.interp(tail, cdf, v))
    upper = float(np.interp(1.0 - tail, cdf, v))
    below, above = v < lower, v > upper
    lower_scale = _tail_scale(lower - v[below], w[below])
    upper_scale = _tail_scale(v[above] - upper, w[above])
    q = np.interp(_GRID_P, cdf, v)
    low_p, high_p = np.less(_GRID_P, tail), np.less(_GRID_S, tail)
    q[low_p] = lower - lower_scale * np.log(tail / _GRID_P[low_p])
    q[high_p] = upper + upper_scale * np.log(tail / _GRID_S[high_p])
    q = np.maximum.accumulate(q) + 1e-12 * np.arange(q.shape[0])  # strictly increasing
    q.setflags(write=False)
    return _Table(q=q, lower_scale=lower_scale, upper_scale=upper_scale)


@dataclass(frozen=True)
class Calibration:
    """Distribution of the standardized forecast error ``(truth - mean) / sd``, by horizon.

    ``by_horizon`` holds, per anchor horizon (hours), the observed standardized errors; ``errors``
    are errors for every horizon alike (used when ``by_horizon`` is empty). ``prior_weight`` is how
    many observations the standard normal prior counts for at each anchor. Without any error this is
    the plain normal model.
    """

    errors: tuple[float, ...] = ()
    prior_weight: float = 20.0
    by_horizon: tuple[tuple[float, tuple[float, ...]], ...] = ()
    _cache: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.prior_weight > 0:
            raise ValueError(f"prior_weight must be > 0, got {self.prior_weight}")
        values = [float(v) for v in self.errors]
        if not all(math.isfinite(v) for v in values):
            raise ValueError("errors must be finite numbers")
        object.__setattr__(self, "errors", tuple(sorted(values)))
        anchors: list[tuple[float, tuple[float, ...]]] = []
        for h, errs in sorted((float(h), e) for h, e in self.by_horizon):
            vals = [float(v) for v in errs]
            if not (math.isfinite(h) and h > 0):
                raise ValueError(f"anchor horizons must be hours > 0, got {h}")
            if not all(math.isfinite(v) for v in vals):
                raise ValueError(f"errors at {h} h must be finite numbers")
            if anchors and anchors[-1][0] == h:
                raise ValueError(f"anchor horizon {h} h given twice")
            anchors.append((h, tuple(sorted(vals))))
        object.__setattr__(self, "by_horizon", tuple(anchors))

    def __hash__(self) -> int:
        return hash((self.errors, self.prior_weight, self.by_horizon))

    @classmethod
    def from_errors(cls, errors: Sequence[float] | FloatArray, *, prior_weight: float = 20.0) -> Calibration:
        """Errors that hold for every horizon."""
        arr = np.asarray(errors, dtype=np.float64)
        return cls(errors=tuple(arr[np.isfinite(arr)].tolist()), prior_weight=prior_weight)

    @classmethod
    def from_horizons(
        cls, errors: Mapping[float, Sequence[float] | FloatArray], *, prior_weight: float = 20.0
    ) -> Calibration:
        """Errors per anchor horizon (hours); anchors without errors keep the prior alone."""
        anchors = []
        for h, errs in errors.items():
            arr = np.asarray(errs, dtype=np.float64)
            anchors.append((float(h), tuple(arr[np.isfinite(arr)].tolist())))
        return cls(prior_weight=prior_weight, by_horizon=tuple(anchors))

    @property
    def n(self) -> int:
        """Number of observed errors (all anchors together)."""
        return len(self.errors) + sum(len(e) for _, e in self.by_horizon)

    @property
    def is_normal(self) -> bool:
        """True when no error was observed: the plain normal model."""
        return self.n == 0

    def n_at(self, horizon_h: float) -> int:
        """Observed errors at the anchor nearest to ``horizon_h`` (in log horizon)."""
        if not self.by_horizon:
            return len(self.errors)
        h = max(abs(horizon_h), 1e-9)
        return min(self.by_horizon, key=lambda a: abs(math.log(a[0] / h)))[1].__len__()

    @property
    def weight(self) -> float:
        """Share of the observed errors in the mixture at an anchor with all of them (0 without)."""
        n = max([len(self.errors), *(len(e) for _, e in self.by_horizon)])
        return n / (n + self.prior_weight)

    # ---- the distribution at a horizon ---------------------------------------------------------

    def _anchor_tables(self) -> tuple[tuple[float, ...], tuple[_Table, ...]]:
        key = "anchors"
        cached = self._cache.get(key)
        if cached is None:
            if self.by_horizon:
                hs = tuple(h for h, _ in self.by_horizon)
                errs = [np.asarray(e, dtype=np.float64) for _, e in self.by_horizon]
                tables = tuple(
                    _table(
                        errs[i],
                        self.prior_weight,
                        np.concatenate(
                            [errs[j] for j in (i - 1, i + 1) if 0 <= j < len(errs)] or [np.zeros(0)]
                        ),
                    )
                    for i in range(len(errs))
                )
            else:
                hs = (1.0,)
                tables = (_table(np.asarray(self.errors, dtype=np.float64), self.prior_weight),)
            cached = (hs, tables)
            self._cache[key] = cached
        return cached  # type: ignore[return-value]

    def _at(self, horizon_h: float | None) -> _Table:
        """The tabulated distribution at ``horizon_h`` (quantiles interpolated in log horizon)."""
        hs, tables = self._anchor_tables()
        h = hs[0] if horizon_h is None else abs(float(horizon_h))
        if h <= hs[0]:
            return tables[0]
        if h >= hs[-1]:
            return tables[-1]
        key = ("h", h)
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        i = bisect.bisect_right(hs, h) - 1
        lam = math.log(h / hs[i]) / math.log(hs[i + 1] / hs[i])
        a, b = tables[i], tables[i + 1]
        t = _Table(
            q=(1.0 - lam) * a.q + lam * b.q,
            lower_scale=(1.0 - lam) * a.lower_scale + lam * b.lower_scale,
            upper_scale=(1.0 - lam) * a.upper_scale + lam * b.upper_scale,
        )
        if len(self._cache) > _MAX_CACHED_HORIZONS:
            self._cache.clear()
        self._cache[key] = t
        return t

    def survival(self, x: float, horizon_h: float | None = None) -> float:
        """P(standardized error >= x) at ``horizon_h`` hours (the first anchor when None)."""
        if not math.isfinite(x):
            return 0.0 if x > 0 else 1.0
        if self.is_normal:
            return normal_sf(x)
        t = self._at(horizon_h)
        q = t.q
        if x >= q[-1]:
            return float(_GRID_S[-1] * math.exp(-(x - q[-1]) / t.upper_scale))
        if x <= q[0]:
            return float(1.0 - _GRID_P[0] * math.exp((x - q[0]) / t.lower_scale))
        return float(np.interp(x, q, _GRID_S))

    def quantile(self, p: float, horizon_h: float | None = None) -> float:
        """The standardized error ``x`` with P(error <= x) = p at ``horizon_h`` hours."""
        if not 0 < p < 1:
            raise ValueError(f"p must be between 0 and 1 (exclusive), got {p}")
        if self.is_normal:
            return normal_quantile(p)
        t = self._at(horizon_h)
        if p >= _GRID_P[-1]:
            return float(t.q[-1] + t.upper_scale * math.log(_GRID_S[-1] / (1.0 - p)))
        if p <= _GRID_P[0]:
            return float(t.q[0] - t.lower_scale * math.log(_GRID_P[0] / p))
        return float(np.interp(math.log(p / (1.0 - p)), _GRID_LOGIT, t.q))

    def interval(self, coverage: float, horizon_h: float | None = None) -> tuple[float, float]:
        """Central interval of the standardized error holding ``coverage`` of the mass."""
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be between 0 and 1 (exclusive), got {coverage}")
        key = ("interval", coverage, None if horizon_h is None else abs(float(horizon_h)))
        cached = self._cache.get(key)
        if cached is None:
            tail = 0.5 * (1.0 - coverage)
            cached = (self.quantile(tail, horizon_h), self.quantile(1.0 - tail, horizon_h))
            if len(self._cache) > _MAX_CACHED_HORIZONS:
                self._cache.clear()
            self._cache[key] = cached
        return cached  # type: ignore[return-value]


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


_MEDIAN_ABS_NORMAL = 0.6744897501960817
"""Median of |Z| for a standard normal Z."""


def truth_errors(
    predicted: FloatArray, predicted_sd: FloatArray, observed: FloatArray, noise_sd: FloatArray
) -> FloatArray:
    """Standardized errors of the true fill, from forecasts checked against noisy readings.

    A reading is the true fill plus noise of ``noise_sd``; the forecast's error against the truth is
    ``sigma * sd * u`` with ``u`` of unit scale and ``sigma`` how far the model's ``sd`` is off. The
    scale ``sigma`` is found where the median of ``|observed - predicted| / sqrt((sigma*sd)**2 +
    noise**2)`` is that of a standard normal; each error then becomes ``(observed - predicted) *
    sigma / sqrt((sigma*sd)**2 + noise**2)``: it keeps its sign, rank and share of the spread, but the
    part of its spread that the reading's noise made is taken out. Rows with a non-positive ``sd``
    are dropped.
    """
    predicted, predicted_sd, observed, noise_sd = (
        np.asarray(a, dtype=np.float64) for a in (predicted, predicted_sd, observed, noise_sd)
    )
    if not predicted.shape == predicted_sd.shape == observed.shape == noise_sd.shape:
        raise ValueError(
            "predicted, predicted_sd, observed and noise_sd must have the same shape, got "
            f"{predicted.shape}, {predicted_sd.shape}, {observed.shape} and {noise_sd.shape}"
        )
    ok = predicted_sd > 0
    r, sd, nz = observed[ok] - predicted[ok], predicted_sd[ok], noise_sd[ok]
    if r.shape[0] == 0:
        return np.zeros(0)
    a = np.abs(r)

    def excess(sigma: float) -> float:  # decreasing in sigma
        return float(np.median(a / np.sqrt((sigma * sd) ** 2 + nz**2))) - _MEDIAN_ABS_NORMAL

    lo, hi = 1e-3, 1e3
    if excess(hi) > 0:
        sigma = hi
    elif excess(lo) < 0:
        sigma = lo
    else:
        for _ in range(60):
            mid = math.sqrt(lo * hi)
            if excess(mid) > 0:
                lo = mid
            else:
                hi = mid
        sigma = math.sqrt(lo * hi)
    return np.asarray(r * sigma / np.sqrt((sigma * sd) ** 2 + nz**2), dtype=np.float64)


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
