"""Dispatchers: create plan jobs and read plans of their own city."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, status

from wasteroute.api.deps import Caller, SessionDep, require
from wasteroute.api.schemas import Fraction, LeftOut, PlanCreate, PlanJobRead, PlanRead, RouteRead, StopRead
from wasteroute.errors import NotFound
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.models import Plan
from wasteroute.storage.plans import PlanRepository

router = APIRouter(prefix="/api/v1/plans", tags=["dispatcher"])
DISPATCH = require("dispatcher", "admin")


def _job(p: Plan) -> PlanJobRead:
    return PlanJobRead(id=p.id, status=p.status, progress=p.progress, fraction=p.fraction,  # type: ignore[arg-type]
                       service_date=p.service_date, created_at=p.created_at, finished_at=p.finished_at,
                       error=p.error)


def plan_detail(session: SessionDep, p: Plan) -> PlanRead:
    repo = PlanRepository(session)
    cities = CityRepository(session)
    names = {v.id: v.name for v in cities.vehicles(p.city_id)}
    bins = {b.id: b.external_id for b, _, _ in cities.bins_with_state(p.city_id, p.fraction)}
    routes = []
    for r in repo.routes(p.id):
        stops = [StopRead(seq=s.seq, kind=s.kind, bin_id=s.bin_id, bin_external_id=bins.get(s.bin_id or -1),
                          facility_id=s.facility_id, lon=s.lon, lat=s.lat, eta=s.eta, departure=s.departure,
                          load_volume_l=s.load_volume_l, load_mass_kg=s.load_mass_kg, status=s.status)
                 for s in repo.stops(r.id)]
        routes.append(RouteRead(id=r.id, vehicle_id=r.vehicle_id, vehicle_name=names.get(r.vehicle_id),
                                distance_km=r.distance_m / 1000, duration_h=r.duration_s / 3600,
                                start_at=r.start_at, end_at=r.end_at, trips=r.trips, stops=stops))
    left = [LeftOut(bin_id=b.bin_id, category=b.category, forecast_fill=b.forecast_fill, reason=b.reason)
            for b in repo.plan_bins(p.id) if not b.routed and b.category != "skip"]
    return PlanRead(**_job(p).model_dump(), summary=p.summary, diagnosis=p.diagnosis, routes=routes, left_out=left)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=PlanJobRead)
def create_plan(body: PlanCreate, session: SessionDep, caller: Caller = DISPATCH) -> PlanJobRead:
    city = CityRepository(session).get(caller.city_id)
    if city is None:
        raise NotFound("your city no longer exists")
    day = body.service_date or datetime.now(ZoneInfo(city.timezone)).date()
    plan = PlanRepository(session).create(
        city_id=city.id, fraction=body.fraction, service_date=day,
        options={"time_limit_s": body.time_limit_s, "seed": body.seed}, created_by=caller.principal_id,
    )
    return _job(plan)


@router.get("/latest", response_model=PlanRead)
def latest_plan(fraction: Fraction, session: SessionDep, caller: Caller = DISPATCH) -> PlanRead:
    p = PlanRepository(session).latest_done(caller.city_id, fraction)
    if p is None:
        raise NotFound(f"no finished plan for {fraction} yet")
    return plan_detail(session, p)


@router.get("/{plan_id}", response_model=PlanRead)
def get_plan(plan_id: int, session: SessionDep, caller: Caller = DISPATCH) -> PlanRead:
    p = PlanRepository(session).get(plan_id, caller.city_id)
    if p is None:
        raise NotFound(f"plan {plan_id} not found")
    return plan_detail(session, p)
