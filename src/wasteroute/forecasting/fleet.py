"""The one forecast of a fleet of containers: used by the plan job, the dispatcher's map and the
simulator alike (pure numpy, no I/O).

:func:`forecast_fleet` takes every container's readings and reported emptyings (a
:class:`~wasteroute.forecasting.series.ReadingSeries` per key) and ``now``, and returns per container
its :class:`~wasteroute.forecasting.estimators.FillEstimate` and, per horizon, the expected fill, its
95 % band and the probability of overflowing. Containers are grouped by (fraction, container type):

1. Every container is analysed once (emptyings, weekday profile, cycle lines, noise, health; the
   weekday profiles of the whole group fitted side by side) and concluded on its own; the median
   rate of the group's healthy sensors is the rate of similar containers (groups with fewer than
   ``min_similar`` healthy sensors have none).
2. Every container of a group with a median is concluded again with it: flagged sensors fall back
   to it, containers without earlier cycles start from it.
3. The forecasts are calibrated on the group's own recent errors, horizon by horizon: for up to
   ``max_backtest`` healthy containers the forecast made 72 hours (plus 0 to 4 days, container by
   container) before ``now`` is replayed from the readings and reports known then, and compared with
   the readings nearest to 3, 6, 12, 24, 48 and 72 hours after it (``ANCHOR_HORIZONS_H``); where the
   container was emptied in between, with the fill it would have had without the emptying (the waste
   received, read stretch by stretch), since leaving those out would hide the containers that filled
   faster than forecast. The errors of the true fill (the readings' noise taken out; a saturated
   reading only a lower bound) enter the group's
   :class:`~wasteroute.forecasting.calibration.Calibration`: per anchor horizon an empirical
   distribution with exponential tails and a normal prior, interpolated between anchors.
   Probabilities and bands follow it instead of a normal distribution.

A container's result depends only on its own group, so asking for a few containers (``only``) gives
exactly what the whole fleet gives them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.calibration import ANCHOR_HORIZONS_H, Calibration, truth_errors
from wasteroute.forecasting.estimators import (
    FillEstimate,
    RateSource,
    analyse_fills,
    similar_rates,
)
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import DAY_S, HOUR_S, to_epoch_s
from wasteroute.forecasting.series import ReadingSeries

K = TypeVar("K", bound=Hashable)
FloatArray = NDArray[np.float64]

HISTORY_DAYS = 28
"""Days of readings before ``now`` that the plan job and the map load for a forecast."""
HORIZONS_H = (24.0, 48.0, 72.0)
"""Default forecast horizons (hours after ``now``)."""
OVERFLOW_LEVEL = 1.0
"""Fill at which a container overflows."""
BAND_COVERAGE = 0.95
REPLAY_DAYS = 5
"""Replays start the longest anchor horizon plus 0 to 4 whole days before ``now`` (container by
container), so the errors span several days of the week and not one day's luck, and a replay still
has the three weeks of history a weekday profile needs within the plan job's 28 days."""


@dataclass(frozen=True)
class HorizonForecast:
    """The fill ``horizon_h`` hours after ``now`` if nobody empties the container before."""

    horizon_h: float
    fill: float
    """Expected fill (may exceed 1: overflowing)."""
    fill_sd: float
    """The model's standard deviation (the band and probability use the calibrated distribution)."""
    low: float
    high: float
    """Band holding the truth with ``BAND_COVERAGE`` (95 %)."""
    overflow_probability: float
    """Probability that the fill is at least ``OVERFLOW_LEVEL`` by then."""


@dataclass(frozen=True)
class BinForecast:
    """One container's estimate and its forecasts per horizon."""

    estimate: FillEstimate
    horizons: tuple[HorizonForecast, ...]

    def horizon(self, hours: float) -> HorizonForecast:
        for h in self.horizons:
            if h.horizon_h == hours:
                return h
        raise KeyError(f"no forecast for {hours} h; horizons are {[h.horizon_h for h in self.horizons]}")


def _group(s: ReadingSeries) -> tuple[str, str]:
    return (s.fraction, s.container_type)


