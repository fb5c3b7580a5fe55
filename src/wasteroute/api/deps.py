"""Request dependencies: the session (the request owns the transaction) and the principal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from wasteroute.config import Settings
from wasteroute.errors import Forbidden, Unauthorized
from wasteroute.storage.principals import PrincipalRepository


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the endpoint returns, roll back when it raises."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key issued by an admin")
_bearer = HTTPBearer(auto_error=False, description="the same API key as a bearer token")


@dataclass(frozen=True)
class Caller:
    principal_id: int
    city_id: int
    role: str
    vehicle_id: int | None


def get_caller(
    session: SessionDep,
    settings: SettingsDep,
    api_key: Annotated[str | None, Depends(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise Unauthorized("send an API key in the X-API-Key header or as a bearer token")
    p = PrincipalRepository(session, settings.secret_key.get_secret_value()).authenticate(key)
    if p is None:
        raise Unauthorized("the API key is unknown, malformed or disabled")
    return Caller(p.id, p.city_id, p.role, p.vehicle_id)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency that lets only the given roles through."""

    def check(caller: CallerDep) -> Caller:
        if caller.role not in roles:
            raise Forbidden(f"this needs one of the roles {', '.join(roles)}; you are {caller.role}")
        return caller

    return Depends(check)
