"""Dispatchers: plan jobs, plans with their routes, stops, trips and left-out bins, routes as GeoJSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from wasteroute.api.schemas.common import InBody, LineGeometry, Message, PointGeometry
from wasteroute.vocabulary import (
    Category,
    Fraction,
    PlanStatus,
    PlanTrigger,
    StopKind,
    StopStatus,
)


class PlanOptions(InBody):
    time_limit_s: float = Field(default=20.0, gt=0, le=600, description="solver time limit, seconds")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class PlanCreate(InBody):
    fraction: Fraction
    service_date: date | None = Field(default=None, description="default: today in the city's time zone")
    options: PlanOptions = Field(default_factory=PlanOptions)


class PlanJobRead(BaseModel):
    id: int
    status: PlanStatus
    progress: float = Field(description="0..1")
    fraction: str
    service_date: date
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    attempts: int = Field(default=0, description="times a worker took the job (a crashed worker's counts)")
    trigger: PlanTrigger = PlanTrigger.MANUAL


class StopRead(BaseModel):
    id: int
    seq: int
    kind: StopKind
    bin_id: int | None
    bin_external_id: str | None
    container_type: str | None
    facility_id: int | None
    facility_name: str | None
    lon: float | None
    lat: float | None
    eta: datetime
    departure: datetime
    load_volume_l: float = Field(description="load on the truck after this stop, litres (compacted)")
    load_mass_kg: float
    status: StopStatus
    locked: bool = Field(default=False, description="pinned to this tour by a dispatcher")


class TripRead(BaseModel):
    """One trip between loading and unloading at a facility."""

    facility_id: int | None = None
    stops: int = 0
    volume_l: float = 0.0
    mass_kg: float = 0.0


class RouteRead(BaseModel):
    id: int
    vehicle_id: int
    vehicle_name: str = Field(description="the city's own name of the truck")
    vehicle_external_id: str = Field(default="", description="the truck's fleet number or plate")
    vehicle_access_class: str = Field(
        default="standard",
        description="standard, narrow (small truck) or crane: the pages name the truck by it",
    )
    distance_km: float
    duration_h: float
    start_at: datetime
    end_at: datetime
    trips: list[TripRead]
    stops: list[StopRead]


class LeftOut(BaseModel):
    bin_id: int
    bin_external_id: str | None
    category: Category = Field(description="must or may")
    forecast_fill: float | None
    reason: str = Field(description="the selection's decision and why the router left it out, in English")
    code: str | None = Field(
        default=None,
        description="the selection's decision (must_threshold, must_overflow_risk, may_due_soon, ...); "
        "None for plans made before codes were stored",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="the numbers of ``code``")
    drop_code: str | None = Field(
        default=None,
        description="why the router left it out: optional_not_worth, capacity, no_time_left, "
        "no_compatible_vehicle, time_window_unreachable",
    )
    drop_params: dict[str, Any] = Field(default_factory=dict)


class PlanRead(PlanJobRead):
    summary: dict[str, Any] | None
    diagnosis: str | None = Field(description="in English, for API users and logs")
    notes: list[Message] = Field(
        default_factory=list, description="the diagnosis as codes with their numbers, one per sentence"
    )
    routes: list[RouteRead]
    left_out: list[LeftOut]


class RouteFeatureProperties(BaseModel):
    kind: Literal["route"] | StopKind
    seq: int | None = None
    route_id: int | None = None
    vehicle_name: str | None = None
    distance_km: float | None = None
    duration_h: float | None = None
    bin_external_id: str | None = None
    container_type: str | None = None
    facility_name: str | None = None
    eta: datetime | None = None
    status: StopStatus | None = None


class RouteFeature(BaseModel):
    type: Literal["Feature"]
    geometry: PointGeometry | LineGeometry
    properties: RouteFeatureProperties


class RouteGeoJSON(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[RouteFeature]
