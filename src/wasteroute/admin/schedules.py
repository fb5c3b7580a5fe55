"""A fraction's morning plan (when it is made, on which days) and the city's collection policy for
the fraction (which containers its plans choose): as the API takes them and a city seed document
carries them, and how they are stored (``plan_schedule``)."""

from __future__ import annotations

from datetime import time
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from wasteroute.planning.selection import PolicyOptions
from wasteroute.storage.jobs import ScheduleRepository
from wasteroute.storage.models import PlanSchedule
from wasteroute.vocabulary import WEEKDAYS, Fraction

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MONDAY_TO_SATURDAY: list[Weekday] = ["mon", "tue", "wed", "thu", "fri", "sat"]


class InBody(BaseModel):
    """A request body or document part: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


def _unique(days: list[Weekday]) -> list[Weekday]:
    if len(set(days)) != len(days):
        raise ValueError("each weekday at most once")
    return sorted(days, key=WEEKDAYS.index)


def _day_name(day: int | str) -> Weekday:
    name = WEEKDAYS[day] if isinstance(day, int) else day
    return cast(Weekday, name)


class CollectionPolicy(InBody):
    """Which containers the fraction's plans empty. Every plan of the fraction starts from it, the
    morning's and a dispatcher's alike."""

    policy: Literal["dynamic", "threshold"] = Field(
        default="dynamic",
        description="dynamic: the look-ahead policy (containers whose overflow risk before the next "
        "service day reaches `risk`, and those worth taking along); threshold: exactly the containers "
        "forecast at or above `threshold` at the visit",
    )
    risk: float | None = Field(
        default=None,
        gt=0,
        le=0.5,
        description="dynamic: the chance of overflowing before the next service day from which a "
        "container must go (default 0.005, i.e. 0.5 %; higher drives fewer km and lets more overflow)",
    )
    threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="fill at the visit from which a container must go (default: the city's fill_threshold)",
    )
    collection_days: list[Weekday] | None = Field(
        default=None,
        min_length=1,
        description="dynamic: the weekdays the fraction's trucks go on their round; on the other service "
        "days only what cannot wait goes (default: every service day)",
    )
    horizon_days: int | None = Field(
        default=None, ge=1, le=21, description="dynamic: how many days ahead it looks (default 6)"
    )
    emergency_risk: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="dynamic with collection_days: between rounds, the chance of overflowing before the "
        "next service day from which a container goes anyway (default 0.05, or `risk` if higher: it keeps "
        "the trucks home for containers the round left just below `risk`)",
    )

    @field_validator("collection_days")
    @classmethod
    def _days(cls, v: list[Weekday] | None) -> list[Weekday] | None:
        return None if v is None else _unique(v)

    @model_validator(mode="after")
    def _as_the_plan_job_reads_it(self) -> CollectionPolicy:
        if self.policy == "threshold" and (
            self.risk is not None or self.collection_days or self.horizon_days or self.emergency_risk
        ):
            raise ValueError(
                "risk, collection_days, horizon_days and emergency_risk are options of the dynamic policy"
            )
        PolicyOptions.from_options(self.options("residual"))  # the plan job's own checks
        return self

    def options(self, fraction: str) -> dict[str, Any]:
        """As plan options (what ``plan_schedule.policy`` stores)."""
        out: dict[str, Any] = {"policy": self.policy}
        if self.risk is not None:
            out["risk"] = self.risk
        if self.horizon_days is not None:
            out["horizon_days"] = self.horizon_days
        if self.collection_days is not None:
            out["collection_days"] = list(self.collection_days)
        if self.emergency_risk is not None:
            out["emergency_risk"] = self.emergency_risk
        if self.threshold is not None:
            out["thresholds"] = {fraction: self.threshold}
        return out

    @classmethod
    def of(cls, fraction: str, options: dict[str, Any]) -> CollectionPolicy:
        """From stored plan options (keys it does not know are left out)."""
        threshold = (options.get("thresholds") or {}).get(fraction)
        days = options.get("collection_days")
        return cls(
            policy=options.get("policy", "dynamic"),
            risk=options.get("risk"),
            threshold=threshold,
            collection_days=None if days is None else [_day_name(d) for d in days],
            horizon_days=options.get("horizon_days"),
            emergency_risk=options.get("emergency_risk"),
        )


class ScheduleWrite(InBody):
    """A fraction's morning plan: made every service day at ``local_time`` (the city's time zone)."""

    local_time: time = Field(default=time(5, 30), description="when the day's plan is made, local time")
    weekdays: list[Weekday] = Field(
        default_factory=lambda: list(MONDAY_TO_SATURDAY),
        min_length=1,
        description="the fraction's service days (residual waste on Sundays too: add sun)",
    )
    on_holidays: bool = Field(default=False, description="plan on the public holidays of the city's state")
    time_limit_s: float = Field(default=20.0, gt=0, le=600, description="routing time limit, seconds")
    enabled: bool = Field(
        default=True,
        description="make the morning plans; when false the fraction keeps its policy for the plans a "
        "dispatcher queues, on the city's default days",
    )
    policy: CollectionPolicy = Field(default_factory=CollectionPolicy)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: list[Weekday]) -> list[Weekday]:
        return _unique(v)

    @model_validator(mode="after")
    def _rounds_on_service_days(self) -> ScheduleWrite:
        days = self.policy.collection_days or []
        if not set(days) <= set(self.weekdays):
            outside = ", ".join(d for d in days if d not in self.weekdays)
            raise ValueError(
                f"policy.collection_days must be among the weekdays; not a service day: {outside}"
            )
        return self


class ScheduleRead(BaseModel):
    fraction: Fraction
    local_time: time
    weekdays: list[Weekday]
    on_holidays: bool
    time_limit_s: float
    enabled: bool
    policy: CollectionPolicy


class ScheduleSeed(ScheduleWrite):
    """A fraction's schedule in a city seed document."""

    fraction: Fraction


def store_schedule(session: Session, city_id: int, fraction: str, body: ScheduleWrite) -> PlanSchedule:
    """Create or replace the schedule and collection policy of a city's fraction."""
    return ScheduleRepository(session).upsert(
        city_id=city_id,
        fraction=fraction,
        local_time=body.local_time,
        weekdays=[WEEKDAYS.index(d) for d in body.weekdays],
        on_holidays=body.on_holidays,
        time_limit_s=body.time_limit_s,
        enabled=body.enabled,
        policy=body.policy.options(fraction),
    )


def schedule_read(row: PlanSchedule) -> ScheduleRead:
    """A stored schedule as the API shows it."""
    return ScheduleRead(
        fraction=Fraction(row.fraction),
        local_time=row.local_time,
        weekdays=[_day_name(d) for d in sorted(row.weekdays)],
        on_holidays=row.on_holidays,
        time_limit_s=row.time_limit_s,
        enabled=row.enabled,
        policy=CollectionPolicy.of(row.fraction, dict(row.policy or {})),
    )
