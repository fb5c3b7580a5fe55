"""Distance provider backed by an OSRM server's table service (road distances and driving times).

``GET {base_url}/table/v1/{profile}/{lon,lat;lon,lat;...}?sources=..&destinations=..``
``&annotations=distance,duration`` answers
``{"code": "Ok", "distances": [[m, ...]], "durations": [[s, ...]]}``, rows = sources. A server
started with ``osrm-routed --max-table-size N`` refuses tables larger than ``N x N`` (code
``TooBig``), so large matrices are fetched in blocks of at most ``max_table_size`` sources by
``max_table_size`` destinations and stitched together.

Errors: every failure raises :class:`OsrmError` (a :class:`~wasteroute.errors.ServiceUnavailable`)
whose message says what went wrong and what to do; ``osrm_code`` carries OSRM's own code
(``NoSegment``, ``TooBig``, ``InvalidQuery``, ...) or ``"Timeout"``, ``"Unreachable"``, ``"HTTP <n>"``,
``"NoRoute"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from wasteroute.errors import ServiceUnavailable
from wasteroute.planning.distances import IntMatrix, Point, as_point_array

__all__ = ["OsrmClient", "OsrmError"]

_HINTS = {
    "NoSegment": "a point lies too far from any road of the server's map "
    "(wrong coordinates, or (lon, lat) swapped?)",
    "TooBig": "the table is larger than the server's --max-table-size; lower max_table_size",
    "InvalidQuery": "the server rejected the query syntax",
    "InvalidValue": "the server rejected a parameter value",
    "InvalidOptions": "the server rejected an option (is the annotations option supported?)",
    "InvalidUrl": "the URL is malformed",
    "InvalidService": "the server has no table service at this URL",
    "InvalidVersion": "the server does not speak version 1 of the API",
    "NotImplemented": "the server does not implement this request",
    "NoTable": "the server found no table for these points",
}


class OsrmError(ServiceUnavailable):
    """The OSRM server could not provide the matrix; ``osrm_code`` says why."""

    code = "osrm_error"

    def __init__(self, message: str, *, osrm_code: str, details: object | None = None) -> None:
        super().__init__(message, details=details)
        self.osrm_code = osrm_code


class OsrmClient:
    """Fetch ``(distance_m, duration_s)`` matrices from an OSRM server (implements ``DistanceProvider``).

    Args:
        base_url: e.g. ``http://osrm:5000`` (no trailing path).
        profile: the routing profile in the URL; ``driving`` for the standard car profile.
        max_table_size: the server's ``--max-table-size`` (default 100, OSRM's own default): at most
            this many sources and this many destinations per request.
        timeout_s: per-request timeout (connect and read), seconds.
        retries: extra attempts after a timeout, a connection failure or an HTTP 5xx/429 answer
            (not after an OSRM error code, which would repeat); waits 0.5 s, 1 s, 2 s... between.
        client: an ``httpx.Client`` to use (the caller keeps ownership); one is created otherwise.
    """

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        max_table_size: int = 100,
        timeout_s: float = 30.0,
        retries: int = 2,
        client: httpx.Client | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not profile or "/" in profile:
            raise ValueError(f"profile must be a single path segment such as 'driving', got {profile!r}")
        if max_table_size < 2:
            raise ValueError(f"max_table_size must be >= 2, got {max_table_size}")
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.max_table_size = max_table_size
        self.timeout_s = timeout_s
        self.retries = retries
        self._client = client
        self.requests_made = 0
        """Number of HTTP requests sent so far (for monitoring and tests)."""

    def matrices(self, points: Sequence[Point]) -> tuple[IntMatrix, IntMatrix]:
        """Return ``(distance_m, duration_s)`` for ``(lat_deg, lon_deg)`` points, rounded to integers.

        Raises :class:`OsrmError` when the server fails, or when some pair has no route (the message
        lists the first pairs, by point index).
        """
        array = as_point_array(points)
        n = array.shape[0]
        distance = np.zeros((n, n), dtype=np.float64)
        duration = np.zeros((n, n), dtype=np.float64)
        if n < 2:
            return distance.astype(np.int64), duration.astype(np.int64)
        block = self.max_table_size
        owned = self._client is None
        client = self._client or httpx.Client(timeout=self.timeout_s)
        try:
            for src in range(0, n, block):
                src_idx = list(range(src, min(src + block, n)))
                for dst in range(0, n, block):
                    dst_idx = list(range(dst, min(dst + block, n)))
                    dist_block, dur_block = self._table(client, array, src_idx, dst_idx)
                    distance[src : src + len(src_idx), dst : dst + len(dst_idx)] = dist_block
                    duration[src : src + len(src_idx), dst : dst + len(dst_idx)] = dur_block
        finally:
            if owned:
                client.close()
        holes = np.isnan(distance) | np.isnan(duration)
        np.fill_diagonal(holes, False)
        if holes.any():
            missing = [(int(i), int(j)) for i, j in np.argwhere(holes)[:5]]
            raise OsrmError(
                f"OSRM found no route for {int(holes.sum())} pair(s) of points, e.g. (from, to) {missing}: "
                "a point may be on a road cut off from the rest of the network",
                osrm_code="NoRoute",
                details={"pairs": missing},
            )
        np.fill_diagonal(distance, 0.0)
        np.fill_diagonal(duration, 0.0)
        return np.rint(distance).astype(np.int64), np.rint(duration).astype(np.int64)

    def _table(
        self, client: httpx.Client, array: np.ndarray[Any, Any], src_idx: list[int], dst_idx: list[int]
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """One table request; returns float blocks with NaN where OSRM answered ``null``."""
        nodes = list(dict.fromkeys(src_idx + dst_idx))
        position = {node: k for k, node in enumerate(nodes)}
        coords = ";".join(f"{array[i, 1]:.6f},{array[i, 0]:.6f}" for i in nodes)
        url = f"{self.base_url}/table/v1/{self.profile}/{coords}"
        params = {
            "sources": ";".join(str(position[i]) for i in src_idx),
            "destinations": ";".join(str(position[i]) for i in dst_idx),
            "annotations": "distance,duration",
        }
        body = self._get(client, url, params)
        shape = (len(src_idx), len(dst_idx))
        return _block(body, "distances", shape), _block(body, "durations", shape)

    def _get(self, client: httpx.Client, url: str, params: dict[str, str]) -> dict[str, Any]:
        delay_s = 0.5
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            self.requests_made += 1
            try:
                response = client.get(url, params=params, timeout=self.timeout_s)
            except httpx.TimeoutException as exc:
                if last:
                    raise OsrmError(
                        f"OSRM at {self.base_url} did not answer within {self.timeout_s:g} s "
                        f"({self.retries + 1} attempt(s))",
                        osrm_code="Timeout",
                    ) from exc
            except httpx.TransportError as exc:
                if last:
                    raise OsrmError(
                        f"OSRM at {self.base_url} is unreachable: {exc}", osrm_code="Unreachable"
                    ) from exc
            else:
                if (response.status_code >= 500 or response.status_code == 429) and not last:
                    pass
                else:
                    return _parse(response, self.base_url)
            time.sleep(delay_s)
            delay_s *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _parse(response: httpx.Response, base_url: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OsrmError(
            f"OSRM at {base_url} answered HTTP {response.status_code} without a JSON object: "
            f"{response.text[:200]!r}",
            osrm_code=f"HTTP {response.status_code}",
        )
    code = str(body.get("code", ""))
    if code != "Ok":
        message = str(body.get("message", "")).strip()
        hint = _HINTS.get(code, "unexpected answer")
        raise OsrmError(
            f"OSRM error {code or 'without a code'} (HTTP {response.status_code}): {hint}"
            + (f". Server says: {message}" if message else ""),
            osrm_code=code or f"HTTP {response.status_code}",
            details={"message": message},
        )
    return body


def _block(body: dict[str, Any], key: str, shape: tuple[int, int]) -> np.ndarray[Any, Any]:
    rows = body.get(key)
    if (
        not isinstance(rows, list)
        or len(rows) != shape[0]
        or any(not isinstance(r, list) or len(r) != shape[1] for r in rows)
    ):
        raise OsrmError(
            f"OSRM answer has no {shape[0]} x {shape[1]} '{key}' table (is annotations=distance,duration "
            "supported by this server version?)",
            osrm_code="BadAnswer",
        )
    return np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64)
