"""Weekday profiles fitted from a container's readings (pure numpy): Huber regressions of fill on
the hours spent in each local weekday and each local hour of day since the cycle began, many
containers' regressions solved side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import DAY_S, HourGrid, WeekProfile
from wasteroute.forecasting.robust import MAD_TO_SD

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class HuberProblem:
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


def huber_rates(problems: Sequence[HuberProblem], params: ForecastParams) -> list[FloatArray]:
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


def _huber_batch(problems: Sequence[HuberProblem], params: ForecastParams) -> list[FloatArray]:
    """:func:`huber_rates` of problems of one width, as one batch."""
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
        scale = np.maximum(MAD_TO_SD * median(dev), params.noise_floor_sd)
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
class ProfileFit:
    """The regressions of a container's weekday profile (see :func:`profile_fit`)."""

    days: HuberProblem | None
    hours: HuberProblem | None
    span_days: float


def profile_fit(
    t: FloatArray,
    y: FloatArray,
    cycle_of: IntArray,
    start_s: float,
    end_s: float,
    params: ForecastParams,
) -> ProfileFit | None:
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
        days = HuberProblem(expo_d - expo_d[first[col]], yr, col, used.shape[0])
    if span_days >= params.hour_profile_min_days:
        hours = HuberProblem(expo_h - expo_h[first[col]], yr, col, used.shape[0], params.hour_smoothing)
    return ProfileFit(days, hours, float(span_days))


def profile_from_rates(
    fit: ProfileFit, day_rates: FloatArray | None, hour_rates: FloatArray | None, params: ForecastParams
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


def fit_profiles(fits: Sequence[ProfileFit | None], params: ForecastParams) -> list[WeekProfile]:
    """The weekday profiles of many containers, their regressions solved in batches."""
    problems: list[HuberProblem] = []
    for f in fits:
        if f is not None:
            problems.extend(pr for pr in (f.days, f.hours) if pr is not None)
    rates = iter(huber_rates(problems, params))
    out = []
    for f in fits:
        if f is None:
            out.append(WeekProfile.flat(params.timezone))
            continue
        day_rates = next(rates) if f.days is not None else None
        hour_rates = next(rates) if f.hours is not None else None
        out.append(profile_from_rates(f, day_rates, hour_rates, params))
    return out
