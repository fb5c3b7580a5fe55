"""The planning job: forecast every bin, select must-go / may-go, route with OR-Tools, store the plan.

Runs inside a worker process (never inside an API request). Each stage commits its progress in a
short transaction of its own; the result is written in one transaction at the end.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from wasteroute.config import Settings
from wasteroute.errors import WasterouteError
from wasteroute.forecasting.estimators import FillEstimate
from wasteroute.forecasting.fleet import HISTORY_DAYS as FORECAST_HISTORY_DAYS
from wasteroute.forecasting.service import forecast_bins
from wasteroute.planning.admission import check_service_date, check_time_limit, local_today
from wasteroute.planning.calendar import CalendarRules, local_time, next_planning_day
from wasteroute.planning.distances import DistanceProvider, GreatCircleProvider
from wasteroute.planning.problem import BreakRule, Depot, Facility, Location, Problem, Stop, Vehicle
from wasteroute.planning.result import RoutePlan, VisitKind
from wasteroute.planning.roads import PlanDistances
from wasteroute.planning.selection import (
    BinSelection,
    PolicyOptions,
    SelectionInput,
    SelectionParams,
    SelectionStatus,
    select_for_policy,
)
from wasteroute.planning.solver import plan_routes
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import transaction
from wasteroute.storage.history import bin_histories
from wasteroute.storage.jobs import Claim, JobQueue
from wasteroute.storage.models import Bin, ContainerType, PlanBin, Route, RouteStop
from wasteroute.storage.plans import PlanRepository

log = logging.getLogger(__name__)

# A vehicle's volume is the loose container volume one load holds (body volume x compaction), so a
# stop's volume is its container volume x fill. Mass per loose litre: rough German municipal figures;
# a city overrides them with its own weighbridge data.
DENSITY_KG_PER_L = {"residual": 0.13, "paper": 0.09, "packaging": 0.04, "bio": 0.40, "glass": 0.30}
ACCESS = {"standard": {"standard"}, "narrow": {"standard", "narrow"}, "crane": {"crane", "standard"}}
# Routing costs (euro-like units): a truck kilometre and a crew hour. The selection's prizes are in
# the same unit: what emptying a may-go container now is worth, and what an overflow costs.
COST_PER_KM = 2.0
COST_PER_HOUR = 60.0
COST_PER_TOUR = 60.0
"""What sending a truck out at all costs beyond its km and hours (crew call-out, checks, tipping
fees): a tour for a handful of may-go containers has to be worth it."""
FILL_VALUE = 6.0
OVERFLOW_COST = 250.0
HISTORY_DAYS = FORECAST_HISTORY_DAYS
VISIT_TIME = time(10, 0)
CATEGORY = {SelectionStatus.MUST_GO: "must", SelectionStatus.MAY_GO: "may", SelectionStatus.SKIP: "skip"}


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class PlanInputs:
    """Everything the pure stages need, read from the database in one go."""

    city_id: int
    slug: str
    timezone: str
    threshold: float
    holiday_region: str | None
    service_date: date
    fraction: str
    bins: list[tuple[Bin, ContainerType, float | None]]
    histories: dict[int, tuple[list[float], list[float], list[float]]]
    vehicles: list[dict[str, Any]]
    depots: list[dict[str, Any]]
    facilities: list[dict[str, Any]]


def load_inputs(
    session: Session, city_id: int, fraction: str, service_date: date, now: datetime
) -> PlanInputs:
    cities = CityRepository(session)
    city = cities.get(city_id)
    if city is None:
        raise LookupError(f"city {city_id} not found")
    hist = bin_histories(session, city_id, fraction, now - timedelta(days=HISTORY_DAYS))
    bins = [(b, t, s.fill_level if s else None) for b, t, s in cities.bins_with_state(city_id, fraction)]
    return PlanInputs(
        city_id=city.id,
        slug=city.slug,
        timezone=city.timezone,
        threshold=city.fill_threshold,
        holiday_region=city.holiday_region,
        service_date=service_date,
        fraction=fraction,
        bins=bins,
        histories={k: (v.times_s, v.fills, v.emptied_at_s) for k, v in hist.items()},
        vehicles=[
            {
                "id": v.id,
                "external_id": v.external_id,
                "depot_id": v.depot_id,
                "volume_l": v.volume_l,
                "mass_kg": v.mass_kg,
                "shift": (_seconds(v.shift_start), _seconds(v.shift_end)),
                "max_duration_s": v.max_duration_s,
                "access_class": v.access_class,
            }
            for v in cities.vehicles(city_id, fraction)
        ],
        depots=[{"id": d.id, "lon": d.lon, "lat": d.lat} for d in cities.depots(city_id)],
        facilities=[
            {
                "id": f.id,
                "lon": f.lon,
                "lat": f.lat,
                "window": (_seconds(f.opens), _seconds(f.closes)),
                "unload_s": f.unload_s,
            }
            for f in cities.facilities(city_id)
            if fraction in f.fractions
        ],
    )


def forecast_all(inputs: PlanInputs, now: datetime) -> dict[int, FillEstimate]:
    """One estimate per bin from the fleet forecast (the same one the dispatcher's map shows)."""
    bins = [(b.id, b.fraction, t.code) for b, t, _ in inputs.bins]
    return {bid: f.estimate for bid, f in forecast_bins(bins, inputs.histories, now).items()}


def later_visit_times(next_day: date, horizon_days: int, rules: CalendarRules) -> list[datetime]:
    """Visit times of the planning days from ``next_day`` on, within ``horizon_days`` of the day
    before it (the look-ahead of the dynamic policy; at least ``next_day``)."""
    days = [next_day]
    end = next_day + timedelta(days=horizon_days - 1)
    while (d := next_planning_day(days[-1], rules)) <= end:
        days.append(d)
    return [local_time(d, VISIT_TIME, rules) for d in days]


def build_problem(
    inputs: PlanInputs,
    chosen: list[tuple[Bin, ContainerType, float, bool, float]],
    settings: Settings,
    provider: DistanceProvider | None = None,
) -> tuple[Problem, dict[str, int]]:
    """Routing problem over depots, facilities and the chosen bins (bin, type, fill, required, prize)."""
    locations: list[Location] = []
    points: list[tuple[float, float]] = []

    def add(ident: str, lon: float, lat: float) -> int:
        locations.append(Location(ident, lat=lat, lon=lon))
        points.append((lat, lon))
        return len(locations) - 1

    depots = [Depot(f"depot-{d['id']}", add(f"depot-{d['id']}", d["lon"], d["lat"])) for d in inputs.depots]
    facilities = [
        Facility(
            f"facility-{f['id']}",
            add(f"facility-{f['id']}", f["lon"], f["lat"]),
            frozenset({inputs.fraction}),
            window=f["window"],
            unload_s=int(f["unload_s"]),
        )
        for f in inputs.facilities
    ]
    stops = []
    bin_of_stop: dict[str, int] = {}
    density = DENSITY_KG_PER_L.get(inputs.fraction, 0.15)
    for b, t, fill, required, prize in chosen:
        loose_l = max(0.0, min(fill, 1.25)) * t.volume_l
        sid = f"bin-{b.id}"
        bin_of_stop[sid] = b.id
        window = (_seconds(b.collection_start), _seconds(b.collection_end))
        stops.append(
            Stop(
                id=sid,
                location=add(sid, b.lon, b.lat),
                volume_l=round(loose_l, 1),
                mass_kg=round(loose_l * density, 1),
                service_s=int(t.service_s),
                time_windows=(window,),
                access_class=b.access_class,
                fraction=b.fraction,
                required=required,
                prize=max(0.0, prize),
            )
        )
    vehicles = [
        Vehicle(
            id=f"vehicle-{v['id']}",
            start_depot=f"depot-{v['depot_id']}",
            capacity_volume_l=float(v["volume_l"]),
            capacity_mass_kg=float(v["mass_kg"]),
            fraction=inputs.fraction,
            shift=v["shift"],
            max_duration_s=int(v["max_duration_s"]),
            access_classes=frozenset(ACCESS.get(v["access_class"], {v["access_class"]})),
            break_rule=BreakRule.statutory(),
            must_end_empty=bool(facilities),
            cost_per_km=COST_PER_KM,
            cost_per_hour=COST_PER_HOUR,
            fixed_cost=COST_PER_TOUR,
        )
        for v in inputs.vehicles
    ]
    provider = provider or GreatCircleProvider(detour_factor=settings.road_detour_factor)
    distance_m, duration_s = provider.matrices(points)
    problem = Problem(
        locations=tuple(locations),
        distance_m=distance_m,
        duration_s=duration_s,
        stops=tuple(stops),
        depots=tuple(depots),
        vehicles=tuple(vehicles),
        facilities=tuple(facilities),
        name=f"{inputs.slug}-{inputs.fraction}-{inputs.service_date}",
    )
    return problem, bin_of_stop


def _at(day: date, tz: ZoneInfo, seconds: int) -> datetime:
    return (datetime.combine(day, time(0), tz) + timedelta(seconds=seconds)).astimezone(UTC)


def store_plan(
    session: Session,
    plan_id: int,
    inputs: PlanInputs,
    result: RoutePlan,
    bin_of_stop: dict[str, int],
    selection_rows: list[dict[str, Any]],
    extra: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    tz = ZoneInfo(inputs.timezone)
    repo = PlanRepository(session)
    bins = {b.id: b for b, _, _ in inputs.bins}
    fac = {f"facility-{f['id']}": f for f in inputs.facilities}
    dep = {f"depot-{d['id']}": d for d in inputs.depots}
    routed: set[int] = set()
    total_hours = 0.0
    for r in result.routes:
        vehicle_id = int(r.vehicle_id.removeprefix("vehicle-"))
        stops = []
        trips: list[dict[str, Any]] = []
        trip = {"stops": 0, "volume_l": 0.0, "mass_kg": 0.0}
        prev_v = prev_m = 0.0
        for seq, v in enumerate(r.visits):
            row = RouteStop(
                city_id=inputs.city_id,
                seq=seq,
                kind=v.kind.value,
                eta=_at(inputs.service_date, tz, v.arrival_s),
                departure=_at(inputs.service_date, tz, v.end_s),
                load_volume_l=v.load_volume_l,
                load_mass_kg=v.load_mass_kg,
            )
            if v.kind is VisitKind.STOP:
                b = bins[bin_of_stop[v.ref_id]]
                row.bin_id, row.lon, row.lat = b.id, b.lon, b.lat
                routed.add(b.id)
                trip["stops"] += 1
                trip["volume_l"] += v.load_volume_l - prev_v
                trip["mass_kg"] += v.load_mass_kg - prev_m
            elif v.kind is VisitKind.FACILITY:
                f = fac[v.ref_id]
                row.facility_id, row.lon, row.lat = f["id"], f["lon"], f["lat"]
                trips.append(
                    {
                        "facility_id": f["id"],
                        "stops": trip["stops"],
                        "volume_l": round(float(trip["volume_l"]), 1),
                        "mass_kg": round(float(trip["mass_kg"]), 1),
                    }
                )
                trip = {"stops": 0, "volume_l": 0.0, "mass_kg": 0.0}
            elif v.kind in (VisitKind.START, VisitKind.END):
                d = dep.get(v.ref_id)
                if d:
                    row.depot_id, row.lon, row.lat = d["id"], d["lon"], d["lat"]
            prev_v, prev_m = v.load_volume_l, v.load_mass_kg
            stops.append(row)
        total_hours += r.duration_s / 3600
        repo.add_route(
            Route(
                plan_id=plan_id,
                city_id=inputs.city_id,
                vehicle_id=vehicle_id,
                distance_m=int(r.distance_m),
                duration_s=int(r.duration_s),
                start_at=_at(inputs.service_date, tz, r.start_s),
                end_at=_at(inputs.service_date, tz, r.end_s),
                trips=trips,
            ),
            stops,
        )
    dropped = {bin_of_stop[x.stop_id]: x for x in result.dropped}
    rows = []
    for s in selection_rows:
        reason = s["reason"]
        why = dropped.get(s["bin_id"])
        if why is not None:
            reason = f"{reason}; left out: {why.reason.value}" + (f" ({why.detail})" if why.detail else "")
        rows.append(
            PlanBin(
                plan_id=plan_id,
                bin_id=s["bin_id"],
                category=s["category"],
                forecast_fill=s["forecast_fill"],
                routed=s["bin_id"] in routed,
                reason=reason,
                reason_code=s.get("code") or None,
                reason_params=dict(s.get("params") or {}),
                drop_code=why.reason.code if why is not None else None,
                drop_params=dict(why.params) if why is not None else None,
            )
        )
    repo.add_plan_bins(rows)
    summary = {
        "bins_considered": len(selection_rows),
        "must_go": sum(1 for s in selection_rows if s["category"] == "must"),
        "may_go": sum(1 for s in selection_rows if s["category"] == "may"),
        "routed": len(routed),
        "routes": len(result.routes),
        "km": round(result.km, 2),
        "hours": round(total_hours, 2),
        "feasible": result.feasible,
        "engine": result.engine,
        "solve_time_s": round(result.solve_time_s, 2),
        "iterations": int(result.stats.get("pyvrp_iteration_limit", 0)) or None,
        "stopped_by_clock": bool(result.stats.get("stopped_by_clock", 0.0)),
        "notes": [{"code": n.code, "params": dict(n.params)} for n in result.notes],
        "fleet": result.fleet.as_dict() if result.fleet is not None else None,
        **extra,
    }
    repo.finish(plan_id, summary=summary, diagnosis=" ".join(result.diagnosis) or None, finished_at=now)
    return summary


def execute_plan(
    factory: sessionmaker[Session],
    settings: Settings,
    plan_id: int,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    claim: Claim | None = None,
    on_decisions: Callable[[list[BinSelection]], None] | None = None,
) -> dict[str, Any]:
    """Run one claimed plan job to the end; failures are stored on the plan, never raised.

    With a ``claim`` (a worker's job, see ``planning/jobs.py``) the result is stored only while that
    attempt still holds the job, and a failure is retried up to ``settings.plan_max_attempts``.
    ``options["policy"]`` picks the selection policy (see ``selection.PolicyOptions``);
    ``on_decisions`` (optional) sees the selection before routing (the simulator's reliability check).
    """
    started = clock.perf_counter()
    try:
        with transaction(factory) as session:
            plan = PlanRepository(session).get(plan_id)
            if plan is None:
                raise LookupError(f"plan {plan_id} not found")
            options = dict(plan.options or {})
            inputs = load_inputs(session, plan.city_id, plan.fraction, plan.service_date, now())
            # the API's bounds, a week wider for jobs that waited: no job plans year 1 or 9999
            check_service_date(
                plan.service_date,
                local_today(inputs.timezone, now()),
                days_back=settings.plan_days_back + 7,
                days_ahead=settings.plan_days_ahead + 7,
            )
            PlanRepository(session).set_progress(plan_id, 0.1)
        t_now = now()
        rules = CalendarRules(timezone=inputs.timezone, subdivision=inputs.holiday_region or "SH")
        next_day = next_planning_day(inputs.service_date, rules)
        visit_at = local_time(inputs.service_date, VISIT_TIME, rules)
        next_visit_at = local_time(next_day, VISIT_TIME, rules)
        estimates = forecast_all(inputs, t_now)
        params = SelectionParams(
            default_threshold=inputs.threshold,
            timezone=inputs.timezone,
            fill_value=FILL_VALUE,
            overflow_cost=OVERFLOW_COST,
            thresholds={(inputs.slug, k): float(v) for k, v in dict(options.get("thresholds") or {}).items()},
        )
        policy = PolicyOptions.from_options(options)
        decisions = select_for_policy(
            [SelectionInput(str(b.id), inputs.slug, b.fraction, estimates[b.id]) for b, _, _ in inputs.bins],
            visit_at=visit_at,
            next_visit_at=next_visit_at,
            later_visits=later_visit_times(next_day, policy.horizon_days, rules),
            params=params,
            policy=policy,
        )
        if on_decisions is not None:
            on_decisions(decisions)
        with transaction(factory) as session:
            PlanRepository(session).set_progress(plan_id, 0.3)
        by_id = {b.id: (b, t) for b, t, _ in inputs.bins}
        chosen = []
        selection_rows = []
        for d in decisions:
            bid = int(d.bin_id)
            b, t = by_id[bid]
            category = CATEGORY[d.status]
            selection_rows.append(
                {
                    "bin_id": bid,
                    "category": category,
                    "forecast_fill": round(d.fill_at_visit, 3),
                    "reason": d.reason,
                    "code": d.code,
                    "params": dict(d.params),
                }
            )
            if d.status is not SelectionStatus.SKIP:
                chosen.append((b, t, d.fill_at_visit, d.status is SelectionStatus.MUST_GO, d.prize))
        if not inputs.vehicles:
            raise LookupError(f"no active vehicle collects {inputs.fraction} in {inputs.slug}")
        distances = PlanDistances(settings, factory, inputs.city_id)
        problem, bin_of_stop = build_problem(inputs, chosen, settings, distances)
        time_limit = check_time_limit(
            float(options.get("time_limit_s", settings.plan_time_limit_s)),
            cap_s=settings.plan_max_time_limit_s,
        )
        # "iterations" (from an earlier plan's summary) replays that plan's search exactly
        replay = options.get("iterations")
        result = plan_routes(
            problem,
            time_limit_s=time_limit,
            seed=int(options.get("seed", 0)),
            iterations=int(replay) if replay is not None else None,
        )
        with transaction(factory) as session:
            if claim is not None and not JobQueue(session).hold(claim):
                log.warning("plan %s: attempt %s lost its lease, result not stored", plan_id, claim.attempt)
                return {"plan_id": plan_id, "status": "superseded", "attempt": claim.attempt}
            summary = store_plan(
                session,
                plan_id,
                inputs,
                result,
                bin_of_stop,
                selection_rows,
                {
                    "next_planning_day": next_day.isoformat(),
                    "job_seconds": round(clock.perf_counter() - started, 2),
                    "distances": distances.source,
                    "warnings": distances.warnings,
                    **({"attempt": claim.attempt} if claim is not None else {}),
                },
                now(),
            )
        return {"plan_id": plan_id, "status": "done", **summary}
    except Exception as exc:
        log.exception("plan %s failed", plan_id)
        error = f"{type(exc).__name__}: {exc}"
        with transaction(factory) as session:
            if claim is None:
                PlanRepository(session).fail(plan_id, error, now())
                return {"plan_id": plan_id, "status": "failed", "error": str(exc)}
            # bad input repeats on every attempt; anything else (database, memory) may not
            retry = not isinstance(exc, (LookupError, ValueError, WasterouteError))
            status = JobQueue(session).retry_or_fail(
                claim, error, max_attempts=settings.plan_max_attempts, retry=retry
            )
        return {"plan_id": plan_id, "status": status, "error": str(exc)}
