"""Creating a plan job, the same way for a dispatcher's request (API) and the command line: the bounds
of ``planning/admission.py`` checked in the city's time zone, then a queued ``plan`` row. Scheduled
morning plans are created by ``planning/schedule.py``; workers run every job (``planning/jobs.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from wasteroute.config import Settings
from wasteroute.planning.admission import check_queue, check_service_date, check_time_limit, local_today
from wasteroute.storage.jobs import JobQueue
from wasteroute.storage.models import City, Plan
from wasteroute.storage.plans import PlanRepository


def queue_plan(
    session: Session,
    settings: Settings,
    city: City,
    *,
    fraction: str,
    service_date: date | None,
    options: dict[str, Any],
    now: datetime,
    created_by: int | None = None,
    bounded_queue: bool = True,
) -> Plan:
    """A queued plan job of ``city`` for ``service_date`` (today in the city's time zone when None).

    Raises ``InvalidInput`` for a day outside ``settings.plan_days_back`` .. ``plan_days_ahead`` or
    an ``options["time_limit_s"]`` above ``settings.plan_max_time_limit_s``, and ``QueueFull`` when
    ``bounded_queue`` and the city has ``settings.plan_queue_per_city`` jobs queued or running."""
    today = local_today(city.timezone, now)
    day = check_service_date(
        service_date or today,
        today,
        days_back=settings.plan_days_back,
        days_ahead=settings.plan_days_ahead,
    )
    check_time_limit(float(options["time_limit_s"]), cap_s=settings.plan_max_time_limit_s)
    if bounded_queue:
        check_queue(JobQueue(session).active_jobs(city.id), cap=settings.plan_queue_per_city)
    return PlanRepository(session).create(
        city_id=city.id,
        fraction=fraction,
        service_date=day,
        options=options,
        created_by=created_by,
        created_at=now,
    )
