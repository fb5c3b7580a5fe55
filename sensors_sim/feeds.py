"""Where the simulator learns that a container was emptied (the closed loop).

A ``CollectionFeed`` answers "which containers were collected since t?". The simulator polls it
once per simulated hour and empties those containers at their ``collected_at``. ``HttpCollectionFeed``
asks the service's API; ``ListCollectionFeed`` replays a fixed list (tests, demos).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import httpx


@runtime_checkable
class CollectionFeed(Protocol):
    """A source of collection events."""

    def collections_since(self, t: datetime) -> list[tuple[str, datetime]]:
        """``(bin external_id, collected_at)`` of the collections recorded at or after ``t``
        (timezone-aware UTC); the simulator ignores events it has already applied."""
        ...


class ListCollectionFeed:
    """A fixed list of collection events, returned by time."""

    def __init__(self, events: Iterable[tuple[str, datetime]]) -> None:
        self._events = sorted(events, key=lambda e: (e[1], e[0]))
        for ext_id, at in self._events:
            if at.tzinfo is None:
                raise ValueError(f"collection of {ext_id!r}: collected_at must be timezone-aware")

    def collections_since(self, t: datetime) -> list[tuple[str, datetime]]:
        """All events at or after ``t``."""
        return [e for e in self._events if e[1] >= t]


def _parse_time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"collected_at {value!r} has no time zone")
    return t.astimezone(UTC)


class HttpCollectionFeed:
    """Collections from the service's HTTP API.

    Sends ``GET {url}?since=<ISO 8601>`` with an optional bearer token and accepts either a JSON
    list or an object with an ``items`` list, each item holding ``external_id`` (or
    ``bin_external_id``) and ``collected_at`` (ISO 8601 with zone).

    Args:
        url: the endpoint, for example ``http://localhost:8000/api/v1/cities/luebeck/collections``.
        token: API key sent as ``Authorization: Bearer <token>``; ``None`` sends none.
        timeout_s: per-request timeout, seconds (default 10).
        transport: an httpx transport to use instead of the network (tests).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"collection feed url must start with http:// or https://, got {url!r}")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._url = url
        self._client = httpx.Client(headers=headers, timeout=timeout_s, transport=transport)

    def collections_since(self, t: datetime) -> list[tuple[str, datetime]]:
        """Ask the API; raises ``httpx.HTTPError`` when the service does not answer with 2xx."""
        resp = self._client.get(self._url, params={"since": t.astimezone(UTC).isoformat()})
        resp.raise_for_status()
        body: Any = resp.json()
        items = body.get("items", []) if isinstance(body, dict) else body
        out: list[tuple[str, datetime]] = []
        for item in items:
            ext_id = item.get("external_id") or item.get("bin_external_id")
            if ext_id and item.get("collected_at"):
                out.append((str(ext_id), _parse_time(str(item["collected_at"]))))
        return out

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
