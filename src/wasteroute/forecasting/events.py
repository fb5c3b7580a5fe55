"""Announced local events: what a city knows before its readings do (pure, no I/O).

A Christmas market, a festival, a fair: the city announces its days, where it is (a point and a
radius) and roughly how much more waste the containers near it get (a factor per container type,
``"*"`` for every other type). A container's forecast then expects that much more on those days.

The rate a forecast starts from is learned from the container's recent readings, the latest days
weighing most (``ForecastParams.rate_half_life_days``). Once an event has run for a few days, its
extra waste is in that rate already; counting the factor on top would count it twice. So a day's
multiplier is the event's factor over the factor the rate has already seen: the announced factors of
the past days, weighted as the rate weighs them. On an event's first day that is the whole factor;
days later, nearly 1; after the event, below 1, until the rate has forgotten it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from wasteroute.forecasting.estimators import FillEstimate
from wasteroute.forecasting.profile import to_epoch_s
from wasteroute.planning.distances import haversine_m

PAST_DAYS = 14
"""Days before today whose announced factors enter what the rate has already seen."""
AHEAD_DAYS = 21
"""Days after today a forecast looks for announced events."""


@dataclass(frozen=True)
class AnnouncedEvent:
    """An event the city announced: local days ``first_day`` to ``last_day`` (both included)."""

    name: str
    first_day: date
    last_day: date
    lon: float
    lat: float
    radius_m: float
    factors: Mapping[str, float] = field(default_factory=dict)
    """Waste factor per container type code; ``"*"`` for the types not named (1 when absent)."""

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError(f"event {self.name!r}: last_day is before first_day")
        if not self.radius_m > 0:
            raise ValueError(f"event {self.name!r}: radius_m must be > 0, got {self.radius_m}")
        for code, f in self.factors.items():
            if not (math.isfinite(f) and 0 < f <= 10):
                raise ValueError(f"event {self.name!r}: factor of {code!r} must be in (0, 10], got {f}")

    def factor_for(self, container_type: str) -> float:
        return float(self.factors.get(container_type, self.factors.get("*", 1.0)))

    def covers(self, lon: float, lat: float) -> bool:
        """Whether a container at (lon, lat) is within the event's radius."""
        return float(haversine_m([(self.lat, self.lon), (lat, lon)])[0, 1]) <= self.radius_m


@dataclass(frozen=True, eq=False)
class WithEvents(FillEstimate):
    """A container's estimate with the announced events near it: the waste of each affected local
    day ``[start_s, end_s)`` comes ``multiplier`` times as fast as the estimate alone says."""

    days: tuple[tuple[float, float, float], ...] = ()
    """(start_s, end_s, multiplier) of the local days whose multiplier is not 1."""
    announced: tuple[tuple[str, float], ...] = ()
    """(name, factor for this container) of the events behind ``days``, for the dispatcher."""

    def effective_hours_until(self, t: datetime | float) -> float:
        t_s = to_epoch_s(t)
        hours = self.profile.effective_hours_between(self.now_s, t_s)
        for start_s, end_s, m in self.days:
            lo, hi = max(start_s, self.now_s), min(end_s, t_s)
            if hi > lo:
                hours += (m - 1.0) * self.profile.effective_hours_between(lo, hi)
        return hours


def day_factor(events: Sequence[AnnouncedEvent], day: date, container_type: str) -> float:
    """The waste factor of ``day`` for a container the ``events`` cover (the largest of them)."""
    return max(
        (e.factor_for(container_type) for e in events if e.first_day <= day <= e.last_day), default=1.0
    )


def with_events(
    estimate: FillEstimate,
    events: Sequence[AnnouncedEvent],
    *,
    lon: float,
    lat: float,
    container_type: str,
    timezone: str,
    half_life_days: float,
) -> FillEstimate:
    """``estimate`` with the announced ``events`` that cover the container at (lon, lat); the same
    estimate when none changes its next weeks (see the module docs for the multipliers)."""
    near = [e for e in events if e.covers(lon, lat)]
    if not near:
        return estimate
    zone = ZoneInfo(timezone)
    today = datetime.fromtimestamp(estimate.now_s, zone).date()
    weights = [0.5 ** (k / half_life_days) for k in range(1, PAST_DAYS + 1)]
    seen = sum(
        w * day_factor(near, today - timedelta(days=k), container_type)
        for k, w in enumerate(weights, start=1)
    ) / sum(weights)
    days: list[tuple[float, float, float]] = []
    named: list[str] = []
    announced: list[tuple[str, float]] = []
    for k in range(AHEAD_DAYS + 1):
        d = today + timedelta(days=k)
        m = day_factor(near, d, container_type) / seen
        if abs(m - 1.0) > 1e-9:
            start = datetime.combine(d, time(0), zone).timestamp()
            end = datetime.combine(d + timedelta(days=1), time(0), zone).timestamp()
            days.append((start, end, m))
    if not days:
        return estimate
    window = (today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS))
    for e in near:
        if e.last_day >= window[0] and e.first_day <= window[1]:
            f = e.factor_for(container_type)
            named.append(f"{e.name} {e.first_day:%d.%m.}–{e.last_day:%d.%m.}: ×{f:g}")
            announced.append((e.name, f))
    note = "announced event: " + "; ".join(named)
    fields = {f: getattr(estimate, f) for f in FillEstimate.__dataclass_fields__}
    fields["notes"] = (*estimate.notes, note)
    return WithEvents(**fields, days=tuple(days), announced=tuple(announced))
