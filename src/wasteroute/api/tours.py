"""The driver's tour on the hot path: one query authenticates the key and finds today's route and its
version; the tour's JSON (and its gzip form) is built once per (route, version) and kept in memory.

A stop event bumps the route's version, so the next fetch builds a fresh tour; a new plan makes a new
route. Tablets may send ``If-None-Match`` with the ETag they hold and get ``304 Not Modified``.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

TOUR_CACHE_SIZE = 512
"""Tours kept per API process (a tour of 300 stops is about 110 KB, 15 KB gzipped)."""


@dataclass(frozen=True, slots=True)
class TourBody:
    etag: str
    json: bytes
    gzip: bytes


class TourCache:
    """A bounded, thread-safe LRU of tour bodies by (route id, version)."""

    def __init__(self, size: int = TOUR_CACHE_SIZE) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self._size = size
        self._items: OrderedDict[tuple[int, int], TourBody] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, route_id: int, version: int) -> TourBody | None:
        with self._lock:
            body = self._items.get((route_id, version))
            if body is not None:
                self._items.move_to_end((route_id, version))
            return body

    def put(self, route_id: int, version: int, json_text: str) -> TourBody:
        raw = json_text.encode()
        body = TourBody(
            etag=f'"tour-{route_id}-{version}"', json=raw, gzip=gzip.compress(raw, compresslevel=6)
        )
        with self._lock:
            self._items[(route_id, version)] = body
            self._items.move_to_end((route_id, version))
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return body

    def __len__(self) -> int:
        return len(self._items)


class AccessCache:
    """Key prefix -> (tour access, time) for at most ``ttl_s`` seconds (default 1).

    Saves the database round trip when a tablet polls; the price is that, in *other* API processes,
    a disabled key or a new stop status shows up to ``ttl_s`` later. The process that records a stop
    event clears the cache at once.

    A reader takes :attr:`generation` before its database read and hands it to :meth:`put`: an
    answer read before a ``clear`` is not stored after it (a tour fetch that started before a stop
    event committed would otherwise bring the old version back for ``ttl_s``).
    """

    def __init__(self, ttl_s: float = 1.0, size: int = 10_000) -> None:
        if ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0, got {ttl_s}")
        self.ttl_s = ttl_s
        self._size = size
        self._items: dict[str, tuple[object, float]] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, prefix: str) -> object | None:
        hit = self._items.get(prefix)
        if hit is None or time.monotonic() - hit[1] > self.ttl_s:
            return None
        return hit[0]

    def put(self, prefix: str, access: object, generation: int) -> bool:
        """Store ``access``, read from the database after :attr:`generation` was ``generation``;
        refused (False) when the cache was cleared since."""
        with self._lock:
            if generation != self.generation:
                return False
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[prefix] = (access, time.monotonic())
            return True

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._items.clear()


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an ``If-None-Match`` header names ``etag`` (or is ``*``)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def accepts_gzip(accept_encoding: str | None) -> bool:
    if not accept_encoding:
        return False
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and float(q[2:] or "0") == 0.0)
    return False
