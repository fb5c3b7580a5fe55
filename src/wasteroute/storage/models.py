"""SQLAlchemy 2 models mirroring the migrations (the migrations are the source of truth)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    Text,
    Time,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wasteroute.vocabulary import PlanStatus, PlanTrigger, StopStatus

TZ = DateTime(timezone=True)


class Base(DeclarativeBase):
    pass


class City(Base):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, default="Europe/Berlin")
    center_lon: Mapped[float] = mapped_column(Float)
    center_lat: Mapped[float] = mapped_column(Float)
    fill_threshold: Mapped[float] = mapped_column(Float, default=0.8)
    holiday_region: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")


class ContainerType(Base):
    __tablename__ = "container_type"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    volume_l: Mapped[float] = mapped_column(Float)
    height_mm: Mapped[float] = mapped_column(Float)
    service_s: Mapped[int] = mapped_column(Integer)
    max_mass_kg: Mapped[float] = mapped_column(Float)


class Depot(Base):
    __tablename__ = "depot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    external_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class DisposalFacility(Base):
    __tablename__ = "disposal_facility"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    external_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    fractions: Mapped[list[str]] = mapped_column(ARRAY(Text))
    opens: Mapped[time] = mapped_column(Time, default=time(0, 0))
    closes: Mapped[time] = mapped_column(Time, default=time(23, 59))
    unload_s: Mapped[int] = mapped_column(Integer, default=900)


class Vehicle(Base):
    __tablename__ = "vehicle"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    external_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    fraction: Mapped[str] = mapped_column(Text)
    volume_l: Mapped[float] = mapped_column(Float)
    mass_kg: Mapped[float] = mapped_column(Float)
    shift_start: Mapped[time] = mapped_column(Time, default=time(6, 0))
    shift_end: Mapped[time] = mapped_column(Time, default=time(14, 30))
    max_duration_s: Mapped[int] = mapped_column(Integer, default=30600)
    access_class: Mapped[str] = mapped_column(Text, default="standard")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Bin(Base):
    __tablename__ = "bin"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    external_id: Mapped[str] = mapped_column(Text)
    site_id: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    fraction: Mapped[str] = mapped_column(Text)
    container_type_id: Mapped[int] = mapped_column(ForeignKey("container_type.id"))
    access_class: Mapped[str] = mapped_column(Text, default="standard")
    collection_start: Mapped[time] = mapped_column(Time, default=time(0, 0))
    collection_end: Mapped[time] = mapped_column(Time, default=time(23, 59))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")


class Sensor(Base):
    __tablename__ = "sensor"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bin.id"))
    device_id: Mapped[str] = mapped_column(Text, unique=True)
    model: Mapped[str] = mapped_column(Text, default="native")
    mount_offset_mm: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")


class BinState(Base):
    __tablename__ = "bin_state"
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"), primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    sensor_id: Mapped[int | None] = mapped_column(BigInteger)
    measured_at: Mapped[datetime] = mapped_column(TZ)
    fill_level: Mapped[float | None] = mapped_column(Float)
    distance_mm: Mapped[float | None] = mapped_column(Float)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    battery_v: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    tilt_deg: Mapped[float | None] = mapped_column(Float)
    last_emptied_at: Mapped[datetime | None] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")


class SensorReading(Base):
    __tablename__ = "sensor_reading"
    sensor_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    measured_at: Mapped[datetime] = mapped_column(TZ, primary_key=True)
    city_id: Mapped[int] = mapped_column(Integer)
    bin_id: Mapped[int | None] = mapped_column(BigInteger)
    fill_level: Mapped[float | None] = mapped_column(Float)
    distance_mm: Mapped[float | None] = mapped_column(Float)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    battery_v: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    tilt_deg: Mapped[float | None] = mapped_column(Float)
    rssi_dbm: Mapped[float | None] = mapped_column(Float)
    snr_db: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)


class CollectionEvent(Base):
    __tablename__ = "collection_event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id"))
    route_stop_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)
    observed_fill: Mapped[float | None] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(TZ)
    client_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text, default="driver")
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")
    withdrawn_at: Mapped[datetime | None] = mapped_column(TZ)


class Principal(Base):
    __tablename__ = "principal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id"))
    key_prefix: Mapped[str] = mapped_column(Text, unique=True)
    key_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")


class Plan(Base):
    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    fraction: Mapped[str] = mapped_column(Text)
    service_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, default=PlanStatus.QUEUED.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    diagnosis: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")
    started_at: Mapped[datetime | None] = mapped_column(TZ)
    finished_at: Mapped[datetime | None] = mapped_column(TZ)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_until: Mapped[datetime | None] = mapped_column(TZ)
    worker: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(Text, server_default=PlanTrigger.MANUAL.value)


class Route(Base):
    __tablename__ = "route"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    distance_m: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(TZ)
    end_at: Mapped[datetime] = mapped_column(TZ)
    trips: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    version: Mapped[int] = mapped_column(Integer, server_default="0")
    """Grows by one whenever a stop of the route changes (tour caches and ETags follow it)."""


class RouteStop(Base):
    __tablename__ = "route_stop"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("route.id"))
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(Text)
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bin.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("disposal_facility.id"))
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    eta: Mapped[datetime] = mapped_column(TZ)
    departure: Mapped[datetime] = mapped_column(TZ)
    load_volume_l: Mapped[float] = mapped_column(Float, default=0.0)
    load_mass_kg: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(Text, default=StopStatus.PLANNED.value)
    locked: Mapped[bool] = mapped_column(Boolean, server_default="false")
    """Pinned to its route by a dispatcher: not moved to another tour until unlocked."""


class PlanBin(Base):
    __tablename__ = "plan_bin"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"), primary_key=True)
    category: Mapped[str] = mapped_column(Text)
    forecast_fill: Mapped[float | None] = mapped_column(Float)
    routed: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    """The selection's decision and, when the router left it out, why: English, for API users and logs."""
    reason_code: Mapped[str | None] = mapped_column(Text)
    """The selection's decision as a code (``planning.selection``), e.g. ``must_threshold``."""
    reason_params: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    drop_code: Mapped[str | None] = mapped_column(Text)
    """Why the router left a chosen container out (``DropReason.code``); None when routed or skipped."""
    drop_params: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class DeadLetter(Base):
    __tablename__ = "dead_letter"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")
    channel: Mapped[str] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"))


class Alert(Base):
    __tablename__ = "alert"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bin.id"))
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensor.id"))
    kind: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(TZ)
    cleared_at: Mapped[datetime | None] = mapped_column(TZ)
    detail: Mapped[str] = mapped_column(Text, default="")
    """English, for API users and logs; the numbers are in ``params``."""
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """What raised it: ``temperature_c`` (fire), ``tilt_deg`` (tilt)."""


class PlanSchedule(Base):
    """The morning plan of one city and fraction: local time and service days (Monday = 0), and the
    city's collection policy for the fraction (plan options every plan of it starts from)."""

    __tablename__ = "plan_schedule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    fraction: Mapped[str] = mapped_column(Text)
    local_time: Mapped[time] = mapped_column(Time)
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=lambda: [0, 1, 2, 3, 4, 5])
    on_holidays: Mapped[bool] = mapped_column(Boolean, default=False)
    time_limit_s: Mapped[float] = mapped_column(Float, default=20.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")


class AnnouncedEventRow(Base):
    """A local event a city announced: its days, place and waste factor per container type."""

    __tablename__ = "announced_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    name: Mapped[str] = mapped_column(Text)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    factors: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")