def _healthy_sensor(e: FillEstimate) -> bool:
    return e.healthy and e.rate_source is RateSource.SENSOR


@dataclass(frozen=True)
class ReplayedError:
    """A past forecast checked against a later reading: the anchor horizon it counts for, the
    forecast's mean and model sd at the reading, the reading and the sensor's noise sd."""

    anchor_h: float
    predicted: float
    predicted_sd: float
    observed: float
    noise_sd: float
    censored: bool = False
    """The reading was at or above saturation: the fill was at least that (the sensor cannot see
    above full)."""


@dataclass(frozen=True)
class _Target:
    """One reading a replay is scored against: its anchor, its index, the fill the container would
    have had there without the emptyings in between (the reading itself when there were none), how
    many readings that sum takes (their noise adds up) and whether it is only a lower bound."""

    anchor_h: float
    index: int
    observed: float
    readings: int
    censored: bool


@dataclass(frozen=True)
class _Replay:
    """A replay to run: from ``origin``, scored against ``targets``."""

    series: ReadingSeries
    known: ReadingSeries
    origin: float
    targets: tuple[_Target, ...]
    noise_sd: float
    emptied: FloatArray


def _undisturbed_fill(
    t: FloatArray,
    y: FloatArray,
    usable: NDArray[np.bool_],
    origin: float,
    i: int,
    found: FloatArray,
    reports: FloatArray,
    params: ForecastParams,
    gap_fill: Callable[[float, float], float],
) -> tuple[float, int, bool] | None:
    """The fill reading ``i`` would have shown had the container not been emptied after ``origin``,
    how many readings that takes and whether it is only a lower bound (a level it adds was read at
    saturation); None when a stretch lacks the readings it needs.

    Fill only grows between emptyings, so the waste received is the rise within each stretch
    between them: the level read last before the first emptying, plus for every later stretch its
    last reading less its first. No reading sees the waste that came between the last reading before
    an emptying and the first after it; ``gap_fill(start_s, end_s)`` (the container's usual rate over
    those hours) stands for it. Leaving these readings out instead would drop exactly the containers
    that filled faster than forecast, since those are the ones emptied early, and make overflows look
    rarer than they are.

    The stretches are cut at the emptyings the analysis found (``found``: one per emptying, a driver's
    report merged with the drop it explains); a report (``reports``) that no found emptying explains
    leaves the reading out, as does a stretch between two emptyings with fewer than two readings."""
    saturation_level = params.saturation_level
    cuts = found[(found > origin) & (found < t[i])]
    inside_reports = reports[(reports > origin) & (reports < t[i])]
    match_s = params.report_match_h * HOUR_S
    if any(not np.any(np.abs(found - r) <= match_s) for r in inside_reports.tolist()):
        return None
    if cuts.shape[0] == 0:
        return float(y[i]), 1, bool(y[i] >= saturation_level)
    bounds = [origin, *cuts.tolist(), float(t[i]) + 1.0]
    total, count, censored, previous_s = 0.0, 0, False, origin
    for k in range(len(bounds) - 1):
        inside = np.flatnonzero(usable & (t > bounds[k]) & (t < bounds[k + 1]))
        if k == len(bounds) - 2:
            inside = inside[inside <= i]
        if inside.shape[0] == 0 or (k == len(bounds) - 2 and inside[-1] != i):
            return None
        last = float(y[inside[-1]])
        censored = censored or last >= saturation_level
        if k == 0:
            total, count = last, 1
        else:
            if inside.shape[0] < 2 and inside[0] != i:
                return None
            total += gap_fill(previous_s, float(t[inside[0]])) + max(0.0, last - float(y[inside[0]]))
            count += 1 if inside[0] == inside[-1] else 2
        previous_s = float(t[inside[-1]])
    return total, count, censored


