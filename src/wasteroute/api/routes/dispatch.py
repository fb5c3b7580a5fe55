"""Dispatchers' daily questions: the plans of a service day, why a container is not planned, a
container's fill history, and moving or locking a stop before the drivers start."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from wasteroute.api.deps import (
    Caller,
    NowDep,
    SessionDep,
    SettingsDep,
    commit_and_forget_tour_access,
    require,
)
from wasteroute.api.dispatch import EditInvalid, explain_unplanned, lock_stop, move_stop
from wasteroute.api.errors import AUTH_ERRORS, CONFLICT, NOT_FOUND
from wasteroute.api.routes.plans import plan_detail
from wasteroute.api.schemas.dispatch import (
    DayPlanRead,
    DayPlans,
    FillHistory,
    FillReading,
    StopLock,
    StopMove,
    UnplannedList,
)
from wasteroute.api.schemas.plans import PlanRead
from wasteroute.errors import NotFound
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.dispatch_edits import DispatchEditRepository
from wasteroute.storage.models import City
from wasteroute.storage.plans import PlanRepository
from wasteroute.vocabulary import Fraction, PlanStatus, Role

router = APIRouter(prefix="/api/v1", tags=["dispatcher"])
DISPATCH = require(Role.DISPATCHER, Role.ADMIN)
MAX_HISTORY_DAYS = 92
MAX_READINGS = 5000
WEEK = timedelta(days=7)


def _city(session: SessionDep, caller: Caller) -> City:
    city = CityRepository(session).get(caller.city_id)
    if city is None:
        raise NotFound("your city no longer exists")
    return city


def _today(city: City, now: datetime) -> date:
    return now.astimezone(ZoneInfo(city.timezone)).date()


@router.get(
    "/days/{service_date}/plans",
    response_model=DayPlans,
    responses=AUTH_ERRORS,
    summary="The plan jobs of one service day (who started each, when, status) and the current one",
)
def day_plans(
    service_date: date,
    session: SessionDep,
    now: NowDep,
    fraction: Fraction | None = None,
    caller: Caller = DISPATCH,
) -> DayPlans:
    city = _city(session, caller)
    rows = DispatchEditRepository(session).day_plans(caller.city_id, fraction, service_date)
    done = [p for p in rows if p.status == PlanStatus.DONE]
    current = max(done, key=lambda p: (p.finished_at or p.created_at, p.id)) if done else None
    repo = DispatchEditRepository(session)
    later = (
        None if current else repo.next_plan_day(caller.city_id, fraction, service_date, service_date + WEEK)
    )
    return DayPlans(
        service_date=service_date,
        today=_today(city, now),
        current_plan_id=current.id if current else None,
        next_plan_date=later,
        items=[
            DayPlanRead(
                id=p.id,
                fraction=p.fraction,
                service_date=p.service_date,
                status=PlanStatus(p.status),
                progress=p.progress,
                created_at=p.created_at,
                started_at=p.started_at,
                finished_at=p.finished_at,
                created_by=p.created_by,
                routes=p.routes,
                distance_km=round(p.distance_m / 1000, 3),
            )
            for p in rows
        ],
    )


@router.get(
    "/plans/{plan_id}/unplanned",
    response_model=UnplannedList,
    responses={**AUTH_ERRORS, **NOT_FOUND},
    summary="Why each container that is full soon (or left out) is on none of the plan's tours",
)
def unplanned(plan_id: int, session: SessionDep, now: NowDep, caller: Caller = DISPATCH) -> UnplannedList:
    city = _city(session, caller)
    plan = PlanRepository(session).get(plan_id, caller.city_id) if 0 < plan_id < 2**63 else None
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    return UnplannedList(plan_id=plan.id, items=explain_unplanned(session, city, plan, now))


@router.get(
    "/bins/{bin_id}/readings",
    response_model=FillHistory,
    responses={**AUTH_ERRORS, **NOT_FOUND},
    summary=f"A container's fill readings and emptyings in [since, until) (at most {MAX_HISTORY_DAYS} days)",
)
def bin_readings(
    bin_id: int,
    session: SessionDep,
    now: NowDep,
    since: Annotated[datetime | None, Query(description="default: 7 days before until")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    caller: Caller = DISPATCH,
) -> FillHistory:
    repo = DispatchEditRepository(session)
    found = repo.bin_fraction(caller.city_id, bin_id)
    if found is None:
        raise NotFound(f"bin {bin_id} not found")
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise EditInvalid(
                "naive_time", f"{name} needs a time zone, e.g. 2026-12-01T00:00:00Z", {"field": name}
            )
    end = until or now
    start = since or end - timedelta(days=7)
    if start >= end:
        raise EditInvalid(
            "empty_range",
            f"since ({start.isoformat()}) must lie before until ({end.isoformat()})",
            {"since": start.isoformat(), "until": end.isoformat()},
        )
    if end - start > timedelta(days=MAX_HISTORY_DAYS):
        raise EditInvalid(
            "range_too_long",
            f"expected at most {MAX_HISTORY_DAYS} days between since and until, got {(end - start).days}",
            {"max_days": MAX_HISTORY_DAYS},
        )
    points = repo.fills(caller.city_id, bin_id, start, end, MAX_READINGS + 1)
    return FillHistory(
        bin_id=bin_id,
        bin_external_id=found[0],
        since=start,
        until=end,
        readings=[
            FillReading(measured_at=p.measured_at, fill_level=p.fill_level) for p in points[-MAX_READINGS:]
        ],
        emptied_at=repo.emptyings(caller.city_id, bin_id, start, end),
        truncated=len(points) > MAX_READINGS,
    )


EDIT_ERRORS = {**AUTH_ERRORS, **NOT_FOUND, **CONFLICT}


@router.post(
    "/stops/{stop_id}/move",
    response_model=PlanRead,
    responses=EDIT_ERRORS,
    summary="Move a container stop to another tour of its plan (409 with the rule it would break)",
)
def move(
    stop_id: int,
    body: StopMove,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    caller: Caller = DISPATCH,
) -> PlanRead:
    city = _city(session, caller)
    plan_id = move_stop(
        session, city.id, stop_id, body.route_id, settings.road_detour_factor, _today(city, now)
    )
    commit_and_forget_tour_access(request, session)
    session.expire_all()
    plan = PlanRepository(session).get(plan_id, city.id)
    assert plan is not None
    return plan_detail(session, plan)


@router.post(
    "/stops/{stop_id}/lock",
    response_model=PlanRead,
    responses=EDIT_ERRORS,
    summary="Lock a container stop to its tour (or unlock it) before the driver starts",
)
def lock(
    stop_id: int,
    body: StopLock,
    request: Request,
    session: SessionDep,
    now: NowDep,
    caller: Caller = DISPATCH,
) -> PlanRead:
    city = _city(session, caller)
    plan_id = lock_stop(session, city.id, stop_id, body.locked, _today(city, now))
    commit_and_forget_tour_access(request, session)
    session.expire_all()
    plan = PlanRepository(session).get(plan_id, city.id)
    assert plan is not None
    return plan_detail(session, plan)
