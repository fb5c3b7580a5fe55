"""The one forecast of a fleet of containers: used by the plan job, the dispatcher's map and the
simulator alike (pure numpy, no I/O).

:func:`forecast_fleet` takes every container's readings and reported emptyings (a
:class:`~wasteroute.forecasting.series.ReadingSeries` per key) and ``now``, and returns per container
its :class:`~wasteroute.forecasting.estimators.FillEstimate` and, per horizon, the expected fill, its
95 % band and the probability of overflowing. Containers are grouped by (fraction, container type):

1. Every container is estimated on its own; the median rate of the group's healthy sensors is the
   rate of similar containers (groups with fewer than ``min_similar`` healthy sensors have none).
2. Every container of a group with a median is estimated again with it: flagged sensors fall back to
   it, containers without earlier cycles start from it.
3. The forecasts are calibrated on the group's own recent errors: for up to ``max_backtest``
   healthy containers the estimate of ``calibration_horizon_h`` before their latest reading is
   replayed from the readings known then, and its error against that reading, in units of its
   standard deviation (reading noise included), enters the group's
   :class:`~wasteroute.forecasting.calibration.Calibration`. Probabilities and bands follow that
   empirical error distribution instead of a normal one.

A container's result depends only on its own group, so asking for a few containers (``only``) gives
exactly what the whole fleet gives them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np

from wasteroute.forecasting.calibration import Calibration, standardized_errors
from wasteroute.forecasting.estimators import (
    FillEstimate,
    RateSource,
    analyse_fill,
    estimate_fill,
    similar_rates,
)
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import HOUR_S, to_epoch_s
from wasteroute.forecasting.series import ReadingSeries

K = TypeVar("K", bound=Hashable)

HISTORY_DAYS = 28
"""Days of readings before ``now`` that the plan job and the map load for a forecast."""
HORIZONS_H = (24.0, 48.0, 72.0)
"""Default forecast horizons (hours after ``now``)."""
OVERFLOW_LEVEL = 1.0
"""Fill at which a container overflows."""
BAND_COVERAGE = 0.95


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


def backtest_error(
    series: ReadingSeries,
    estimate: FillEstimate,
    *,
    horizon_h: float,
    similar_rate_per_h: float | None,
    params: ForecastParams,
) -> float | None:
    """Standardized error of the forecast made ``horizon_h`` before the latest reading, or None.

    None when the latest reading is older than half the horizon, is an outlier against its two
    predecessors, is out of range or saturated (the sensor cannot see above full), when the container
    was emptied in between (the forecast assumes it is not), or when the replayed estimate is flagged.
    """
    known = series.until(estimate.now_s)
    if len(known) < 3:
        return None
    t_last = float(known.times_s[-1])
    if estimate.now_s - t_last > 0.5 * horizon_h * HOUR_S:
        return None
    origin = t_last - horizon_h * HOUR_S
    if known.times_s[0] >= origin:
        return None
    if any(e.at_s > origin for e in estimate.emptyings) or np.any(known.emptied_at_s > origin):
        return None
    y = float(known.fill_levels[-1])
    if not params.valid_min <= y < params.saturation_level:
        return None
    noise = max(estimate.noise_sd, params.noise_floor_sd)
    recent = known.fill_levels[-3:]
    if abs(y - float(np.median(recent))) > params.outlier_k * noise:
        return None
    past = estimate_fill(series, now=origin, similar_rate_per_h=similar_rate_per_h, params=params)
    if not past.healthy:
        return None
    mean, sd = past.at(t_last)
    z = standardized_errors(np.array([mean]), np.array([sd]), np.array([y]), np.array([noise]))
    return float(z[0]) if z.shape[0] else None


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
    calibration_horizon_h: float = 24.0,
    max_backtest: int = 200,
    calibrate: bool = True,
) -> dict[K, BinForecast]:
    """Estimate and forecast containers the same way wherever it is asked (see the module docs).

    ``series`` must hold every container of the groups asked for (peers and calibration come from
    them); ``only`` limits the result to those keys (default: all). ``calibrate=False`` keeps the
    normal model (for comparison). Keys are kept in the order of ``series``.
    """
    p = params if params is not None else ForecastParams()
    now_s = to_epoch_s(now)
    if min_similar < 1:
        raise ValueError(f"min_similar must be at least 1, got {min_similar}")
    if not calibration_horizon_h > 0:
        raise ValueError(f"calibration_horizon_h must be > 0, got {calibration_horizon_h}")
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
        analyses = {k: analyse_fill(series[k], now=now_s, params=p) for k in keys}
        first = {k: a.estimate() for k, a in analyses.items()}
        similar = similar_rates(first.values(), min_containers=min_similar).get(g)
        final = first if similar is None else {k: a.estimate(similar) for k, a in analyses.items()}
        cal = Calibration()
        if calibrate:
            healthy = [k for k in keys if _healthy_sensor(final[k])]
            errors = [
                backtest_error(
                    series[k],
                    final[k],
                    horizon_h=calibration_horizon_h,
                    similar_rate_per_h=similar,
                    params=p,
                )
                for k in _spread(healthy, max_backtest)
            ]
            cal = Calibration.from_errors([z for z in errors if z is not None])
        calibrations[g] = cal
        for k in keys:
            estimates[k] = dataclasses.replace(final[k], calibration=cal)

    out: dict[K, BinForecast] = {}
    for k in wanted:
        e = estimates[k]
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
        out[k] = BinForecast(estimate=e, horizons=tuple(rows))
    return out


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
