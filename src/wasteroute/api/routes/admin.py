"""Admins: their city, its master data (container types, depots, facilities, vehicles, bins, sensors),
its API keys, and per fraction its morning plans and collection policy. An admin sees and edits only
its own city; another city's object answers 404 exactly like a missing one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel

from wasteroute.admin.integrations import (
    IntegrationCreate,
    IntegrationRead,
    IntegrationUpdate,
    complete,
    refuse_taken,
)
from wasteroute.admin.schedules import ScheduleRead, ScheduleWrite, schedule_read, store_schedule
from wasteroute.api.deps import (
    Caller,
    PageDep,
    SessionDep,
    SettingsDep,
    commit_and_forget_tour_access,
    require,
)
from wasteroute.api.errors import AUTH_ERRORS, CONFLICT, NOT_FOUND
from wasteroute.api.schemas.admin import (
    BinCreate,
    BinRead,
    BinUpdate,
    CityCreate,
    CityCreated,
    CityRead,
    CityUpdate,
    ContainerTypeCreate,
    ContainerTypeRead,
    ContainerTypeUpdate,
    DepotCreate,
    DepotRead,
    DepotUpdate,
    EventCreate,
    EventRead,
    EventUpdate,
    FacilityCreate,
    FacilityRead,
    FacilityUpdate,
    PrincipalCreate,
    PrincipalIssued,
    PrincipalRead,
    PrincipalUpdate,
    SensorCreate,
    SensorRead,
    SensorUpdate,
    VehicleCreate,
    VehicleRead,
    VehicleUpdate,
)
from wasteroute.api.schemas.common import Page
from wasteroute.errors import Conflict, InvalidInput, NotFound
from wasteroute.storage.admin import CityObjects, refused_as_conflict
from wasteroute.storage.integrations import Integration, IntegrationRepository
from wasteroute.storage.jobs import ScheduleRepository
from wasteroute.storage.models import (
    AnnouncedEventRow,
    Base,
    Bin,
    City,
    ContainerType,
    Depot,
    DisposalFacility,
    Principal,
    Sensor,
    Vehicle,
)
from wasteroute.storage.principals import PrincipalRepository
from wasteroute.vocabulary import Fraction, Role

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
ADMIN = require(Role.ADMIN)
ERRORS = {**AUTH_ERRORS, **NOT_FOUND, **CONFLICT}


def _check_refs(
    objects: CityObjects, city_id: int, values: dict[str, Any], refs: dict[str, type[Base]]
) -> None:
    """Every referenced id must name an object of the caller's city (a foreign one reads as missing)."""
    for name, model in refs.items():
        ref = values.get(name)
        if ref is not None and objects.get(model, int(ref), city_id) is None:
            raise InvalidInput(f"{name} {ref} does not exist in your city", details={"field": name})


# --------------------------------------------------------------------------------------------------
# cities


@router.get("/cities", response_model=Page[CityRead], responses=ERRORS, summary="List cities (only your own)")
def list_cities(session: SessionDep, page: PageDep, caller: Caller = ADMIN) -> Page[CityRead]:
    city = CityObjects(session).city(caller.city_id)
    items = [CityRead.model_validate(city)] if city is not None else []
    return Page(
        items=items[page.offset : page.offset + page.limit],
        total=len(items),
        limit=page.limit,
        offset=page.offset,
    )


def _own_city(session: SessionDep, caller: Caller, city_id: int) -> City:
    city = CityObjects(session).city(caller.city_id)
    if city is None or city.id != city_id:
        raise NotFound(f"city {city_id} not found")
    return city


@router.get("/cities/{city_id}", response_model=CityRead, responses=ERRORS, summary="Read your city")
def get_city(city_id: int, session: SessionDep, caller: Caller = ADMIN) -> CityRead:
    return CityRead.model_validate(_own_city(session, caller, city_id))


@router.patch("/cities/{city_id}", response_model=CityRead, responses=ERRORS, summary="Change your city")
def update_city(city_id: int, body: CityUpdate, session: SessionDep, caller: Caller = ADMIN) -> CityRead:
    city = _own_city(session, caller, city_id)
    CityObjects(session).update(city, body.model_dump(exclude_unset=True, exclude_none=True))
    return CityRead.model_validate(city)