def _plan_replay(
    series: ReadingSeries,
    estimate: FillEstimate,
    *,
    params: ForecastParams,
    anchors_h: Sequence[float],
    days_back: int,
) -> _Replay | None:
    anchors = sorted(float(h) for h in anchors_h)
    if not anchors:
        return None
    known = series.until(estimate.now_s)
    t, y = known.times_s, known.fill_levels
    origin = estimate.now_s - anchors[-1] * HOUR_S - days_back * DAY_S
    if len(known) < 3 or t[0] >= origin:
        return None
    noise = max(estimate.noise_sd, params.noise_floor_sd)
    found = np.array([e.at_s for e in estimate.emptyings], dtype=np.float64)
    emptied = np.sort(np.concatenate([found, known.emptied_at_s]))
    n = t.shape[0]
    start = np.clip(np.arange(n) - 1, 0, max(0, n - 3))
    around = np.median(np.stack([y[np.minimum(start + k, n - 1)] for k in range(3)]), axis=0)
    in_range = (y >= params.valid_min) & (y <= params.valid_max)
    usable = in_range & (np.abs(y - around) <= params.outlier_k * noise)
    rate = estimate.rate_per_h

    def gap_fill(start_s: float, end_s: float) -> float:
        return rate * estimate.profile.effective_hours_between(start_s, end_s)

    targets: list[_Target] = []
    for h in anchors:
        want = origin + h * HOUR_S
        tol = max(1.0, 0.25 * h) * HOUR_S
        j = int(np.searchsorted(t, want))
        near = [i for i in (j - 1, j) if 0 <= i < n and t[i] > origin and abs(t[i] - want) <= tol]
        if not near:
            continue
        i = min(near, key=lambda k: abs(t[k] - want))
        if not usable[i]:
            continue
        undisturbed = _undisturbed_fill(t, y, usable, origin, i, found, known.emptied_at_s, params, gap_fill)
        if undisturbed is not None:
            targets.append(_Target(h, i, *undisturbed))
    if not targets:
        return None
    return _Replay(series, known, origin, tuple(targets), noise, emptied)


def _score_replay(replay: _Replay, past: FillEstimate) -> list[ReplayedError]:
    if not past.healthy:
        return []
    t, origin, emptied = replay.known.times_s, replay.origin, replay.emptied
    recent = emptied[(emptied > origin - 12.0 * HOUR_S) & (emptied <= origin)]
    seen = past.last_emptied_at_s if past.last_emptied_at_s is not None else -math.inf
    if recent.shape[0] and seen < float(recent[-1]) - 6.0 * HOUR_S:
        last = float(recent[-1])
        reports = replay.known.emptied_at_s
        shown = np.any((t > last) & (t <= origin)) or np.any(
            (reports > last - 6.0 * HOUR_S) & (reports <= origin)
        )
        if not shown:
            return []
    out = []
    for g in replay.targets:
        mean, sd = past.at(float(t[g.index]))
        noise = replay.noise_sd * math.sqrt(g.readings)
        out.append(ReplayedError(g.anchor_h, mean, sd, g.observed, noise, g.censored))
    return out


def replay_errors(
    series: ReadingSeries,
    estimate: FillEstimate,
    *,
    similar_rate_per_h: float | None,
    params: ForecastParams,
    anchors_h: Sequence[float] = ANCHOR_HORIZONS_H,
    days_back: int = 0,
) -> list[ReplayedError]:
    """The forecast made the longest anchor horizon (plus ``days_back`` whole days) before
    ``estimate.now``, replayed from the readings and reports known then, against the reading
    nearest to each anchor horizon after it.

    A reading counts for an anchor when it lies within a quarter of the horizon (at least an hour) of
    it, is in range and is no outlier against its neighbours; a reading at saturation is only a lower
    bound (the sensor cannot see above full). The forecast assumes no emptying, so when the container
    was emptied (found or reported) between the replay and the reading, the reading is compared as
    the fill it would have shown without the emptyings (:func:`_undisturbed_fill`). Nothing when the
    replayed estimate is flagged, or missed an emptying of the twelve hours before it that no reading
    or report had shown yet (``estimate`` saw it later): no forecast can know those, the benchmark
    scores them apart.
    """
    return replay_many(
        [(series, estimate, days_back)],
        similar_rate_per_h=similar_rate_per_h,
        params=params,
        anchors_h=anchors_h,
    )


