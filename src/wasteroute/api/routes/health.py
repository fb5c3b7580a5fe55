"""Liveness and readiness (no login). Prometheus metrics of the API are not served here but on a port
of their own (``WASTEROUTE_API_METRICS_PORT``, see ``wasteroute serve``): they describe the whole
deployment, not one city, and a scraper needs no API key."""

from __future__ import annotations

from fastapi import APIRouter

from wasteroute.api.deps import SessionDep
from wasteroute.storage.db import ping

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def health(session: SessionDep) -> dict[str, str]:
    ping(session)
    return {"status": "ok"}
