"""``create_app(settings)``: resources are built in the lifespan, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wasteroute.api.errors import install_error_handlers
from wasteroute.api.routes import bins, driver, health, plans
from wasteroute.config import Settings
from wasteroute.storage.db import make_engine, make_session_factory


def create_app(settings: Settings, database_url: str | None = None) -> FastAPI:
    url = database_url or settings.database_url
    if not url:
        raise ValueError("create_app needs a database URL (settings.database_url or database_url=)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(url)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="wasteroute",
        version="0.1.0",
        description="Fill-level driven waste collection: readings in, today's routes out.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (health, plans, bins, driver):
        app.include_router(module.router)
    return app