def replay_many(
    items: Sequence[tuple[ReadingSeries, FillEstimate, int]],
    *,
    similar_rate_per_h: float | None,
    params: ForecastParams,
    anchors_h: Sequence[float] = ANCHOR_HORIZONS_H,
) -> list[ReplayedError]:
    """:func:`replay_errors` of many containers (series, today's estimate, days back), the past
    estimates analysed side by side."""
    plans = [
        r
        for s, e, d in items
        if (r := _plan_replay(s, e, params=params, anchors_h=anchors_h, days_back=d)) is not None
    ]
    analyses = analyse_fills([r.series for r in plans], now=[r.origin for r in plans], params=params)
    return [
        e
        for r, a in zip(plans, analyses, strict=True)
        for e in _score_replay(r, a.estimate(similar_rate_per_h))
    ]


def censored_sample(values: FloatArray, censored: NDArray[np.bool_]) -> FloatArray:
    """An equally weighted sample (same size) of the Kaplan-Meier distribution of ``values``, some
    of which are only lower bounds (``censored``): a bound's share goes to the values above it."""
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(censored, dtype=bool)
    n = v.shape[0]
    if n == 0 or not c.any():
        return np.sort(v)
    order = np.argsort(v, kind="stable")
    v, c = v[order], c[order]
    at_risk = n - np.arange(n)
    survival = np.cumprod(np.where(c, 1.0, 1.0 - 1.0 / at_risk))
    mass = np.concatenate([[1.0], survival[:-1]]) - survival
    mass[-1] += survival[-1]  # bounds above the last exact value stay where they are (at least that)
    keep = mass > 0
    cum = np.cumsum(mass[keep])
    probs = (np.arange(n) + 0.5) / n
    idx = np.minimum(np.searchsorted(cum, probs * cum[-1], side="left"), cum.shape[0] - 1)
    return np.asarray(v[keep][idx], dtype=np.float64)


def calibrate_group(
    errors: Sequence[ReplayedError], *, anchors_h: Sequence[float] = ANCHOR_HORIZONS_H
) -> Calibration:
    """The calibration of a group from its replayed errors: per anchor, the errors of the true fill
    (:func:`~wasteroute.forecasting.calibration.truth_errors`), saturated readings counting as lower
    bounds (:func:`censored_sample`)."""
    by_anchor: dict[float, list[ReplayedError]] = {float(h): [] for h in anchors_h}
    for e in errors:
        by_anchor.setdefault(e.anchor_h, []).append(e)
    out: dict[float, FloatArray] = {}
    for h, es in by_anchor.items():
        ok = [e for e in es if e.predicted_sd > 0]
        z = truth_errors(
            np.array([e.predicted for e in ok]),
            np.array([e.predicted_sd for e in ok]),
            np.array([e.observed for e in ok]),
            np.array([e.noise_sd for e in ok]),
        )
        out[h] = censored_sample(z, np.array([e.censored for e in ok], dtype=bool))
    return Calibration.from_horizons(out)


def _spread(keys: Sequence[K], n: int) -> list[K]:
    """``n`` keys evenly spread over ``keys`` (all when there are not more)."""
    if len(keys) <= n:
        return list(keys)
    idx = np.unique(np.linspace(0, len(keys) - 1, n).round().astype(np.int64))
    return [keys[int(i)] for i in idx]


