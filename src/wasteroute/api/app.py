"""``create_app(settings, database_url)``: resources are built in the lifespan, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wasteroute.api.cors import OpenDataCors
from wasteroute.api.errors import install_error_handlers
from wasteroute.api.limits import BodySizeLimit
from wasteroute.api.routes import admin, bins, dispatch, driver, health, imports, ingest, opendata, plans
from wasteroute.api.throttle import FailedAuthLimiter
from wasteroute.api.tours import AccessCache, TourCache
from wasteroute.clock import Clock, system_clock
from wasteroute.config import Settings
from wasteroute.ingest.service import limits_from
from wasteroute.ingest.webhook import StorePool, WebhookIngest
from wasteroute.storage.db import make_engine, make_session_factory
from wasteroute.storage.readings import BatchStore
from wasteroute.storage.tours import AsyncTourStore
from wasteroute.web import routes as web_routes

DESCRIPTION = """Fill-level driven waste collection: readings in, today's routes out.

Authenticate with an API key in the `X-API-Key` header (or `Authorization: Bearer <key>`). Every key
belongs to one city and has one role: **admin** (master data and keys of its city), **dispatcher**
(map, plans, routes, alerts), **driver** (own tour and stop events), **gateway** (webhook readings).
Another city's object answers 404 exactly like a missing one. Errors always have the shape
`{"error": {"code", "message", "details"}}`. Lists are paginated with `limit` (at most 1000) and
`offset`. The `open` endpoints need no key.
"""

ROUTERS = (health, plans, bins, driver, admin, imports, ingest, opendata, dispatch)


def create_app(
    settings: Settings, database_url: str | None = None, *, pool_size: int = 10, clock: Clock = system_clock
) -> FastAPI:
    """The API and the pages on ``database_url`` (default ``settings.database_url``); ``clock`` is where
    every route reads the time (today's plans and tour, report time checks, alert ages)."""
    url = database_url or settings.database_url
    if not url:
        raise ValueError("create_app needs a database URL (settings.database_url or database_url=)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(url, pool_size=pool_size)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        pool = StorePool(lambda: BatchStore(url))
        app.state.webhooks = WebhookIngest(pool, limits_from(settings))
        app.state.tours = TourCache()
        app.state.tour_access = AccessCache(ttl_s=1.0)
        tour_store = AsyncTourStore(url, pool_size=pool_size)
        app.state.tour_store = tour_store
        yield
        await tour_store.close()
        pool.close()
        engine.dispose()

    app = FastAPI(
        title="wasteroute",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "dispatcher", "description": "map of bins, plan jobs, plans, routes, alerts"},
            {"name": "driver", "description": "the tablet in the cab: own tour, stop events, GPX"},
            {
                "name": "admin",
                "description": "the city, its master data, bulk imports, API keys, announced local events, "
                "and per fraction its morning plans and collection policy",
            },
            {"name": "gateway", "description": "webhook readings and the collections feed"},
            {"name": "open data", "description": "anonymous figures and NGSI-LD entities, no key needed"},
            {"name": "operations", "description": "health (metrics are served on a port of their own)"},
        ],
    )
    app.state.settings = settings
    app.state.auth_failures = FailedAuthLimiter(
        settings.auth_failure_burst, settings.auth_failure_refill_s, settings.auth_failure_clients
    )
    app.state.clock = clock
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(OpenDataCors)
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(web_routes.router)
    return app
