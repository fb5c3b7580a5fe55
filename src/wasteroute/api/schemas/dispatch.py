"""Dispatchers: the plans of a day, why a container is not planned, fill history, hand edits of tours."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from wasteroute.api.schemas.common import DbId, InBody
from wasteroute.vocabulary import (
    PlanStatus,
    UnplannedReason,
)


class DayPlanRead(BaseModel):
    id: int
    fraction: str
    service_date: date
    status: PlanStatus
    progress: float = Field(description="0..1")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str | None = Field(description="name of the key that started the plan")
    routes: int
    distance_km: float


class DayPlans(BaseModel):
    """The plan jobs of one service day, newest first, and the one a dispatcher sees by default."""

    service_date: date
    today: date = Field(description="today in the city's time zone")
    current_plan_id: int | None = Field(description="the newest finished plan of the day, if any")
    next_plan_date: date | None = Field(
        default=None,
        description="when the day has no finished plan: the next day within a week that has one (e.g. "
        "tomorrow, planned in the evening), else None",
    )
    items: list[DayPlanRead]


class UnplannedRead(BaseModel):
    """A container that is full soon or was left out, and not on any tour of the plan, with why.

    ``code`` is stable; ``params`` carries its numbers: ``forecast_pct``, ``threshold_pct`` (the
    forecast at the planned visit and the city's threshold), ``next_day`` (the next planning day, ISO
    date), ``planned_at`` (when the plan was computed), ``category`` (must, may or skip)."""

    bin_id: int
    bin_external_id: str
    must_go_soon: bool = Field(description="full soon on the map now (the KPI counts these)")
    code: UnplannedReason
    params: dict[str, Any]
    lon: float
    lat: float


class UnplannedList(BaseModel):
    plan_id: int
    items: list[UnplannedRead]


class FillReading(BaseModel):
    measured_at: datetime
    fill_level: float | None = Field(description="1.0 = full")


class FillHistory(BaseModel):
    """A container's readings in [since, until), oldest first, and its emptyings in that span."""

    bin_id: int
    bin_external_id: str
    since: datetime
    until: datetime
    readings: list[FillReading]
    emptied_at: list[datetime]
    truncated: bool = Field(description="more readings than returned: only the newest are listed")


class StopMove(InBody):
    route_id: DbId = Field(description="the tour (of the same plan) that takes the stop")


class StopLock(InBody):
    locked: bool