@router.post(
    "/cities",
    response_model=CityCreated,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    summary="Add a further city and issue its first admin key",
)
def create_city(
    body: CityCreate, session: SessionDep, settings: SettingsDep, caller: Caller = ADMIN
) -> CityCreated:
    """The new city is sealed from the caller's: only the returned key (shown once) can manage it."""
    objects = CityObjects(session)
    values = body.model_dump(exclude={"admin_name"})
    city = objects.create(City, values)
    principals = PrincipalRepository(session, settings.secret_key.get_secret_value())
    issued = principals.create(city_id=city.id, name=body.admin_name, role="admin")
    principal = principals.get(issued.principal_id)
    session.refresh(city)
    return CityCreated(
        city=CityRead.model_validate(city),
        admin=PrincipalRead.model_validate(principal),
        admin_key=issued.key,
    )


@router.delete(
    "/cities/{city_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
    summary="Delete your city and everything in it",
)
def delete_city(
    city_id: int,
    session: SessionDep,
    confirm: Annotated[str, Query(description="the city's slug, to confirm", max_length=64)],
    caller: Caller = ADMIN,
) -> Response:
    city = _own_city(session, caller, city_id)
    if confirm != city.slug:
        raise InvalidInput("pass confirm=<the city's slug> to delete the city and all its data")
    CityObjects(session).delete(city)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------------
# master data: one set of five endpoints per kind of object


@dataclass(frozen=True)
class Resource:
    path: str
    label: str
    model: type[Base]
    create: type[BaseModel]
    update: type[BaseModel]
    read: type[BaseModel]
    refs: dict[str, type[Base]] = field(default_factory=dict)
    check: Callable[[CityObjects, int, dict[str, Any], Base | None], None] | None = None
    """Checks and completes the values of a create (row ``None``) or of an update of ``row``."""


def _sensor_check(objects: CityObjects, city_id: int, values: dict[str, Any], row: Base | None) -> None:
    device = values.get("device_id")
    if device is not None:
        values["device_id"] = str(device).lower()
        if objects.foreign_devices(city_id, [values["device_id"]]):
            raise Conflict("an object with this identifier already exists")


def _integration_check(objects: CityObjects, city_id: int, values: dict[str, Any], row: Base | None) -> None:
    if row is None:  # a new integration: its topic prefix and default broker user
        city = objects.city(city_id)
        assert city is not None
        values.update(complete(values, city.slug))
    elif values.get("broker_user") is None:
        values.pop("broker_user", None)
    own_id = row.id if isinstance(row, Integration) else None
    refuse_taken(IntegrationRepository(objects.session), values, integration_id=own_id)


def _event_check(objects: CityObjects, city_id: int, values: dict[str, Any], row: Base | None) -> None:
    """An event's days stay in order when a change moves one of them."""
    first = values.get("first_day", getattr(row, "first_day", None))
    last = values.get("last_day", getattr(row, "last_day", None))
    if first is not None and last is not None and last < first:
        raise InvalidInput("last_day must not be before first_day", details={"field": "last_day"})


RESOURCES = [
    Resource(
        "container-types",
        "container type",
        ContainerType,
        ContainerTypeCreate,
        ContainerTypeUpdate,
        ContainerTypeRead,
    ),
    Resource("depots", "depot", Depot, DepotCreate, DepotUpdate, DepotRead),
    Resource("facilities", "facility", DisposalFacility, FacilityCreate, FacilityUpdate, FacilityRead),
    Resource("vehicles", "vehicle", Vehicle, VehicleCreate, VehicleUpdate, VehicleRead, {"depot_id": Depot}),
    Resource("bins", "bin", Bin, BinCreate, BinUpdate, BinRead, {"container_type_id": ContainerType}),
    Resource(
        "sensors", "sensor", Sensor, SensorCreate, SensorUpdate, SensorRead, {"bin_id": Bin}, _sensor_check
    ),
    Resource("events", "event", AnnouncedEventRow, EventCreate, EventUpdate, EventRead, check=_event_check),
    Resource(
        "integrations",
        "integration",
        Integration,
        IntegrationCreate,
        IntegrationUpdate,
        IntegrationRead,
        check=_integration_check,
    ),
]


