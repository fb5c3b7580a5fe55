"""Which day the start-up demo plans: today while today's shift can still be driven, else the next day
the city collects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

MAX_LOOKAHEAD_DAYS = 14
"""How far the next collection day is looked for (a week of closed days is already far-fetched)."""


def demo_service_day(
    now_local: datetime, shift_ends: Iterable[time], closed: Callable[[date], str | None]
) -> tuple[date, str | None]:
    """The service day to plan at ``now_local`` (the city's local time) and why it is not today.

    Today, while it is before the latest shift end of the city's trucks (``shift_ends``, local times);
    once every shift is over, the next day on which ``closed`` (the city's calendar: Sunday, public
    holiday) names no reason. Without any truck, today. Returns (day, None) for today, (day, reason)
    otherwise."""
    ends = list(shift_ends)
    today = now_local.date()
    if not ends or now_local.time() < max(ends):
        return today, None
    day = today + timedelta(days=1)
    for _ in range(MAX_LOOKAHEAD_DAYS):
        if closed(day) is None:
            break
        day += timedelta(days=1)
    return day, f"today's shifts ended at {max(ends):%H:%M}"
