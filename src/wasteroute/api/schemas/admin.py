"""Admins: cities, master data (container types, depots, facilities, vehicles, bins, sensors) and API keys."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator

from wasteroute.api.schemas.common import DbId, ExternalId, InBody, Lat, Lon, Name, OutBody
from wasteroute.vocabulary import (
    AccessClass,
    Fraction,
    Role,
    SensorModel,
    check_time_zone,
)


class CityBase(InBody):
    name: Name
    timezone: str = Field(default="Europe/Berlin", max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$")
    center_lon: Lon
    center_lat: Lat
    fill_threshold: float = Field(
        default=0.8, gt=0, le=1.2, description="fill level that makes a bin must-go"
    )
    holiday_region: str | None = Field(
        default=None, max_length=8, description="German state code, e.g. SH or MV"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return check_time_zone(v)


class CityCreate(CityBase):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    admin_name: Name = Field(default="first admin", description="name of the admin key issued for the city")


class CityUpdate(InBody):
    name: Name | None = None
    center_lon: Lon | None = None
    center_lat: Lat | None = None
    fill_threshold: float | None = Field(default=None, gt=0, le=1.2)
    holiday_region: str | None = Field(default=None, max_length=8)


class CityRead(OutBody):
    id: int
    slug: str
    name: str
    timezone: str
    center_lon: float
    center_lat: float
    fill_threshold: float
    holiday_region: str | None
    created_at: datetime


class PrincipalRead(OutBody):
    id: int
    city_id: int
    name: str
    role: Role
    vehicle_id: int | None
    key_prefix: str
    disabled: bool
    created_at: datetime


class CityCreated(BaseModel):
    city: CityRead
    admin: PrincipalRead
    admin_key: str = Field(description="shown once; only its digest is stored")


class ContainerTypeCreate(InBody):
    code: ExternalId
    name: Name
    volume_l: float = Field(gt=0, le=100_000)
    height_mm: float = Field(gt=0, le=10_000)
    service_s: int = Field(ge=0, le=7200, description="time to empty one container, seconds")
    max_mass_kg: float = Field(gt=0, le=100_000)


class ContainerTypeUpdate(InBody):
    name: Name | None = None
    volume_l: float | None = Field(default=None, gt=0, le=100_000)
    height_mm: float | None = Field(default=None, gt=0, le=10_000)
    service_s: int | None = Field(default=None, ge=0, le=7200)
    max_mass_kg: float | None = Field(default=None, gt=0, le=100_000)


class ContainerTypeRead(OutBody):
    id: int
    code: str
    name: str
    volume_l: float
    height_mm: float
    service_s: int
    max_mass_kg: float


class DepotCreate(InBody):
    external_id: ExternalId
    name: Name
    lon: Lon
    lat: Lat


class DepotUpdate(InBody):
    name: Name | None = None
    lon: Lon | None = None
    lat: Lat | None = None


class DepotRead(OutBody):
    id: int
    external_id: str
    name: str
    lon: float
    lat: float


class FacilityCreate(DepotCreate):
    fractions: list[Fraction] = Field(min_length=1, max_length=5)
    opens: time = time(0, 0)
    closes: time = time(23, 59)
    unload_s: int = Field(default=900, ge=0, le=14_400, description="time to unload a truck, seconds")


class FacilityUpdate(DepotUpdate):
    fractions: list[Fraction] | None = Field(default=None, min_length=1, max_length=5)
    opens: time | None = None
    closes: time | None = None
    unload_s: int | None = Field(default=None, ge=0, le=14_400)


class FacilityRead(DepotRead):
    fractions: list[str]
    opens: time
    closes: time
    unload_s: int


class VehicleCreate(InBody):
    external_id: ExternalId
    name: Name
    depot_id: DbId
    fraction: Fraction
    volume_l: float = Field(gt=0, le=200_000, description="body volume after compaction, litres")
    mass_kg: float = Field(gt=0, le=100_000, description="payload, kg")
    shift_start: time = time(6, 0)
    shift_end: time = time(14, 30)
    max_duration_s: int = Field(default=30_600, gt=0, le=86_400)
    access_class: AccessClass = AccessClass.STANDARD
    active: bool = True


class VehicleUpdate(InBody):
    name: Name | None = None
    depot_id: DbId | None = None
    fraction: Fraction | None = None
    volume_l: float | None = Field(default=None, gt=0, le=200_000)
    mass_kg: float | None = Field(default=None, gt=0, le=100_000)
    shift_start: time | None = None
    shift_end: time | None = None
    max_duration_s: int | None = Field(default=None, gt=0, le=86_400)
    access_class: AccessClass | None = None
    active: bool | None = None


class VehicleRead(OutBody):
    id: int
    external_id: str
    name: str
    depot_id: int
    fraction: str
    volume_l: float
    mass_kg: float
    shift_start: time
    shift_end: time
    max_duration_s: int
    access_class: str
    active: bool


class BinCreate(InBody):
    external_id: ExternalId
    site_id: str | None = Field(default=None, max_length=100)
    lon: Lon
    lat: Lat
    fraction: Fraction
    container_type_id: DbId
    access_class: AccessClass = AccessClass.STANDARD
    collection_start: time = time(0, 0)
    collection_end: time = time(23, 59)
    active: bool = True


class BinUpdate(InBody):
    site_id: str | None = Field(default=None, max_length=100)
    lon: Lon | None = None
    lat: Lat | None = None
    fraction: Fraction | None = None
    container_type_id: DbId | None = None
    access_class: AccessClass | None = None
    collection_start: time | None = None
    collection_end: time | None = None
    active: bool | None = None


class BinRead(OutBody):
    id: int
    external_id: str
    site_id: str | None
    lon: float
    lat: float
    fraction: str
    container_type_id: int
    access_class: str
    collection_start: time
    collection_end: time
    active: bool
    created_at: datetime


class SensorCreate(InBody):
    device_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="DevEUI or own id")
    bin_id: DbId | None = None
    model: SensorModel = SensorModel.NATIVE
    mount_offset_mm: float = Field(default=0, ge=0, le=5000)


class SensorUpdate(InBody):
    bin_id: DbId | None = None
    model: SensorModel | None = None
    mount_offset_mm: float | None = Field(default=None, ge=0, le=5000)


class SensorRead(OutBody):
    id: int
    device_id: str
    bin_id: int | None
    model: str
    mount_offset_mm: float
    created_at: datetime


class PrincipalCreate(InBody):
    name: Name
    role: Role
    vehicle_id: DbId | None = Field(default=None, description="required for drivers: their vehicle")


class PrincipalUpdate(InBody):
    name: Name | None = None
    disabled: bool | None = None
    vehicle_id: DbId | None = None


class PrincipalIssued(BaseModel):
    principal: PrincipalRead
    key: str = Field(description="shown once; only its digest is stored")


EventFactors = dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[float, Field(gt=0, le=10)]]


class EventCreate(InBody):
    """A local event the city announces: the containers within ``radius_m`` of (lon, lat) get
    ``factors`` times their usual waste from ``first_day`` to ``last_day`` (local days, both included)."""

    name: Name
    first_day: date
    last_day: date
    lon: Lon
    lat: Lat
    radius_m: float = Field(gt=0, le=20_000, description="metres around (lon, lat)")
    factors: EventFactors = Field(
        min_length=1,
        max_length=50,
        description='waste factor per container type code, "*" for the other types, '
        'e.g. {"litter-100": 2.2, "*": 1.2}',
    )

    @model_validator(mode="after")
    def _days(self) -> EventCreate:
        if self.last_day < self.first_day:
            raise ValueError("last_day must not be before first_day")
        if (self.last_day - self.first_day).days > 366:
            raise ValueError("an event lasts at most a year")
        return self


class EventUpdate(InBody):
    name: Name | None = None
    first_day: date | None = None
    last_day: date | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    radius_m: float | None = Field(default=None, gt=0, le=20_000)
    factors: EventFactors | None = Field(default=None, min_length=1, max_length=50)


class EventRead(OutBody):
    id: int
    name: str
    first_day: date
    last_day: date
    lon: float
    lat: float
    radius_m: float
    factors: dict[str, float]
    created_at: datetime
