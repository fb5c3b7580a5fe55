"""``wasteroute bench api``: driver tour fetches against a real server, many tablets at once.

Seeds a bench city (3,000 bins, 10 vehicles, a finished plan of today with 10 routes of 300 bin
stops each plus start, facility, break and end stops, one driver key per vehicle), starts the API
with uvicorn in a subprocess (``--workers`` processes) and lets ``--clients`` concurrent clients
(a lean HTTP/1.1 client on asyncio streams, one keep-alive connection each, accepting gzip like a
browser) fetch ``GET /api/v1/driver/tour`` for ``--duration-s`` seconds after a warm-up. The client
is lean on purpose: it shares the cores with the server, and a heavy one (httpx spends about three
times the server's CPU per request) would make its own scheduling delays part of the tail.

Two load models:

- open loop (default, ``--rate 500``): the clients together send ``rate`` requests per second on a
  fixed schedule (100 tablets x 5 fetches/s); latency counts from each request's scheduled time, so
  a server that falls behind shows its queue (no coordinated omission) and ``rps`` drops below the
  rate. This is the model of the target: at least 500 requests/s with p99 under 100 ms.
- closed loop (``--rate 0``): each client sends its next request as soon as the answer is read: the
  saturation throughput; latency is then about clients / throughput (Little's law).

Every answer is checked (status 200, a body of its ``Content-Length``, the expected stop count
after gunzip; the first answer on each connection is also parsed as JSON and its ``stops``
counted); anything else counts as an error. ``server_cpu_ms_per_request`` and
``client_cpu_ms_per_request`` are CPU time per request of the server processes and of the load
generator: they do not depend on what else runs on the machine, unlike ``rps`` and the latencies.
The database is ``WASTEROUTE_DATABASE_URL`` or an embedded PostgreSQL in a temporary directory;
the bench city is deleted afterwards (``--keep``).

The last line printed is one JSON object: ``requests``, ``rps``, ``p50_ms``, ``p99_ms``, ``errors``
and the run's parameters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
from fastapi import FastAPI

from wasteroute.config import Settings
from wasteroute.runtime.ports import free_port
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import make_engine, make_session_factory, migrate, transaction
from wasteroute.storage.models import City, Route, RouteStop
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.principals import PrincipalRepository

BINS = 3000
ROUTES = 10


def bench_app() -> FastAPI:
    """The app a uvicorn worker builds (``--factory``): settings and database URL from the environment."""
    from wasteroute.api.app import create_app

    return create_app(Settings(), pool_size=int(os.environ.get("WASTEROUTE_BENCH_POOL", "10")))


@dataclass(frozen=True)
class Seeded:
    city_id: int
    slug: str
    driver_keys: list[str]
    stops_per_tour: int


def seed(
    database_url: str, settings: Settings, *, bins: int = BINS, routes: int = ROUTES, seed_: int = 0
) -> Seeded:
    """A bench city with ``bins`` bins and a finished plan of today with ``routes`` routes."""
    rng = np.random.default_rng(seed_)
    slug = f"bench-api-{secrets.token_hex(3)}"
    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as s:
            repo = CityRepository(s)
            city_id = repo.upsert_city(
                {
                    "slug": slug,
                    "name": "API bench",
                    "timezone": "Europe/Berlin",
                    "center_lon": 10.69,
                    "center_lat": 53.87,
                    "fill_threshold": 0.8,
                }
            )
            types = repo.upsert_container_types(
                [
                    {
                        "city_id": city_id,
                        "code": "wheelie-1100",
                        "name": "1,100 L",
                        "volume_l": 1100,
                        "height_mm": 1150,
                        "service_s": 60,
                        "max_mass_kg": 440,
                    }
                ]
            )
            depots = repo.upsert_depots(
                [{"city_id": city_id, "external_id": "depot", "name": "Hof", "lon": 10.7, "lat": 53.88}]
            )
            facilities = repo.upsert_facilities(
                [
                    {
                        "city_id": city_id,
                        "external_id": "mva",
                        "name": "MVA",
                        "lon": 10.64,
                        "lat": 53.89,
                        "fractions": ["residual"],
                    }
                ]
            )
            vehicles = repo.upsert_vehicles(
                [
                    {
                        "city_id": city_id,
                        "depot_id": depots["depot"],
                        "external_id": f"V{i:02d}",
                        "name": f"Truck {i}",
                        "fraction": "residual",
                        "volume_l": 20_000,
                        "mass_kg": 9_000,
                    }
                    for i in range(routes)
                ]
            )
            lon = 10.69 + rng.normal(0, 0.03, bins)
            lat = 53.87 + rng.normal(0, 0.02, bins)
            bin_ids = repo.upsert_bins(
                [
                    {
                        "city_id": city_id,
                        "external_id": f"B{i:05d}",
                        "lon": float(lon[i]),
                        "lat": float(lat[i]),
                        "fraction": "residual",
                        "container_type_id": types["wheelie-1100"],
                    }
                    for i in range(bins)
                ]
            )
            tz = ZoneInfo("Europe/Berlin")
            day = datetime.now(tz).date()
            start = datetime.combine(day, dtime(6, 0), tz).astimezone(UTC)
            plans = PlanRepository(s)
            plan = plans.create(city_id=city_id, fraction="residual", service_date=day, options={})
            ids = list(bin_ids.values())
            per_route = len(ids) // routes
            keys = []
            principals = PrincipalRepository(s, settings.secret_key.get_secret_value())
            for r, (ext, vehicle_id) in enumerate(sorted(vehicles.items())):
                chunk = ids[r * per_route : (r + 1) * per_route]
                stops = [
                    RouteStop(
                        city_id=city_id,
                        seq=0,
                        kind="start",
                        depot_id=depots["depot"],
                        lon=10.7,
                        lat=53.88,
                        eta=start,
                        departure=start,
                    )
                ]
                t = start
                for k, bin_id in enumerate(chunk, start=1):
                    t = t + timedelta(seconds=90)
                    i = bin_id - ids[0]
                    kind_extra: dict[str, Any] = {}
                    stops.append(
                        RouteStop(
                            city_id=city_id,
                            seq=len(stops),
                            kind="stop",
                            bin_id=bin_id,
                            lon=float(lon[i]),
                            lat=float(lat[i]),
                            eta=t,
                            departure=t + timedelta(seconds=60),
                            load_volume_l=30.0 * k,
                            load_mass_kg=12.0 * k,
                            **kind_extra,
                        )
                    )
                    if k == per_route // 2:
                        stops.append(
                            RouteStop(
                                city_id=city_id,
                                seq=len(stops),
                                kind="break",
                                eta=t,
                                departure=t + timedelta(minutes=30),
                            )
                        )
                        t = t + timedelta(minutes=30)
                stops.append(
                    RouteStop(
                        city_id=city_id,
                        seq=len(stops),
                        kind="facility",
                        facility_id=facilities["mva"],
                        lon=10.64,
                        lat=53.89,
                        eta=t,
                        departure=t + timedelta(minutes=15),
                    )
                )
                stops.append(
                    RouteStop(
                        city_id=city_id,
                        seq=len(stops),
                        kind="end",
                        depot_id=depots["depot"],
                        lon=10.7,
                        lat=53.88,
                        eta=t + timedelta(minutes=40),
                        departure=t + timedelta(minutes=40),
                    )
                )
                plans.add_route(
                    Route(
                        plan_id=plan.id,
                        city_id=city_id,
                        vehicle_id=vehicle_id,
                        distance_m=60_000,
                        duration_s=int((t - start).total_seconds()) + 2400,
                        start_at=start,
                        end_at=t + timedelta(minutes=40),
                        trips=[],
                    ),
                    stops,
                )
                keys.append(
                    principals.create(
                        city_id=city_id, name=f"driver {ext}", role="driver", vehicle_id=vehicle_id
                    ).key
                )
            plans.finish(plan.id, summary={"bench": True}, diagnosis=None, finished_at=datetime.now(UTC))
        return Seeded(city_id, slug, keys, per_route + 4)
    finally:
        engine.dispose()


def drop_city(database_url: str, city_id: int) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as s:
            city = s.get(City, city_id)
            if city is not None:
                s.delete(city)
    finally:
        engine.dispose()


def start_server(database_url: str, port: int, workers: int, pool: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WASTEROUTE_DATABASE_URL": database_url, "WASTEROUTE_BENCH_POOL": str(pool)}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.api:bench_app",
        "--factory",
        "--app-dir",
        str(Path(__file__).resolve().parents[1]),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--backlog",
        "2048",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``), 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def server_cpu_s(pid: int) -> float:
    """CPU seconds of the server process and its worker processes so far."""
    total = _proc_cpu_s(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                total += _proc_cpu_s(int(entry.name))
    return total


def wait_ready(base: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not answer on {base} within {timeout_s:.0f} s")


class HttpError(Exception):
    """A malformed or cut-off answer."""


TOUR_PATH = "/api/v1/driver/tour"
# what the httpx client of earlier versions sent: with gzip accepted the server sends its cached
# gzip form of the tour, so the server does the same work as before
ACCEPT_ENCODING = "gzip, deflate"


def tour_request(host: str, port: int, key: str) -> bytes:
    """The bytes of one ``GET /api/v1/driver/tour`` with a driver key, HTTP/1.1 keep-alive."""
    return (
        f"GET {TOUR_PATH} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Accept: */*\r\n"
        f"Accept-Encoding: {ACCEPT_ENCODING}\r\n"
        "Connection: keep-alive\r\n"
        "User-Agent: wasteroute-bench\r\n"
        f"X-API-Key: {key}\r\n"
        "\r\n"
    ).encode("ascii")


def decode_body(body: bytes, encoding: str) -> bytes:
    """The body without its ``Content-Encoding`` (gzip or deflate)."""
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 31)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -15)
    raise HttpError(f"unexpected Content-Encoding {encoding!r}")


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams, one request at a time.

    Reads the status line, the headers and a ``Content-Length`` body (or a chunked one, or one up to
    the close); reconnects for the next request when the server answered ``Connection: close``, or
    after an error."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self) -> tuple[int, str, bytes]:
        """Send the request and read the answer: status, ``Content-Encoding``, body as sent."""
        try:
            return await self._exchange()
        except BaseException:
            self.close()
            raise

    async def _exchange(self) -> tuple[int, str, bytes]:
        if self.writer is None:
            await self.open()
        reader, writer = self.reader, self.writer
        assert reader is not None and writer is not None
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise HttpError(f"bad status line {lines[0]!r}")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        conn = headers.get("connection", "").lower()
        close = "close" in conn or (version == "HTTP/1.0" and "keep-alive" not in conn)
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._chunked(reader)
        else:  # delimited by the close
            body = await reader.read()
            close = True
        if close:
            self.close()
        return status, headers.get("content-encoding", "").lower(), body

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise HttpError("bad chunk end")


def tour_ok(status: int, encoding: str, body: bytes, expect_stops: int, parse: bool = False) -> bool:
    """A complete tour answer: 200 and ``expect_stops`` stops (``parse``: also as parsed JSON)."""
    if status != 200:
        return False
    try:
        raw = decode_body(body, encoding)
        if parse:
            stops = json.loads(raw)["stops"]
            if not (isinstance(stops, list) and len(stops) == expect_stops):
                return False
        return raw.count(b'"seq"') == expect_stops
    except (HttpError, zlib.error, ValueError, KeyError, TypeError):
        return False


async def fetch_tours(
    base: str,
    keys: Sequence[str],
    clients: int,
    warmup_s: float,
    duration_s: float,
    expect_stops: int | Sequence[int],
    server_pid: int | None = None,
    rate: float = 0.0,
    sent_at: list[float] | None = None,
) -> tuple[list[float], int, int, float, float]:
    """``clients`` tablets fetch their tour (client ``i`` with ``keys[i % len(keys)]``, whose tour has
    ``expect_stops`` stops, or ``expect_stops[i % len(keys)]`` per key) for ``duration_s`` after
    ``warmup_s``; returns the latencies (s), requests and errors of the measured window, and the CPU
    seconds of this process and of ``server_pid`` (and its children) in it. ``sent_at``: when given,
    gets the (scheduled) send time of each measured request, ``perf_counter`` seconds, in the order
    of the latencies.

    Closed loop (``rate`` 0): each client sends its next request when the previous answer is read.
    Open loop (``rate`` > 0 requests/s in total): each client sends on a fixed schedule and latency
    counts from the scheduled time, so a slow server cannot hide its queue (no coordinated omission)."""
    expected = [expect_stops] * len(keys) if isinstance(expect_stops, int) else list(expect_stops)
    if len(expected) != len(keys):
        raise ValueError(f"expected one stop count per key ({len(keys)}), got {len(expected)}")
    latencies: list[float] = []
    errors = 0
    sent = 0
    window = (math.inf, math.inf)  # (start, end) of the measured window, perf_counter seconds
    stop = False
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    # one connection per tablet, opened before the clock starts (reopened when closed)
    pool = [Connection(host, port, tour_request(host, port, keys[i % len(keys)])) for i in range(clients)]
    await asyncio.gather(*(c.open() for c in pool))
    begin = time.perf_counter()

    async def one(i: int, conn: Connection) -> None:
        nonlocal errors, sent
        interval = clients / rate if rate > 0 else 0.0
        due = begin + interval * i / clients
        checked = False  # the first answer of each client is also parsed as JSON
        while not stop:
            if interval:  # open loop: send on schedule, latency counted from the due time
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                t0 = due
                due += interval
            else:  # closed loop: the next request as soon as the answer is read
                t0 = time.perf_counter()
            try:
                async with asyncio.timeout(30.0):
                    status, encoding, body = await conn.get()
                t1 = time.perf_counter()
                ok = tour_ok(status, encoding, body, expected[i % len(keys)], parse=not checked)
                checked = True
            except (
                OSError,
                EOFError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
                HttpError,
                ValueError,
            ):
                t1 = time.perf_counter()
                ok = False
            if window[0] <= t0 and t1 <= window[1]:  # sent and answered inside the window
                sent += 1
                latencies.append(t1 - t0)
                if sent_at is not None:
                    sent_at.append(t0)
                errors += 0 if ok else 1

    tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(pool)]
    await asyncio.sleep(warmup_s)
    cpu0, server0 = time.process_time(), server_cpu_s(server_pid) if server_pid else 0.0
    window = (time.perf_counter(), time.perf_counter() + duration_s)
    await asyncio.sleep(duration_s)
    client_cpu = time.process_time() - cpu0
    server_cpu = (server_cpu_s(server_pid) - server0) if server_pid else 0.0
    stop = True
    await asyncio.gather(*tasks)
    for c in pool:
        c.close()
    return latencies, sent, errors, client_cpu, server_cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="wasteroute bench api", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    ap.add_argument("--json", action="store_true", help="print only the JSON line")
    ap.add_argument("--clients", type=int, default=100, help="concurrent clients (default 100)")
    ap.add_argument("--duration-s", type=float, default=15.0, help="measured seconds (default 15)")
    ap.add_argument("--warmup-s", type=float, default=3.0, help="unmeasured seconds first (default 3)")
    ap.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="open loop: requests/s over all clients (default 500); 0: closed loop, as fast as answered",
    )
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    ap.add_argument("--pool", type=int, default=10, help="database connections per worker (default 10)")
    ap.add_argument("--bins", type=int, default=BINS)
    ap.add_argument("--routes", type=int, default=ROUTES)
    ap.add_argument("--keep", action="store_true", help="keep the bench city")
    args = ap.parse_args(argv)
    settings = Settings()

    def say(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="wasteroute-bench-api-") as tmp:
        pg = None
        database_url = settings.database_url
        if not database_url:
            from wasteroute.runtime.postgres import EmbeddedPostgres

            pg = EmbeddedPostgres(Path(tmp) / "postgres")
            pg.start()
            database_url = pg.create_database("wasteroute_bench")
        server: subprocess.Popen[bytes] | None = None
        seeded: Seeded | None = None
        try:
            migrate(database_url)
            say(f"seeding {args.bins} bins and {args.routes} routes ...")
            seeded = seed(database_url, settings, bins=args.bins, routes=args.routes)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = start_server(database_url, port, args.workers, args.pool)
            wait_ready(base)
            say(
                f"{args.clients} clients fetch tours for {args.duration_s:.0f} s ({args.workers} workers) ..."
            )
            lat, sent, errors, client_cpu, srv_cpu = asyncio.run(
                fetch_tours(
                    base,
                    seeded.driver_keys,
                    args.clients,
                    args.warmup_s,
                    args.duration_s,
                    seeded.stops_per_tour,
                    server.pid,
                    args.rate,
                )
            )
            ms = np.asarray(lat, dtype=np.float64) * 1000 if lat else np.zeros(1)
            result = {
                "requests": sent,
                "rps": round(sent / args.duration_s, 1),
                "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p99_ms": round(float(np.percentile(ms, 99)), 1),
                "errors": errors,
                "server_cpu_ms_per_request": round(srv_cpu * 1000 / max(sent, 1), 2),
                "client_cpu_ms_per_request": round(client_cpu * 1000 / max(sent, 1), 2),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "clients": args.clients,
                "mode": f"open loop at {args.rate:g}/s" if args.rate > 0 else "closed loop",
                "workers": args.workers,
                "duration_s": args.duration_s,
                "stops_per_tour": seeded.stops_per_tour,
                "bins": args.bins,
                "routes": args.routes,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            }
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    server.kill()
            if seeded is not None and not args.keep:
                drop_city(database_url, seeded.city_id)
            if pg is not None:
                pg.stop()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
