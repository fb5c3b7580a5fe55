"""Request and response bodies of the API. Units in names; fill levels are fractions (1.0 = full);
times are ISO 8601 with a zone (UTC in responses)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from wasteroute.vocabulary import (
    AccessClass,
    AlertKind,
    BinState,
    Category,
    EventKind,
    Fraction,
    PlanStatus,
    PlanTrigger,
    Role,
    SensorModel,
    StopKind,
    StopStatus,
    UnplannedReason,
    check_time_zone,
)

Lon = Annotated[float, Field(ge=-180, le=180, description="longitude, WGS84 degrees")]
Lat = Annotated[float, Field(ge=-90, le=90, description="latitude, WGS84 degrees")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ExternalId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s].*$")]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; ``total`` counts all items."""

    items: list[T]
    total: int
    limit: int
    offset: int


# --------------------------------------------------------------------------------------------------
# admin: cities and master data


class CityBase(_In):
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


class CityUpdate(_In):
    name: Name | None = None
    center_lon: Lon | None = None
    center_lat: Lat | None = None
    fill_threshold: float | None = Field(default=None, gt=0, le=1.2)
    holiday_region: str | None = Field(default=None, max_length=8)


class CityRead(_Out):
    id: int
    slug: str
    name: str
    timezone: str
    center_lon: float
    center_lat: float
    fill_threshold: float
    holiday_region: str | None
    created_at: datetime


class PrincipalRead(_Out):
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


class ContainerTypeCreate(_In):
    code: ExternalId
    name: Name
    volume_l: float = Field(gt=0, le=100_000)
    height_mm: float = Field(gt=0, le=10_000)
    service_s: int = Field(ge=0, le=7200, description="time to empty one container, seconds")
    max_mass_kg: float = Field(gt=0, le=100_000)


class ContainerTypeUpdate(_In):
    name: Name | None = None
    volume_l: float | None = Field(default=None, gt=0, le=100_000)
    height_mm: float | None = Field(default=None, gt=0, le=10_000)
    service_s: int | None = Field(default=None, ge=0, le=7200)
    max_mass_kg: float | None = Field(default=None, gt=0, le=100_000)


class ContainerTypeRead(_Out):
    id: int
    code: str
    name: str
    volume_l: float
    height_mm: float
    service_s: int
    max_mass_kg: float


class DepotCreate(_In):
    external_id: ExternalId
    name: Name
    lon: Lon
    lat: Lat


class DepotUpdate(_In):
    name: Name | None = None
    lon: Lon | None = None
    lat: Lat | None = None


class DepotRead(_Out):
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


class VehicleCreate(_In):
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


class VehicleUpdate(_In):
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


class VehicleRead(_Out):
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


class BinCreate(_In):
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


class BinUpdate(_In):
    site_id: str | None = Field(default=None, max_length=100)
    lon: Lon | None = None
    lat: Lat | None = None
    fraction: Fraction | None = None
    container_type_id: DbId | None = None
    access_class: AccessClass | None = None
    collection_start: time | None = None
    collection_end: time | None = None
    active: bool | None = None


class BinRead(_Out):
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


class SensorCreate(_In):
    device_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="DevEUI or own id")
    bin_id: DbId | None = None
    model: SensorModel = SensorModel.NATIVE
    mount_offset_mm: float = Field(default=0, ge=0, le=5000)


class SensorUpdate(_In):
    bin_id: DbId | None = None
    model: SensorModel | None = None
    mount_offset_mm: float | None = Field(default=None, ge=0, le=5000)


class SensorRead(_Out):
    id: int
    device_id: str
    bin_id: int | None
    model: str
    mount_offset_mm: float
    created_at: datetime


class PrincipalCreate(_In):
    name: Name
    role: Role
    vehicle_id: DbId | None = Field(default=None, description="required for drivers: their vehicle")


class PrincipalUpdate(_In):
    name: Name | None = None
    disabled: bool | None = None
    vehicle_id: DbId | None = None


class PrincipalIssued(BaseModel):
    principal: PrincipalRead
    key: str = Field(description="shown once; only its digest is stored")


class RowError(BaseModel):
    row: int = Field(description="1-based: CSV line after the header, or GeoJSON feature index + 1")
    external_id: str | None
    errors: list[str]


class ImportReport(BaseModel):
    dry_run: bool
    rows: int
    imported: int
    sensors: int
    errors: list[RowError]


# --------------------------------------------------------------------------------------------------
# dispatcher


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2, description="[lon, lat]")


class LineGeometry(BaseModel):
    type: Literal["LineString"]
    coordinates: list[list[float]]


class BinMapProperties(BaseModel):
    external_id: str
    fraction: str
    container_type: str
    volume_l: float
    site_id: str | None
    device_id: str | None
    fill_level: float | None = Field(description="latest measured fill, 1.0 = full")
    measured_at: datetime | None
    battery_pct: float | None
    last_emptied_at: datetime | None
    forecast_fill_24h: float | None = Field(description="expected fill in 24 hours (not capped at 1)")
    hours_to_threshold: float | None = Field(
        description="hours until the city's threshold; null: not within 60 days"
    )
    sensor_health: list[str] = Field(
        description="empty when healthy; else no_data, stale, stuck, implausible"
    )
    alerts: list[str]
    state: BinState


class BinMapFeature(BaseModel):
    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: BinMapProperties


class BinMap(BaseModel):
    """GeoJSON FeatureCollection of the city's bins (with ``total``, ``limit``, ``offset`` members)."""

    type: Literal["FeatureCollection"]
    features: list[BinMapFeature]
    total: int
    limit: int
    offset: int


