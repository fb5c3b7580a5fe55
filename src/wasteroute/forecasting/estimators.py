"""The estimate of one container: its fill now, its fill rate and the forecast that follows (pure
numpy, no I/O).

How :func:`estimate_fill` reads a container:

1. Readings outside the valid range are set aside (they only count for the health flags).
2. Emptyings are found from drops of the robust level and from driver reports
   (:mod:`~wasteroute.forecasting.emptyings`); they cut the history into fill cycles.
3. With enough history a weekday profile is fitted (:mod:`~wasteroute.forecasting.profile_fit`),
   otherwise the profile is flat.
4. Each cycle's rate is a weighted Theil-Sen slope of fill against profile-weighted hours
   (:mod:`~wasteroute.forecasting.robust`). Earlier cycles give a prior rate (recent ones weigh
   more); the current cycle's slope is combined with it by precision, so a freshly emptied container
   starts from its usual rate and moves to what it shows.
5. The current level is anchored on the latest readings, not on the last reading alone.
6. Health flags (stale, stuck, implausible, no data; :mod:`~wasteroute.forecasting.health`) switch
   the rate to the fallback: the median rate of similar containers given by the caller, else the
   sensor's own history, else a default.

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

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.calibration import NORMAL, Calibration
from wasteroute.forecasting.emptyings import Emptying, EmptyingSource, Event, detect_emptyings
from wasteroute.forecasting.health import (
    HealthFlag,
    implausible_reasons,
    pct,
    rate_text,
    stale_note,
    stuck_since,
    when,
)
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import DAY_S, HOUR_S, HourGrid, WeekProfile, from_epoch_s, to_epoch_s
from wasteroute.forecasting.profile_fit import ProfileFit, fit_profiles, profile_fit
from wasteroute.forecasting.robust import (
    mad_sd,
    median,
    neighbour_residuals,
    outliers,
    theil_sen,
    weighted_median,
)
from wasteroute.forecasting.series import ReadingSeries

__all__ = [
    "Emptying",
    "EmptyingSource",
    "FillAnalysis",
    "FillEstimate",
    "HealthFlag",
    "RateSource",
    "analyse_fill",
    "analyse_fills",
    "estimate_fill",
    "similar_rates",
    "theil_sen",
    "time_to_threshold",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_FALLBACK_LEVEL_READINGS = 6
"""A flagged sensor's level is the median of this many latest readings in range."""


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
# the level filter


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
    events: list[Event] = field(default_factory=list)
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
    events: list[Event]
    partial: list[tuple[int, float]]
    bounds: list[tuple[int, int]]
    cycle_of: IntArray


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
    profiles = fit_profiles([f if isinstance(f, ProfileFit) else None for f in fits], p)
    for e, f, prof in zip(estimators, fits, profiles, strict=True):
        e.finish(prof if isinstance(f, ProfileFit) else f)
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
        if prior is not None:
            self.notes.append(f"using the rate of this container's earlier cycles ({rate_text(prior[0])})")
            return prior[0], max(prior[1], p.fallback_rate_rel_sd * prior[0]), RateSource.HISTORY
        if self.similar is not None:
            self.notes.append(f"using the median rate of similar containers ({rate_text(self.similar)})")
            return self.similar, p.fallback_rate_rel_sd * self.similar, RateSource.SIMILAR
        if p.default_rate_per_h is not None:
            self.notes.append(f"using the default rate ({rate_text(p.default_rate_per_h)})")
            return p.default_rate_per_h, p.fallback_rate_rel_sd * p.default_rate_per_h, RateSource.DEFAULT
        self.notes.append("no rate known (no similar containers given)")
        return 0.0, 0.0, RateSource.NONE

    # ---- main ----------------------------------------------------------------------------------

    def prepare(self) -> WeekProfile | ProfileFit | None:
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

        events, partial = detect_emptyings(t, y, reports, p)
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
        fit = profile_fit(t, y, cycle_of, self.start_s, self.now_s, p) if n >= 8 else None
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
        neighbour_resid = neighbour_residuals(y, cycle_of)
        outlier = outliers(neighbour_resid, p)
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
        stale = stale_note(self.now_s, last_reading_s, p)
        if stale is not None:
            self.flags.add(HealthFlag.STALE)
            self.notes.append(stale)
        implausible = implausible_reasons(
            self.now_s,
            t_all,
            in_range,
            t,
            outlier,
            resid,
            cycle_of,
            q,
            noise_sd,
            cycle_rate,
            cur.span_eff_h,
            cur.start,
            partial,
            events,
            y,
            p,
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

        reference = self.similar if self.similar is not None else prior[0] if prior is not None else None
        stuck = stuck_since(a.t_all, a.y_all, reference, p)
        stuck_start = None
        if stuck is not None:
            stuck_start, note = stuck
            self.flags.add(HealthFlag.STUCK)
            self.notes.append(note)
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
            self.notes.append(f"last emptied {when(events[-1].at_s, p.timezone)} ({events[-1].source})")
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
            self.notes.append(f"no reading since {when(float(known.times_s[-1]), p.timezone)}")
        else:
            self.notes.append("no readings")
        rate, rate_sd, source = self._fallback_rate(None)
        if last_report is not None:
            dt = flat.effective_hours_between(last_report, self.now_s)
            fill, sd = (
                p.residual_fill + rate * dt,
                math.sqrt(0.03**2 + (rate_sd * dt) ** 2 + q_floor * dt),
            )
            self.notes.append(f"emptied {when(last_report, p.timezone)} by driver report")
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
        var_s = mad_sd(np.array(short_d)) ** 2
        h_s = median(np.asarray(short_h))
        q = q_floor
        if len(long_d) >= 5:
            var_l = mad_sd(np.array(long_d)) ** 2
            h_l = median(np.asarray(long_h))
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
        rate = weighted_median(r, w) if r.shape[0] >= 3 else float(np.average(r, weights=w))
        spread = math.sqrt(float(np.average((r - rate) ** 2, weights=w))) if r.shape[0] >= 2 else 0.0
        sd = max(spread, p.prior_rate_rel_sd * rate, 1e-4)
        return rate, sd

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
        events: list[Event],
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
        self.notes.append(f"level {pct(anchor_level)} at {when(anchor_t, p.timezone)} carried forward")
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
