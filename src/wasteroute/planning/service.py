"""The planning job: forecast every bin, select must-go / may-go, route with OR-Tools, store the plan.

Runs inside a worker process (never inside an API request). Each stage commits its progress in a
short transaction of its own; the result is written in one transaction at the end.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from wasteroute.config import Settings
from wasteroute.errors import WasterouteError
from wasteroute.forecasting.estimators import FillEstimate
from wasteroute.forecasting.fleet import HISTORY_DAYS as FORECAST_HISTORY_DAYS
from wasteroute.forecasting.service import announced_events, forecast_bins
from wasteroute.planning.admission import check_service_date, check_time_limit, local_today
from wasteroute.planning.assembly import (
    BinRow,
    Chosen,
    DepotRow,
    FacilityRow,
    PlanInputs,
    VehicleRow,
    build_problem,
    consider,
    plan_rows,
    seconds_of_day,
    selection_key,
)
from wasteroute.planning.calendar import CalendarRules, local_time, next_planning_day, service_calendar
from wasteroute.planning.result import RoutePlan
from wasteroute.planning.roads import PlanDistances
from wasteroute.planning.selection import (
    BinSelection,
    PolicyOptions,
    SelectionInput,
    SelectionParams,
    select_for_policy,
)
from wasteroute.planning.solver import plan_routes
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import transaction
from wasteroute.storage.history import bin_histories
from wasteroute.storage.jobs import Claim, JobQueue, ScheduleRepository
from wasteroute.storage.plans import PlanRepository
from wasteroute.vocabulary import WEEKDAYS

log = logging.getLogger(__name__)

# The selection's prizes are in the routing cost unit (see ``assembly.COST_PER_KM``): what emptying
# a may-go container now is worth, and what an overflow costs.
FILL_VALUE = 6.0
OVERFLOW_COST = 250.0
HISTORY_DAYS = FORECAST_HISTORY_DAYS
VISIT_TIME = time(10, 0)


def load_inputs(
    session: Session, city_id: int, fraction: str, service_date: date, now: datetime
) -> PlanInputs:
    cities = CityRepository(session)
    city = cities.get(city_id)
    if city is None:
        raise LookupError(f"city {city_id} not found")
    hist = bin_histories(session, city_id, fraction, now - timedelta(days=HISTORY_DAYS))
    # the fraction's schedule: its service days when enabled, its collection policy either way
    schedule = ScheduleRepository(session).get(city_id, fraction)
    policy = dict(schedule.policy or {}) if schedule is not None else {}
    if schedule is not None and not schedule.enabled:
        schedule = None
    return PlanInputs(
        city_id=city.id,
        slug=city.slug,
        timezone=city.timezone,
        threshold=city.fill_threshold,
        holiday_region=city.holiday_region,
        service_date=service_date,
        fraction=fraction,
        bins=tuple(
            BinRow(
                id=b.id,
                lon=b.lon,
                lat=b.lat,
                fraction=b.fraction,
                access_class=b.access_class,
                window_s=(seconds_of_day(b.collection_start), seconds_of_day(b.collection_end)),
                container_code=t.code,
                container_volume_l=t.volume_l,
                service_s=int(t.service_s),
            )
            for b, t, _ in cities.bins_with_state(city_id, fraction)
        ),
        histories={k: (v.times_s, v.fills, v.emptied_at_s) for k, v in hist.items()},
        vehicles=tuple(
            VehicleRow(
                id=v.id,
                depot_id=v.depot_id,
                volume_l=float(v.volume_l),
                mass_kg=float(v.mass_kg),
                shift_s=(seconds_of_day(v.shift_start), seconds_of_day(v.shift_end)),
                max_duration_s=int(v.max_duration_s),
                access_class=v.access_class,
            )
            for v in cities.vehicles(city_id, fraction)
        ),
        depots=tuple(DepotRow(d.id, d.lon, d.lat) for d in cities.depots(city_id)),
        facilities=tuple(
            FacilityRow(
                f.id, f.lon, f.lat, (seconds_of_day(f.opens), seconds_of_day(f.closes)), int(f.unload_s)
            )
            for f in cities.facilities(city_id)
            if fraction in f.fractions
        ),
        service_weekdays=frozenset(schedule.weekdays) if schedule is not None else None,
        open_on_holidays=schedule.on_holidays if schedule is not None else False,
        events=tuple(announced_events(session, city.id, now)),
        policy=policy,
    )


def plan_calendar(inputs: PlanInputs) -> CalendarRules:
    """The days the plan's fraction is collected on (see :func:`service_calendar`). The selection
    plans against the next of these days, so a fraction also collected on Sundays keeps on Saturday
    only what cannot wait until Sunday."""
    return service_calendar(
        inputs.timezone, inputs.holiday_region, inputs.service_weekdays, inputs.open_on_holidays
    )


def later_visit_times(next_day: date, horizon_days: int, rules: CalendarRules) -> list[datetime]:
    """Visit times of the planning days from ``next_day`` on, within ``horizon_days`` of the day
    before it (the look-ahead of the dynamic policy; at least ``next_day``)."""
    days = [next_day]
    end = next_day + timedelta(days=horizon_days - 1)
    while (d := next_planning_day(days[-1], rules)) <= end:
        days.append(d)
    return [local_time(d, VISIT_TIME, rules) for d in days]


def forecast_all(inputs: PlanInputs, now: datetime) -> dict[int, FillEstimate]:
    """One estimate per bin from the fleet forecast (the same one the dispatcher's map shows)."""
    bins = [(b.id, b.fraction, b.container_code) for b in inputs.bins]
    places = {b.id: (b.lon, b.lat) for b in inputs.bins}
    fleet = forecast_bins(bins, inputs.histories, now, events=inputs.events, places=places)
    return {bid: f.estimate for bid, f in fleet.items()}


def execute_plan(
    factory: sessionmaker[Session],
    settings: Settings,
    plan_id: int,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    claim: Claim | None = None,
    on_decisions: Callable[[list[BinSelection]], None] | None = None,
    forecast: Callable[[PlanInputs, datetime], dict[int, FillEstimate]] = forecast_all,
) -> dict[str, Any]:
    """Run one claimed plan job to the end; failures are stored on the plan, never raised.

    With a ``claim`` (a worker's job, see ``planning/jobs.py``) the result is stored only while that
    attempt still holds the job, and a failure is retried up to ``settings.plan_max_attempts``.
    ``options["policy"]`` picks the selection policy (see ``selection.PolicyOptions``);
    ``on_decisions`` (optional) sees the selection before routing (the simulator's reliability check);
    ``forecast`` gives the fill estimates the selection decides on (the fleet forecast; the simulator's
    perfect-foresight what-if gives the truth instead).
    """
    started = clock.perf_counter()
    try:
        options, inputs = _load(factory, settings, plan_id, now)
        next_day, decisions = _select(inputs, options, now(), forecast)
        if on_decisions is not None:
            on_decisions(decisions)
        with transaction(factory) as session:
            PlanRepository(session).set_progress(plan_id, 0.3)
        considered, chosen = consider(inputs, decisions)
        if not inputs.vehicles:
            raise LookupError(f"no active vehicle collects {inputs.fraction} in {inputs.slug}")
        distances = PlanDistances(settings, factory, inputs.city_id)
        result = _route(inputs, chosen, options, settings, distances)
        with transaction(factory) as session:
            if claim is not None and not JobQueue(session).hold(claim):
                log.warning("plan %s: attempt %s lost its lease, result not stored", plan_id, claim.attempt)
                return {"plan_id": plan_id, "status": "superseded", "attempt": claim.attempt}
            rows = plan_rows(
                inputs,
                result,
                considered,
                {
                    "next_planning_day": next_day.isoformat(),
                    "policy": policy_summary(options, inputs.fraction, inputs.threshold),
                    "job_seconds": round(clock.perf_counter() - started, 2),
                    "distances": distances.source,
                    "warnings": distances.warnings,
                    **({"attempt": claim.attempt} if claim is not None else {}),
                },
            )
            repo = PlanRepository(session)
            repo.add_result(plan_id, inputs.city_id, rows.routes, rows.bins)
            repo.finish(plan_id, summary=rows.summary, diagnosis=rows.diagnosis, finished_at=now())
        return {"plan_id": plan_id, "status": "done", **rows.summary}
    except Exception as exc:
        log.exception("plan %s failed", plan_id)
        return _fail(factory, settings, plan_id, claim, exc, now())


def policy_summary(options: dict[str, Any], fraction: str, city_threshold: float) -> dict[str, Any]:
    """The policy a plan followed, as its summary tells the dispatcher: its name, the fill from which
    a container must go, and for the dynamic policy its risk (and, with collection days, those days
    and the risk that sends a truck between them, the default's included)."""
    policy = PolicyOptions.from_options(options)
    thresholds = dict(options.get("thresholds") or {})
    threshold = float(thresholds.get(fraction, city_threshold))
    out: dict[str, Any] = {"policy": policy.policy, "threshold": threshold}
    if policy.policy == "dynamic":
        out["risk"] = policy.risk
        if policy.collection_days:
            out["collection_days"] = [WEEKDAYS[d] for d in sorted(policy.collection_days)]
            # the limit the selection used, the default's too: a dispatcher sees why a truck went
            out["emergency_risk"] = policy.between_rounds_risk
    return out


def _load(
    factory: sessionmaker[Session], settings: Settings, plan_id: int, now: Callable[[], datetime]
) -> tuple[dict[str, Any], PlanInputs]:
    """The job's options and everything its pure stages need, in one transaction that also marks
    the job as started (progress 0.1)."""
    with transaction(factory) as session:
        plan = PlanRepository(session).get(plan_id)
        if plan is None:
            raise LookupError(f"plan {plan_id} not found")
        inputs = load_inputs(session, plan.city_id, plan.fraction, plan.service_date, now())
        # the city's collection policy for the fraction first; what the job itself says wins
        options = {**inputs.policy, **(plan.options or {})}
        # the API's bounds, a week wider for jobs that waited: no job plans year 1 or 9999
        check_service_date(
            plan.service_date,
            local_today(inputs.timezone, now()),
            days_back=settings.plan_days_back + 7,
            days_ahead=settings.plan_days_ahead + 7,
        )
        PlanRepository(session).set_progress(plan_id, 0.1)
    return options, inputs


def _select(
    inputs: PlanInputs,
    options: dict[str, Any],
    now: datetime,
    forecast: Callable[[PlanInputs, datetime], dict[int, FillEstimate]] = forecast_all,
) -> tuple[date, list[BinSelection]]:
    """The next planning day of the fraction after the service date (see :func:`plan_calendar`), and
    the selection's decision on every bin (forecast at the day's visit time, the policy and
    thresholds of the job's options)."""
    rules = plan_calendar(inputs)
    next_day = next_planning_day(inputs.service_date, rules)
    visit_at = local_time(inputs.service_date, VISIT_TIME, rules)
    next_visit_at = local_time(next_day, VISIT_TIME, rules)
    estimates = forecast(inputs, now)
    params = SelectionParams(
        default_threshold=inputs.threshold,
        timezone=inputs.timezone,
        fill_value=FILL_VALUE,
        overflow_cost=OVERFLOW_COST,
        thresholds={(inputs.slug, k): float(v) for k, v in dict(options.get("thresholds") or {}).items()},
    )
    policy = PolicyOptions.from_options(options)
    decisions = select_for_policy(
        [
            SelectionInput(
                selection_key(b.id), inputs.slug, b.fraction, estimates[b.id], access_class=b.access_class
            )
            for b in inputs.bins
        ],
        visit_at=visit_at,
        next_visit_at=next_visit_at,
        later_visits=later_visit_times(next_day, policy.horizon_days, rules),
        params=params,
        policy=policy,
    )
    return next_day, decisions


def _route(
    inputs: PlanInputs,
    chosen: list[Chosen],
    options: dict[str, Any],
    settings: Settings,
    distances: PlanDistances,
) -> RoutePlan:
    """The router on the chosen bins, within the job's time limit (capped by the settings); an
    ``iterations`` option (from an earlier plan's summary) replays that plan's search exactly."""
    problem = build_problem(inputs, chosen, distances)
    time_limit = check_time_limit(
        float(options.get("time_limit_s", settings.plan_time_limit_s)),
        cap_s=settings.plan_max_time_limit_s,
    )
    replay = options.get("iterations")
    return plan_routes(
        problem,
        time_limit_s=time_limit,
        seed=int(options.get("seed", 0)),
        iterations=int(replay) if replay is not None else None,
    )


def _fail(
    factory: sessionmaker[Session],
    settings: Settings,
    plan_id: int,
    claim: Claim | None,
    exc: Exception,
    at: datetime,
) -> dict[str, Any]:
    """A failed job: stored as failed, or for a worker's claim queued again while attempts remain
    (bad input repeats on every attempt, so it fails at once; anything else, such as the database
    or memory, may not)."""
    error = f"{type(exc).__name__}: {exc}"
    with transaction(factory) as session:
        if claim is None:
            PlanRepository(session).fail(plan_id, error, at)
            return {"plan_id": plan_id, "status": "failed", "error": str(exc)}
        retry = not isinstance(exc, (LookupError, ValueError, WasterouteError))
        status = JobQueue(session).retry_or_fail(
            claim, error, max_attempts=settings.plan_max_attempts, retry=retry
        )
    return {"plan_id": plan_id, "status": status, "error": str(exc)}
