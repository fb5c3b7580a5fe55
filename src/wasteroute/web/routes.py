"""Serves the dispatcher page (``/ui/dispatcher/``), the driver page (``/ui/driver/``) and their assets.

Everything comes from this package and from installed packages (Leaflet from ``xstatic-leaflet``): no
CDN, no internet. The pages are static files that talk to the public API with the user's API key, so
they add no endpoint and no data path of their own. They are mounted as static file trees (not API
operations), answer without a key and hold no city data.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
UI_PREFIX = "/ui"
LEAFLET_PREFIX = f"{UI_PREFIX}/vendor/leaflet"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: https:",  # https: for an optional map tile server
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""Pages and scripts come from this server only; map tiles (when configured) may come over https."""


def leaflet_dir() -> Path | None:
    """The directory holding ``leaflet.js`` and ``leaflet.css`` of the installed ``xstatic-leaflet``,
    or None when the package is missing (the map then says so; the lists still work)."""
    try:
        from xstatic.pkg import leaflet  # type: ignore[import-untyped]
    except ImportError:
        return None
    base = Path(leaflet.BASE_DIR)
    return base if (base / "leaflet.js").is_file() else None


class PageFiles(StaticFiles):
    """Static files with the headers a page that holds an API key should have.

    HTML, JS and CSS are revalidated on every load (``no-cache``: a new release reaches the tablets at
    once, and an unchanged file costs a 304); images may be cached for a day.
    """

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        name = str(full_path)
        static_asset = name.endswith((".png", ".svg", ".ico"))
        response.headers["Cache-Control"] = "public, max-age=86400" if static_asset else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if name.endswith(".html"):
            response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            response.headers["X-Frame-Options"] = "DENY"
        return response


def build_router() -> APIRouter:
    """A router with the two static trees: Leaflet (when installed) and the pages under ``/ui``."""
    router = APIRouter()
    leaflet = leaflet_dir()
    if leaflet is not None:
        router.mount(LEAFLET_PREFIX, PageFiles(directory=leaflet), name="leaflet")
    router.mount(UI_PREFIX, PageFiles(directory=STATIC_DIR, html=True), name="ui")
    return router


router = build_router()
