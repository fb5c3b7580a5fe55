"""One error hierarchy for the domain; the API maps it to HTTP in one place."""

from __future__ import annotations


class WasterouteError(Exception):
    """Base of every expected error. ``code`` is stable and machine-readable."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(WasterouteError):
    """The object does not exist, or belongs to another city (both answer the same)."""

    code = "not_found"
    status = 404


class Conflict(WasterouteError):
    code = "conflict"
    status = 409


class InvalidInput(WasterouteError):
    code = "invalid_input"
    status = 422


class Unauthorized(WasterouteError):
    code = "unauthorized"
    status = 401


class Forbidden(WasterouteError):
    code = "forbidden"
    status = 403


class TooManyRequests(WasterouteError):
    """Too many failed attempts; ``retry_after_s`` whole seconds until the next is allowed."""

    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class ServiceUnavailable(WasterouteError):
    code = "unavailable"
    status = 503
