"""What the fill model lets one know in advance about a container's waste: its outcomes over a window.

The fill model (``dynamics.FillModel``) draws each container's waste as its mean rate times its
weekday and hour profiles, the calendar's factor and the named events' (all known in advance), times
a lognormal factor per local day and a gamma factor per hour (not known). ``waste_outcomes`` draws
that unknown part for a container with a mean rate of one volume a day over a window: scaled by a
container's own rate and known factor, the outcomes are what a perfect model of the container expects.
What-ifs that know the model but not the future use it (``benchmarks.fill_ceiling --known-model``,
``wasteroute simulate --known-model``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from sensors_sim.dynamics import (
    DAY_NOISE_MU,
    DAY_NOISE_SIGMA,
    DIURNAL_PROFILE,
    HOUR_NOISE_SHAPE,
    WEEKDAY_PROFILE,
)

FloatArray = npt.NDArray[np.float64]

OUTCOMES = 20_000
"""Outcomes drawn per window (the tail at a risk of 0.05 % still rests on 10 of them)."""
_KINDS = tuple(sorted(WEEKDAY_PROFILE))


def waste_outcomes(
    kind: str, start: datetime, hours: int, timezone: str, samples: int = OUTCOMES
) -> FloatArray:
    """Sorted outcomes of the waste a container of ``kind`` (``dynamics.container_kind``) with a mean
    rate of one volume a day receives in the ``hours`` whole hours from ``start`` (timezone-aware):
    its profiles known, each local day's and hour's noise drawn. The same window always gives the
    same outcomes (drawn from a generator seeded by the window: its local weekday, hour and length)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours}")
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return _outcomes(kind, hour, hours, timezone, samples)


@lru_cache(maxsize=1024)
def _outcomes(kind: str, start: datetime, hours: int, timezone: str, samples: int) -> FloatArray:
    zone = ZoneInfo(timezone)
    hour_starts = [(start + timedelta(hours=h)).astimezone(zone) for h in range(hours)]
    dates = sorted({t.date() for t in hour_starts})
    day_of = np.array([dates.index(t.date()) for t in hour_starts], dtype=np.intp)
    weight = np.array(
        [WEEKDAY_PROFILE[kind][t.weekday()] * DIURNAL_PROFILE[kind][t.hour] / 24.0 for t in hour_starts]
    )
    first = hour_starts[0]
    rng = np.random.default_rng([_KINDS.index(kind), first.weekday(), first.hour, hours, samples])
    day = np.exp(rng.normal(DAY_NOISE_MU, DAY_NOISE_SIGMA, (samples, len(dates))))
    hourly = rng.gamma(HOUR_NOISE_SHAPE, 1.0 / HOUR_NOISE_SHAPE, (samples, hours))
    out: FloatArray = np.sort((hourly * weight[None, :] * day[:, day_of]).sum(axis=1))
    out.setflags(write=False)
    return out


def share_at_least(outcomes: FloatArray, need: FloatArray | float) -> FloatArray:
    """The share of the sorted ``outcomes`` that are at least ``need`` (per element)."""
    out: FloatArray = 1.0 - np.searchsorted(outcomes, need, side="left") / outcomes.shape[0]
    return out


def overflow_probability(fill: FloatArray, rate: FloatArray, unit: FloatArray) -> FloatArray:
    """Probability that containers at ``fill`` with mean ``rate`` (volumes a day, known factors
    included) reach full, ``unit`` being the sorted outcomes of the window at a rate of 1
    (``waste_outcomes``)."""
    return share_at_least(unit, (1.0 - fill) / np.maximum(rate, 1e-12))
