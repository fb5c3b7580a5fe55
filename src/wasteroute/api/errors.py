"""One error envelope everywhere: ``{"error": {"code", "message", "details"}}``, and the error responses
each endpoint documents in OpenAPI."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wasteroute.api.deps import refusal_before_validation
from wasteroute.errors import TooManyRequests, WasterouteError

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    """Stable, machine-readable: not_found, forbidden, unauthorized, invalid_input, conflict, too_large,
    unavailable, internal_error, ..."""
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


def _doc(text: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": text}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _doc("no API key, or an unknown, malformed or disabled one"),
    403: _doc("the key's role may not use this endpoint"),
    413: _doc("the request body is too large"),
    422: _doc("the request does not match what the endpoint expects"),
    429: {
        **_doc("too many failed authentications from this address; retry after Retry-After seconds"),
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    },
    503: _doc("the database is unavailable; retry later"),
}
"""Error responses of every endpoint that needs a key. A key is checked before the body: a request
without a valid key answers 401 (or 429, or 403 for a role that may not use it) whatever its body."""

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _doc("no such object in your city (another city's object answers the same)"),
}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _doc("the change conflicts with existing data")}


def json_error(text: str) -> dict[str, Any]:
    """An error response documented as JSON on a route whose success answer has another media type."""
    return {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {
    404: _doc("no such city"),
    422: _doc("the request does not match what the endpoint expects"),
    503: _doc("the database is unavailable; retry later"),
}


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "details": details}},
        headers=headers,
    )


def domain_error(exc: WasterouteError) -> JSONResponse:
    """The envelope of a domain error, with ``WWW-Authenticate`` on 401 and ``Retry-After`` on 429."""
    headers = None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return envelope(exc.status, exc.code, exc.message, exc.details, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WasterouteError)
    async def _domain(request: Request, exc: WasterouteError) -> JSONResponse:
        return domain_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI decodes a JSON body before it runs the dependencies that check the key: answer
        # what the key would have got first, so a caller without one learns nothing about the body
        refusal = await refusal_before_validation(request)
        if refusal is not None:
            return domain_error(refusal)
        details = [
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return envelope(
            422, "invalid_input", "the request does not match what this endpoint expects", details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
            413: "too_large",
        }.get(exc.status_code, "http_error")
        return envelope(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return envelope(
            503, "unavailable", "the database is unavailable; retry later", headers={"Retry-After": "5"}
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return envelope(
                503, "unavailable", "the database is unavailable; retry later", headers={"Retry-After": "5"}
            )
        log.exception("database error on %s %s", request.method, request.url.path)
        return envelope(500, "internal_error", "an unexpected error occurred; it has been logged")

    @app.exception_handler(Exception)
    async def _unknown(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return envelope(500, "internal_error", "an unexpected error occurred; it has been logged")
