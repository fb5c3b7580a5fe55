"""What a plan job may ask for (pure): a service date near today, a bounded time limit, a bounded queue.

The API refuses a request outside these bounds with a message that says the bounds; the worker
applies the same checks to every job it takes (scheduled, created by the CLI or by an older API), so
no job can hold a worker longer than the cap or plan a day the calendar cannot represent.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from wasteroute.errors import InvalidInput, WasterouteError


class QueueFull(WasterouteError):
    """A city has as many plan jobs queued or running as it may."""

    code = "queue_full"
    status = 429


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def check_service_date(day: date, today: date, *, days_back: int, days_ahead: int) -> date:
    """``day`` itself when it lies within ``today - days_back .. today + days_ahead``."""
    first, last = today - timedelta(days=days_back), today + timedelta(days=days_ahead)
    if not first <= day <= last:
        raise InvalidInput(
            f"service_date must lie between {first.isoformat()} and {last.isoformat()} "
            f"(today in the city's time zone - {days_back} to + {days_ahead} days), got {day.isoformat()}",
            details={
                "service_date": day.isoformat(),
                "earliest": first.isoformat(),
                "latest": last.isoformat(),
            },
        )
    return day


def check_time_limit(time_limit_s: float, *, cap_s: float) -> float:
    """``time_limit_s`` when it is a positive number of seconds not above ``cap_s``."""
    if not (math.isfinite(time_limit_s) and 0 < time_limit_s <= cap_s):
        raise InvalidInput(
            f"options.time_limit_s must be above 0 and at most {cap_s:g} seconds, got {time_limit_s:g}",
            details={"time_limit_s": time_limit_s, "max_time_limit_s": cap_s},
        )
    return time_limit_s


def check_queue(active_jobs: int, *, cap: int) -> None:
    """Refuse one more job when a city has ``cap`` jobs queued or running."""
    if active_jobs >= cap:
        raise QueueFull(
            f"your city has {active_jobs} plan jobs queued or running, at most {cap} are allowed; "
            "wait for one to finish (GET /api/v1/plans shows them)",
            details={"active_jobs": active_jobs, "max_active_jobs": cap},
        )
