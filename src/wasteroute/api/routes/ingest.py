"""Gateways: webhook ingestion (The Things Stack, ChirpStack) and the feed of collections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from wasteroute.api.deps import Caller, SessionDep, require
from wasteroute.api.errors import AUTH_ERRORS, envelope
from wasteroute.api.schemas.ingest import CollectionFeed, CollectionItem, IngestResult, Refusal
from wasteroute.errors import InvalidInput
from wasteroute.ingest.adapters import WebhookKind
from wasteroute.ingest.webhook import StorageUnavailable, WebhookIngest, WebhookOutcome
from wasteroute.storage.collections import CollectionRepository
from wasteroute.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["gateway"])
GATEWAY = require(Role.GATEWAY)
FEED = require(Role.ADMIN, Role.DISPATCHER, Role.GATEWAY)
FEED_MAX = 10_000

_UPLINK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        "description": "the network server's uplink message as it sends it (at most 64 KiB)",
    }
}


def _answer(out: WebhookOutcome) -> Response | IngestResult:
    result = IngestResult(
        stored=out.stored,
        duplicates=out.duplicates,
        dead_lettered=out.dead_lettered,
        refused=[Refusal(reason=r, detail=d) for r, d in out.refused],
    )
    if out.refused and out.stored == 0 and out.duplicates == 0:
        first = out.refused[0]
        return envelope(
            422, first[0], f"the message was not stored: {first[1]}", [r.model_dump() for r in result.refused]
        )
    return result


async def _ingest(kind: WebhookKind, request: Request, caller: Caller) -> Response | IngestResult:
    gate: WebhookIngest = request.app.state.webhooks
    body = await request.body()
    try:
        out = await run_in_threadpool(gate.handle, kind, body, caller.city_id, request.app.state.clock())
    except StorageUnavailable:
        return envelope(
            503,
            "unavailable",
            "the database is unavailable; the message was not stored, retry later",
            headers={"Retry-After": "5"},
        )
    return _answer(out)


_WEBHOOK_DOC = {
    **AUTH_ERRORS,
    422: {"description": "the message was dead-lettered with the reason in the envelope; do not resend it"},
    503: {"description": "not stored (database unavailable); resend later"},
}


@router.post(
    "/ingest/tts",
    response_model=IngestResult,
    responses=_WEBHOOK_DOC,
    openapi_extra=_UPLINK_BODY,
    summary="The Things Stack v3 uplink webhook (answers 2xx only after the commit)",
)
async def ingest_tts(request: Request, caller: Caller = GATEWAY) -> Response | IngestResult:
    return await _ingest("tts", request, caller)


@router.post(
    "/ingest/chirpstack",
    response_model=IngestResult,
    responses=_WEBHOOK_DOC,
    openapi_extra=_UPLINK_BODY,
    summary="ChirpStack v4 HTTP integration (event=up is stored, other events are acknowledged)",
)
async def ingest_chirpstack(
    request: Request, event: Annotated[str | None, Query(max_length=32)] = None, caller: Caller = GATEWAY
) -> Response | IngestResult:
    if event is not None and event != "up":
        return IngestResult(stored=0, duplicates=0, dead_lettered=0, refused=[])
    return await _ingest("chirpstack", request, caller)


@router.get(
    "/collections",
    response_model=CollectionFeed,
    responses=AUTH_ERRORS,
    summary="Emptyings reported by drivers since a time (oldest first)",
)
def collections(
    session: SessionDep,
    since: Annotated[datetime, Query(description="ISO 8601 with a zone")],
    limit: Annotated[int, Query(ge=1, le=FEED_MAX)] = 5000,
    caller: Caller = FEED,
) -> CollectionFeed:
    """A full page sets ``next_since``: ask again from there (events at that very time come again)."""
    if since.tzinfo is None:
        raise InvalidInput("since needs a time zone, e.g. 2026-11-22T06:00:00Z")
    rows = CollectionRepository(session).emptied_since(caller.city_id, since, limit)
    return CollectionFeed(
        items=[CollectionItem(external_id=x, collected_at=t) for x, t in rows],
        next_since=rows[-1][1] if len(rows) == limit else None,
    )
