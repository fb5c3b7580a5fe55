"""Drivers: their own tour of today, stop events (idempotent by a client-generated id) and GPX.

A driver sees only their own vehicle's tour: any other stop answers 404 exactly like a missing one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Response

from wasteroute.api.deps import Caller, SessionDep, require
from wasteroute.api.errors import AUTH_ERRORS, CONFLICT, NOT_FOUND
from wasteroute.api.schemas import StopEventCreate, StopEventRead, TourRead
from wasteroute.errors import Conflict, NotFound
from wasteroute.storage.collections import CollectionRepository, StopEvent, same_event
from wasteroute.storage.models import City, CollectionEvent
from wasteroute.storage.tours import TourRepository

router = APIRouter(prefix="/api/v1/driver", tags=["driver"])
DRIVER = require("driver")
ERRORS = {**AUTH_ERRORS, **NOT_FOUND}
NO_TOUR = "no tour for you today"


def _today(session: SessionDep, caller: Caller) -> date:
    city = session.get(City, caller.city_id)
    if city is None or caller.vehicle_id is None:
        raise NotFound(NO_TOUR)
    return datetime.now(ZoneInfo(city.timezone)).date()


@router.get(
    "/tour",
    response_model=TourRead,
    responses=ERRORS,
    summary="Today's tour of your vehicle: stops in order with coordinates, ETA, facility and breaks",
)
def my_tour(session: SessionDep, caller: Caller = DRIVER) -> Response:
    """Built by the database in one statement; stop ``id`` is what stop events refer to."""
    body = TourRepository(session).tour_json(caller.city_id, caller.vehicle_id or 0, _today(session, caller))
    if body is None:
        raise NotFound(NO_TOUR)
    return Response(content=body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get(
    "/tour.gpx",
    responses={
        **ERRORS,
        200: {
            "content": {"application/gpx+xml": {}},
            "description": "GPX 1.1: a waypoint per stop and a route",
        },
    },
    response_class=Response,
    summary="Today's tour as GPX 1.1 (for navigation devices)",
)
def my_tour_gpx(session: SessionDep, caller: Caller = DRIVER) -> Response:
    repo = TourRepository(session)
    route_id = repo.tour_route_id(caller.city_id, caller.vehicle_id or 0, _today(session, caller))
    header = repo.route(route_id, caller.city_id) if route_id is not None else None
    if header is None:
        raise NotFound(NO_TOUR)
    stops = [s for s in repo.stops([header.id])[header.id] if s.lon is not None and s.lat is not None]

    def name(s: object) -> str:
        kind = getattr(s, "kind", "")
        if kind == "stop":
            return f"{getattr(s, 'seq', 0)} {getattr(s, 'bin_external_id', '') or ''}".strip()
        if kind == "facility":
            return f"{getattr(s, 'seq', 0)} {getattr(s, 'facility_name', '') or 'facility'}"
        return f"{getattr(s, 'seq', 0)} {kind}"

    wpts = "".join(
        f'<wpt lat="{s.lat:.6f}" lon="{s.lon:.6f}"><time>{s.eta.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</time>'
        f"<name>{escape(name(s))}</name><type>{s.kind}</type></wpt>"
        for s in stops
    )
    rtepts = "".join(
        f'<rtept lat="{s.lat:.6f}" lon="{s.lon:.6f}"><name>{escape(name(s))}</name></rtept>' for s in stops
    )
    title = escape(f"{header.vehicle_name} {header.service_date.isoformat()} {header.fraction}")
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="wasteroute" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<metadata><name>{title}</name></metadata>{wpts}<rte><name>{title}</name>{rtepts}</rte></gpx>\n"
    )
    return Response(
        content=gpx,
        media_type="application/gpx+xml",
        headers={"Content-Disposition": f'attachment; filename="tour-{header.id}.gpx"'},
    )


def _read(row: CollectionEvent) -> StopEventRead:
    return StopEventRead(
        id=row.id,
        client_event_id=row.client_event_id,  # type: ignore[arg-type]
        stop_id=row.route_stop_id or 0,
        bin_id=row.bin_id,
        kind=row.kind,  # type: ignore[arg-type]
        observed_fill=row.observed_fill,
        occurred_at=row.occurred_at,
        lon=row.lon,
        lat=row.lat,
    )


@router.post(
    "/events",
    response_model=StopEventRead,
    responses={**ERRORS, **CONFLICT},
    summary="Report a stop: emptied, not reachable, damaged or overfilled (idempotent)",
)
def stop_event(
    body: StopEventCreate, response: Response, session: SessionDep, caller: Caller = DRIVER
) -> StopEventRead:
    """Send again with the same ``client_event_id`` after a lost answer: the same event comes back
    (header ``Idempotent-Replayed: true``) and nothing is stored twice. The same id with another
    stop or kind answers 409."""
    repo = CollectionRepository(session)
    existing = repo.by_client_id(body.client_event_id)
    stop = TourRepository(session).driver_stop(body.stop_id, caller.city_id, caller.vehicle_id or 0)
    if stop is None or stop[1] is None or stop[2] != "stop":
        raise NotFound(f"stop {body.stop_id} not found")
    event = StopEvent(
        client_event_id=body.client_event_id,
        city_id=caller.city_id,
        vehicle_id=caller.vehicle_id or 0,
        route_stop_id=stop[0],
        bin_id=stop[1],
        kind=body.kind,
        observed_fill=body.observed_fill,
        occurred_at=body.occurred_at.astimezone(UTC),
        lon=body.lon,
        lat=body.lat,
    )
    if existing is None:
        existing, created = repo.record(event)
    else:
        created = False
    if not same_event(existing, event):
        raise Conflict("this client_event_id was already used for another event")
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return _read(existing)