def _add_resource(r: Resource) -> None:
    read_model: Any = r.read
    create_model: Any = r.create
    update_model: Any = r.update

    def find(objects: CityObjects, obj_id: int, city_id: int) -> Base:
        row = objects.get(r.model, obj_id, city_id)
        if row is None:
            raise NotFound(f"{r.label} {obj_id} not found")
        return row

    def list_items(session: SessionDep, page: PageDep, caller: Caller = ADMIN) -> Any:
        rows, total = CityObjects(session).page(r.model, caller.city_id, limit=page.limit, offset=page.offset)
        return {
            "items": [read_model.model_validate(x) for x in rows],
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
        }

    def get_item(obj_id: int, session: SessionDep, caller: Caller = ADMIN) -> Any:
        return read_model.model_validate(find(CityObjects(session), obj_id, caller.city_id))

    def create_item(body: Any, session: SessionDep, caller: Caller = ADMIN) -> Any:
        objects = CityObjects(session)
        values = body.model_dump()
        _check_refs(objects, caller.city_id, values, r.refs)
        if r.check is not None:
            r.check(objects, caller.city_id, values, None)
        row = objects.create(r.model, {"city_id": caller.city_id, **values})
        session.refresh(row)
        return read_model.model_validate(row)

    def update_item(
        obj_id: int,
        body: Any,
        session: SessionDep,
        caller: Caller = ADMIN,
    ) -> Any:
        objects = CityObjects(session)
        row = find(objects, obj_id, caller.city_id)
        values = body.model_dump(exclude_unset=True)
        nullable = {"site_id", "bin_id"}
        values = {k: v for k, v in values.items() if v is not None or k in nullable}
        _check_refs(objects, caller.city_id, values, r.refs)
        if r.check is not None:
            r.check(objects, caller.city_id, values, row)
        objects.update(row, values)
        return read_model.model_validate(row)

    def delete_item(obj_id: int, session: SessionDep, caller: Caller = ADMIN) -> Response:
        objects = CityObjects(session)
        objects.delete(find(objects, obj_id, caller.city_id))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    # the body types are only known here: give FastAPI the real classes, not strings
    create_item.__annotations__["body"] = create_model
    update_item.__annotations__["body"] = update_model
    base = f"/{r.path}"
    item = f"/{r.path}/{{obj_id}}"
    name = r.path.replace("-", "_")
    router.add_api_route(
        base,
        list_items,
        methods=["GET"],
        response_model=Page[read_model],
        responses=ERRORS,
        summary=f"List the city's {r.label}s",
        name=f"list_{name}",
    )
    router.add_api_route(
        base,
        create_item,
        methods=["POST"],
        response_model=read_model,
        status_code=201,
        responses=ERRORS,
        summary=f"Create a {r.label}",
        name=f"create_{name}",
    )
    router.add_api_route(
        item,
        get_item,
        methods=["GET"],
        response_model=read_model,
        responses=ERRORS,
        summary=f"Read a {r.label}",
        name=f"get_{name}",
    )
    router.add_api_route(
        item,
        update_item,
        methods=["PATCH"],
        response_model=read_model,
        responses=ERRORS,
        summary=f"Change a {r.label}",
        name=f"update_{name}",
    )
    router.add_api_route(
        item,
        delete_item,
        methods=["DELETE"],
        status_code=204,
        responses=ERRORS,
        summary=f"Delete a {r.label}",
        name=f"delete_{name}",
        response_class=Response,
    )


for _r in RESOURCES:
    _add_resource(_r)


# --------------------------------------------------------------------------------------------------
# API keys


def _principal(session: SessionDep, caller: Caller, principal_id: int) -> Principal:
    row = CityObjects(session).get(Principal, principal_id, caller.city_id)
    if row is None:
        raise NotFound(f"principal {principal_id} not found")
    return row


def _check_driver(objects: CityObjects, city_id: int, role: str, vehicle_id: int | None) -> None:
    if role == "driver" and vehicle_id is None:
        raise InvalidInput("a driver key needs the driver's vehicle_id")
    if vehicle_id is not None:
        if role != "driver":
            raise InvalidInput("only driver keys are bound to a vehicle")
        _check_refs(objects, city_id, {"vehicle_id": vehicle_id}, {"vehicle_id": Vehicle})


