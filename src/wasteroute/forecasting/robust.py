"""Robust statistics of noisy fill readings (pure numpy): medians, weighted medians, the robust
spread of a sample, Theil-Sen lines, and readings that jump away from their neighbours."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.params import ForecastParams

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAD_TO_SD = 1.4826
_THEIL_SEN_MAX_POINTS = 400


_WM_SMALL = 512
"""Weighted medians of at most this many values sort them all; longer ones sort a bracket only."""


def weighted_median(values: FloatArray, weights: FloatArray) -> float:
    """The smallest value at which the cumulative weight (in value order) reaches half the total."""
    n = values.shape[0]
    if n > _WM_SMALL:
        # bracket the answer between weighted quantiles of an evenly spread sample, then sort only
        # the values inside the bracket (falls back to a full sort if the bracket misses)
        sample = slice(0, n, n // 128)
        sv, sw = values[sample], weights[sample]
        order = np.argsort(sv)
        cum = np.cumsum(sw[order])
        lo = float(sv[order][min(int(np.searchsorted(cum, 0.4 * cum[-1])), order.shape[0] - 1)])
        hi = float(sv[order][min(int(np.searchsorted(cum, 0.6 * cum[-1])), order.shape[0] - 1)])
        half = 0.5 * float(weights.sum())
        below = float(weights[values < lo].sum())
        inside = (values >= lo) & (values <= hi)
        vi, wi = values[inside], weights[inside]
        if vi.shape[0] and below < half <= below + float(wi.sum()):
            order = np.argsort(vi)
            k = int(np.searchsorted(below + np.cumsum(wi[order]), half, side="left"))
            return float(vi[order][min(k, vi.shape[0] - 1)])
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    k = int(np.searchsorted(cum, 0.5 * cum[-1], side="left"))
    return float(v[min(k, v.shape[0] - 1)])


def median(values: FloatArray) -> float:
    """``np.median`` of a one-dimensional array of finite values (NaN when empty), without its
    overhead on short arrays."""
    n = values.shape[0]
    if n == 0:
        return math.nan
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float((part[k - 1] + part[k]) / 2.0)


def mad_sd(values: FloatArray) -> float:
    if values.shape[0] == 0:
        return 0.0
    return float(MAD_TO_SD * median(np.abs(values - median(values))))


@lru_cache(maxsize=_THEIL_SEN_MAX_POINTS + 1)
def _pairs(n: int) -> tuple[IntArray, IntArray]:
    i, j = np.triu_indices(n, k=1)
    i.setflags(write=False)
    j.setflags(write=False)
    return i, j


def theil_sen(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Weighted Theil-Sen line ``y = intercept + slope * x``: (slope, intercept).

    The slope is the median of pairwise slopes weighted by the pairs' spread in ``x`` (pairs close in
    ``x`` carry little information); the intercept is the median of ``y - slope * x``. Deterministic;
    long series are thinned to evenly spaced points first.
    """
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"theil_sen needs at least 2 points, got {n}")
    if n > _THEIL_SEN_MAX_POINTS:
        idx = np.unique(np.linspace(0, n - 1, _THEIL_SEN_MAX_POINTS).round().astype(np.int64))
        xs, ys = x[idx], y[idx]
    else:
        xs, ys = x, y
    i, j = _pairs(xs.shape[0])
    dx = xs[j] - xs[i]
    keep = dx > 1e-9
    if not keep.all():
        if not keep.any():
            return 0.0, median(y)
        i, j, dx = i[keep], j[keep], dx[keep]
    slopes = (ys[j] - ys[i]) / dx
    slope = weighted_median(slopes, dx * dx)
    return slope, median(y - slope * x)


def nanmedian_rows(a: FloatArray) -> FloatArray:
    """Median of the finite values of each row (NaN for a row without any); ``np.nanmedian`` along
    the last axis, for short rows."""
    s = np.sort(a, axis=1)  # NaNs sort last
    count = a.shape[1] - np.isnan(a).sum(axis=1)
    rows = np.arange(a.shape[0])
    hi = np.maximum(count // 2, 0)
    lo = np.maximum((count - 1) // 2, 0)
    out = 0.5 * (s[rows, np.minimum(lo, a.shape[1] - 1)] + s[rows, np.minimum(hi, a.shape[1] - 1)])
    return np.where(count > 0, out, np.nan)


def neighbour_residuals(y: FloatArray, cycle_of: IntArray) -> FloatArray:
    """Each reading minus the median of its four nearest neighbours in the same cycle (NaN if none,
    and for cycles of fewer than three readings).

    Trends, bags and rhythms mostly cancel; what remains is noise and jumps. For pure noise the
    residual's spread is about 1.16 times the noise's.
    """
    n = y.shape[0]
    if n < 3:
        return np.full(n, np.nan)
    yp = np.concatenate([np.full(2, np.nan), y, np.full(2, np.nan)])
    cp = np.concatenate([np.full(2, -1), cycle_of, np.full(2, -1)])
    idx = np.arange(n)[:, None] + np.array([0, 1, 3, 4])
    near = yp[idx]
    near[cp[idx] != cycle_of[:, None]] = np.nan
    resid = y - nanmedian_rows(near)
    size = np.bincount(cycle_of)
    resid[size[cycle_of] < 3] = np.nan
    return resid


def outliers(resid: FloatArray, params: ForecastParams) -> NDArray[np.bool_]:
    """Readings far from the median of their four nearest neighbours in the same cycle.

    A running median follows bags, rhythms and saturation that a straight line would not, so only
    isolated jumps stand out; the threshold is ``outlier_k`` robust noise scales.
    """
    finite = np.isfinite(resid)
    if not finite.any():
        return np.zeros(resid.shape[0], dtype=bool)
    scale = max(mad_sd(resid[finite]), params.noise_floor_sd)
    return np.asarray(finite & (np.abs(np.nan_to_num(resid)) > params.outlier_k * scale), dtype=bool)
