"""OSRM table client against a local HTTP server that answers in OSRM's table format."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from wasteroute.errors import ServiceUnavailable
from wasteroute.planning.distances import DistanceProvider
from wasteroute.planning.osrm import OsrmClient, OsrmError

NO_SEGMENT_LON = 0.5
"""A point with this longitude is "far from any road": the fake server answers NoSegment."""
ISLAND_LON = 0.25
"""A point with this longitude has no route to or from anything else (null entries)."""


@dataclass
class FakeOsrm:
    """Test double of osrm-routed's table service: distance = 1000 m per 0.01 degree (Manhattan)."""

    max_table_size: int = 100
    delay_s: float = 0.0
    fail_first: int = 0
    """Answer HTTP 503 (HTML) to this many requests first."""
    requests: list[tuple[int, int, int]] = field(default_factory=list)
    """(coordinates, sources, destinations) of every table request."""

    def answer(self, path: str, query: str) -> tuple[int, object]:
        parts = path.split("/")
        if len(parts) != 5 or parts[1] != "table" or parts[2] != "v1":
            return 400, {"code": "InvalidService", "message": "Service not found"}
        coords = [tuple(float(v) for v in c.split(",")) for c in parts[4].split(";")]
        args = parse_qs(query)
        sources = [int(v) for v in args.get("sources", ["all"])[0].split(";")] if "sources" in args else None
        dests = [int(v) for v in args["destinations"][0].split(";")] if "destinations" in args else None
        sources = sources if sources is not None else list(range(len(coords)))
        dests = dests if dests is not None else list(range(len(coords)))
        self.requests.append((len(coords), len(sources), len(dests)))
        if args.get("annotations") != ["distance,duration"]:
            return 400, {"code": "InvalidOptions", "message": "annotations missing"}
        if len(sources) * len(dests) > self.max_table_size**2:
            return 400, {"code": "TooBig", "message": "Too many table coordinates"}
        for k, (lon, _) in enumerate(coords):
            if lon == NO_SEGMENT_LON:
                return 400, {
                    "code": "NoSegment",
                    "message": f"Could not find a matching segment for coordinate {k}",
                }

        def metres(a: int, b: int) -> float | None:
            (lon_a, lat_a), (lon_b, lat_b) = coords[a], coords[b]
            if a != b and ISLAND_LON in (lon_a, lon_b):
                return None
            return (abs(lon_a - lon_b) + abs(lat_a - lat_b)) * 100_000.0 + (0.4 if a != b else 0.0)

        distances = [[metres(a, b) for b in dests] for a in sources]
        durations = [[None if d is None else d / 10.0 for d in row] for row in distances]
        return 200, {"code": "Ok", "distances": distances, "durations": durations}


@pytest.fixture
def osrm() -> Iterator[tuple[str, FakeOsrm]]:
    fake = FakeOsrm()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if fake.delay_s:
                time.sleep(fake.delay_s)
            if fake.fail_first > 0:
                fake.fail_first -= 1
                payload = b"<html>Service Unavailable</html>"
                self.send_response(503)
                self.send_header("Content-Type", "text/html")
            else:
                parts = urlsplit(self.path)
                status, body = fake.answer(parts.path, parts.query)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()