def forecast_fleet(
    series: Mapping[K, ReadingSeries],
    *,
    now: datetime | float,
    params: ForecastParams | None = None,
    horizons_h: Sequence[float] = HORIZONS_H,
    only: Collection[K] | None = None,
    min_similar: int = 3,
    calibration_horizon_h: float | None = None,
    max_backtest: int = 60,
    calibrate: bool = True,
    calibration_horizons_h: Sequence[float] = ANCHOR_HORIZONS_H,
) -> dict[K, BinForecast]:
    """Estimate and forecast containers the same way wherever it is asked (see the module docs).

    ``series`` must hold every container of the groups asked for (peers and calibration come from
    them); ``only`` limits the result to those keys (default: all). ``calibrate=False`` keeps the
    normal model (for comparison). Up to ``max_backtest`` healthy containers per group are replayed
    for the calibration, at the anchor horizons ``calibration_horizons_h`` (a single
    ``calibration_horizon_h``, when given, replaces them). Keys are kept in the order of ``series``.
    """
    p = params if params is not None else ForecastParams()
    now_s = to_epoch_s(now)
    if min_similar < 1:
        raise ValueError(f"min_similar must be at least 1, got {min_similar}")
    anchors = (
        (float(calibration_horizon_h),)
        if calibration_horizon_h is not None
        else tuple(sorted({float(h) for h in calibration_horizons_h}))
    )
    if not anchors or any(not (math.isfinite(h) and h > 0) for h in anchors):
        raise ValueError(f"calibration horizons must be hours > 0, got {list(anchors)}")
    if max_backtest < 0:
        raise ValueError(f"max_backtest must be >= 0, got {max_backtest}")
    horizons = tuple(float(h) for h in horizons_h)
    if any(not (math.isfinite(h) and h >= 0) for h in horizons):
        raise ValueError(f"horizons_h must be finite hours >= 0, got {list(horizons_h)}")
    wanted = list(series) if only is None else [k for k in series if k in set(only)]
    missing = [k for k in (only or ()) if k not in series]
    if missing:
        raise KeyError(f"no readings series for {missing[:5]} (pass every container asked for)")
    groups = {_group(series[k]) for k in wanted}
    members: dict[tuple[str, str], list[K]] = {}
    for k, s in series.items():
        if _group(s) in groups:
            members.setdefault(_group(s), []).append(k)

    estimates: dict[K, FillEstimate] = {}
    calibrations: dict[tuple[str, str], Calibration] = {}
    for g, keys in members.items():
        # each container is analysed once; the peers' median rate only enters the conclusion
        analyses = dict(zip(keys, analyse_fills([series[k] for k in keys], now=now_s, params=p), strict=True))
        first = {k: a.estimate() for k, a in analyses.items()}
        similar = similar_rates(first.values(), min_containers=min_similar).get(g)
        final = first if similar is None else {k: a.estimate(similar) for k, a in analyses.items()}
        cal = Calibration()
        if calibrate:
            healthy = [k for k in keys if _healthy_sensor(final[k])]
            replayed = replay_many(
                [
                    (series[k], final[k], rank % REPLAY_DAYS)
                    for rank, k in enumerate(_spread(healthy, max_backtest))
                ],
                similar_rate_per_h=similar,
                params=p,
                anchors_h=anchors,
            )
            cal = calibrate_group(replayed, anchors_h=anchors)
        calibrations[g] = cal
        for k in keys:
            estimates[k] = dataclasses.replace(final[k], calibration=cal)

    return {k: bin_forecast(estimates[k], now_s, horizons) for k in wanted}


def bin_forecast(e: FillEstimate, now_s: float, horizons: Sequence[float]) -> BinForecast:
    """``e`` and its expected fill, band and overflow probability ``horizons`` hours after ``now_s``."""
    rows = []
    for h in horizons:
        at_s = now_s + h * HOUR_S
        mean, sd = e.at(at_s)
        low, high = e.band(at_s, BAND_COVERAGE)
        rows.append(
            HorizonForecast(
                horizon_h=h,
                fill=mean,
                fill_sd=sd,
                low=low,
                high=high,
                overflow_probability=e.probability_at_least(at_s, OVERFLOW_LEVEL),
            )
        )
    return BinForecast(estimate=e, horizons=tuple(rows))


def estimate_fleet(
    series: Mapping[str, ReadingSeries],
    *,
    now: datetime | float,
    params: ForecastParams | None = None,
    min_similar: int = 3,
) -> dict[str, FillEstimate]:
    """The estimates of :func:`forecast_fleet` alone (calibrated, no horizons)."""
    fleet = forecast_fleet(series, now=now, params=params, horizons_h=(), min_similar=min_similar)
    return {k: f.estimate for k, f in fleet.items()}
