"""Cross-origin reads of the open data, and of nothing else.

Browser apps on other sites (a city's transparency portal, civic-tech dashboards) may read the open
data (``/api/v1/open/...``): those answers carry ``Access-Control-Allow-Origin: *`` and preflights
for ``GET`` are answered. No credentials are allowed, so a browser never sends cookies or an
``Authorization`` header along. Every keyed route answers without any CORS header, so a page on
another site cannot read what a key there would fetch.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PREFIX = "/api/v1/open/"


class OpenDataCors:
    """ASGI middleware: Starlette's CORS handling on the open-data paths only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "HEAD"],
            allow_headers=["Accept", "Accept-Language", "If-None-Match"],
            allow_credentials=False,
            max_age=86_400,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(OPEN_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
