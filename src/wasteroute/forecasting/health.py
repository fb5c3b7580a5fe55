"""Sensor health (pure numpy): whether a container's readings can be trusted for its forecast, and
why not in plain words for dispatchers (stale, stuck, implausible)."""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.emptyings import EmptyingSource, Event
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import HOUR_S, from_epoch_s, zone
from wasteroute.forecasting.robust import mad_sd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


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


def pct(x: float) -> str:
    """A fill as a whole percentage."""
    return f"{100.0 * x:.0f}%"


def rate_text(rate_per_h: float) -> str:
    """A fill rate (fill per hour) as percent per day."""
    return f"{100.0 * 24.0 * rate_per_h:.1f}%/day"


def when(t_s: float, tz: str) -> str:
    """Epoch seconds as a local weekday, date and time."""
    return from_epoch_s(t_s).astimezone(zone(tz)).strftime("%a %d.%m. %H:%M")


def stale_note(now_s: float, last_reading_s: float, params: ForecastParams) -> str | None:
    """Why the sensor is stale (no reading for longer than ``stale_after_h``), or None."""
    age_h = (now_s - last_reading_s) / HOUR_S
    if age_h > params.stale_after_h:
        return f"stale: no reading for {age_h:.0f} h (since {when(last_reading_s, params.timezone)})"
    return None


def stuck_since(
    t_all: FloatArray, y_all: FloatArray, reference_rate: float | None, params: ForecastParams
) -> tuple[float, str] | None:
    """When the sensor got stuck and why it is called stuck, or None.

    Stuck: at least ``stuck_min_readings`` identical readings over ``stuck_after_h`` at the end,
    below ``stuck_max_level`` (a full container saturates the sensor), while ``reference_rate`` (the
    rate of similar containers, else the sensor's own earlier rate) would have raised the fill by
    ``stuck_min_rise``.
    """
    p = params
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
    if reference_rate is not None and reference_rate * run_h < p.stuck_min_rise:
        return None
    note = f"stuck: {count} readings of exactly {pct(float(y_all[-1]))} over {run_h:.0f} h" + (
        f" while similar containers gain {rate_text(reference_rate)}" if reference_rate is not None else ""
    )
    return float(t_all[k]), note


def implausible_reasons(
    now_s: float,
    t_all: FloatArray,
    in_range: NDArray[np.bool_],
    t: FloatArray,
    outlier: NDArray[np.bool_],
    line_resid: FloatArray,
    cycle_of: IntArray,
    q: float,
    noise_sd: float,
    cycle_rate: tuple[float, float] | None,
    cycle_span_eff_h: float,
    cycle_start: int,
    partial: list[tuple[int, float]],
    events: list[Event],
    y: FloatArray,
    params: ForecastParams,
) -> list[str]:
    """Why the readings are implausible (empty when they are not).

    ``t_all`` and ``in_range`` are all readings of the window and which lie in the valid range;
    ``t``, ``y`` the readings in range, with their ``outlier`` flags, residuals from their cycle's
    line (``line_resid``, NaN where none was drawn) and cycle (``cycle_of``). ``q`` and ``noise_sd``
    are the growth variance per hour and the noise of the whole history; ``cycle_rate`` the current
    cycle's rate and its sd, over ``cycle_span_eff_h`` effective hours from reading ``cycle_start``.
    """
    p = params
    reasons: list[str] = []
    recent_all = t_all >= now_s - p.health_window_h * HOUR_S
    n_recent = int(recent_all.sum())
    if n_recent >= 4:
        bad = int((~in_range[recent_all]).sum())
        if bad > p.out_of_range_share * n_recent:
            reasons.append(f"{bad} of {n_recent} recent readings out of range")
    recent = t >= now_s - p.health_window_h * HOUR_S
    n_rec = int(recent.sum())
    if n_rec >= 5:
        jumps = int(outlier[recent].sum())
        if jumps >= p.outlier_min_count and jumps > p.outlier_share * n_rec:
            reasons.append(f"{jumps} of {n_rec} recent readings jump away from the trend")
    # noise of the recent readings alone (a sensor that just broke is diluted in the pooled one):
    # differences of consecutive residuals from each cycle's line hold twice the noise variance
    # plus the unpredictable growth over the gap
    same_cycle = np.diff(cycle_of) == 0
    pair = recent[1:] & recent[:-1] & same_cycle & np.isfinite(line_resid[1:]) & np.isfinite(line_resid[:-1])
    recent_sd = 0.0
    if int(pair.sum()) >= 5:
        diffs = np.diff(line_resid)[pair]
        gaps_h = np.diff(t)[pair] / HOUR_S
        recent_var = (mad_sd(diffs) ** 2 - q * float(np.median(gaps_h))) / 2.0
        recent_sd = math.sqrt(max(recent_var, 0.0))
    window_start = now_s - p.health_window_h * HOUR_S
    unreported = sum(1 for e in events if e.source is EmptyingSource.DROP and e.at_s >= window_start)
    if unreported > max(2.0, p.health_window_h / 24.0):
        reasons.append(
            f"{unreported} drops like emptyings in {p.health_window_h:.0f} h that no driver reported"
        )
    if max(noise_sd, recent_sd) > p.max_noise_sd:
        reasons.append(f"readings scatter by ±{pct(max(noise_sd, recent_sd))}")
    if cycle_rate is not None:
        rc, sc = cycle_rate
        if rc < -2.0 * sc and rc * cycle_span_eff_h <= -p.partial_drop:
            reasons.append(f"fill falls by {rate_text(-rc)} without an emptying")
    for i, fall in partial:
        if i + 1 > cycle_start:
            reasons.append(
                f"fill fell by {pct(fall)} at {when(float(t[i + 1]), p.timezone)} without an emptying"
            )
    if events and events[-1].source is EmptyingSource.REPORT:
        e = events[-1]
        before = y[max(0, e.split - p.confirm_readings) : e.split]
        after = y[e.split : e.split + p.confirm_readings]
        if before.shape[0] and after.shape[0] >= min(2, p.confirm_readings):
            pre, post = float(np.median(before)), float(np.median(after))
            if post >= 0.3 and post > pre - p.partial_drop:
                reasons.append(
                    f"a driver reported an emptying at {when(e.at_s, p.timezone)} but the sensor "
                    f"still reads {pct(post)}"
                )
    return reasons
