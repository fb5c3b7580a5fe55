"""Fill-rate estimation and fill forecasts for one container (pure numpy, no I/O).

How :func:`estimate_fill` reads a container:

1. Readings outside the valid range are set aside (they only count for the health flags).
2. Emptyings are found from drops of the robust level (the median of a few readings on each side)
   and from driver reports; they cut the history into fill cycles.
3. With enough history a weekday profile is fitted (a Huber regression of fill on the hours spent in
   each local time-of-week bin since the cycle started), otherwise the profile is flat.
4. Each cycle's rate is a weighted Theil-Sen slope of fill against profile-weighted hours. Earlier
   cycles give a prior rate (recent ones weigh more); the current cycle's slope is combined with it by
   precision, so a freshly emptied container starts from its usual rate and moves to what it shows.
5. The current level is anchored on the latest readings, not on the last reading alone.
6. Health flags (stale, stuck, implausible, no data) switch the rate to the fallback: the median
   rate of similar containers given by the caller, else the sensor's own history, else a default.

The forecast at a future time is the level now plus rate times profile-weighted hours, with a
standard deviation that adds the level's uncertainty, the rate's uncertainty times the horizon and
an unpredictable growth (deposits come in bags) that grows with the square root of the horizon.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from wasteroute.forecasting.calibration import NORMAL, Calibration
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import (
    DAY_S,
    HOUR_S,
    HourGrid,
    WeekProfile,
    from_epoch_s,
    to_epoch_s,
    zone,
)
from wasteroute.forecasting.series import ReadingSeries

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_MAD_TO_SD = 1.4826
_THEIL_SEN_MAX_POINTS = 400
_FALLBACK_LEVEL_READINGS = 6
"""A flagged sensor's level is the median of this many latest readings in range."""


class HealthFlag(StrEnum):
    """Why a sensor's own readings are not trusted for the forecast."""

    NO_DATA = "no_data"
    """No reading in the history window."""
    STALE = "stale"
    """No reading for longer than ``stale_after_h``."""
    STUCK = "stuck"
    """The same value for a long time while the container should have filled."""
    IMPLAUSIBLE = "implausible"
    """Fill falling without an emptying, out-of-range values, jumps or noise beyond belief."""


class RateSource(StrEnum):
    """Where the fill rate of an estimate comes from."""

    SENSOR = "sensor"
    """The readings since the last emptying (combined with the sensor's earlier cycles)."""
    HISTORY = "history"
    """The sensor's earlier fill cycles only."""
    SIMILAR = "similar"
    """The median rate of similar containers, supplied by the caller."""
    DEFAULT = "default"
    """``ForecastParams.default_rate_per_h``."""
    NONE = "none"
    """No rate known: the forecast keeps the level and its uncertainty is large."""


class EmptyingSource(StrEnum):
    DROP = "drop"
    REPORT = "report"
    DROP_AND_REPORT = "drop+report"


@dataclass(frozen=True)
class Emptying:
    """One emptying found in the history: when, how it was seen, and the fall of the level."""

    at_s: float
    source: EmptyingSource
    drop: float | None = None

    @property
    def at(self) -> datetime:
        return from_epoch_s(self.at_s)


