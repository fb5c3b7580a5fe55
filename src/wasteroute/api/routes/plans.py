"""Dispatchers: create plan jobs, follow their progress, read plans and routes of their own city."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from wasteroute.api.deps import Caller, NowDep, PageDep, SessionDep, SettingsDep, require
from wasteroute.api.errors import AUTH_ERRORS, NOT_FOUND, ErrorEnvelope
from wasteroute.api.schemas.common import LineGeometry, Message, Page, PointGeometry
from wasteroute.api.schemas.plans import (
    LeftOut,
    PlanCreate,
    PlanJobRead,
    PlanRead,
    RouteFeature,
    RouteFeatureProperties,
    RouteGeoJSON,
    RouteRead,
    StopRead,
    TripRead,
)
from wasteroute.errors import NotFound
from wasteroute.planning.queue import queue_plan
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.dispatch_edits import DispatchEditRepository
from wasteroute.storage.models import Plan
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.tours import StopDetail, TourRepository
from wasteroute.vocabulary import Category, Fraction, PlanStatus, PlanTrigger, Role, StopKind, StopStatus

router = APIRouter(prefix="/api/v1", tags=["dispatcher"])
DISPATCH = require(Role.DISPATCHER, Role.ADMIN)
ERRORS = {**AUTH_ERRORS, **NOT_FOUND}


def _job(p: Plan) -> PlanJobRead:
    return PlanJobRead(
        id=p.id,
        status=PlanStatus(p.status),
        progress=p.progress,
        fraction=p.fraction,
        service_date=p.service_date,
        options=dict(p.options or {}),
        created_at=p.created_at,
        started_at=p.started_at,
        finished_at=p.finished_at,
        error=p.error,
        attempts=p.attempts,
        trigger=PlanTrigger(p.trigger),
    )


def _stop(s: StopDetail, locked: set[int] | None = None) -> StopRead:
    return StopRead(
        id=s.id,
        seq=s.seq,
        kind=StopKind(s.kind),
        bin_id=s.bin_id,
        bin_external_id=s.bin_external_id,
        container_type=s.container_type,
        facility_id=s.facility_id,
        facility_name=s.facility_name,
        lon=s.lon,
        lat=s.lat,
        eta=s.eta,
        departure=s.departure,
        load_volume_l=s.load_volume_l,
        load_mass_kg=s.load_mass_kg,
        status=StopStatus(s.status),
        locked=s.id in (locked or ()),
    )


def plan_detail(session: SessionDep, p: Plan) -> PlanRead:
    repo = PlanRepository(session)
    trucks = {
        v.id: (v.name, v.external_id, v.access_class) for v in CityRepository(session).vehicles(p.city_id)
    }
    routes = list(repo.routes(p.id))
    stops = TourRepository(session).stops([r.id for r in routes])
    locked = DispatchEditRepository(session).locked_stops([r.id for r in routes])
    out = [
        RouteRead(
            id=r.id,
            vehicle_id=r.vehicle_id,
            vehicle_name=truck[0],
            vehicle_external_id=truck[1],
            vehicle_access_class=truck[2],
            distance_km=round(r.distance_m / 1000, 3),
            duration_h=round(r.duration_s / 3600, 3),
            start_at=r.start_at,
            end_at=r.end_at,
            trips=[TripRead.model_validate(t) for t in r.trips or []],
            stops=[_stop(s, locked) for s in stops[r.id]],
        )
        for r in routes
        # a truck retired since the plan keeps its id as its name
        for truck in [trucks.get(r.vehicle_id, (str(r.vehicle_id), str(r.vehicle_id), "standard"))]
    ]
    left = [b for b in repo.plan_bins(p.id) if not b.routed and b.category != Category.SKIP]
    ext = CityRepository(session).bin_external_ids([b.bin_id for b in left])
    return PlanRead(
        **_job(p).model_dump(),
        summary=p.summary,
        diagnosis=p.diagnosis,
        notes=[Message.model_validate(n) for n in (p.summary or {}).get("notes", [])],
        routes=out,
        left_out=[
            LeftOut(
                bin_id=b.bin_id,
                bin_external_id=ext.get(b.bin_id),
                category=Category(b.category),
                forecast_fill=b.forecast_fill,
                reason=b.reason,
                code=b.reason_code,
                params=b.reason_params or {},
                drop_code=b.drop_code,
                drop_params=b.drop_params or {},
            )
            for b in left
        ],
    )


def _plan(session: SessionDep, caller: Caller, plan_id: int) -> Plan:
    p = PlanRepository(session).get(plan_id, caller.city_id) if 0 < plan_id < 2**63 else None
    if p is None:
        raise NotFound(f"plan {plan_id} not found")
    return p


@router.post(
    "/plans",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PlanJobRead,
    responses={**ERRORS, 429: {"model": ErrorEnvelope, "description": "your city's plan queue is full"}},
    summary="Queue a plan job for your city (a worker runs it)",
)
def create_plan(
    body: PlanCreate, session: SessionDep, settings: SettingsDep, now: NowDep, caller: Caller = DISPATCH
) -> PlanJobRead:
    city = CityRepository(session).get(caller.city_id)
    if city is None:
        raise NotFound("your city no longer exists")
    plan = queue_plan(
        session,
        settings,
        city,
        fraction=body.fraction,
        service_date=body.service_date,
        options=body.options.model_dump(),
        now=now,
        created_by=caller.principal_id,
    )
    session.refresh(plan)
    return _job(plan)


@router.get(
    "/plans",
    response_model=Page[PlanJobRead],
    responses=ERRORS,
    summary="Plan jobs of your city, newest first",
)
def list_plans(
    session: SessionDep, page: PageDep, fraction: Fraction | None = None, caller: Caller = DISPATCH
) -> Page[PlanJobRead]:
    rows, total = PlanRepository(session).page(caller.city_id, fraction, limit=page.limit, offset=page.offset)
    return Page(items=[_job(p) for p in rows], total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/plans/latest",
    response_model=PlanRead,
    responses=ERRORS,
    summary="The latest finished plan of a fraction",
)
def latest_plan(
    session: SessionDep, fraction: Annotated[Fraction, Query()], caller: Caller = DISPATCH
) -> PlanRead:
    p = PlanRepository(session).latest_done(caller.city_id, fraction)
    if p is None:
        raise NotFound(f"no finished plan for {fraction} yet")
    return plan_detail(session, p)


@router.get(
    "/plans/{plan_id}/status",
    response_model=PlanJobRead,
    responses=ERRORS,
    summary="Job status and progress (0..1)",
)
def plan_status(plan_id: int, session: SessionDep, caller: Caller = DISPATCH) -> PlanJobRead:
    return _job(_plan(session, caller, plan_id))


@router.get(
    "/plans/{plan_id}",
    response_model=PlanRead,
    responses=ERRORS,
    summary="Plan detail: routes, km, hours, load per trip, left-out bins with reasons, diagnosis",
)
def get_plan(plan_id: int, session: SessionDep, caller: Caller = DISPATCH) -> PlanRead:
    return plan_detail(session, _plan(session, caller, plan_id))


@router.get(
    "/routes/{route_id}/geojson",
    response_model=RouteGeoJSON,
    responses=ERRORS,
    summary="A route as GeoJSON: a LineString through its stops and a Point per stop",
)
def route_geojson(route_id: int, session: SessionDep, caller: Caller = DISPATCH) -> RouteGeoJSON:
    repo = TourRepository(session)
    r = repo.route(route_id, caller.city_id)
    if r is None:
        raise NotFound(f"route {route_id} not found")
    stops = repo.stops([r.id])[r.id]
    located = [s for s in stops if s.lon is not None and s.lat is not None]
    line = RouteFeature(
        type="Feature",
        geometry=LineGeometry(type="LineString", coordinates=[[s.lon or 0.0, s.lat or 0.0] for s in located]),
        properties=RouteFeatureProperties(
            kind="route",
            route_id=r.id,
            vehicle_name=r.vehicle_name,
            distance_km=round(r.distance_m / 1000, 3),
            duration_h=round(r.duration_s / 3600, 3),
        ),
    )
    points = [
        RouteFeature(
            type="Feature",
            geometry=PointGeometry(type="Point", coordinates=[s.lon or 0.0, s.lat or 0.0]),
            properties=RouteFeatureProperties(
                kind=StopKind(s.kind),
                seq=s.seq,
                bin_external_id=s.bin_external_id,
                container_type=s.container_type,
                facility_name=s.facility_name,
                eta=s.eta,
                status=StopStatus(s.status),
            ),
        )
        for s in located
    ]
    return RouteGeoJSON(type="FeatureCollection", features=[line, *points])
