"""Baseline mode: fixed collection rounds, the way most cities collect today.

Each container class gets the round frequency that empties a typical container of its class at
about 70 % full: daily (Monday to Saturday), three times a week, twice a week, weekly or every
two weeks. Containers of one district and fraction share their round days; each container is
emptied at its own fixed time within its collection hours. A round that falls on a Sunday or a
public holiday moves to the next working day.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TARGET_FILL = 0.7
"""Fill level a typical container of its class has at emptying under the fixed rounds."""


@dataclass(frozen=True, slots=True)
class Round:
    """One container's fixed round.

    Attributes:
        weekdays: round days, 0 = Monday.
        week_parity: ``None`` every week; 0 or 1: only ISO weeks with that parity (fortnightly).
        time_of_day_s: local time of the collection, seconds after midnight.
    """

    weekdays: tuple[int, ...]
    week_parity: int | None
    time_of_day_s: int

    def __post_init__(self) -> None:
        if not self.weekdays or any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError(f"weekdays must be a non-empty tuple of 0..6, got {self.weekdays}")
        if not 0 <= self.time_of_day_s < 86_400:
            raise ValueError(f"time_of_day_s must be in 0..86399, got {self.time_of_day_s}")


def round_for(median_rate_per_day: float, rng: random.Random) -> tuple[tuple[int, ...], int | None]:
    """Round days for a class whose typical container fills ``median_rate_per_day`` per day."""
    days_to_target = TARGET_FILL / max(median_rate_per_day, 1e-6)
    if days_to_target >= 14:
        return (rng.randrange(5),), rng.randrange(2)
    if days_to_target >= 7:
        return (rng.randrange(5),), None
    if days_to_target >= 3.5:
        w = rng.randrange(3)
        return (w, w + 3), None
    if days_to_target >= 2:
        return ((0, 2, 4) if rng.random() < 0.5 else (1, 3, 5)), None
    return (0, 1, 2, 3, 4, 5), None


def parse_hours(text: str) -> tuple[int, int]:
    """``"06:00-20:00"`` -> (21600, 72000) seconds after local midnight."""
    try:
        a, b = text.split("-")
        ha, ma = (int(x) for x in a.split(":"))
        hb, mb = (int(x) for x in b.split(":"))
    except ValueError:
        raise ValueError(f"collection_hours must look like '06:00-20:00', got {text!r}") from None
    lo, hi = ha * 3600 + ma * 60, hb * 3600 + mb * 60
    if not 0 <= lo < hi <= 86_400:
        raise ValueError(f"collection_hours {text!r}: the window must open before it closes")
    return lo, hi


class BaselineSchedule:
    """Next fixed-round collection of each container.

    Args:
        rounds: one ``Round`` per container, in the simulator's container order.
        timezone: the city's time zone (rounds are in local time).
        is_holiday: whether a local date is a public holiday.
    """

    def __init__(self, rounds: list[Round], timezone: str, is_holiday: Callable[[date], bool]) -> None:
        self.rounds = rounds
        self._tz = ZoneInfo(timezone)
        self._is_holiday = is_holiday

    def _working_day(self, d: date) -> date:
        while d.weekday() == 6 or self._is_holiday(d):
            d += timedelta(days=1)
        return d

    def next_after(self, index: int, after: datetime) -> datetime:
        """The first collection of container ``index`` strictly after ``after`` (UTC)."""
        r = self.rounds[index]
        local_day = after.astimezone(self._tz).date() - timedelta(days=1)
        for i in range(60):
            d = local_day + timedelta(days=i)
            if d.weekday() not in r.weekdays:
                continue
            if r.week_parity is not None and d.isocalendar().week % 2 != r.week_parity:
                continue
            actual = self._working_day(d)
            at = datetime.combine(actual, time(0), self._tz) + timedelta(seconds=r.time_of_day_s)
            at_utc = at.astimezone(UTC)
            if at_utc > after:
                return at_utc
        raise RuntimeError(f"no round within 60 days for container {index}: {r}")
