"""Request dependencies: the session (the request owns the transaction), the caller and pagination."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from wasteroute.config import Settings
from wasteroute.errors import Forbidden, Unauthorized
from wasteroute.storage.db import transaction
from wasteroute.storage.principals import PrincipalRepository

ROLES = ("admin", "dispatcher", "driver", "gateway")
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
    role: str
    vehicle_id: int | None


def get_caller(
    session: SessionDep,
    settings: SettingsDep,
    api_key: Annotated[str | None, Depends(api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_header)],
) -> Caller:
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise Unauthorized("send an API key in the X-API-Key header or as a bearer token")
    p = PrincipalRepository(session, settings.secret_key.get_secret_value()).authenticate(key)
    if p is None:
        raise Unauthorized("the API key is unknown, malformed or disabled")
    caller = Caller(p.id, p.city_id, p.role, p.vehicle_id)
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


def require(*roles: str) -> Any:
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