def _points(n: int) -> list[tuple[float, float]]:
    """(lat, lon) points on a grid, 0.01 degree apart."""
    return [(54.0 + 0.01 * (i % 7), 11.0 + 0.01 * (i // 7)) for i in range(n)]


def _expected(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array(points)
    metres = (np.abs(a[:, None, 0] - a[None, :, 0]) + np.abs(a[:, None, 1] - a[None, :, 1])) * 100_000.0
    metres += 0.4
    np.fill_diagonal(metres, 0.0)
    return np.rint(metres).astype(np.int64), np.rint(metres / 10.0).astype(np.int64)


def test_small_matrix_in_one_request(osrm: tuple[str, FakeOsrm]) -> None:
    url, fake = osrm
    points = _points(5)
    client = OsrmClient(url)
    distance_m, duration_s = client.matrices(points)
    want_d, want_t = _expected(points)
    assert np.array_equal(distance_m, want_d)
    assert np.array_equal(duration_s, want_t)
    assert distance_m.dtype == np.int64
    assert fake.requests == [(5, 5, 5)]


def test_large_matrix_is_chunked_within_the_table_limit(osrm: tuple[str, FakeOsrm]) -> None:
    url, fake = osrm
    fake.max_table_size = 4
    points = _points(10)
    client = OsrmClient(url, max_table_size=4)
    distance_m, duration_s = client.matrices(points)
    want_d, want_t = _expected(points)
    assert np.array_equal(distance_m, want_d)
    assert np.array_equal(duration_s, want_t)
    assert len(fake.requests) == 9  # 3 source blocks x 3 destination blocks
    assert all(s <= 4 and d <= 4 for _, s, d in fake.requests)
    assert client.requests_made == 9


def test_too_big_names_the_setting_to_change(osrm: tuple[str, FakeOsrm]) -> None:
    url, fake = osrm
    fake.max_table_size = 3
    with pytest.raises(OsrmError, match=r"TooBig.*max-table-size") as info:
        OsrmClient(url, max_table_size=5).matrices(_points(6))
    assert info.value.osrm_code == "TooBig"
    assert isinstance(info.value, ServiceUnavailable)


def test_no_segment_error_is_explained(osrm: tuple[str, FakeOsrm]) -> None:
    url, _ = osrm
    points = [*_points(3), (54.0, NO_SEGMENT_LON)]
    with pytest.raises(OsrmError, match=r"NoSegment.*too far from any road.*coordinate 3") as info:
        OsrmClient(url).matrices(points)
    assert info.value.osrm_code == "NoSegment"


def test_unreachable_pairs_are_reported_by_index(osrm: tuple[str, FakeOsrm]) -> None:
    url, _ = osrm
    points = [*_points(3), (54.0, ISLAND_LON)]
    with pytest.raises(OsrmError, match=r"no route for 6 pair\(s\)") as info:
        OsrmClient(url).matrices(points)
    assert info.value.osrm_code == "NoRoute"
    assert (0, 3) in info.value.details["pairs"]  # type: ignore[index]


def test_timeout_is_reported_after_retries(osrm: tuple[str, FakeOsrm]) -> None:
    url, fake = osrm
    fake.delay_s = 0.5
    client = OsrmClient(url, timeout_s=0.1, retries=1)
    with pytest.raises(OsrmError, match=r"did not answer within 0\.1 s") as info:
        client.matrices(_points(3))
    assert info.value.osrm_code == "Timeout"
    assert client.requests_made == 2


def test_server_errors_are_retried(osrm: tuple[str, FakeOsrm]) -> None:
    url, fake = osrm
    fake.fail_first = 1
    client = OsrmClient(url, retries=1)
    distance_m, _ = client.matrices(_points(3))
    assert distance_m[0, 1] == 1000
    assert client.requests_made == 2


def test_persistent_html_error_is_reported_with_the_status(osrm: tuple[str, FakeOsrm]) -> None:
    url, fake = osrm
    fake.fail_first = 5
    with pytest.raises(OsrmError, match="HTTP 503 without a JSON object") as info:
        OsrmClient(url, retries=0).matrices(_points(3))
    assert info.value.osrm_code == "HTTP 503"


def test_connection_refused_is_unreachable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OsrmError, match="unreachable") as info:
        OsrmClient(f"http://127.0.0.1:{port}", retries=0).matrices(_points(2))
    assert info.value.osrm_code == "Unreachable"


def test_wrong_service_path_is_explained(osrm: tuple[str, FakeOsrm]) -> None:
    url, _ = osrm
    with pytest.raises(OsrmError, match="InvalidService"):
        OsrmClient(url + "/nested/path").matrices(_points(2))


def test_single_point_needs_no_request(osrm: tuple[str, FakeOsrm]) -> None:
    url, fake = osrm
    distance_m, duration_s = OsrmClient(url).matrices(_points(1))
    assert distance_m.shape == duration_s.shape == (1, 1)
    assert fake.requests == []


def test_client_is_a_distance_provider(osrm: tuple[str, FakeOsrm]) -> None:
    url, _ = osrm
    provider: DistanceProvider = OsrmClient(url)
    assert provider.matrices(_points(2))[0][0, 1] == 1000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "osrm:5000"}, "http://"),
        ({"base_url": "http://x", "max_table_size": 1}, "max_table_size"),
        ({"base_url": "http://x", "timeout_s": 0.0}, "timeout_s"),
        ({"base_url": "http://x", "profile": "a/b"}, "profile"),
        ({"base_url": "http://x", "retries": -1}, "retries"),
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OsrmClient(**kwargs)  # type: ignore[arg-type]
