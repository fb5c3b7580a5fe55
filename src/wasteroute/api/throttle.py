"""Failed authentications per client address: a token bucket that answers 429 once it is empty.

Each client address has ``burst`` failed authentications at once and earns one more every
``refill_s`` seconds. While its bucket is empty every request of that address that carries a key is
refused with 429 and a ``Retry-After`` before its key is looked up, so guessing stays at one key per
``refill_s`` whatever the key (a valid one too: checking it would tell a guesser when they hit).
Successful authentications cost nothing and give nothing back. IPv6 clients count per /64 network
(one subscriber's whole range); behind a reverse proxy the address is taken from
``X-Forwarded-For`` only when the proxy is trusted (uvicorn's ``FORWARDED_ALLOW_IPS``). At most
``max_clients`` addresses are remembered: the one whose last failure is oldest is forgotten first,
and an address whose bucket is full again is forgotten at once, so memory stays bounded whatever
the number of addresses.

Pure and thread-safe (the clock is passed in); the API keeps one per process.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class FailedAuthLimiter:
    """``burst``: failures allowed at once (>= 1); ``refill_s``: seconds to earn one back (> 0);
    ``max_clients``: addresses remembered at most (>= 1); ``clock``: monotonic seconds."""

    def __init__(
        self,
        burst: int = 20,
        refill_s: float = 6.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1:
            raise ValueError(f"burst must be >= 1 failure, got {burst}")
        if not refill_s > 0:
            raise ValueError(f"refill_s must be > 0 s, got {refill_s}")
        if max_clients < 1:
            raise ValueError(f"max_clients must be >= 1, got {max_clients}")
        self.burst = burst
        self.refill_s = refill_s
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.burst), bucket.tokens + (now - bucket.at) / self.refill_s)

    def retry_after_s(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try a key again, or None when it may now."""
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                return None
            now = self.clock()
            tokens = self._tokens(bucket, now)
            if tokens >= self.burst:
                del self._buckets[client]
                return None
            if tokens >= 1.0:
                return None
            return max(1, math.ceil((1.0 - tokens) * self.refill_s))

    def failed(self, client: str) -> None:
        """Count one failed authentication of ``client``."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.pop(client, None)
            tokens = self.burst if bucket is None else self._tokens(bucket, now)
            self._buckets[client] = _Bucket(max(0.0, tokens - 1.0), now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


def client_address(host: str | None) -> str:
    """The address failures are counted for: an IPv4 address as it is, an IPv6 one as its /64
    network (``2001:db8:1:2::/64``), anything else (no address, a name) as given."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
