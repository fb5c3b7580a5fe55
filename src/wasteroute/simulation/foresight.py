"""Perfect foresight and perfect models: what the simulation knows in place of the forecast (what-ifs,
not the product).

``wasteroute simulate --perfect-forecast`` plans the dynamic and threshold policies from what will
really happen: each container's true fill at the plan's start and the waste it will really receive
in every hour after (the simulator's fill model draws it whatever the trucks do). Nothing else
changes: the same selection, router, drivers and measures. What such a run saves over the real one
is the most any better forecast could buy; what it still misses is the policy's and the city's.

``wasteroute simulate --known-model`` plans from a perfect model of each container instead: its true
fill at the plan's start, and the waste to come as the fill model expects it (the container's true
mean rate, weekday and hour profiles, the calendar and the named events), not what it will draw
(each day's and hour's noise, the unnamed events). That is the best a forecast can know; what such a
run saves over the real one is what learning each container better could buy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from sensors_sim.dynamics import DIURNAL_PROFILE, OVERFILL_CAP, WEEKDAY_PROFILE, container_kind
from sensors_sim.engine import fill_increments, seeded_fill_model
from sensors_sim.outlook import share_at_least, waste_outcomes
from wasteroute.forecasting.estimators import FillEstimate, RateSource
from wasteroute.forecasting.profile import WeekProfile, to_epoch_s
from wasteroute.planning.assembly import PlanInputs

FloatArray = npt.NDArray[np.float64]

HOUR_S = 3600.0
BAND_TOLERANCE = 1e-6
"""Half-width of a known fill's "band": the truth's own bookkeeping adds the same waste hour by hour,
so it lands on the forecast up to rounding."""


@dataclass(frozen=True, eq=False)
class KnownFill(FillEstimate):
    """A container's fill as it will be: ``fill_now`` (true) plus the waste it receives until ``t``.

    ``received`` is the waste the container has received by the start of each simulated hour since
    ``start_s`` (cumulative, one entry per hour boundary); within an hour it comes evenly. The mean is
    exact and the standard deviation 0, so overflow probabilities are 0 or 1; like the simulated
    container it holds at most ``OVERFILL_CAP``. ``received`` has at least two entries (one hour).
    """

    start_s: float = 0.0
    received: FloatArray = field(default_factory=lambda: np.zeros(2))

    def _received_by(self, t_s: float) -> float:
        last = len(self.received) - 1
        x = min(max((t_s - self.start_s) / HOUR_S, 0.0), float(last))
        k = min(int(x), last - 1)
        return float(self.received[k] + (x - k) * (self.received[k + 1] - self.received[k]))

    def at(self, t: datetime | float) -> tuple[float, float]:
        t_s = to_epoch_s(t)
        fill = self.fill_now + self._received_by(t_s) - self._received_by(self.now_s)
        return min(fill, OVERFILL_CAP), 0.0

    def band(self, t: datetime | float, coverage: float = 0.95) -> tuple[float, float]:
        mean, _ = self.at(t)
        return mean - BAND_TOLERANCE, mean + BAND_TOLERANCE


class Foresight:
    """Known fills for a plan job, from the simulation's fill model and its true levels now.

    ``levels()`` gives the true fill of every container (index order of the city document) at the
    moment a plan is made; ``index_of`` maps the database's bin ids to those indexes.
    """

    def __init__(
        self,
        city_doc: dict[str, Any],
        seed: int,
        start: datetime,
        hours: int,
        index_of: Mapping[int, int],
        levels: Callable[[], FloatArray],
    ) -> None:
        if hours < 1:
            raise ValueError(f"hours must be >= 1, got {hours}")
        increments = fill_increments(city_doc, seed, start, hours)
        # one row per container (each plan hands every container its row, without a copy)
        self._received: FloatArray = np.ascontiguousarray(
            np.vstack([np.zeros((1, increments.shape[1])), np.cumsum(increments, axis=0)]).T
        )
        self._start_s = start.timestamp()
        self._index_of = dict(index_of)
        self._levels = levels

    def forecast(self, inputs: PlanInputs, now: datetime) -> dict[int, FillEstimate]:
        """One known fill per bin of the plan (the plan job's ``forecast`` hook)."""
        fills: FloatArray = self._levels()
        now_s = now.timestamp()
        last = self._received.shape[1] - 1
        now_k = min(max(int((now_s - self._start_s) // HOUR_S), 0), last)
        day_ahead = min(now_k + 24, last)
        profile = WeekProfile.flat(inputs.timezone)
        out: dict[int, FillEstimate] = {}
        for b in inputs.bins:
            i = self._index_of[b.id]
            received = self._received[i]
            out[b.id] = KnownFill(
                now_s=now_s,
                fill_now=float(fills[i]),
                fill_now_sd=0.0,
                rate_per_h=max(0.0, float(received[day_ahead] - received[now_k]) / 24.0),
                rate_sd_per_h=0.0,
                process_var_per_h=0.0,
                profile=profile,
                rate_source=RateSource.SENSOR,
                fraction=b.fraction,
                container_type=b.container_code,
                notes=("perfect foresight (simulation what-if)",),
                start_s=self._start_s,
                received=received,
            )
        return out


@dataclass(frozen=True, eq=False)
class ModelFill(FillEstimate):
    """A container's fill as a perfect model of it expects: ``fill_now`` true, the waste to come as
    the simulator's fill model draws it (``sensors_sim.outlook``), its mean rate, profiles and known
    factors exact, each day's and hour's noise and the unnamed events unknown.

    ``rate_per_day`` is its mean rate (volumes a day) and ``known`` its known factor on each local
    day (``known(day)[index]``); windows are taken in whole hours from the hour of ``now``."""

    kind: str = "household"
    rate_per_day: float = 0.0
    index: int = 0
    known: Callable[[date], FloatArray] | None = None

    def _window(self, t_s: float) -> tuple[FloatArray, float] | None:
        hours = round((t_s - self.now_s) / HOUR_S)
        if hours < 1 or self.rate_per_day <= 0:
            return None
        start = datetime.fromtimestamp(self.now_s, UTC)
        unit = waste_outcomes(self.kind, start, hours, self.profile.timezone)
        factor = 1.0
        if self.known is not None:
            zone = ZoneInfo(self.profile.timezone)
            days = {(start + timedelta(hours=h)).astimezone(zone).date() for h in range(hours)}
            factor = float(np.mean([self.known(d)[self.index] for d in sorted(days)]))
        return unit, self.rate_per_day * factor

    def at(self, t: datetime | float) -> tuple[float, float]:
        window = self._window(to_epoch_s(t))
        if window is None:
            return self.fill_now, 0.0
        unit, scale = window
        return self.fill_now + scale * float(unit.mean()), scale * float(unit.std())

    def probability_at_least(self, t: datetime | float, level: float) -> float:
        window = self._window(to_epoch_s(t))
        if window is None:
            return 1.0 if self.fill_now >= level else 0.0
        unit, scale = window
        return float(share_at_least(unit, (level - self.fill_now) / scale))

    def band(self, t: datetime | float, coverage: float = 0.95) -> tuple[float, float]:
        window = self._window(to_epoch_s(t))
        if window is None:
            return self.fill_now - BAND_TOLERANCE, self.fill_now + BAND_TOLERANCE
        unit, scale = window
        tail = (1.0 - coverage) / 2.0
        low, high = np.quantile(unit, [tail, 1.0 - tail])
        return self.fill_now + scale * float(low), self.fill_now + scale * float(high)


def kind_profile(kind: str, timezone: str) -> WeekProfile:
    """The simulator's weekday and hour profiles of ``kind`` as a forecast's week profile."""
    week = np.outer(WEEKDAY_PROFILE[kind], DIURNAL_PROFILE[kind]).ravel()
    return WeekProfile(multipliers=tuple(float(x) for x in week / week.mean()), timezone=timezone)


class ModelForesight:
    """Perfect models for a plan job: every container's true fill now, and its waste to come as the
    fill model expects it (``ModelFill``), in place of the forecast."""

    def __init__(
        self,
        city_doc: dict[str, Any],
        seed: int,
        start: datetime,
        index_of: Mapping[int, int],
        levels: Callable[[], FloatArray],
    ) -> None:
        model = seeded_fill_model(city_doc, seed, start)
        self._rates: FloatArray = model.mean_rate_per_day
        self._kinds = [
            container_kind(f["properties"]["container_type"]) for f in city_doc["bins"]["features"]
        ]
        self._model = model
        self._known: dict[date, FloatArray] = {}
        self._index_of = dict(index_of)
        self._levels = levels

    def known(self, day: date) -> FloatArray:
        """Every container's known factor on local ``day``: the calendar's and the named events'."""
        if day not in self._known:
            self._known[day] = self._model.known_factor(day)
        return self._known[day]

    def forecast(self, inputs: PlanInputs, now: datetime) -> dict[int, FillEstimate]:
        """One perfect model per bin of the plan (the plan job's ``forecast`` hook)."""
        fills: FloatArray = self._levels()
        profiles = {k: kind_profile(k, inputs.timezone) for k in set(self._kinds)}
        today = now.astimezone(ZoneInfo(inputs.timezone)).date()
        out: dict[int, FillEstimate] = {}
        for b in inputs.bins:
            i = self._index_of[b.id]
            rate = float(self._rates[i])
            out[b.id] = ModelFill(
                now_s=now.timestamp(),
                fill_now=float(fills[i]),
                fill_now_sd=0.0,
                rate_per_h=rate * float(self.known(today)[i]) / 24.0,
                rate_sd_per_h=0.0,
                process_var_per_h=0.0,
                profile=profiles[self._kinds[i]],
                rate_source=RateSource.SENSOR,
                fraction=b.fraction,
                container_type=b.container_code,
                notes=("perfect model (simulation what-if)",),
                kind=self._kinds[i],
                rate_per_day=rate,
                index=i,
                known=self.known,
            )
        return out
