"""Request body size limits, answered with the error envelope (413) before the body is read whole."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
WEBHOOK_LIMIT_BYTES = 64 * KIB
IMPORT_LIMIT_BYTES = 8 * KIB * KIB
DEFAULT_LIMIT_BYTES = 256 * KIB


def limit_for(path: str) -> int:
    """Largest accepted body for ``path``, bytes: webhooks 64 KiB, bulk imports 8 MiB, others 256 KiB."""
    if path.startswith("/api/v1/ingest/"):
        return WEBHOOK_LIMIT_BYTES
    if path.startswith("/api/v1/admin/") and path.endswith(("/import/csv", "/import/geojson")):
        return IMPORT_LIMIT_BYTES
    return DEFAULT_LIMIT_BYTES


class BodySizeLimit:
    """ASGI middleware: refuses a declared ``Content-Length`` above the limit at once; a body without
    one (chunked) is read up to the limit, refused when it passes it, and replayed to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, limit)
                    return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "too_large",
                "message": f"the request body is larger than {limit} bytes",
                "details": {"limit_bytes": limit},
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