@dataclass(frozen=True)
class FillEstimate:
    """The state of one container at ``now_s`` and what follows from it.

    ``rate_per_h`` is the weekly mean fill rate (fraction per hour); the rate at a given time is that
    times the profile multiplier there. ``fill_now`` may exceed 1 (overfilled). ``flags`` is empty for
    a healthy sensor. ``notes`` explain the estimate in plain words for dispatchers.
    """

    now_s: float
    fill_now: float
    fill_now_sd: float
    rate_per_h: float
    rate_sd_per_h: float
    process_var_per_h: float
    profile: WeekProfile
    rate_source: RateSource
    flags: frozenset[HealthFlag] = frozenset()
    last_emptied_at_s: float | None = None
    last_reading_at_s: float | None = None
    noise_sd: float = 0.0
    emptyings: tuple[Emptying, ...] = ()
    notes: tuple[str, ...] = ()
    fraction: str = "residual"
    container_type: str = "unknown"
    calibration: Calibration = NORMAL
    """Distribution of the standardized error ``(truth - mean) / sd`` used for probabilities and
    bands; the plain normal model unless the fleet's recent errors calibrated it."""

    def __post_init__(self) -> None:
        for name in ("now_s", "fill_now", "fill_now_sd", "rate_per_h", "rate_sd_per_h", "process_var_per_h"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        for name in ("fill_now_sd", "rate_sd_per_h", "process_var_per_h"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.rate_per_h < 0:
            raise ValueError(f"rate_per_h must be >= 0, got {self.rate_per_h}")

    @property
    def healthy(self) -> bool:
        """True when the sensor raised no health flag."""
        return not self.flags

    @property
    def now(self) -> datetime:
        return from_epoch_s(self.now_s)

    @property
    def last_emptied_at(self) -> datetime | None:
        return None if self.last_emptied_at_s is None else from_epoch_s(self.last_emptied_at_s)

    @property
    def last_reading_at(self) -> datetime | None:
        return None if self.last_reading_at_s is None else from_epoch_s(self.last_reading_at_s)

    def effective_hours_until(self, t: datetime | float) -> float:
        """Profile-weighted hours from ``now`` to ``t``."""
        return self.profile.effective_hours_between(self.now_s, to_epoch_s(t))

    def at(self, t: datetime | float) -> tuple[float, float]:
        """Expected fill at ``t`` (datetime or epoch seconds) and its standard deviation.

        Assumes no emptying between ``now`` and ``t``. The mean is not capped at 1: above 1 means
        overflowing.
        """
        dt = self.effective_hours_until(t)
        mean = self.fill_now + self.rate_per_h * dt
        h = abs(dt)
        var = self.fill_now_sd**2 + (self.rate_sd_per_h * h) ** 2 + self.process_var_per_h * h
        return float(mean), float(math.sqrt(var))

    def probability_at_least(self, t: datetime | float, level: float) -> float:
        """Probability that the fill at ``t`` is at least ``level`` (by ``calibration`` at that
        horizon)."""
        t_s = to_epoch_s(t)
        mean, sd = self.at(t_s)
        if sd <= 0:
            return 1.0 if mean >= level else 0.0
        return self.calibration.survival((level - mean) / sd, (t_s - self.now_s) / HOUR_S)

    def band(self, t: datetime | float, coverage: float = 0.95) -> tuple[float, float]:
        """Central band (low, high) of the fill at ``t`` that holds the truth with ``coverage``."""
        t_s = to_epoch_s(t)
        mean, sd = self.at(t_s)
        lo, hi = self.calibration.interval(coverage, (t_s - self.now_s) / HOUR_S)
        return mean + lo * sd, mean + hi * sd


def time_to_threshold(estimate: FillEstimate, threshold: float, *, max_horizon_h: float = 24.0 * 60) -> float:
    """Hours from ``estimate.now`` until the expected fill reaches ``threshold``.

    0 when it is already there; ``math.inf`` when the rate is zero or the threshold lies further
    than ``max_horizon_h`` (default 60 days) ahead.
    """
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    if estimate.fill_now >= threshold:
        return 0.0
    if estimate.rate_per_h <= 0:
        return math.inf
    need = (threshold - estimate.fill_now) / estimate.rate_per_h
    horizon_h = max_horizon_h
    if estimate.profile.is_flat:
        return need if need <= horizon_h else math.inf
    end_s = estimate.now_s + horizon_h * HOUR_S
    grid = estimate.profile.grid(estimate.now_s, end_s)
    first = math.floor(estimate.now_s / HOUR_S) + 1
    times = np.concatenate([[estimate.now_s], np.arange(first, math.floor(end_s / HOUR_S) + 1) * HOUR_S])
    eff = grid.effective_hours(times, estimate.profile.array())
    eff = eff - eff[0]
    if eff[-1] < need:
        return math.inf
    k = int(np.searchsorted(eff, need, side="left"))
    if k == 0:
        return 0.0
    e0, e1 = float(eff[k - 1]), float(eff[k])
    frac = 0.0 if e1 <= e0 else (need - e0) / (e1 - e0)
    t_s = float(times[k - 1] + frac * (times[k] - times[k - 1]))
    return (t_s - estimate.now_s) / HOUR_S


# --------------------------------------------------------------------------------------------------
# robust statistics


_WM_SMALL = 512
"""Weighted medians of at most this many values sort them all; longer ones sort a bracket only."""


def _weighted_median(values: FloatArray, weights: FloatArray) -> float:
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


def _median(values: FloatArray) -> float:
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


def _mad_sd(values: FloatArray) -> float:
    if values.shape[0] == 0:
        return 0.0
    return float(_MAD_TO_SD * _median(np.abs(values - _median(values))))


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
            return 0.0, _median(y)
        i, j, dx = i[keep], j[keep], dx[keep]
    slopes = (ys[j] - ys[i]) / dx
    slope = _weighted_median(slopes, dx * dx)
    return slope, _median(y - slope * x)


def _nanmedian_rows(a: FloatArray) -> FloatArray:
    """Median of the finite values of each row (NaN for a row without any); ``np.nanmedian`` along
    the last axis, for short rows."""
    s = np.sort(a, axis=1)  # NaNs sort last
    count = a.shape[1] - np.isnan(a).sum(axis=1)
    rows = np.arange(a.shape[0])
    hi = np.maximum(count // 2, 0)
    lo = np.maximum((count - 1) // 2, 0)
    out = 0.5 * (s[rows, np.minimum(lo, a.shape[1] - 1)] + s[rows, np.minimum(hi, a.shape[1] - 1)])
    return np.where(count > 0, out, np.nan)


def _filter_level(
    x: FloatArray,
    y: FloatArray,
    rate: float,
    q: float,
    noise_var: float,
    start: tuple[float, float, float],
    saturation_level: float,
) -> tuple[float, float]:
    """Level at the last reading and its variance, by a local-level Kalman filter.

    The level grows by ``rate`` per effective hour plus a random walk of variance ``q`` per
    effective hour; readings add noise of variance ``noise_var``. ``start`` is (level, variance,
    effective hour) before the first reading. Recent readings weigh more the faster the level wanders.
    """
    level, var, xp = start
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        dx = max(xi - xp, 0.0)
        level += rate * dx
        var += q * dx
        xp = xi
        if yi >= saturation_level:
            # a saturated sensor only says "at least this full": keep the level at or just above it
            level = min(max(level, yi), yi + 0.1)
            var = noise_var
            continue
        gain = var / (var + noise_var)
        level += gain * (yi - level)
        var *= 1.0 - gain
    return level, var


def _neighbour_residuals(y: FloatArray, cycle_of: IntArray) -> FloatArray:
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
    resid = y - _nanmedian_rows(near)
    size = np.bincount(cycle_of)
    resid[size[cycle_of] < 3] = np.nan
    return resid


def _outliers(resid: FloatArray, params: ForecastParams) -> NDArray[np.bool_]:
    """Readings far from the median of their four nearest neighbours in the same cycle.

    A running median follows bags, rhythms and saturation that a straight line would not, so only
    isolated jumps stand out; the threshold is ``outlier_k`` robust noise scales.
    """
    finite = np.isfinite(resid)
    if not finite.any():
        return np.zeros(resid.shape[0], dtype=bool)
    scale = max(_mad_sd(resid[finite]), params.noise_floor_sd)
    return np.asarray(finite & (np.abs(np.nan_to_num(resid)) > params.outlier_k * scale), dtype=bool)


# --------------------------------------------------------------------------------------------------
# emptyings


@dataclass
class _Event:
    at_s: float
    split: int  # index of the first reading after the emptying
    source: EmptyingSource
    drop: float | None


def _level_steps(
    y: FloatArray, k: int, *, before: bool = True
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """For every gap i|i+1: median of up to k readings before it (NaN when ``before`` is False),
    after it, how many after, their max."""
    n = y.shape[0]
    gap = np.full(k - 1, np.nan)
    after = sliding_window_view(np.concatenate([y, gap]), k)[1:n]
    pre = _nanmedian_rows(sliding_window_view(np.concatenate([gap, y]), k)[: n - 1]) if before else None
    post = _nanmedian_rows(after)
    n_post = np.minimum(k, n - 1 - np.arange(n - 1)).astype(np.int64)
    return (np.full(n - 1, np.nan) if pre is None else pre), post, n_post, np.nanmax(after, axis=1)


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _confirmed_drops(y: FloatArray, min_drop: float, k: int) -> list[tuple[int, float, bool, float]]:
    """Gaps where the robust level falls by at least ``min_drop``: (index i of the reading before the
    gap, the fall, whether it still needs more evidence to count, the level before).

    A drop needs ``k`` readings after it, or at least two that are all low; a drop followed by a
    single reading could be an outlier and counts only with a report.
    """
    if y.shape[0] < 2:
        return []
    pre, post, n_post, after_max = _level_steps(y, k)
    _, post_long, n_post_long, _ = _level_steps(y, 2 * k, before=False)
    fall = pre - post
    # where twice as many readings follow, their median must show the fall too (outlier clusters)
    lasting = (n_post_long < 2 * k) | (pre - post_long >= min_drop)
    confirmed = lasting & ((n_post >= k) | ((n_post >= 2) & (after_max <= pre - min_drop)))
    ok = (fall >= min_drop) & lasting & (confirmed | (n_post == 1))
    raw = y[:-1] - y[1:]
    drops: list[tuple[int, float, bool, float]] = []
    for a, b in _runs(ok):
        score = fall[a:b] + raw[a:b]
        best = a + int(np.argmax(score))
        drops.append((best, float(fall[best]), not bool(confirmed[best]), float(pre[best])))
    return drops


def _looks_like_collection(
    lo_s: float, hi_s: float, before: float, after: float, params: ForecastParams
) -> bool:
    """Whether a drop seen by one reading only is taken for an emptying without a driver report.

    Only when ``params.single_reading_emptying`` is on, the container was worth emptying, the reading
    is low (at least twice ``emptying_drop`` below), and the gap overlaps collection hours (Monday to
    Saturday, local ``collection_hours``); a lost echo at night stays an outlier.
    """
    if not params.single_reading_emptying:
        return False
    if before < params.single_reading_min_before or after > params.single_reading_max_after:
        return False
    if before - after < 2.0 * params.emptying_drop:
        return False
    tz = zone(params.timezone)
    first, last = params.collection_hours
    for s in np.arange(lo_s, hi_s + 1.0, 1800.0).tolist():
        local = from_epoch_s(s).astimezone(tz)
        if local.weekday() < 6 and first <= local.hour < last:
            return True
    return False


def _detect_emptyings(
    t: FloatArray, y: FloatArray, reports: FloatArray, params: ForecastParams
) -> tuple[list[_Event], list[tuple[int, float]]]:
    """Emptyings (from drops and reports, sorted) and partial drops that no report explains."""
    k = params.confirm_readings
    match_s = params.report_match_h * HOUR_S
    drops = _confirmed_drops(y, params.partial_drop, k)
    events: list[_Event] = []
    partial: list[tuple[int, float]] = []
    used = np.zeros(reports.shape[0], dtype=bool)
    for i, fall, unconfirmed, before in drops:
        lo, hi = t[i], t[i + 1]
        near = np.flatnonzero(~used & (reports >= lo - match_s) & (reports <= hi + match_s))
        if (
            unconfirmed
            and near.shape[0] == 0
            and not _looks_like_collection(lo, hi, before, y[i + 1], params)
        ):
            continue
        if fall < params.emptying_drop and near.shape[0] == 0:
            partial.append((i, fall))
            continue
        if near.shape[0]:
            r = int(near[np.argmin(np.abs(reports[near] - 0.5 * (lo + hi)))])
            used[r] = True
            at = float(min(max(reports[r], lo), hi))
            events.append(_Event(at, i + 1, EmptyingSource.DROP_AND_REPORT, fall))
        else:
            events.append(_Event(float(0.5 * (lo + hi)), i + 1, EmptyingSource.DROP, fall))
    for unused in np.flatnonzero(~used).tolist():
        at = float(reports[unused])
        events.append(_Event(at, int(np.searchsorted(t, at, side="right")), EmptyingSource.REPORT, None))
    events.sort(key=lambda e: (e.at_s, e.split))
    # several reports for one emptying (or a report on top of a drop): keep one event per split
    merged: list[_Event] = []
    for e in events:
        if merged and merged[-1].split == e.split:
            prev = merged[-1]
            if prev.source is EmptyingSource.REPORT and e.source is not EmptyingSource.REPORT:
                merged[-1] = e
            continue
        merged.append(e)
    return merged, partial


# --------------------------------------------------------------------------------------------------
# profile


@dataclass(frozen=True)
class _HuberProblem:
    """Rates of ``y = intercept[cycle] + x @ rates``: ``cycle`` numbers the rows' cycles 0.. in
    order (each cycle's rows one run); ``smoothing`` > 0 penalises differences between neighbouring
    columns (the last neighbours the first)."""

    x: FloatArray
    y: FloatArray
    cycle: IntArray
    n_cycles: int
    smoothing: float = 0.0


_HUBER_CHUNK = 1_500_000
"""Padded design elements (problems x rows x columns) solved in one batch."""


def _huber_rates(problems: Sequence[_HuberProblem], params: ForecastParams) -> list[FloatArray]:
    """Per-column rates of each problem by Huber-weighted least squares (six reweighting rounds).

    The per-cycle intercepts are removed by centring within each cycle. A smoothing penalty is
    relative to the data's average weight per column: readings taken at the same hours every day
    cannot tell the hours between them apart, and the penalty spreads the rate smoothly over them.
    Problems of the same width are solved side by side in batches (padded with rows of no weight),
    each exactly as on its own.
    """
    out: list[FloatArray] = [np.zeros(0)] * len(problems)
    by_width: dict[int, list[int]] = {}
    for i, pr in enumerate(problems):
        if pr.y.shape[0] < 2 or np.any(np.diff(pr.cycle) < 0) or pr.cycle[-1] >= pr.n_cycles:
            raise ValueError("rows must be grouped by cycle, cycles numbered 0.. in order")
        by_width.setdefault(pr.x.shape[1], []).append(i)
    for width, idx in by_width.items():
        idx.sort(key=lambda i: problems[i].y.shape[0])
        chunk: list[int] = []
        for i in idx:
            rows = problems[i].y.shape[0] + 1
            if chunk and (len(chunk) + 1) * rows * width > _HUBER_CHUNK:
                for j, r in zip(chunk, _huber_batch([problems[k] for k in chunk], params), strict=True):
                    out[j] = r
                chunk = []
            chunk.append(i)
        if chunk:
            for j, r in zip(chunk, _huber_batch([problems[k] for k in chunk], params), strict=True):
                out[j] = r
    return out


def _huber_batch(problems: Sequence[_HuberProblem], params: ForecastParams) -> list[FloatArray]:
    """:func:`_huber_rates` of problems of one width, as one batch."""
    nb = len(problems)
    width = problems[0].x.shape[1]
    sizes = np.array([pr.y.shape[0] for pr in problems])
    n = int(sizes.max())
    n += n % 2  # an even width puts every problem's median at the same two ranks (see below)
    x = np.zeros((nb, n, width))
    y = np.zeros((nb, n))
    real = np.zeros((nb, n), dtype=bool)
    cycle = np.zeros((nb, n), dtype=np.int64)
    penalty = np.zeros((nb, width, width))
    n_cycles = max(pr.n_cycles for pr in problems)
    diff = np.eye(width) - np.roll(np.eye(width), 1, axis=1)
    for r, pr in enumerate(problems):
        k = pr.y.shape[0]
        x[r, :k] = pr.x
        y[r, :k] = pr.y
        real[r, :k] = True
        cycle[r, :k] = pr.cycle
        cycle[r, k:] = pr.cycle[-1]  # padding rows join the last cycle with no weight
        if pr.smoothing > 0:
            penalty[r] = pr.smoothing * float(np.mean(np.sum(pr.x * pr.x, axis=0))) * (diff.T @ diff)
    # per-cycle sums by runs over all problems' rows at once
    flat_cycle = (cycle + n_cycles * np.arange(nb)[:, None]).ravel()
    starts = np.flatnonzero(np.diff(flat_cycle, prepend=-1))
    seg = flat_cycle[starts]
    seg_problem, seg_cycle = seg // n_cycles, seg % n_cycles
    # medians of the real rows alone: padding takes -inf and +inf in halves, which puts each
    # problem's middle value(s) at ranks n/2 - 1 and n/2 (a single middle for an odd count)
    col = np.arange(n)[None, :]
    low_pad = np.flatnonzero(((col >= sizes[:, None]) & (col < (sizes + (n - sizes) // 2)[:, None])).ravel())
    high_pad = np.flatnonzero((col >= (sizes + (n - sizes) // 2)[:, None]).ravel())
    odd = sizes % 2 == 1
    k1, k2 = n // 2 - 1, n // 2

    def median(v: FloatArray) -> FloatArray:
        v.flat[low_pad] = -np.inf
        v.flat[high_pad] = np.inf
        part = np.partition(v, (k1, k2), axis=1)
        return np.asarray(np.where(odd, part[:, k1], (part[:, k1] + part[:, k2]) / 2.0), dtype=np.float64)

    # the sums at unit weight, once; each round takes off what its down-weighted rows lose, so it
    # reads the whole design only once (for the residuals)
    xt = x.transpose(0, 2, 1)
    xx1 = xt @ x
    xy1 = (xt @ y[:, :, None])[:, :, 0]
    sx1 = np.zeros((nb, n_cycles, width))
    sx1[seg_problem, seg_cycle] = np.add.reduceat(x.reshape(-1, width), starts, axis=0)
    w1 = np.zeros((nb, n_cycles))
    w1[seg_problem, seg_cycle] = np.add.reduceat(real.astype(np.float64).ravel(), starts)
    sy1 = np.zeros((nb, n_cycles))
    sy1[seg_problem, seg_cycle] = np.add.reduceat(y.ravel(), starts)
    diag = np.arange(width)
    rows = np.arange(nb)[:, None]
    cycles = np.arange(n_cycles)
    weights = real.astype(np.float64)
    huber_k = params.huber_k
    coef = np.zeros((nb, width))
    for _ in range(6):
        # weighted least squares on the values centred within each cycle, from per-cycle sums:
        # sum w (x - mx)(x - mx)' = sum w x x' - Sx' mx  and  sum w (x - mx)(y - my) = sum w x y - Sx' my
        loss = np.where(real, 1.0 - weights, 0.0)
        lost = loss > 0.0
        k = int(lost.sum(axis=1).max())
        if k:
            pick = np.argsort(~lost, axis=1, kind="stable")[:, :k]  # each problem's down-weighted rows
            lk = np.take_along_axis(loss, pick, axis=1)
            xk = np.take_along_axis(x, pick[:, :, None], axis=1)
            yk = np.take_along_axis(y, pick, axis=1)
            onehot = (np.take_along_axis(cycle, pick, axis=1)[:, :, None] == cycles).astype(np.float64)
            xl = xk * lk[:, :, None]
            xlt = xl.transpose(0, 2, 1)
            ot = onehot.transpose(0, 2, 1)
            xx = xx1 - xlt @ xk
            xy = xy1 - (xlt @ yk[:, :, None])[:, :, 0]
            sx = sx1 - ot @ xl
            wsum = w1 - (ot @ lk[:, :, None])[:, :, 0]
            sy = sy1 - (ot @ (lk * yk)[:, :, None])[:, :, 0]
        else:
            xx, xy, sx, wsum, sy = xx1, xy1, sx1, w1, sy1
        wsum = np.maximum(wsum, 1e-12)
        mx = sx / wsum[:, :, None]
        my = sy / wsum
        sxt = sx.transpose(0, 2, 1)
        gram = xx - sxt @ mx + penalty
        gram[:, diag, diag] += 1e-9 * (1.0 + np.trace(gram, axis1=1, axis2=2))[:, None]
        rhs = xy - (sxt @ my[:, :, None])[:, :, 0]
        coef = np.asarray(np.linalg.solve(gram, rhs[:, :, None])[:, :, 0], dtype=np.float64)
        # residuals from the line centred within each cycle
        offset = my - (mx @ coef[:, :, None])[:, :, 0]
        resid = y - (x @ coef[:, :, None])[:, :, 0] - offset[rows, cycle]
        # robust scale of each problem's residuals (median absolute deviation)
        centre = median(resid.copy())
        dev = np.abs(resid - centre[:, None])
        scale = np.maximum(_MAD_TO_SD * median(dev), params.noise_floor_sd)
        a = np.abs(resid) / (huber_k * scale[:, None])
        weights = real / np.maximum(a, 1.0)
    return [np.asarray(coef[r], dtype=np.float64) for r in range(nb)]


def _multipliers(rates: FloatArray, exposure_h: FloatArray, shrink: float) -> FloatArray | None:
    mean_rate = float(rates.mean())
    if mean_rate <= 1e-9 or np.any(exposure_h <= 0):
        return None
    raw = np.clip(rates, 0.05 * mean_rate, None)
    raw = raw / raw.mean()
    mult = 1.0 + (raw - 1.0) * shrink
    return np.asarray(mult / mult.mean(), dtype=np.float64)


@dataclass(frozen=True)
class _ProfileFit:
    """The regressions of a container's weekday profile (see :func:`_profile_fit`)."""

    days: _HuberProblem | None
    hours: _HuberProblem | None
    span_days: float


def _profile_fit(
    t: FloatArray,
    y: FloatArray,
    cycle_of: IntArray,
    start_s: float,
    end_s: float,
    params: ForecastParams,
) -> _ProfileFit | None:
    """The regressions of fill on the hours spent in each local weekday and in each local hour of
    day since the cycle's first reading (one intercept per cycle), or None when the history is too
    short for either (the profile is flat)."""
    span_days = (t[-1] - t[0]) / DAY_S if t.shape[0] else 0.0
    if span_days < min(params.hour_profile_min_days, params.weekday_profile_min_days):
        return None
    counts = np.bincount(cycle_of)
    rows = (counts[cycle_of] >= 3) & (y < params.saturation_level)
    if rows.sum() < 30:
        return None
    grid = HourGrid(start_s, end_s, params.timezone, 24)
    expo_d, expo_h = grid.day_and_hour_exposure(t[rows])
    cyc = cycle_of[rows]
    used, first, col = np.unique(cyc, return_index=True, return_inverse=True)
    yr = y[rows]
    days = hours = None
    if span_days >= params.weekday_profile_min_days:
        days = _HuberProblem(expo_d - expo_d[first[col]], yr, col, used.shape[0])
    if span_days >= params.hour_profile_min_days:
        hours = _HuberProblem(expo_h - expo_h[first[col]], yr, col, used.shape[0], params.hour_smoothing)
    return _ProfileFit(days, hours, float(span_days))


def _profile_from_rates(
    fit: _ProfileFit, day_rates: FloatArray | None, hour_rates: FloatArray | None, params: ForecastParams
) -> WeekProfile:
    """Day-of-week times hour-of-day multipliers from the regressions' rates, shrunk toward 1."""
    day = np.ones(7)
    hour = np.ones(24)
    if fit.days is not None and day_rates is not None:
        m = _multipliers(
            day_rates, fit.days.x.sum(axis=0), fit.span_days / (fit.span_days + params.weekday_shrink_days)
        )
        day = m if m is not None else day
    if fit.hours is not None and hour_rates is not None:
        m = _multipliers(
            hour_rates, fit.hours.x.sum(axis=0), fit.span_days / (fit.span_days + params.hour_shrink_days)
        )
        hour = m if m is not None else hour
    if np.all(day == 1.0) and np.all(hour == 1.0):
        return WeekProfile.flat(params.timezone)
    mult = np.outer(day, hour).ravel()
    mult = mult / mult.mean()
    return WeekProfile(multipliers=tuple(mult.tolist()), timezone=params.timezone)


def _fit_profiles(fits: Sequence[_ProfileFit | None], params: ForecastParams) -> list[WeekProfile]:
    """The weekday profiles of many containers, their regressions solved in batches."""
    problems: list[_HuberProblem] = []
    for f in fits:
        if f is not None:
            problems.extend(pr for pr in (f.days, f.hours) if pr is not None)
    rates = iter(_huber_rates(problems, params))
    out = []
    for f in fits:
        if f is None:
            out.append(WeekProfile.flat(params.timezone))
            continue
        day_rates = next(rates) if f.days is not None else None
        hour_rates = next(rates) if f.hours is not None else None
        out.append(_profile_from_rates(f, day_rates, hour_rates, params))
    return out


# --------------------------------------------------------------------------------------------------
# the estimator


@dataclass
class _CycleFit:
    start: int
    stop: int
    slope: float | None = None
    intercept: float = 0.0
    span_eff_h: float = 0.0
    sxx: float = 0.0
    n_inliers: int = 0
    inlier: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    level_ok: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass
class _Analysed:
    """What :meth:`_Estimator.analyse` found; ``t_all`` is None when no reading lies in the window."""

    known: ReadingSeries
    reports: FloatArray
    q_floor: float
    t_all: FloatArray | None = None
    y_all: FloatArray | None = None
    t: FloatArray | None = None
    y: FloatArray | None = None
    x: FloatArray | None = None
    grid: HourGrid | None = None
    eff_now: float = 0.0
    profile: WeekProfile = field(default_factory=WeekProfile.flat)
    events: list[_Event] = field(default_factory=list)
    emptyings: tuple[Emptying, ...] = ()
    last_reading_s: float = 0.0
    noise_sd: float = 0.0
    q: float = 0.0
    prior: tuple[float, float] | None = None
    cur: _CycleFit | None = None
    cur_idx: IntArray | None = None
    cycle_rate: tuple[float, float] | None = None
    implausible: list[str] = field(default_factory=list)


@dataclass
class _Prepared:
    """What :meth:`_Estimator.prepare` found before the weekday profile."""

    known: ReadingSeries
    reports: FloatArray
    q_floor: float
    t_all: FloatArray
    y_all: FloatArray
    in_range: NDArray[np.bool_]
    t: FloatArray
    y: FloatArray
    events: list[_Event]
    partial: list[tuple[int, float]]
    bounds: list[tuple[int, int]]
    cycle_of: IntArray


def _pct(x: float) -> str:
    return f"{100.0 * x:.0f}%"


def _rate_text(rate_per_h: float) -> str:
    return f"{100.0 * 24.0 * rate_per_h:.1f}%/day"


def _when(t_s: float, tz: str) -> str:
    return from_epoch_s(t_s).astimezone(zone(tz)).strftime("%a %d.%m. %H:%M")


def estimate_fill(
    series: ReadingSeries,
    *,
    now: datetime | float,
    similar_rate_per_h: float | None = None,
    params: ForecastParams | None = None,
) -> FillEstimate:
    """Estimate the state of one container at ``now`` from the readings known at ``now``.

    ``similar_rate_per_h`` is the median weekly-mean rate (fill per hour) of similar containers (same
    fraction and type), used when this sensor is flagged and as the starting rate of a container with
    no history of its own. Readings and reports after ``now`` are ignored.
    """
    return analyse_fill(series, now=now, params=params).estimate(similar_rate_per_h)


def analyse_fill(
    series: ReadingSeries, *, now: datetime | float, params: ForecastParams | None = None
) -> FillAnalysis:
    """The part of :func:`estimate_fill` that does not depend on similar containers.

    Emptyings, the weekday profile, the cycles' lines, noise, the sensor's own history and most
    health checks; :meth:`FillAnalysis.estimate` adds the rate of similar containers and concludes.
    ``analyse_fill(s, now=t).estimate(r)`` is ``estimate_fill(s, now=t, similar_rate_per_h=r)``, so a
    fleet forecast analyses each container once and concludes it with and without its peers' rate.
    """
    return analyse_fills([series], now=now, params=params)[0]


def analyse_fills(
    series: Sequence[ReadingSeries],
    *,
    now: datetime | float | Sequence[datetime | float],
    params: ForecastParams | None = None,
) -> list[FillAnalysis]:
    """:func:`analyse_fill` of many containers at once (their weekday profiles fitted side by side,
    which is much faster than one by one); the same analyses. ``now`` is one time for all or one
    per series."""
    p = params if params is not None else ForecastParams()
    if isinstance(now, Sequence):
        if len(now) != len(series):
            raise ValueError(f"expected one time per series ({len(series)}), got {len(now)}")
        nows = [to_epoch_s(v) for v in now]
    else:
        nows = [to_epoch_s(now)] * len(series)
    estimators = [_Estimator(s, now_s, p) for s, now_s in zip(series, nows, strict=True)]
    fits = [e.prepare() for e in estimators]
    profiles = _fit_profiles([f if isinstance(f, _ProfileFit) else None for f in fits], p)
    for e, f, prof in zip(estimators, fits, profiles, strict=True):
        e.finish(prof if isinstance(f, _ProfileFit) else f)
    return [FillAnalysis(e) for e in estimators]


class FillAnalysis:
    """One container analysed at one time (see :func:`analyse_fill`)."""

    def __init__(self, estimator: _Estimator) -> None:
        if estimator.a is None:
            raise ValueError("the estimator has not analysed its series")
        self._estimator = estimator

    @property
    def now_s(self) -> float:
        return self._estimator.now_s

    @property
    def profile(self) -> WeekProfile:
        """The weekday profile the analysis used."""
        a = self._estimator.a
        return a.profile if a is not None else WeekProfile.flat(self._estimator.p.timezone)

    def estimate(self, similar_rate_per_h: float | None = None) -> FillEstimate:
        """The estimate given the median weekly-mean rate of similar containers (or None)."""
        if similar_rate_per_h is not None and not (
            math.isfinite(similar_rate_per_h) and similar_rate_per_h >= 0
        ):
            raise ValueError(
                f"similar_rate_per_h must be a finite rate >= 0 or None, got {similar_rate_per_h}"
            )
        return self._estimator.conclude(similar_rate_per_h)


class _Estimator:
    """The steps of :func:`estimate_fill`: :meth:`analyse` once, then :meth:`conclude` per rate of
    similar containers (each conclusion works on its own copy of the notes and flags)."""

    def __init__(self, series: ReadingSeries, now_s: float, params: ForecastParams) -> None:
        self.s = series
        self.now_s = now_s
        self.similar: float | None = None
        self.p = params
        self.start_s = now_s - params.history_days * DAY_S
        self.notes: list[str] = []
        self.flags: set[HealthFlag] = set()
        self.a: _Analysed | None = None
        self._prepared: _Prepared | None = None

    # ---- helpers -------------------------------------------------------------------------------

    def _estimate(
        self,
        *,
        fill_now: float,
        fill_sd: float,
        rate: float,
        rate_sd: float,
        q: float,
        profile: WeekProfile,
        source: RateSource,
        last_emptied: float | None,
        last_reading: float | None,
        noise_sd: float,
        emptyings: tuple[Emptying, ...],
    ) -> FillEstimate:
        return FillEstimate(
            now_s=self.now_s,
            fill_now=float(fill_now),
            fill_now_sd=float(max(fill_sd, 0.0)),
            rate_per_h=float(max(rate, 0.0)),
            rate_sd_per_h=float(max(rate_sd, 0.0)),
            process_var_per_h=float(max(q, 0.0)),
            profile=profile,
            rate_source=source,
            flags=frozenset(self.flags),
            last_emptied_at_s=last_emptied,
            last_reading_at_s=last_reading,
            noise_sd=float(noise_sd),
            emptyings=emptyings,
            notes=tuple(self.notes),
            fraction=self.s.fraction,
            container_type=self.s.container_type,
        )

    def _fallback_rate(self, prior: tuple[float, float] | None) -> tuple[float, float, RateSource]:
        p = self.p
        if self.similar is not None:
            self.notes.append(f"using the median rate of similar containers ({_rate_text(self.similar)})")
            return self.similar, p.fallback_rate_rel_sd * self.similar, RateSource.SIMILAR
        if prior is not None:
            self.notes.append(f"using the rate of this container's earlier cycles ({_rate_text(prior[0])})")
            return prior[0], max(prior[1], p.fallback_rate_rel_sd * prior[0]), RateSource.HISTORY
        if p.default_rate_per_h is not None:
            self.notes.append(f"using the default rate ({_rate_text(p.default_rate_per_h)})")
            return p.default_rate_per_h, p.fallback_rate_rel_sd * p.default_rate_per_h, RateSource.DEFAULT
        self.notes.append("no rate known (no similar containers given)")
        return 0.0, 0.0, RateSource.NONE

    # ---- main ----------------------------------------------------------------------------------

    def prepare(self) -> WeekProfile | _ProfileFit | None:
        """The first steps of the analysis: readings in the window, emptyings, cycles. Returns the
        weekday profile when it is known without a fit, else what to fit for it (None when there is
        no reading: the analysis is then complete)."""
        p, s = self.p, self.s
        known = s.until(self.now_s)
        reports_all = known.emptied_at_s
        win = known.times_s >= self.start_s
        t_all, y_all = known.times_s[win], known.fill_levels[win]
        reports = reports_all[reports_all >= self.start_s]
        q_floor = p.process_sd_per_sqrt_h**2
        if t_all.shape[0] == 0:
            self.a = _Analysed(known=known, reports=reports, q_floor=q_floor)
            return None

        in_range = (y_all >= p.valid_min) & (y_all <= p.valid_max)
        t, y = t_all[in_range], y_all[in_range]

        events, partial = _detect_emptyings(t, y, reports, p)
        n = t.shape[0]
        edges = [0, *sorted({e.split for e in events if 0 < e.split < n}), n]
        bounds = [(a, b) for a, b in itertools.pairwise(edges) if b > a] or [(0, 0)]
        if n and events and events[-1].split >= n:
            bounds.append((n, n))  # emptied after the last reading: the current cycle has no reading yet
        cycle_of = np.zeros(n, dtype=np.int64)
        for c, (a, b) in enumerate(bounds):
            cycle_of[a:b] = c
        self._prepared = _Prepared(
            known, reports, q_floor, t_all, y_all, in_range, t, y, events, partial, bounds, cycle_of
        )
        fit = _profile_fit(t, y, cycle_of, self.start_s, self.now_s, p) if n >= 8 else None
        return fit if fit is not None else WeekProfile.flat(p.timezone)

    def finish(self, profile: WeekProfile | None) -> None:
        """The rest of the analysis, given the weekday profile (None after no reading)."""
        if profile is None:
            return
        p = self.p
        pr = self._prepared
        if pr is None:
            raise RuntimeError("prepare() must run before finish()")
        self._prepared = None
        known, reports, q_floor, t_all, y_all = pr.known, pr.reports, pr.q_floor, pr.t_all, pr.y_all
        in_range, t, y, events, partial, bounds, cycle_of = (
            pr.in_range,
            pr.t,
            pr.y,
            pr.events,
            pr.partial,
            pr.bounds,
            pr.cycle_of,
        )
        last_reading_s = float(t_all[-1])
        emptyings = tuple(Emptying(e.at_s, e.source, e.drop) for e in events)
        grid = profile.grid(min(self.start_s, float(t_all[0])), self.now_s)
        mult = profile.array()
        x = grid.effective_hours(t, mult) if t.shape[0] else np.zeros(0)
        eff_now = float(grid.effective_hours(np.array([self.now_s]), mult)[0])

        # ---- per-cycle robust lines -------------------------------------------------------------
        # the lines through all of a cycle's readings only serve the recent-noise health check
        recent_from = self.now_s - p.health_window_h * HOUR_S
        fits: list[_CycleFit] = []
        resid = np.full(t.shape[0], np.nan)
        lines: dict[int, tuple[float, float]] = {}
        for a, b in bounds:
            fit = _CycleFit(a, b, inlier=np.ones(b - a, dtype=bool))
            if b - a >= 2 and x[b - 1] - x[a] > 0 and t[b - 1] >= recent_from:
                slope, icpt = theil_sen(x[a:b], y[a:b])
                resid[a:b] = y[a:b] - (icpt + slope * x[a:b])
                lines[a] = (slope, icpt)
            fits.append(fit)
        neighbour_resid = _neighbour_residuals(y, cycle_of)
        outlier = _outliers(neighbour_resid, p)
        for fit in fits:
            a, b = fit.start, fit.stop
            fit.level_ok = ~outlier[a:b]
            # a full container saturates the sensor: readings from then on say nothing about the rate
            full = np.flatnonzero(fit.level_ok & (y[a:b] >= p.saturation_level))
            fit.inlier = fit.level_ok.copy()
            if full.shape[0]:
                fit.inlier[int(full[0]) + 1 :] = False
            xi = x[a:b][fit.inlier]
            fit.n_inliers = int(xi.shape[0])
            if fit.n_inliers >= 2 and xi[-1] - xi[0] > 0:
                whole = fit.n_inliers == b - a and a in lines  # the line through all was drawn above
                fit.slope, fit.intercept = lines[a] if whole else theil_sen(xi, y[a:b][fit.inlier])
                fit.span_eff_h = float(xi[-1] - xi[0])
                fit.sxx = float(np.sum((xi - xi.mean()) ** 2))
            else:
                fit.slope = None

        noise_sd, q = self._noise_and_process(t, y, x, fits, q_floor)

        # ---- prior from earlier cycles ----------------------------------------------------------
        prior = self._prior_from_history(t, fits[:-1], noise_sd, q)

        cur = fits[-1]
        cur_idx = np.arange(cur.start, cur.stop)[cur.level_ok]
        cycle_rate: tuple[float, float] | None = None
        if (
            cur.slope is not None
            and cur.n_inliers >= p.min_cycle_readings
            and (t[cur_idx[-1]] - t[cur_idx[0]]) / HOUR_S >= p.min_cycle_span_h
        ):
            se2 = (1.1 * noise_sd) ** 2 / max(cur.sxx, 1e-9) + 1.2 * q / max(cur.span_eff_h, 1e-9)
            cycle_rate = (cur.slope, math.sqrt(se2))

        # ---- health (but stuck, which compares with similar containers) ---------------------------
        self._check_stale(last_reading_s)
        implausible = self._implausible_reasons(
            t_all, in_range, t, outlier, resid, cycle_of, q, noise_sd, cycle_rate, cur, partial, events, y
        )
        self.a = _Analysed(
            known=known,
            reports=reports,
            q_floor=q_floor,
            t_all=t_all,
            y_all=y_all,
            t=t,
            y=y,
            x=x,
            grid=grid,
            eff_now=eff_now,
            profile=profile,
            events=events,
            emptyings=emptyings,
            last_reading_s=last_reading_s,
            noise_sd=noise_sd,
            q=q,
            prior=prior,
            cur=cur,
            cur_idx=cur_idx,
            cycle_rate=cycle_rate,
            implausible=implausible,
        )

    def conclude(self, similar: float | None) -> FillEstimate:
        """The estimate given the rate of similar containers (the analysis is left as it was)."""
        if self.a is None:
            raise RuntimeError("analyse() must run before conclude()")
        c = copy.copy(self)
        c.similar = similar
        c.notes = list(self.notes)
        c.flags = set(self.flags)
        return c._conclude(self.a)

    def _conclude(self, a: _Analysed) -> FillEstimate:
        p = self.p
        q = a.q
        if a.t_all is None:
            return self._no_data(a)
        assert a.t is not None and a.y is not None and a.x is not None and a.y_all is not None
        assert a.grid is not None and a.cur is not None and a.cur_idx is not None
        t, y, x, events, cur, cur_idx, grid = a.t, a.y, a.x, a.events, a.cur, a.cur_idx, a.grid
        mult = a.profile.array()

        def eff(times: FloatArray) -> FloatArray:
            return grid.effective_hours(times, mult)

        prior = a.prior
        last_emptied = events[-1].at_s if events else None
        if prior is None and self.similar is not None:
            prior_rate_sd: tuple[float, float] | None = (self.similar, p.fallback_rate_rel_sd * self.similar)
            prior_source = RateSource.SIMILAR
        elif prior is None and p.default_rate_per_h is not None:
            prior_rate_sd = (p.default_rate_per_h, p.fallback_rate_rel_sd * p.default_rate_per_h)
            prior_source = RateSource.DEFAULT
        else:
            prior_rate_sd = prior
            prior_source = RateSource.HISTORY

        stuck_start = self._check_stuck(a.t_all, a.y_all, prior)
        if a.implausible:
            self.flags.add(HealthFlag.IMPLAUSIBLE)
            self.notes.append("implausible: " + "; ".join(a.implausible))

        cycle_rate = a.cycle_rate
        if self.flags:
            if self.flags == {HealthFlag.STALE} and cycle_rate is not None:
                # readings were fine until they stopped: the last cycle's own rate is the freshest
                prior = (max(cycle_rate[0], 0.0), cycle_rate[1])
            return self._fallback(
                t,
                y,
                x,
                cur_idx,
                eff,
                a.eff_now,
                a.noise_sd,
                q,
                prior,
                a.profile,
                stuck_start,
                last_emptied,
                a.last_reading_s,
                a.emptyings,
                events,
            )

        # ---- healthy: combine the current cycle with the prior -----------------------------------
        if cycle_rate is not None and prior_rate_sd is not None:
            (rc, sc), (rp, sp) = cycle_rate, prior_rate_sd
            wc, wp = 1.0 / max(sc, 1e-12) ** 2, 1.0 / max(sp, 1e-12) ** 2
            rate = (rc * wc + rp * wp) / (wc + wp)
            rate_sd = math.sqrt(1.0 / (wc + wp))
            source = RateSource.SENSOR
        elif cycle_rate is not None:
            rate, rate_sd = cycle_rate
            source = RateSource.SENSOR
        elif prior_rate_sd is not None:
            rate, rate_sd = prior_rate_sd
            source = prior_source
            self.notes.append("too few readings since the last emptying; using the usual rate")
        elif cur.slope is not None:
            rate, rate_sd = cur.slope, max(abs(cur.slope), 1e-3)
            source = RateSource.SENSOR
            self.notes.append("rate from very few readings")
        else:
            rate, rate_sd = 0.0, 0.0
            source = RateSource.NONE
            self.notes.append("no rate known yet")
        rate = max(rate, 0.0)
        rate_sd = max(rate_sd, p.min_rate_rel_sd * rate)

        noise_sd, eff_now = a.noise_sd, a.eff_now
        if cur_idx.shape[0]:
            if events and events[-1].split == cur.start:
                start = (p.residual_fill, 0.05**2, float(eff(np.array([events[-1].at_s]))[0]))
            else:
                start = (float(y[cur_idx[0]]), 1.0, float(x[cur_idx[0]]))
            level_last, var_last = _filter_level(
                x[cur_idx], y[cur_idx], rate, q, noise_sd**2, start, p.saturation_level
            )
            lag = max(eff_now - float(x[cur_idx[-1]]), 0.0)
            level = level_last + rate * lag
            fill_sd = math.sqrt(var_last + (rate_sd * lag) ** 2 + q * lag)
        else:
            began = events[-1].at_s if events else float(t[0]) if t.shape[0] else self.now_s
            lag = max(eff_now - float(eff(np.array([began]))[0]), 0.0)
            level = p.residual_fill + rate * lag
            fill_sd = math.sqrt(0.03**2 + (rate_sd * lag) ** 2 + q * lag)
        if events:
            self.notes.append(f"last emptied {_when(events[-1].at_s, p.timezone)} ({events[-1].source})")
        return self._estimate(
            fill_now=level,
            fill_sd=fill_sd,
            rate=rate,
            rate_sd=rate_sd,
            q=q,
            profile=a.profile,
            source=source,
            last_emptied=last_emptied,
            last_reading=a.last_reading_s,
            noise_sd=noise_sd,
            emptyings=a.emptyings,
        )

    def _no_data(self, a: _Analysed) -> FillEstimate:
        """No reading in the history window: the fallback rate from the last reported emptying."""
        p, known, reports, q_floor = self.p, a.known, a.reports, a.q_floor
        flat = WeekProfile.flat(p.timezone)
        last_report = float(reports[-1]) if reports.shape[0] else None
        self.flags.add(HealthFlag.NO_DATA)
        if len(known):
            self.flags.add(HealthFlag.STALE)
            self.notes.append(f"no reading since {_when(float(known.times_s[-1]), p.timezone)}")
        else:
            self.notes.append("no readings")
        rate, rate_sd, source = self._fallback_rate(None)
        if last_report is not None:
            dt = flat.effective_hours_between(last_report, self.now_s)
            fill, sd = (
                p.residual_fill + rate * dt,
                math.sqrt(0.03**2 + (rate_sd * dt) ** 2 + q_floor * dt),
            )
            self.notes.append(f"emptied {_when(last_report, p.timezone)} by driver report")
        else:
            fill, sd = 0.5, 0.3
            self.notes.append("level unknown")
        last_read = float(known.times_s[-1]) if len(known) else None
        return self._estimate(
            fill_now=fill,
            fill_sd=sd,
            rate=rate,
            rate_sd=rate_sd,
            q=q_floor,
            profile=flat,
            source=source,
            last_emptied=last_report,
            last_reading=last_read,
            noise_sd=0.0,
            emptyings=tuple(Emptying(float(r), EmptyingSource.REPORT) for r in reports),
        )

    # ---- pieces --------------------------------------------------------------------------------

    def _noise_and_process(
        self, t: FloatArray, y: FloatArray, x: FloatArray, fits: list[_CycleFit], q_floor: float
    ) -> tuple[float, float]:
        """Measurement noise sd and unpredictable growth variance per hour, from residual differences.

        Differences of residuals over short lags hold twice the noise variance; over about a day
        they add the growth variance times the lag.
        """
        short_d: list[float] = []
        short_h: list[float] = []
        long_d: list[float] = []
        long_h: list[float] = []
        for fit in fits:
            if fit.slope is None or fit.n_inliers < 3:
                continue
            idx = np.arange(fit.start, fit.stop)[fit.inlier]
            r = y[idx] - (fit.intercept + fit.slope * x[idx])
            xi = x[idx]
            short_d.extend((r[1:] - r[:-1]).tolist())
            short_h.extend((xi[1:] - xi[:-1]).tolist())
            j = np.searchsorted(xi, xi + 24.0)
            ok = j < xi.shape[0]
            if np.any(ok):
                ii = np.flatnonzero(ok)
                long_d.extend((r[j[ok]] - r[ii]).tolist())
                long_h.extend((xi[j[ok]] - xi[ii]).tolist())
        if len(short_d) < 3:
            return max(self.p.noise_floor_sd, 0.02), q_floor
        var_s = _mad_sd(np.array(short_d)) ** 2
        h_s = _median(np.asarray(short_h))
        q = q_floor
        if len(long_d) >= 5:
            var_l = _mad_sd(np.array(long_d)) ** 2
            h_l = _median(np.asarray(long_h))
            if h_l > h_s:
                q = max((var_l - var_s) / (h_l - h_s), q_floor)
        noise_var = max((var_s - q * h_s) / 2.0, self.p.noise_floor_sd**2)
        return math.sqrt(noise_var), q

    def _prior_from_history(
        self, t: FloatArray, fits: list[_CycleFit], noise_sd: float, q: float
    ) -> tuple[float, float] | None:
        p = self.p
        rates: list[float] = []
        weights: list[float] = []
        for fit in fits:
            if (
                fit.slope is None
                or fit.n_inliers < p.min_cycle_readings
                or fit.span_eff_h < max(p.min_cycle_span_h, 12.0)
            ):
                continue
            age_days = (self.now_s - float(t[fit.stop - 1])) / DAY_S
            recency = 0.5 ** (age_days / p.rate_half_life_days)
            rates.append(max(fit.slope, 0.0))
            weights.append(fit.span_eff_h * recency)
        if not rates:
            return None
        r, w = np.array(rates), np.array(weights)
        rate = _weighted_median(r, w) if r.shape[0] >= 3 else float(np.average(r, weights=w))
        spread = math.sqrt(float(np.average((r - rate) ** 2, weights=w))) if r.shape[0] >= 2 else 0.0
        sd = max(spread, p.prior_rate_rel_sd * rate, 1e-4)
        return rate, sd

    def _check_stale(self, last_reading_s: float) -> None:
        age_h = (self.now_s - last_reading_s) / HOUR_S
        if age_h > self.p.stale_after_h:
            self.flags.add(HealthFlag.STALE)
            self.notes.append(
                f"stale: no reading for {age_h:.0f} h (since {_when(last_reading_s, self.p.timezone)})"
            )

    def _check_stuck(
        self, t_all: FloatArray, y_all: FloatArray, prior: tuple[float, float] | None
    ) -> float | None:
        p = self.p
        n = t_all.shape[0]
        if n < p.stuck_min_readings:
            return None
        if y_all[-1] >= p.stuck_max_level:
            return None  # a full container saturates the sensor: constant readings are expected
        same = np.abs(y_all - y_all[-1]) <= p.stuck_tolerance
        k = n - 1
        while k > 0 and same[k - 1]:
            k -= 1
        count = n - k
        run_h = (float(t_all[-1]) - float(t_all[k])) / HOUR_S
        if count < p.stuck_min_readings or run_h < p.stuck_after_h:
            return None
        ref = self.similar if self.similar is not None else prior[0] if prior is not None else None
        if ref is not None and ref * run_h < p.stuck_min_rise:
            return None
        self.flags.add(HealthFlag.STUCK)
        self.notes.append(
            f"stuck: {count} readings of exactly {_pct(float(y_all[-1]))} over {run_h:.0f} h"
            + (f" while similar containers gain {_rate_text(ref)}" if ref is not None else "")
        )
        return float(t_all[k])

    def _implausible_reasons(
        self,
        t_all: FloatArray,
        in_range: NDArray[np.bool_],
        t: FloatArray,
        outlier: NDArray[np.bool_],
        line_resid: FloatArray,
        cycle_of: IntArray,
        q: float,
        noise_sd: float,
        cycle_rate: tuple[float, float] | None,
        cur: _CycleFit,
        partial: list[tuple[int, float]],
        events: list[_Event],
        y: FloatArray,
    ) -> list[str]:
        """Why the readings are implausible (empty when they are not)."""
        p = self.p
        reasons: list[str] = []
        recent_all = t_all >= self.now_s - p.health_window_h * HOUR_S
        n_recent = int(recent_all.sum())
        if n_recent >= 4:
            bad = int((~in_range[recent_all]).sum())
            if bad > p.out_of_range_share * n_recent:
                reasons.append(f"{bad} of {n_recent} recent readings out of range")
        recent = t >= self.now_s - p.health_window_h * HOUR_S
        n_rec = int(recent.sum())
        if n_rec >= 5:
            jumps = int(outlier[recent].sum())
            if jumps >= p.outlier_min_count and jumps > p.outlier_share * n_rec:
                reasons.append(f"{jumps} of {n_rec} recent readings jump away from the trend")
        # noise of the recent readings alone (a sensor that just broke is diluted in the pooled one):
        # differences of consecutive residuals from each cycle's line hold twice the noise variance
        # plus the unpredictable growth over the gap
        same_cycle = np.diff(cycle_of) == 0
        pair = (
            recent[1:] & recent[:-1] & same_cycle & np.isfinite(line_resid[1:]) & np.isfinite(line_resid[:-1])
        )
        recent_sd = 0.0
        if int(pair.sum()) >= 5:
            diffs = np.diff(line_resid)[pair]
            gaps_h = np.diff(t)[pair] / HOUR_S
            recent_var = (_mad_sd(diffs) ** 2 - q * float(np.median(gaps_h))) / 2.0
            recent_sd = math.sqrt(max(recent_var, 0.0))
        window_start = self.now_s - p.health_window_h * HOUR_S
        unreported = sum(1 for e in events if e.source is EmptyingSource.DROP and e.at_s >= window_start)
        if unreported > max(2.0, p.health_window_h / 24.0):
            reasons.append(
                f"{unreported} drops like emptyings in {p.health_window_h:.0f} h that no driver reported"
            )
        if max(noise_sd, recent_sd) > p.max_noise_sd:
            reasons.append(f"readings scatter by ±{_pct(max(noise_sd, recent_sd))}")
        if cycle_rate is not None:
            rc, sc = cycle_rate
            if rc < -2.0 * sc and rc * cur.span_eff_h <= -p.partial_drop:
                reasons.append(f"fill falls by {_rate_text(-rc)} without an emptying")
        for i, fall in partial:
            if i + 1 > cur.start:
                when = _when(float(t[i + 1]), p.timezone)
                reasons.append(f"fill fell by {_pct(fall)} at {when} without an emptying")
        if events and events[-1].source is EmptyingSource.REPORT:
            e = events[-1]
            before = y[max(0, e.split - p.confirm_readings) : e.split]
            after = y[e.split : e.split + p.confirm_readings]
            if before.shape[0] and after.shape[0] >= min(2, p.confirm_readings):
                pre, post = float(np.median(before)), float(np.median(after))
                if post >= 0.3 and post > pre - p.partial_drop:
                    reasons.append(
                        f"a driver reported an emptying at {_when(e.at_s, p.timezone)} but the sensor "
                        f"still reads {_pct(post)}"
                    )
        return reasons

    def _fallback(
        self,
        t: FloatArray,
        y: FloatArray,
        x: FloatArray,
        cur_idx: IntArray,
        eff: Callable[[FloatArray], FloatArray],
        eff_now: float,
        noise_sd: float,
        q: float,
        prior: tuple[float, float] | None,
        profile: WeekProfile,
        stuck_start: float | None,
        last_emptied: float | None,
        last_reading_s: float,
        emptyings: tuple[Emptying, ...],
        events: list[_Event],
    ) -> FillEstimate:
        p = self.p
        rate, rate_sd, source = self._fallback_rate(prior)
        sd0 = max(noise_sd, 0.03)
        if stuck_start is not None:
            stuck_idx = int(np.searchsorted(t, stuck_start, side="left"))
            anchor_t = stuck_start
            anchor_level = float(np.clip(y[min(stuck_idx, y.shape[0] - 1)], 0.0, 1.0)) if y.shape[0] else 0.5
            sd0 = max(sd0, 0.05)
        elif cur_idx.shape[0]:
            last = cur_idx[-_FALLBACK_LEVEL_READINGS:]
            anchor_t = float(np.median(t[last]))
            anchor_level = float(np.clip(np.median(y[last]), 0.0, 1.0))
            if HealthFlag.IMPLAUSIBLE in self.flags:
                sd0 = max(sd0, 0.1)
        elif events:
            anchor_t, anchor_level = events[-1].at_s, p.residual_fill
        else:
            anchor_t, anchor_level, sd0 = self.now_s, 0.5, 0.3
        if last_emptied is not None and last_emptied > anchor_t:
            anchor_t, anchor_level, sd0 = last_emptied, p.residual_fill, 0.03
        dt = max(eff_now - float(eff(np.array([anchor_t]))[0]), 0.0)
        fill = anchor_level + rate * dt
        fill_sd = math.sqrt(sd0**2 + (rate_sd * dt) ** 2 + q * dt)
        self.notes.append(f"level {_pct(anchor_level)} at {_when(anchor_t, p.timezone)} carried forward")
        return self._estimate(
            fill_now=fill,
            fill_sd=fill_sd,
            rate=rate,
            rate_sd=rate_sd,
            q=q,
            profile=profile,
            source=source,
            last_emptied=last_emptied,
            last_reading=last_reading_s,
            noise_sd=noise_sd,
            emptyings=emptyings,
        )


# --------------------------------------------------------------------------------------------------
# many containers


def similar_rates(
    estimates: Iterable[FillEstimate], *, min_containers: int = 3
) -> dict[tuple[str, str], float]:
    """Median weekly-mean rate per (fraction, container type) over healthy sensor-based estimates.

    Groups with fewer than ``min_containers`` healthy containers are left out.
    """
    if min_containers < 1:
        raise ValueError(f"min_containers must be at least 1, got {min_containers}")
    groups: dict[tuple[str, str], list[float]] = {}
    for e in estimates:
        if e.healthy and e.rate_source is RateSource.SENSOR:
            groups.setdefault((e.fraction, e.container_type), []).append(e.rate_per_h)
    return {k: float(np.median(v)) for k, v in groups.items() if len(v) >= min_containers}