@router.get(
    "/principals",
    response_model=Page[PrincipalRead],
    responses=ERRORS,
    summary="List the city's API principals",
)
def list_principals(session: SessionDep, page: PageDep, caller: Caller = ADMIN) -> Page[PrincipalRead]:
    rows, total = CityObjects(session).page(Principal, caller.city_id, limit=page.limit, offset=page.offset)
    return Page(
        items=[PrincipalRead.model_validate(p) for p in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/principals",
    response_model=PrincipalIssued,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    summary="Issue an API key for your city (shown once)",
)
def create_principal(
    body: PrincipalCreate, session: SessionDep, settings: SettingsDep, caller: Caller = ADMIN
) -> PrincipalIssued:
    objects = CityObjects(session)
    _check_driver(objects, caller.city_id, body.role, body.vehicle_id)
    principals = PrincipalRepository(session, settings.secret_key.get_secret_value())
    issued = principals.create(
        city_id=caller.city_id, name=body.name, role=body.role, vehicle_id=body.vehicle_id
    )
    return PrincipalIssued(
        principal=PrincipalRead.model_validate(principals.get(issued.principal_id)), key=issued.key
    )


@router.get(
    "/principals/{principal_id}",
    response_model=PrincipalRead,
    responses=ERRORS,
    summary="Read an API principal",
)
def get_principal(principal_id: int, session: SessionDep, caller: Caller = ADMIN) -> PrincipalRead:
    return PrincipalRead.model_validate(_principal(session, caller, principal_id))


@router.patch(
    "/principals/{principal_id}",
    response_model=PrincipalRead,
    responses=ERRORS,
    summary="Rename, disable or re-enable a key, or move a driver to another vehicle",
)
def update_principal(
    request: Request, principal_id: int, body: PrincipalUpdate, session: SessionDep, caller: Caller = ADMIN
) -> PrincipalRead:
    p = _principal(session, caller, principal_id)
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    if p.id == caller.principal_id and values.get("disabled"):
        raise Conflict("you cannot disable the key you are using; use another admin key")
    if "vehicle_id" in values:
        _check_driver(CityObjects(session), caller.city_id, p.role, values["vehicle_id"])
    CityObjects(session).update(p, values)
    commit_and_forget_tour_access(request, session)  # a disabled driver key stops at once here
    return PrincipalRead.model_validate(p)


@router.delete(
    "/principals/{principal_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
    summary="Delete an API principal (its key stops working at once)",
    response_class=Response,
)
def delete_principal(
    request: Request, principal_id: int, session: SessionDep, caller: Caller = ADMIN
) -> Response:
    p = _principal(session, caller, principal_id)
    if p.id == caller.principal_id:
        raise Conflict("you cannot delete the key you are using; use another admin key")
    with refused_as_conflict(session):
        session.delete(p)
    commit_and_forget_tour_access(request, session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------------
# morning plans and collection policy, per fraction


@router.get(
    "/schedules",
    response_model=Page[ScheduleRead],
    responses=ERRORS,
    summary="List the city's morning plans and collection policies, one per fraction",
)
def list_schedules(session: SessionDep, page: PageDep, caller: Caller = ADMIN) -> Page[ScheduleRead]:
    rows = ScheduleRepository(session).of_city(caller.city_id)
    return Page(
        items=[schedule_read(r) for r in rows[page.offset : page.offset + page.limit]],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/schedules/{fraction}",
    response_model=ScheduleRead,
    responses=ERRORS,
    summary="Read a fraction's morning plan and collection policy",
)
def get_schedule(fraction: Fraction, session: SessionDep, caller: Caller = ADMIN) -> ScheduleRead:
    row = ScheduleRepository(session).get(caller.city_id, fraction.value)
    if row is None:
        raise NotFound(f"no schedule for {fraction.value}: its plans follow the product's defaults")
    return schedule_read(row)


@router.put(
    "/schedules/{fraction}",
    response_model=ScheduleRead,
    responses=ERRORS,
    summary="Set a fraction's morning plan and collection policy (replaces what was there)",
)
def put_schedule(
    fraction: Fraction, body: ScheduleWrite, session: SessionDep, caller: Caller = ADMIN
) -> ScheduleRead:
    """From the next morning on, a plan of the fraction is made at ``local_time`` on each of its
    ``weekdays`` (when ``enabled``), and every plan of the fraction, the morning's and those a
    dispatcher queues, chooses its containers by ``policy``."""
    return schedule_read(store_schedule(session, caller.city_id, fraction.value, body))


@router.delete(
    "/schedules/{fraction}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
    summary="Remove a fraction's morning plan and collection policy (the product's defaults apply)",
    response_class=Response,
)
def delete_schedule(fraction: Fraction, session: SessionDep, caller: Caller = ADMIN) -> Response:
    if not ScheduleRepository(session).delete(caller.city_id, fraction.value):
        raise NotFound(f"no schedule for {fraction.value}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