class PlanOptions(_In):
    time_limit_s: float = Field(default=20.0, gt=0, le=600, description="solver time limit, seconds")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class PlanCreate(_In):
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


class Message(BaseModel):
    """A sentence as a stable ``code`` and its numbers, for the pages to say in the user's language
    (units in the parameter names: ``_l``, ``_h``, ``_pct``; days as ISO dates)."""

    code: str
    params: dict[str, Any] = Field(default_factory=dict)


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


# dispatcher: the plans of a day, why a container is not planned, fill history, hand edits of tours


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


class StopMove(_In):
    route_id: DbId = Field(description="the tour (of the same plan) that takes the stop")


class StopLock(_In):
    locked: bool


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


class AlertRead(BaseModel):
    id: int | None = Field(
        description="stored alerts only; computed ones (stale, overflow_forecast) have none"
    )
    kind: AlertKind
    source: Literal["stored", "computed"]
    bin_id: int | None
    bin_external_id: str | None
    sensor_id: int | None
    raised_at: datetime | None
    detail: str = Field(description="in English, for API users and logs")
    code: str = Field(
        description="what ``detail`` says: temperature, tilt, battery_low, no_reading_since, no_reading_yet, "
        "overflow_expected"
    )
    params: dict[str, Any] = Field(
        description="its numbers: temperature_c, tilt_deg, battery_pct, device_id, since, fill_pct, hours"
    )
    lon: float | None
    lat: float | None


class AlertList(BaseModel):
    items: list[AlertRead]
    total: int
    limit: int
    offset: int


# --------------------------------------------------------------------------------------------------
# driver


class TourStop(BaseModel):
    id: int = Field(description="the stop id to report events against")
    seq: int
    kind: StopKind
    lon: float | None
    lat: float | None
    eta: datetime
    departure: datetime
    status: StopStatus
    bin_id: int | None
    bin_external_id: str | None
    address: str | None = Field(default=None, description="the container's street address, when known")
    container_type: str | None
    facility_id: int | None
    facility_name: str | None
    load_volume_l: float
    load_mass_kg: float


class TourRead(BaseModel):
    route_id: int
    plan_id: int
    service_date: date
    fraction: str
    vehicle_id: int
    vehicle_external_id: str
    vehicle_name: str
    vehicle_access_class: str
    distance_km: float
    duration_h: float
    start_at: datetime
    end_at: datetime
    stops: list[TourStop]


class StopEventCreate(_In):
    client_event_id: uuid.UUID = Field(
        description="generated by the tablet; a resend with the same id is a no-op"
    )
    stop_id: int = Field(ge=1, le=2**63 - 1)
    kind: EventKind
    observed_fill: float | None = Field(
        default=None, ge=0, le=1.5, description="what the driver saw, 1.0 = full"
    )
    occurred_at: AwareDatetime
    lon: Lon | None = None
    lat: Lat | None = None

    @field_validator("occurred_at")
    @classmethod
    def _range(cls, v: datetime) -> datetime:
        if not 2000 <= v.year <= 2200:
            raise ValueError("occurred_at must lie between the years 2000 and 2200")
        return v


class StopEventRead(BaseModel):
    id: int
    client_event_id: uuid.UUID
    stop_id: int
    bin_id: int
    kind: EventKind
    observed_fill: float | None
    occurred_at: datetime
    lon: float | None
    lat: float | None
    withdrawn_at: datetime | None = Field(
        default=None, description="when the driver took the report back (undo); it then counts nothing"
    )


# --------------------------------------------------------------------------------------------------
# gateway


class Refusal(BaseModel):
    reason: str
    detail: str


class IngestResult(BaseModel):
    stored: int
    duplicates: int
    dead_lettered: int
    refused: list[Refusal]


class CollectionItem(BaseModel):
    external_id: str
    collected_at: datetime


class CollectionFeed(BaseModel):
    items: list[CollectionItem]
    next_since: datetime | None = Field(description="when the page was full: ask again from here")


# --------------------------------------------------------------------------------------------------
# open data


class PublicCity(BaseModel):
    slug: str
    name: str
    bins: int


class WeekRead(BaseModel):
    week_start: date
    collections: int
    avg_fill_at_emptying: float | None
    km_driven: float
    overflows: int


class CityFigures(BaseModel):
    """Anonymous figures of one city over the last ``weeks`` weeks."""

    city: str
    name: str
    weeks: int
    collections: int
    avg_fill_at_emptying: float | None
    collections_per_week: float
    km_driven: float
    overflows: int
    by_week: list[WeekRead]


class NgsiProperty(BaseModel):
    type: Literal["Property"]
    value: Any
    observedAt: str | None = None
    unitCode: str | None = None


class NgsiGeoProperty(BaseModel):
    type: Literal["GeoProperty"]
    value: PointGeometry


class WasteContainer(BaseModel):
    """FIWARE Smart Data Models ``WasteContainer`` (NGSI-LD, normalized)."""

    model_config = ConfigDict(populate_by_name=True)
    id: str = Field(description="urn:ngsi-ld:WasteContainer:<city>:<external id>")
    type: Literal["WasteContainer"]
    location: NgsiGeoProperty
    fillingLevel: NgsiProperty | None = None
    storedWasteKind: NgsiProperty
    dateLastEmptying: NgsiProperty | None = None
    status: NgsiProperty
    binCapacity: NgsiProperty
    context: list[str] = Field(alias="@context")
