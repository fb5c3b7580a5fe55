"""Drivers: their own tour of today, stop events (idempotent by a client-generated id) and GPX.

A driver sees only their own vehicle's tour: any other stop answers 404 exactly like a missing one."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from wasteroute.api.deps import (
    Caller,
    NowDep,
    SessionDep,
    api_key_header,
    bearer_header,
    commit_and_forget_tour_access,
    refuse_key,
    refuse_throttled,
    require,
    wrong_role,
)
from wasteroute.api.errors import AUTH_ERRORS, CONFLICT, NOT_FOUND
from wasteroute.api.schemas.driver import StopEventCreate, StopEventRead, TourRead
from wasteroute.api.tours import AccessCache, TourCache, accepts_gzip, etag_matches
from wasteroute.config import Settings
from wasteroute.errors import Conflict, InvalidInput, NotFound, Unauthorized
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.collections import CollectionRepository, StopEvent, same_event
from wasteroute.storage.models import CollectionEvent
from wasteroute.storage.principals import PrincipalRepository
from wasteroute.storage.tours import AsyncTourStore, TourAccess, TourRepository
from wasteroute.vocabulary import EventKind, Role

router = APIRouter(prefix="/api/v1/driver", tags=["driver"])
DRIVER = require(Role.DRIVER)
ERRORS = {**AUTH_ERRORS, **NOT_FOUND}
NO_TOUR = "no tour for you today"
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock a tablet's report may lie (tablet clocks drift)."""
MAX_REPORT_AGE = timedelta(hours=48)
"""How old a new report may be: a tablet offline over a night still delivers the day's reports."""


class ReportTimeRefused(InvalidInput):
    """A new report dated in the future or too far back (422). ``code`` is ``event_in_future`` or
    ``event_too_old``; ``details.params`` has ``occurred_at``, ``server_time`` (ISO 8601, UTC) and
    ``skew_min`` or ``max_age_h``."""

    def __init__(self, code: str, message: str, params: dict[str, object]) -> None:
        super().__init__(message, details={"params": params})
        self.code = code


def event_time_problem(occurred_at: datetime, now: datetime) -> ReportTimeRefused | None:
    """Why a new report's time cannot be right (in the future beyond :data:`CLOCK_SKEW`, or older than
    :data:`MAX_REPORT_AGE`), or None when it is plausible. Both times timezone-aware."""
    at = f"{occurred_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    server = f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    if occurred_at > now + CLOCK_SKEW:
        skew_min = CLOCK_SKEW.seconds // 60
        return ReportTimeRefused(
            "event_in_future",
            f"occurred_at {at} lies in the future; expected no later than the server's time {server} plus "
            f"{skew_min} min (check the tablet's clock)",
            {"occurred_at": at, "server_time": server, "skew_min": skew_min},
        )
    if occurred_at < now - MAX_REPORT_AGE:
        max_age_h = MAX_REPORT_AGE.days * 24 + MAX_REPORT_AGE.seconds // 3600
        return ReportTimeRefused(
            "event_too_old",
            f"occurred_at {at} is older than {max_age_h} h; expected a report of the current tour "
            "(check the tablet's clock)",
            {"occurred_at": at, "server_time": server, "max_age_h": max_age_h},
        )
    return None


def _today(session: SessionDep, caller: Caller, now: datetime) -> date:
    city = CityRepository(session).get(caller.city_id)
    if city is None or caller.vehicle_id is None:
        raise NotFound(NO_TOUR)
    return now.astimezone(ZoneInfo(city.timezone)).date()


async def tour_access(
    request: Request,
    api_key: Annotated[str | None, Depends(api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_header)],
) -> TourAccess:
    """Authentication, role check and today's route in one query on the asyncio engine, with the
    same answers as ``require(Role.DRIVER)``."""
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise Unauthorized("send an API key in the X-API-Key header or as a bearer token")
    refuse_throttled(request)
    settings: Settings = request.app.state.settings
    parts = PrincipalRepository.split_key(key)
    access: TourAccess | None = None
    if parts is not None:
        cache: AccessCache = request.app.state.tour_access
        cached = cache.get(parts[0])
        if isinstance(cached, TourAccess):
            access = cached
        else:
            store: AsyncTourStore = request.app.state.tour_store
            generation = cache.generation
            access = await store.access(parts[0], request.app.state.clock())
            if access is not None:
                cache.put(parts[0], access, generation)
    if (
        parts is None
        or access is None
        or access.disabled
        or not PrincipalRepository.secret_matches(
            access.key_hash, parts[1], settings.secret_key.get_secret_value()
        )
    ):
        raise refuse_key(request)
    if access.role != Role.DRIVER:
        raise wrong_role(access.role, (Role.DRIVER,))
    return access


