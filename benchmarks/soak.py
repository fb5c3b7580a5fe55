"""``wasteroute bench soak``: one deployment serving several cities at once, every part a real process.

On the loopback interface, in a throw-away database on the configured PostgreSQL (or an embedded
one): ``--cities`` simulated cities (Lübeck, Rostock, Stralsund, Wismar by default) with
``--sensors`` containers in all, each city with a The Things Stack application, a ChirpStack
application and a native gateway registered as integrations; ``mosquitto`` with the shipped
``deploy/mosquitto.conf`` and the ACL generated from that registry; ``wasteroute ingest``,
``wasteroute serve`` (uvicorn) and ``--workers`` ``wasteroute worker`` processes. Then, for
``--duration-s`` seconds:

- the simulator's sensors report hourly at ``--speed`` times real time (100: 5,000 sensors send
  about 140 messages/s), mixed formats, each through its city's integration as that integration's
  broker user; the simulated time runs up to now, so no reading lies in the future;
- at ``--plans-at`` of the run the morning schedule of every fraction with trucks of every city is
  switched on: the workers create the plans and run them (``--plan-time-limit`` s of routing each);
- as soon as a city's plans are done, its share of ``--tablets`` driver tablets (keys of the trucks
  that got a tour) fetch their tour every ``--tablet-interval-s`` seconds until the stream ends
  (at least ``--min-tablet-s``), every answer checked for its complete stop list.

The run ends when the stream has ended, the ingest process has stored what it received and the
tablets stopped. The last line printed is one JSON object: ``readings_sent`` (messages the broker
acknowledged), ``readings_stored`` (rows of the run's readings in the database), ``lost``
(sent - stored), ``plans`` (done), ``plan_wait_p99_s`` (queued to started), ``tour_p99_ms``,
``errors`` (failed plans, bad or failed tour answers, messages the broker did not acknowledge,
processes that died), then details. Exit status 0 only with ``lost`` 0 and ``errors`` 0.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import logging
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.api import fetch_tours, start_server, wait_ready
from benchmarks.ingest import count_readings, native_payload, p99
from wasteroute.admin.integrations import IntegrationCreate, register, render_acl
from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.admin.service import import_city_seed
from wasteroute.config import Settings
from wasteroute.ingest.schemas import native_topic
from wasteroute.runtime.broker import BrokerHandle, start_mosquitto
from wasteroute.runtime.ports import free_port
from wasteroute.runtime.publish import Publisher
from wasteroute.runtime.services import start_services
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import make_engine, make_session_factory, migrate, transaction
from wasteroute.storage.integrations import fetch_integrations
from wasteroute.storage.jobs import ScheduleRepository
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.principals import PrincipalRepository
from wasteroute.storage.scratch import create_database, drop_database
from wasteroute.storage.tours import TourRepository
from wasteroute.vocabulary import IntegrationKind

log = logging.getLogger(__name__)

CITIES = ("luebeck", "rostock", "stralsund", "wismar")
KINDS = ("native", "tts", "chirpstack")
"""The integration kinds of each city; the simulator names its message formats the same way."""


@dataclass(frozen=True)
class SoakOptions:
    """What one soak run does (see the module docstring). Times in wall-clock seconds."""

    cities: tuple[str, ...] = CITIES
    sensors: int = 5_000
    speed: float = 100.0
    duration_s: float = 300.0
    plans_at: float = 0.25
    workers: int = 2
    plan_time_limit_s: float = 10.0
    tablets: int = 200
    tablet_interval_s: float = 1.0
    min_tablet_s: float = 20.0
    api_workers: int = 1
    seed: int = 1
    keep: bool = False

    def __post_init__(self) -> None:
        if not self.cities or len(set(self.cities)) != len(self.cities):
            raise ValueError(f"cities must be distinct and at least one, got {self.cities}")
        if self.sensors < len(self.cities):
            raise ValueError(f"sensors must be >= one per city ({len(self.cities)}), got {self.sensors}")
        if self.speed < 1 or self.duration_s <= 0:
            raise ValueError(f"speed must be >= 1 and duration_s > 0, got {self.speed}, {self.duration_s}")
        if not 0 <= self.plans_at < 1:
            raise ValueError(f"plans_at is a fraction of the run in [0, 1), got {self.plans_at}")
        if self.workers < 1 or self.tablets < 0 or self.tablet_interval_s <= 0:
            raise ValueError("workers must be >= 1, tablets >= 0 and tablet_interval_s > 0")

    @property
    def simulated_s(self) -> float:
        """Simulated seconds the sensor stream covers."""
        return self.duration_s * self.speed


@dataclass
class City:
    slug: str
    doc: dict[str, Any]
    city_id: int = 0
    fractions: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# processes


class Processes:
    """The deployment's processes (``wasteroute`` sub-commands), their logs in ``logs``."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "wasteroute", *args],
            env={**os.environ, **self.env, **env},
            stdout=out,
            stderr=out,
        )
        self.procs[name] = proc
        return proc

    def add(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        self.procs[name] = proc

    def dead(self) -> list[str]:
        """Processes that ended on their own."""
        return [name for name, p in self.procs.items() if p.poll() is not None]

    def stop(self, name: str, timeout_s: float = 60.0) -> None:
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name, 30.0)

    def tail(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-2_000:] if path.exists() else ""


