"""Perfect foresight: the simulation's own future in place of the forecast (a what-if, not the product).

``wasteroute simulate --perfect-forecast`` plans the dynamic and threshold policies from what will
really happen: each container's true fill at the plan's start and the waste it will really receive
in every hour after (the simulator's fill model draws it whatever the trucks do). Nothing else
changes: the same selection, router, drivers and measures. What such a run saves over the real one
is the most any better forecast could buy; what it still misses is the policy's and the city's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from sensors_sim.dynamics import OVERFILL_CAP
from sensors_sim.engine import fill_increments
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
