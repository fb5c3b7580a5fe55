"""Fixed weekly rhythms: the practice a fill-driven policy is compared with (pure, no I/O).

Each container gets the least frequent rhythm a city uses (fortnightly, weekly, twice weekly,
three times weekly, every working day) whose longest gap its history says it survives at the
service level asked for (99.9 % by default): the waste of a gap of ``g`` days, estimated from the
history's daily gains as ``g * mean + z * sqrt(g * var + g**2 * var / n)`` (the second term counts
the uncertainty of a mean from ``n`` days of history; ``z`` the normal quantile of the service
level), and the most waste the history saw in any ``g`` days, both stay below a full container.

Round days are shared by all containers of one district and fraction, as in a city's collection
calendar; a round that falls on a closed day moves to the next planning day.

A fraction with service days of its own (a morning schedule's weekdays other than Monday to
Saturday) gets the same rhythms on them: a round on a weekday it is not served on is made up on its
next service day, which lengthens the rhythm's longest gap by as much as the moves do, and the most
frequent rhythm is every service day. Where the service days add Sundays to Monday to Saturday,
every working day stays a rhythm of its own, so only containers that cannot wait from Saturday to
Monday get the Sunday round.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from wasteroute.forecasting.calibration import normal_quantile

SERVICE_LEVEL = 0.999
"""Share of gaps a container must survive without overflowing."""
WORKING_DAYS = frozenset(range(6))
"""Monday to Saturday: the service days of a fraction without a schedule of its own."""


@dataclass(frozen=True, slots=True)
class Rhythm:
    """A round: ``weekdays`` (0 = Monday ... 6 = Sunday), every week or only ISO weeks of ``parity``."""

    name: str
    weekdays: tuple[int, ...]
    parity: int | None
    longest_gap_days: int
    """Longest gap between two rounds, days (a closed day in between adds one)."""

    def __post_init__(self) -> None:
        if not self.weekdays or any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError(f"weekdays must be Monday..Sunday (0..6), got {self.weekdays}")

    def is_round_day(self, d: date) -> bool:
        if d.weekday() not in self.weekdays:
            return False
        return self.parity is None or d.isocalendar().week % 2 == self.parity


def rhythm_options(key: str, service_days: Iterable[int] | None = None) -> list[Rhythm]:
    """The rhythms of a (district, fraction) round, least frequent first; days fixed by ``key``.

    ``service_days`` (weekday numbers) are the fraction's, Monday to Saturday when None; see the
    module docs for what other days change."""
    h = zlib.crc32(key.encode())
    w = h % 5
    options = [
        Rhythm("fortnightly", (w,), (h >> 3) % 2, 15),
        Rhythm("weekly", (w,), None, 8),
        Rhythm("twice weekly", ((w % 3), (w % 3) + 3), None, 4),
        Rhythm("three times weekly", (0, 2, 4) if h % 2 else (1, 3, 5), None, 3),
        Rhythm("every working day", tuple(sorted(WORKING_DAYS)), None, 2),
    ]
    days = WORKING_DAYS if service_days is None else frozenset(service_days)
    if not days or not days <= set(range(7)):
        raise ValueError(f"service_days must be a non-empty set of 0 (Monday) .. 6 (Sunday), got {days}")
    if days == WORKING_DAYS:
        return options
    out = [_moved_to(r, days) for r in options[:4]]
    if days > WORKING_DAYS:  # Sundays on top of Monday to Saturday
        out.append(options[4])
    out.append(Rhythm("every service day", tuple(sorted(days)), None, _longest_gap(days, 7)))
    return out


def _longest_gap(weekdays: Iterable[int], period: int) -> int:
    """Longest gap, days, between rounds on ``weekdays`` repeating every ``period`` days."""
    days = sorted(set(weekdays))
    return max(b - a for a, b in zip(days, [*days[1:], days[0] + period], strict=True))


def _moved_to(rhythm: Rhythm, service_days: frozenset[int]) -> Rhythm:
    """``rhythm`` on a fraction served on ``service_days`` only: each round on another weekday is
    driven on the next service day, and its longest gap grows by what that adds to the gap between
    its own days (the allowance for a closed day stays)."""
    period = 7 if rhythm.parity is None else 14
    driven = [next((d + k) % 7 for k in range(7) if (d + k) % 7 in service_days) for d in rhythm.weekdays]
    extra = _longest_gap(driven, period) - _longest_gap(rhythm.weekdays, period)
    return Rhythm(rhythm.name, rhythm.weekdays, rhythm.parity, rhythm.longest_gap_days + extra)


def worst_window(daily_gain: Sequence[float], days: int) -> float:
    """The most fill (fraction of the volume) received in any ``days`` consecutive days; a history
    shorter than ``days`` is scaled up from its whole length."""
    a = np.asarray(daily_gain, dtype=np.float64)
    if a.size == 0:
        return float("inf")
    if a.size < days:
        return float(a.sum() * days / a.size)
    c = np.concatenate([[0.0], np.cumsum(a)])
    return float(np.max(c[days:] - c[:-days]))


def gap_fill(daily_gain: Sequence[float], days: int, service_level: float = SERVICE_LEVEL) -> float:
    """The fill a container reaches in ``days`` days without emptying, not exceeded in
    ``service_level`` of such gaps (from its history of daily gains; see the module docs)."""
    a = np.asarray(daily_gain, dtype=np.float64)
    if a.size == 0:
        return float("inf")
    z = normal_quantile(service_level)
    mean = float(a.mean())
    var = float(a.var(ddof=1)) if a.size > 1 else mean**2
    return days * mean + z * math.sqrt(days * var + days**2 * var / a.size)


def choose_rhythm(
    daily_gain: Sequence[float],
    key: str,
    service_level: float = SERVICE_LEVEL,
    *,
    service_days: Iterable[int] | None = None,
) -> Rhythm:
    """The least frequent rhythm whose longest gap the history survives (``gap_fill`` and the worst
    window of the history both below a full container); the most frequent one (every working day,
    or every service day of a fraction with days of its own) when none does."""
    if not 0.5 < service_level < 1:
        raise ValueError(f"service_level must be in (0.5, 1), got {service_level}")
    options = rhythm_options(key, service_days)
    for r in options:
        g = r.longest_gap_days
        if max(gap_fill(daily_gain, g, service_level), worst_window(daily_gain, g)) < 1.0:
            return r
    return options[-1]


def due_today(rhythm: Rhythm, today: date, previous_planning_day: date | None) -> bool:
    """Whether a round falls on ``today`` or on a closed day since ``previous_planning_day``."""
    if previous_planning_day is None:
        return rhythm.is_round_day(today)
    d = previous_planning_day.toordinal() + 1
    return any(rhythm.is_round_day(date.fromordinal(x)) for x in range(d, today.toordinal() + 1))


def due_at_switch(rhythm: Rhythm, last_emptied: date | None, today: date) -> bool:
    """Whether a container must be emptied on the day the city switches to its new ``rhythm``: when
    waiting from its last emptying (by the old rounds) to its first round would be a longer gap than
    the rhythm's longest one. The switch then starts from the steady state the rhythm was chosen for."""
    if last_emptied is None:
        return True
    first = next(
        date.fromordinal(today.toordinal() + k)
        for k in range(28)
        if rhythm.is_round_day(date.fromordinal(today.toordinal() + k))
    )
    return (first - last_emptied).days > rhythm.longest_gap_days