# --------------------------------------------------------------------------------------------------
# set-up


def generate_cities(opts: SoakOptions) -> list[City]:
    """The cities' seed documents: ``opts.sensors`` containers split evenly (the first get the rest)."""
    from sensors_sim.city import generate_city

    return [
        City(slug, generate_city(slug, n, opts.seed))
        for slug, n in zip(opts.cities, shares(opts.sensors, len(opts.cities)), strict=True)
    ]


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` as evenly as whole numbers allow, the first ones larger."""
    return [len(range(i, total, parts)) for i in range(parts)]


def seed(database_url: str, cities: Sequence[City]) -> None:
    """Import the cities and register their integrations: the simulator's The Things Stack
    application and ChirpStack application, and a native gateway."""
    from sensors_sim.envelopes import NetworkIds

    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as s:
            for c in cities:
                c.city_id = import_city_seed(s, CitySeedDocument.model_validate(c.doc)).city_id
                c.fractions = sorted({v.fraction for v in CityRepository(s).vehicles(c.city_id)})
                ids = NetworkIds.for_city(c.slug)
                for body in (
                    IntegrationCreate(
                        kind=IntegrationKind.TTS, application_id=ids.tts_app, tenant_id=ids.tts_tenant
                    ),
                    IntegrationCreate(kind=IntegrationKind.CHIRPSTACK, application_id=ids.cs_application_id),
                    IntegrationCreate(kind=IntegrationKind.NATIVE, application_id=f"{c.slug}-gw"),
                ):
                    register(s, c.city_id, c.slug, body)
    finally:
        engine.dispose()


def start_broker(database_url: str, data_dir: Path) -> tuple[BrokerHandle, dict[tuple[str, str], str]]:
    """mosquitto with a user per integration and the ACL generated from the registry; returns the
    broker and (city slug, kind) -> broker user."""
    registry = fetch_integrations(database_url)
    passwords = {i.broker_user: secrets.token_urlsafe(16) for i in registry}
    passwords["wasteroute-ingest"] = secrets.token_urlsafe(16)
    broker = start_mosquitto(data_dir, passwords=passwords, acl=render_acl(registry))
    return broker, {(i.city_slug, i.kind): i.broker_user for i in registry}


def wait_for_ingest(
    database_url: str, broker: BrokerHandle, user: str, city: City, before: datetime, timeout_s: float = 90.0
) -> None:
    """Publish a reading of ``city``'s first sensor (measured at ``before``) until the ingest process
    has stored it: the whole path (broker, subscription, ingest, database) is up."""
    feature = city.doc["bins"]["features"][0]["properties"]
    device = feature["sensor"]["device_id"]
    topic = native_topic(city.slug, device)
    deadline = time.monotonic() + timeout_s
    with Publisher(broker.url(user), f"soak-probe-{secrets.token_hex(3)}") as pub:
        while time.monotonic() < deadline:
            pub.publish(topic, native_payload(device, before, 800.0, 0))
            pub.wait_all(5)
            for _ in range(10):
                if count_readings(database_url, city.city_id) > 0:
                    return
                time.sleep(0.2)
    raise RuntimeError(f"the ingest process stored nothing within {timeout_s:.0f} s")


# --------------------------------------------------------------------------------------------------
# the sensor stream


@dataclass
class StreamResult:
    sent: int = 0
    unacked: int = 0
    behind_s: float = 0.0
    """How far the publisher fell behind its schedule at most, s."""


def sensor_messages(cities: Sequence[City], opts: SoakOptions, start: datetime) -> Iterator[Any]:
    """Every city's simulated messages (no faults, mixed formats, hourly), merged in time order."""
    from sensors_sim.engine import simulate

    days = opts.simulated_s / 86_400
    streams = [
        simulate(c.doc, days, opts.seed + i, "mixed", "none", start, interval_h=1.0)
        for i, c in enumerate(cities)
    ]
    return heapq.merge(*streams, key=lambda m: m.at)


def topic_owners(cities: Sequence[City]) -> dict[str, str]:
    """The first two topic levels of each city's integrations -> the city's slug (native
    ``wasteroute/{city}``, ``v3/{app}@{tenant}``, ``application/{uuid}``)."""
    from sensors_sim.envelopes import NetworkIds

    owners: dict[str, str] = {}
    for c in cities:
        ids = NetworkIds.for_city(c.slug)
        owners[f"wasteroute/{c.slug}"] = c.slug
        owners[f"v3/{ids.tts_app}@{ids.tts_tenant}"] = c.slug
        owners[f"application/{ids.cs_application_id}"] = c.slug
    return owners


def stream_sensors(
    broker: BrokerHandle,
    users: dict[tuple[str, str], str],
    cities: Sequence[City],
    opts: SoakOptions,
    start: datetime,
    t0: float,
    out: StreamResult,
) -> None:
    """Publish every message when its simulated time comes (``t0``: wall start, perf_counter), each
    as the broker user of the integration that carries it."""
    tag = secrets.token_hex(3)
    owners = topic_owners(cities)
    with ExitStack() as stack:
        publishers = {
            (c.slug, kind): stack.enter_context(
                Publisher(broker.url(users[(c.slug, kind)]), f"soak-{c.slug}-{kind}-{tag}", window=5_000)
            )
            for c in cities
            for kind in KINDS
        }
        for m in sensor_messages(cities, opts, start):
            delay = t0 + (m.at - start).total_seconds() / opts.speed - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                out.behind_s = max(out.behind_s, -delay)
            city = owners["/".join(m.topic.split("/", 2)[:2])]
            publishers[(city, m.fmt)].publish(m.topic, m.payload, m.qos)
            out.sent += 1
        for pub in publishers.values():
            if not pub.wait_all(60):
                out.unacked += pub.in_flight


# --------------------------------------------------------------------------------------------------
# nightly plans


@dataclass(frozen=True)
class PlanRow:
    id: int
    city_id: int
    fraction: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


def schedule_plans(database_url: str, cities: Sequence[City], opts: SoakOptions) -> None:
    """Switch on the morning plan of every fraction with trucks of every city: due at once, every day
    (public holidays too), ``opts.plan_time_limit_s`` of routing each. The workers create the plans."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as s:
            for c in cities:
                for fraction in c.fractions:
                    ScheduleRepository(s).upsert(
                        city_id=c.city_id,
                        fraction=fraction,
                        local_time=dtime(0, 0),
                        weekdays=list(range(7)),
                        on_holidays=True,
                        time_limit_s=opts.plan_time_limit_s,
                        enabled=True,
                    )
    finally:
        engine.dispose()


def scheduled_plans(database_url: str) -> list[PlanRow]:
    """The plans the schedules created, oldest first."""
    with psycopg.connect(_plain(database_url)) as conn:
        rows = conn.execute(
            "SELECT id, city_id, fraction, status, created_at, started_at, finished_at, error FROM plan "
            "WHERE trigger = 'scheduled' ORDER BY id"
        ).fetchall()
    return [PlanRow(*r) for r in rows]


def city_finished(city: City, plans: Sequence[PlanRow]) -> bool:
    """Every fraction of the city has its plan, done or failed."""
    ended = {p.fraction for p in plans if p.city_id == city.city_id and p.status in ("done", "failed")}
    return ended >= set(city.fractions)


# --------------------------------------------------------------------------------------------------
# tablets


def issue_tablets(database_url: str, settings: Settings, city: City, n: int) -> tuple[list[str], list[int]]:
    """``n`` driver keys spread over the city's trucks with a tour today, and each tour's stop count."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as s:
            plans = PlanRepository(s)
            today = datetime.now(UTC).astimezone(_zone(city)).date()
            routes = [
                r
                for f in city.fractions
                if (plan := plans.latest_done(city.city_id, f, today)) is not None
                for r in plans.routes(plan.id)
            ]
            if not routes:
                return [], []
            stops = TourRepository(s).stops([r.id for r in routes])
            principals = PrincipalRepository(s, settings.secret_key.get_secret_value())
            keys, expect = [], []
            for i in range(n):
                r = routes[i % len(routes)]
                keys.append(
                    principals.create(
                        city_id=city.city_id, name=f"tablet {i}", role="driver", vehicle_id=r.vehicle_id
                    ).key
                )
                expect.append(len(stops[r.id]))
            return keys, expect
    finally:
        engine.dispose()


def _zone(city: City) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(city.doc["city"].get("timezone", "Europe/Berlin"))


@dataclass
class TabletResult:
    city: str
    tablets: int = 0
    latencies_s: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    """perf_counter time each measured request was due, in the order of ``latencies_s``."""
    requests: int = 0
    errors: int = 0
    note: str | None = None


async def run_tablets(
    base: str,
    database_url: str,
    settings: Settings,
    cities: Sequence[City],
    opts: SoakOptions,
    stream_end: float,
    deadline: float,
) -> list[TabletResult]:
    """Each city's tablets start when its plans are done and fetch until the stream has ended (at
    least ``opts.min_tablet_s``); a city whose plans are not done by ``deadline`` gets none."""

    async def city_tablets(city: City, n: int) -> TabletResult:
        out = TabletResult(city.slug)
        while not city_finished(city, await asyncio.to_thread(scheduled_plans, database_url)):
            if time.perf_counter() > deadline:
                out.note = "plans not finished in time"
                return out
            await asyncio.sleep(0.5)
        if n == 0:
            return out
        keys, expect = await asyncio.to_thread(issue_tablets, database_url, settings, city, n)
        if not keys:
            out.note = "no tour planned"
            return out
        out.tablets = len(keys)
        until = max(stream_end, time.perf_counter() + opts.min_tablet_s)
        lat, sent, errors, _, _ = await fetch_tours(
            base,
            keys,
            len(keys),
            warmup_s=1.0,
            duration_s=max(1.0, until - time.perf_counter() - 1.0),
            expect_stops=expect,
            rate=len(keys) / opts.tablet_interval_s,
            sent_at=out.sent_at,
        )
        out.latencies_s, out.requests, out.errors = lat, sent, errors
        return out

    return list(
        await asyncio.gather(
            *(city_tablets(c, n) for c, n in zip(cities, shares(opts.tablets, len(cities)), strict=True))
        )
    )


# --------------------------------------------------------------------------------------------------
# the run


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _ms(seconds: float) -> float:
    return round(seconds * 1_000, 1)


def count_dead_letters(database_url: str) -> int:
    with psycopg.connect(_plain(database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM dead_letter").fetchone()
    return int(row[0]) if row else 0


def wait_drained(database_url: str, since: datetime, sent: int, quiet_s: float = 30.0) -> int:
    """Readings measured after ``since`` once all ``sent`` are stored or nothing changed for ``quiet_s``."""
    stored, last, changed = -1, -1, time.monotonic()
    while True:
        stored = count_readings(database_url, since=since)
        if stored >= sent:
            return stored
        if stored != last:
            last, changed = stored, time.monotonic()
        elif time.monotonic() - changed > quiet_s:
            return stored
        time.sleep(0.3)


def run_soak(server_url: str, opts: SoakOptions, work: Path, say: Any) -> dict[str, Any]:
    """One soak run (see the module docstring) in a database of its own on ``server_url``'s server,
    dropped afterwards unless ``opts.keep``."""
    name = f"wasteroute_soak_{secrets.token_hex(4)}"
    database_url = create_database(server_url, name)
    try:
        return _run(database_url, opts, work, say)
    finally:
        if not opts.keep:
            drop_database(server_url, name)


def _run(database_url: str, opts: SoakOptions, work: Path, say: Any) -> dict[str, Any]:
    settings = Settings()
    procs = Processes(work, {"WASTEROUTE_DATABASE_URL": database_url, "WASTEROUTE_DATA_DIR": str(work)})
    broker: BrokerHandle | None = None
    wall0 = time.perf_counter()
    wall_offset = time.time() - wall0  # epoch seconds = perf_counter seconds + offset
    try:
        migrate(database_url)
        cities = generate_cities(opts)
        seed(database_url, cities)
        n_plans = sum(len(c.fractions) for c in cities)
        say(f"{len(cities)} cities, {opts.sensors} sensors, {n_plans} fractions with trucks")
        broker, users = start_broker(database_url, work / "mqtt")
        procs.start(
            "ingest",
            "ingest",
            WASTEROUTE_MQTT_URL=broker.url("wasteroute-ingest"),
            WASTEROUTE_MQTT_CLIENT_ID=f"soak-ingest-{secrets.token_hex(3)}",
        )
        start = (datetime.now(UTC) - timedelta(seconds=opts.simulated_s)).replace(microsecond=0)
        wait_for_ingest(
            database_url, broker, users[(cities[0].slug, "native")], cities[0], start - timedelta(hours=2)
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs.add("api", start_server(database_url, port, opts.api_workers, 10))
        for i in range(opts.workers):
            procs.start(
                f"worker-{i}",
                "worker",
                WASTEROUTE_WORKER_POLL_S="0.5",
                WASTEROUTE_MAINTENANCE_INTERVAL_S="86400",
            )
        wait_ready(base)
        say(f"sensors report at {opts.speed:g}x real time for {opts.duration_s:g} s ...")

        stream = StreamResult()
        t0 = time.perf_counter()
        publisher = threading.Thread(
            target=stream_sensors, args=(broker, users, cities, opts, start, t0, stream), daemon=True
        )
        publisher.start()
        time.sleep(opts.plans_at * opts.duration_s)
        schedule_plans(database_url, cities, opts)
        say("nightly plans scheduled for every fraction of every city")
        plan_deadline = time.perf_counter() + 120 + n_plans * (opts.plan_time_limit_s + 30) / opts.workers
        tablets = asyncio.run(
            run_tablets(base, database_url, settings, cities, opts, t0 + opts.duration_s, plan_deadline)
        )
        publisher.join(opts.duration_s + 120)
        sent = stream.sent
        stored = wait_drained(database_url, start - timedelta(minutes=1), sent)
        dead_processes = procs.dead()
        plans = scheduled_plans(database_url)
    finally:
        procs.stop_all()
        if broker is not None:
            broker.stop()
    for name_ in dead_processes:
        log.error("%s ended during the run:\n%s", name_, procs.tail(name_))
    done = [p for p in plans if p.status == "done"]
    failed = [p for p in plans if p.status == "failed"]
    missing = sum(len(c.fractions) for c in cities) - len(plans)
    waits = [(p.started_at - p.created_at).total_seconds() for p in plans if p.started_at is not None]
    latencies = [x for t in tablets for x in t.latencies_s]
    # the tours fetched while a plan was still being computed, and those after the last one ended
    last_end = max((p.finished_at for p in plans if p.finished_at is not None), default=None)
    planning_until = (
        last_end.timestamp() - wall_offset if last_end is not None and not missing else float("inf")
    )
    during = [
        x for t in tablets for x, at in zip(t.latencies_s, t.sent_at, strict=True) if at < planning_until
    ]
    after = [
        x for t in tablets for x, at in zip(t.latencies_s, t.sent_at, strict=True) if at >= planning_until
    ]
    tour_errors = sum(t.errors for t in tablets)
    result: dict[str, Any] = {
        "readings_sent": sent,
        "readings_stored": stored,
        "lost": sent - stored,
        "plans": len(done),
        "plan_wait_p99_s": round(p99(waits), 1) if waits else None,
        "tour_p99_ms": _ms(p99(latencies)) if latencies else None,
        "errors": len(failed) + missing + tour_errors + stream.unacked + len(dead_processes),
        "plans_failed": len(failed),
        "plans_missing": missing,
        "plan_errors": [p.error for p in failed][:5],
        "tour_p99_ms_while_planning": _ms(p99(during)) if during else None,
        "tour_p99_ms_after_plans": _ms(p99(after)) if after else None,
        "tour_requests": sum(t.requests for t in tablets),
        "tour_errors": tour_errors,
        "tablets": sum(t.tablets for t in tablets),
        "tablet_notes": {t.city: t.note for t in tablets if t.note},
        "unacked": stream.unacked,
        "dead_processes": dead_processes,
        "dead_lettered": count_dead_letters(database_url),
        "publisher_behind_s": round(stream.behind_s, 2),
        "cities": len(cities),
        "sensors": opts.sensors,
        "speed": opts.speed,
        "duration_s": opts.duration_s,
        "workers": opts.workers,
        "plan_time_limit_s": opts.plan_time_limit_s,
        "tablet_interval_s": opts.tablet_interval_s,
        "wall_s": round(time.perf_counter() - wall0, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    return result


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wasteroute bench soak", description=(__doc__ or "").split("\n\n")[0])
    d = SoakOptions()
    p.add_argument("--cities", default=",".join(d.cities), help="simulated city slugs, comma separated")
    p.add_argument("--sensors", type=int, default=d.sensors, help="containers with a sensor, in all")
    p.add_argument("--speed", type=float, default=d.speed, help="simulated time / wall time")
    p.add_argument("--duration-s", type=float, default=d.duration_s, help="wall seconds of sensor traffic")
    p.add_argument("--plans-at", type=float, default=d.plans_at, help="when the plans are scheduled, 0..1")
    p.add_argument("--workers", type=int, default=d.workers, help="plan worker processes")
    p.add_argument("--plan-time-limit", type=float, default=d.plan_time_limit_s, help="routing s per plan")
    p.add_argument("--tablets", type=int, default=d.tablets, help="driver tablets in all")
    p.add_argument("--tablet-interval-s", type=float, default=d.tablet_interval_s, help="s between fetches")
    p.add_argument("--min-tablet-s", type=float, default=d.min_tablet_s, help="tablets fetch at least this")
    p.add_argument("--api-workers", type=int, default=d.api_workers, help="uvicorn worker processes")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--keep", action="store_true", help="keep the run's database")
    p.add_argument("--json", action="store_true", help="print only the JSON result line on stdout")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    opts = SoakOptions(
        cities=tuple(c.strip() for c in args.cities.split(",") if c.strip()),
        sensors=args.sensors,
        speed=args.speed,
        duration_s=args.duration_s,
        plans_at=args.plans_at,
        workers=args.workers,
        plan_time_limit_s=args.plan_time_limit,
        tablets=args.tablets,
        tablet_interval_s=args.tablet_interval_s,
        min_tablet_s=args.min_tablet_s,
        api_workers=args.api_workers,
        seed=args.seed,
        keep=args.keep,
    )

    def say(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="wasteroute-soak-") as tmp:
        services = start_services(
            settings.model_copy(update={"data_dir": Path(tmp)}), need_broker=False, migrate_db=False
        )
        try:
            result = run_soak(services.database_url, opts, Path(tmp), say)
        finally:
            services.stop()
    print(json.dumps(result), flush=True)
    return 0 if result["lost"] == 0 and result["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
