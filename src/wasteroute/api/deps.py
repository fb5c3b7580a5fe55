"""Request dependencies: the session (the request owns the transaction), the caller and pagination."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from wasteroute.api.throttle import FailedAuthLimiter, client_address
from wasteroute.config import Settings
from wasteroute.errors import Forbidden, TooManyRequests, Unauthorized, WasterouteError
from wasteroute.storage.db import transaction
from wasteroute.storage.principals import PrincipalRepository
from wasteroute.vocabulary import Role

ROLES = tuple(Role)
MAX_PAGE = 1000
"""The largest page any list endpoint returns."""


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the endpoint returns, roll back when it raises (the request owns the transaction)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with transaction(factory) as session:
        yield session


def commit_and_forget_tour_access(request: Request, session: Session) -> None:
    """Commit the request's transaction now, then drop this process's cached tour access answers
    (a stop's new status, a disabled key). In this order: cleared before the commit, a tour fetch in
    between would read the old state and cache it again."""
    session.commit()
    request.app.state.tour_access.clear()


def current_time(request: Request) -> datetime:
    """The app's clock (``create_app(..., clock=)``; the system clock by default), aware UTC."""
    now: datetime = request.app.state.clock()
    return now


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(current_time)]

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key issued by an admin")
bearer_header = HTTPBearer(auto_error=False, description="the same API key as a bearer token")


@dataclass(frozen=True)
class Caller:
    """The authenticated principal: every one belongs to a city; a driver to a vehicle."""

    principal_id: int
    city_id: int
    role: Role
    vehicle_id: int | None


def client_of(request: Request) -> str:
    """The address failed authentications are counted for (see :mod:`wasteroute.api.throttle`)."""
    return client_address(request.client.host if request.client else None)


def refuse_throttled(request: Request) -> None:
    """Raise 429 when the client's failed authentications are used up (before its key is looked up)."""
    limiter: FailedAuthLimiter = request.app.state.auth_failures
    wait = limiter.retry_after_s(client_of(request))
    if wait is not None:
        raise TooManyRequests(
            f"too many failed authentications from your address; retry in {wait} s", retry_after_s=wait
        )


def refuse_key(request: Request) -> Unauthorized:
    """Count a failed authentication of the client and return the 401 to raise."""
    limiter: FailedAuthLimiter = request.app.state.auth_failures
    limiter.failed(client_of(request))
    return Unauthorized("the API key is unknown, malformed or disabled")


def authenticate(request: Request, session: Session, settings: Settings, key: str | None) -> Caller:
    """The principal holding ``key``: 401 without a key or with a wrong one (counted per address),
    429 while the address has used up its failures."""
    if not key:
        raise Unauthorized("send an API key in the X-API-Key header or as a bearer token")
    refuse_throttled(request)
    p = PrincipalRepository(session, settings.secret_key.get_secret_value()).authenticate(key)
    if p is None:
        raise refuse_key(request)
    return Caller(p.id, p.city_id, Role(p.role), p.vehicle_id)


def get_caller(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    api_key: Annotated[str | None, Depends(api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_header)],
) -> Caller:
    caller = authenticate(request, session, settings, api_key or (bearer.credentials if bearer else None))
    # Give the connection back before the endpoint runs: FastAPI runs this dependency and the endpoint
    # in two separate thread-pool calls, and a connection held between them can starve the pool.
    session.commit()
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def wrong_role(role: str, allowed: tuple[str, ...]) -> Forbidden:
    """The 403 of a key whose role may not do this; ``details.params`` names the role and the allowed
    ones (the pages say it in the user's language)."""
    return Forbidden(
        f"this needs one of the roles {', '.join(allowed)}; you are {role}",
        details={"params": {"role": role, "allowed": list(allowed)}},
    )


def require(*roles: Role) -> Any:
    """A dependency that lets only the given roles through (403 for the others)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be among {ROLES}, got {roles}")

    def check(caller: CallerDep) -> Caller:
        if caller.role not in roles:
            raise wrong_role(caller.role, roles)
        return caller

    check.roles = roles  # type: ignore[attr-defined]  # read by the tenant-isolation test
    return Depends(check)


def _key_roles(dependant: Any) -> tuple[str, ...] | None:
    """The roles a route's dependencies require: ``None`` when it needs no key, ``()`` for any role."""
    found: tuple[str, ...] | None = None
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(roles)
        if dep.call is get_caller:
            found = ()
        inner = _key_roles(dep)
        if inner is not None:
            if inner:
                return inner
            found = ()
    return found


def _request_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return (credentials.strip() or None) if scheme.lower() == "bearer" else None


async def refusal_before_validation(request: Request) -> WasterouteError | None:
    """For a request refused as malformed before its key was checked (FastAPI decodes a JSON body
    before it runs the dependencies): the 401, 429 or 403 its key gets, or None when the key may use
    the route (or the route needs none) and the 422 stands."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    roles = _key_roles(dependant) if dependant is not None else None
    if roles is None:
        return None
    settings: Settings = request.app.state.settings
    factory: sessionmaker[Session] = request.app.state.session_factory

    def check() -> Caller:
        with transaction(factory) as session:
            return authenticate(request, session, settings, _request_key(request))

    try:
        caller = await run_in_threadpool(check)
    except WasterouteError as exc:
        return exc
    if roles and caller.role not in roles:
        return wrong_role(caller.role, roles)
    return None


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size (at most {MAX_PAGE})")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


PageDep = Annotated[PageParams, Depends(page_params)]
