"""Response and request bodies of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Fraction = Literal["residual", "paper", "glass", "packaging", "bio"]


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fraction: Fraction
    service_date: date | None = Field(default=None, description="default: today in the city's time zone")
    time_limit_s: float = Field(default=20.0, gt=0, le=600)
    seed: int = Field(default=0, ge=0)


class PlanJobRead(BaseModel):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    fraction: str
    service_date: date
    created_at: datetime
    finished_at: datetime | None
    error: str | None


class StopRead(BaseModel):
    seq: int
    kind: str
    bin_id: int | None
    bin_external_id: str | None = None
    facility_id: int | None
    lon: float | None
    lat: float | None
    eta: datetime
    departure: datetime
    load_volume_l: float
    load_mass_kg: float
    status: str


class RouteRead(BaseModel):
    id: int
    vehicle_id: int
    vehicle_name: str | None = None
    distance_km: float
    duration_h: float
    start_at: datetime
    end_at: datetime
    trips: list[dict[str, Any]]
    stops: list[StopRead]


class LeftOut(BaseModel):
    bin_id: int
    category: str
    forecast_fill: float | None
    reason: str


class PlanRead(PlanJobRead):
    summary: dict[str, Any] | None
    diagnosis: str | None
    routes: list[RouteRead]
    left_out: list[LeftOut]
