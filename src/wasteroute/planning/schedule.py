"""Plans every morning: per city and fraction, a local time and service days.

A schedule says "plan residual waste of Rostock at 05:30 local time, Monday to Saturday, not on
public holidays of the city's state". Every worker calls :func:`enqueue_due` between jobs; the plan
of a day is created at most once whichever worker, on whichever machine, gets there first (the
unique index on scheduled plans decides, see ``storage/jobs.py``). A dispatcher reviews the plan and
can still queue a new one for the same day by hand (``POST /api/v1/plans``); the newest finished plan
is the one drivers get.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.orm import Session, sessionmaker

from wasteroute.planning.calendar import CalendarRules, closed_reason, local_day, service_calendar
from wasteroute.storage.db import transaction
from wasteroute.storage.jobs import JobQueue, ScheduleRepository
from wasteroute.vocabulary import WEEKDAYS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MorningRule:
    """When one city and fraction is planned. ``weekdays``: Monday = 0 ... Sunday = 6."""

    local_time: time
    weekdays: frozenset[int]
    on_holidays: bool
    timezone: str
    subdivision: str | None

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(
                f"weekdays must be a non-empty set of 0 (Monday) .. 6 (Sunday), got {self.weekdays}"
            )

    @property
    def calendar(self) -> CalendarRules:
        """The days this rule plans on, as the plan job's calendar has them (one rule for both)."""
        return service_calendar(self.timezone, self.subdivision, self.weekdays, self.on_holidays)

    def skip_reason(self, day: date) -> str | None:
        """Why ``day`` has no morning plan, or None when it has one."""
        return closed_reason(day, self.calendar)

    def due(self, now: datetime) -> date | None:
        """The local service date whose plan is due at ``now`` (UTC), or None.

        A plan is due from its local time until the end of that local day, so a worker that starts
        late in the morning still plans the day."""
        rules = CalendarRules(timezone=self.timezone, subdivision=self.subdivision, public_holidays=False)
        today = local_day(now, rules)
        if now.astimezone(rules.zone).time() < self.local_time:
            return None
        return today if self.skip_reason(today) is None else None


def parse_weekdays(spec: str) -> frozenset[int]:
    """``"mon-sat"``, ``"mon,wed,fri"`` or ``"mon-fri,sat"`` -> weekday numbers (Monday = 0)."""
    out: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(e in WEEKDAYS for e in ends):
            raise ValueError(f"days must look like 'mon-sat' or 'mon,wed,fri', got {spec!r}")
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        if last < first:
            raise ValueError(f"a day range runs forward (mon-sat), got {part!r}")
        out.update(range(first, last + 1))
    return frozenset(out)


def format_weekdays(days: Iterable[int]) -> str:
    """Weekday numbers -> the shortest spec :func:`parse_weekdays` reads back: ``"mon-sun"``,
    ``"mon,wed,fri"``, ``"mon-fri,sun"``."""
    left = sorted(set(days))
    if not left or not set(left) <= set(range(7)):
        raise ValueError(f"days must be a non-empty set of 0 (Monday) .. 6 (Sunday), got {left}")
    parts: list[str] = []
    while left:
        first = last = left.pop(0)
        while left and left[0] == last + 1:
            last = left.pop(0)
        if last - first >= 2:
            parts.append(f"{WEEKDAYS[first]}-{WEEKDAYS[last]}")
        else:
            parts.extend(WEEKDAYS[d] for d in range(first, last + 1))
    return ",".join(parts)


def enqueue_due(factory: sessionmaker[Session], now: datetime) -> list[int]:
    """Create every scheduled plan that is due and not created yet; returns the new plans' ids."""
    created: list[int] = []
    with transaction(factory) as session:
        schedules = ScheduleRepository(session).enabled()
        queue = JobQueue(session)
        for sched, tz, region, slug in schedules:
            rule = MorningRule(
                local_time=sched.local_time,
                weekdays=frozenset(sched.weekdays),
                on_holidays=sched.on_holidays,
                timezone=tz,
                subdivision=region,
            )
            day = rule.due(now)
            if day is None:
                continue
            plan_id = queue.create_scheduled(
                city_id=sched.city_id,
                fraction=sched.fraction,
                service_date=day,
                options={"time_limit_s": sched.time_limit_s, "seed": 0},
            )
            if plan_id is not None:
                log.info("scheduled plan %s: %s %s for %s", plan_id, slug, sched.fraction, day)
                created.append(plan_id)
    return created