tour_access.roles = (Role.DRIVER,)  # type: ignore[attr-defined]  # read by the tenant-isolation test


@router.get(
    "/tour",
    response_model=TourRead,
    responses={**ERRORS, 304: {"description": "the tour is unchanged since the ETag sent in If-None-Match"}},
    summary="Today's tour of your vehicle: stops in order with coordinates, ETA, facility and breaks",
)
async def my_tour(
    request: Request,
    access: Annotated[TourAccess, Depends(tour_access)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Stop ``id`` is what stop events refer to. The answer carries an ``ETag``; send it back in
    ``If-None-Match`` to get ``304`` while nothing changed (gzip when ``Accept-Encoding`` allows).
    Served on the event loop: one query per fetch, the tour JSON is built once per route version."""
    if access.route_id is None or access.route_version is None:
        raise NotFound(NO_TOUR)
    cache: TourCache = request.app.state.tours
    body = cache.get(access.route_id, access.route_version)
    if body is None:
        store: AsyncTourStore = request.app.state.tour_store
        text = await store.route_json(access.route_id)
        if text is None:
            raise NotFound(NO_TOUR)
        body = cache.put(access.route_id, access.route_version, text)
    headers = {"ETag": body.etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if etag_matches(if_none_match, body.etag):
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request.headers.get("accept-encoding")):
        return Response(
            content=body.gzip, media_type="application/json", headers={**headers, "Content-Encoding": "gzip"}
        )
    return Response(content=body.json, media_type="application/json", headers=headers)


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
def my_tour_gpx(session: SessionDep, now: NowDep, caller: Caller = DRIVER) -> Response:
    repo = TourRepository(session)
    route_id = repo.tour_route_id(caller.city_id, caller.vehicle_id or 0, _today(session, caller, now))
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
        kind=EventKind(row.kind),
        observed_fill=row.observed_fill,
        occurred_at=row.occurred_at,
        lon=row.lon,
        lat=row.lat,
        withdrawn_at=row.withdrawn_at,
    )


@router.post(
    "/events",
    response_model=StopEventRead,
    responses={**ERRORS, **CONFLICT, 422: {"description": "the report's time is in the future or too old"}},
    summary="Report a stop: emptied, not reachable, damaged or overfilled (idempotent)",
)
def stop_event(
    request: Request,
    body: StopEventCreate,
    response: Response,
    session: SessionDep,
    now: NowDep,
    caller: Caller = DRIVER,
) -> StopEventRead:
    """Send again with the same ``client_event_id`` after a lost answer: the same event comes back
    (header ``Idempotent-Replayed: true``) and nothing is stored twice. The same id with another
    stop or kind answers 409. ``overfilled`` means the container was overfilled *and emptied*: it
    counts as an emptying (the container leaves must-go) and as an overflow in the public figures.
    A new report dated more than 5 min ahead of the server's clock or older than 48 h answers 422."""
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
        problem = event_time_problem(event.occurred_at, now)
        if problem is not None:
            raise problem
        existing, created = repo.record(event)
    else:
        created = False
    if not same_event(existing, event):
        raise Conflict("this client_event_id was already used for another event")
    if created:
        commit_and_forget_tour_access(request, session)  # this process serves the new status at once
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return _read(existing)


@router.post(
    "/events/{client_event_id}/withdraw",
    response_model=StopEventRead,
    responses=ERRORS,
    summary="Take back one of your reports (undo): the stop is open again (idempotent)",
)
def withdraw_event(
    request: Request,
    client_event_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    now: NowDep,
    caller: Caller = DRIVER,
) -> StopEventRead:
    """The report stays stored with ``withdrawn_at`` and counts nothing any more: the stop's status
    falls back to the latest report still standing (``planned`` when none is), and a withdrawn
    emptying is no longer the container's last one. To correct a report, withdraw it and report the
    stop again. Withdrawing again answers the same event (header ``Idempotent-Replayed: true``);
    another vehicle's report answers 404."""
    done = CollectionRepository(session).withdraw(
        client_event_id, caller.city_id, caller.vehicle_id or 0, now
    )
    if done is None:
        raise NotFound(f"report {client_event_id} not found")
    row, withdrawn = done
    if withdrawn:
        commit_and_forget_tour_access(request, session)
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return _read(row)
