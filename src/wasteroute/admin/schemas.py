"""The city seed document (``city.json``) that the simulator writes and the service imports.

Times are local to the city (``HH:MM``); coordinates WGS84. See the README for an example.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wasteroute.admin.schedules import ScheduleSeed
from wasteroute.vocabulary import AccessClass, Fraction, SensorModel

_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # inventories carry more properties


class CitySeed(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    name: str = Field(min_length=1)
    timezone: str = "Europe/Berlin"
    center: tuple[float, float] = Field(description="lon, lat")
    fill_threshold: float = Field(default=0.8, gt=0, le=1.2)
    holiday_region: str | None = Field(default=None, description="German state code, e.g. SH or MV")


class ContainerTypeSeed(_Strict):
    code: str = Field(min_length=1)
    name: str
    volume_l: float = Field(gt=0)
    height_mm: float = Field(gt=0)
    service_s: int = Field(ge=0)
    max_mass_kg: float = Field(gt=0)


class DepotSeed(_Strict):
    external_id: str = Field(min_length=1)
    name: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class FacilitySeed(DepotSeed):
    fractions: list[Fraction] = Field(min_length=1)
    opens: time = time(0, 0)
    closes: time = time(23, 59)
    unload_s: int = Field(default=900, ge=0)


class VehicleSeed(_Strict):
    external_id: str = Field(min_length=1)
    name: str
    depot: str
    fraction: Fraction
    volume_l: float = Field(gt=0)
    mass_kg: float = Field(gt=0)
    shift_start: time = time(6, 0)
    shift_end: time = time(14, 30)
    max_duration_s: int = Field(default=30_600, gt=0)
    access_class: AccessClass = AccessClass.STANDARD


class SensorSeed(_Strict):
    device_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    model: SensorModel = SensorModel.NATIVE
    mount_offset_mm: float = Field(default=0, ge=0)

    @field_validator("device_id")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class BinProperties(_Strict):
    external_id: str = Field(min_length=1)
    site_id: str | None = None
    address: str | None = Field(default=None, max_length=200, description="street address shown to drivers")
    fraction: Fraction
    container_type: str
    access_class: AccessClass = AccessClass.STANDARD
    collection_hours: str = "00:00-24:00"
    sensor: SensorSeed | None = None

    @field_validator("collection_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        if not _HOURS.match(v):
            raise ValueError("collection_hours must look like 06:00-20:00")
        return v

    def window(self) -> tuple[time, time]:
        start, end = self.collection_hours.split("-")
        h1, m1 = map(int, start.split(":"))
        h2, m2 = map(int, end.split(":"))
        return time(h1, m1), time(23, 59) if h2 == 24 else time(h2, m2)


class PointGeometry(_Strict):
    type: Literal["Point"]
    coordinates: tuple[float, float]

    @field_validator("coordinates")
    @classmethod
    def _range(cls, v: tuple[float, float]) -> tuple[float, float]:
        lon, lat = v
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("coordinates must be [lon, lat] in WGS84 degrees")
        return v


class BinFeature(_Strict):
    type: Literal["Feature"]
    geometry: PointGeometry
    properties: BinProperties
    id: str | int | None = None


class BinCollection(_Strict):
    type: Literal["FeatureCollection"]
    features: list[BinFeature]


class CitySeedDocument(_Strict):
    city: CitySeed
    container_types: list[ContainerTypeSeed] = Field(min_length=1)
    depots: list[DepotSeed] = Field(min_length=1)
    facilities: list[FacilitySeed] = Field(default_factory=list)
    vehicles: list[VehicleSeed] = Field(default_factory=list)
    bins: BinCollection
    schedules: list[ScheduleSeed] = Field(
        default_factory=list,
        description="per fraction the morning plan and collection policy, as "
        "PUT /api/v1/admin/schedules/{fraction} takes them",
    )

    @model_validator(mode="after")
    def _references(self) -> CitySeedDocument:
        types = {t.code for t in self.container_types}
        depots = {d.external_id for d in self.depots}
        for v in self.vehicles:
            if v.depot not in depots:
                raise ValueError(f"vehicle {v.external_id}: depot {v.depot!r} is not among the depots")
        fractions = [s.fraction for s in self.schedules]
        if len(set(fractions)) != len(fractions):
            raise ValueError("schedules: each fraction at most once")
        for f in self.bins.features:
            if f.properties.container_type not in types:
                raise ValueError(
                    f"bin {f.properties.external_id}: "
                    f"container type {f.properties.container_type!r} is unknown"
                )
        return self
