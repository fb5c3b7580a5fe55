"""Drivers: their own tour of today (a driver never sees another vehicle's tour)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy import select

from wasteroute.api.deps import Caller, SessionDep, require
from wasteroute.api.schemas import RouteRead, StopRead
from wasteroute.errors import NotFound
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.models import Plan, Route
from wasteroute.storage.plans import PlanRepository

router = APIRouter(prefix="/api/v1/driver", tags=["driver"])


@router.get("/tour", response_model=RouteRead)
def my_tour(session: SessionDep, caller: Caller = require("driver")) -> RouteRead:
    city = CityRepository(session).get(caller.city_id)
    if city is None or caller.vehicle_id is None:
        raise NotFound("no tour for you today")
    today = datetime.now(ZoneInfo(city.timezone)).date()
    route = session.scalars(
        select(Route).join(Plan, Plan.id == Route.plan_id)
        .where(Route.vehicle_id == caller.vehicle_id, Route.city_id == caller.city_id,
               Plan.service_date == today, Plan.status == "done")
        .order_by(Plan.finished_at.desc())
    ).first()
    if route is None:
        raise NotFound("no tour for you today")
    repo = PlanRepository(session)
    stops = [StopRead(seq=s.seq, kind=s.kind, bin_id=s.bin_id, facility_id=s.facility_id, lon=s.lon, lat=s.lat,
                      eta=s.eta, departure=s.departure, load_volume_l=s.load_volume_l,
                      load_mass_kg=s.load_mass_kg, status=s.status) for s in repo.stops(route.id)]
    return RouteRead(id=route.id, vehicle_id=route.vehicle_id, distance_km=route.distance_m / 1000,
                     duration_h=route.duration_s / 3600, start_at=route.start_at, end_at=route.end_at,
                     trips=route.trips, stops=stops)
