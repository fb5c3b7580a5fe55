"""``wasteroute run`` / ``smoke``: the whole loop on one machine.

Services (configured or embedded) -> migrate -> import a simulated city -> simulated sensors publish
their history over MQTT -> the ingestor stores it -> a plan worker plans the next collection day for
every fraction -> the API serves it. ``smoke`` exits after the plans with a JSON summary.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.admin.service import import_city_seed
from wasteroute.config import Settings
from wasteroute.ingest.service import Ingestor
from wasteroute.planning.calendar import CalendarRules, closed_reason
from wasteroute.planning.jobs import start_worker_process
from wasteroute.runtime.ports import free_port
from wasteroute.runtime.publish import Publisher
from wasteroute.runtime.service_day import demo_service_day
from wasteroute.runtime.services import Services, start_services
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import make_engine, make_session_factory, transaction
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.principals import PrincipalRepository
from wasteroute.vocabulary import PlanStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    city: str = "luebeck"
    bins: int = 400
    days: int = 10
    interval_h: float = 2.0
    seed: int = 1
    port: int | None = None
    smoke: bool = False
    time_limit_s: float = 20.0


def _say(msg: str) -> None:
    print(msg, flush=True)


def closed_today(today: date, region: str | None) -> str | None:
    """Why the city does not collect today (Sunday, public holiday), or None."""
    return closed_reason(today, CalendarRules(subdivision=region or "SH"))


def run_demo(settings: Settings, opts: DemoOptions, stop: threading.Event) -> int:
    from sensors_sim.city import generate_city
    from sensors_sim.engine import simulate

    t_start = time.monotonic()
    services = start_services(settings)
    assert services.mqtt_url is not None and services.sim_mqtt_url is not None
    broker = "configured"
    if services.embedded_broker:
        broker = "embedded mosquitto" if services.mqtt_protocol == "5" else "embedded Python broker"
    database = "embedded PostgreSQL" if services.embedded_database else "configured"
    _say(f"database: {database}; broker: {broker}")
    engine = make_engine(services.database_url)
    factory = make_session_factory(engine)
    city_doc = generate_city(opts.city, opts.bins, opts.seed)
    doc = CitySeedDocument.model_validate(city_doc)
    with transaction(factory) as session:
        summary = import_city_seed(session, doc)
    _say(
        f"city {doc.city.name}: {summary.bins} containers, {summary.sensors} sensors, "
        f"{summary.vehicles} trucks, {summary.depots} depots, {summary.facilities} disposal facilities"
    )

    ingestor = Ingestor(settings, services.database_url, services.mqtt_url, services.mqtt_protocol)
    ingestor.start()
    if not ingestor.edge.wait_connected(15):
        raise RuntimeError("the ingestor could not connect to the broker")
    time.sleep(0.5)  # subscriptions in place before the first publish
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=opts.days)
    published = 0
    with Publisher(
        services.sim_mqtt_url, f"wasteroute-sim-{opts.seed}", protocol=services.mqtt_protocol
    ) as pub:
        for m in simulate(
            city_doc, opts.days, opts.seed, "mixed", "default", start, interval_h=opts.interval_h
        ):
            pub.publish(m.topic, m.payload, m.qos)
            published += 1
            if published % 20_000 == 0:
                _say(f"  simulated sensors published {published} messages")
    deadline = time.monotonic() + 120
    while ingestor.writer.stats.received < published and time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.2)
    stats = ingestor.writer.stats
    _say(
        f"ingest: {published} messages published, {stats.stored} readings stored, {stats.duplicates} "
        f"duplicates, {stats.dead_lettered} dead-lettered"
    )

    # plans: one job per fraction with trucks, run by a worker process
    with transaction(factory) as session:
        demo = create_demo_plans(
            session, doc.city.slug, datetime.now(UTC), time_limit_s=opts.time_limit_s, seed=opts.seed
        )
    later = f"the next service day ({demo.later})" if demo.later else "today"
    _say(
        f"planning {', '.join(demo.fractions)} for {later}, {demo.day.isoformat()} (worker process, "
        f"{opts.time_limit_s:.0f} s per fraction)"
        + (
            f"; today is a {demo.closed}, the demo plans it anyway so every page has a tour"
            if demo.closed
            else ""
        )
    )
    if demo.later:
        _say(
            f"  the driver page shows these tours on {demo.day.isoformat()}; the dispatcher page points to "
            "them from today"
        )
    plan_ids = demo.plan_ids
    proc, worker_stop = start_worker_process(settings, services.database_url)
    results = _wait_for_plans(factory, plan_ids, stop, timeout_s=len(plan_ids) * (opts.time_limit_s * 2 + 60))
    totals = {
        "bins": summary.bins,
        "readings": _count(factory, "SELECT count(*) FROM sensor_reading"),
        "routes": sum(int((r.get("summary") or {}).get("routes", 0)) for r in results),
        "km": round(sum(float((r.get("summary") or {}).get("km", 0.0)) for r in results), 1),
    }
    for r in results:
        s = r.get("summary") or {}
        _say(
            f"  plan {r['id']} {r['fraction']}: {r['status']}, {s.get('routes', 0)} routes, "
            f"{s.get('km', 0)} km, "
            f"{s.get('routed', 0)} containers ({s.get('must_go', 0)} must-go, {s.get('may_go', 0)} may-go)"
            + (f"; {r['diagnosis']}" if r.get("diagnosis") else "")
            + (f"; error: {r['error']}" if r.get("error") else "")
        )
    ok = all(r["status"] == "done" for r in results) and totals["routes"] >= 1
    with transaction(factory) as session:
        keys = _issue_keys(session, settings, demo.city_id, plan_ids)
    try:
        if opts.smoke:
            _say(f"smoke finished in {time.monotonic() - t_start:.0f} s")
            print(json.dumps(totals), flush=True)
            return 0 if ok else 1
        return _serve(settings, services, opts, keys, totals, stop)
    finally:
        worker_stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
        ingestor.stop()
        engine.dispose()
        services.stop()


@dataclass(frozen=True)
class DemoPlans:
    """The plan jobs the demo created: for ``day``, with the reason it is not today (``later``) or the
    reason today is a closed day the demo plans anyway (``closed``)."""

    city_id: int
    day: date
    later: str | None
    closed: str | None
    fractions: list[str]
    plan_ids: list[int]


def create_demo_plans(session: Any, slug: str, now: datetime, *, time_limit_s: float, seed: int) -> DemoPlans:
    """Queue one plan job per fraction with trucks for the demo's service day at ``now`` (aware): today
    while today's shifts can still be driven, else the next day the city collects
    (:func:`~wasteroute.runtime.service_day.demo_service_day`). The caller commits; a worker runs them."""
    city = CityRepository(session).by_slug(slug)
    if city is None:
        raise LookupError(f"no city {slug!r}")
    vehicles = CityRepository(session).vehicles(city.id)
    day, later = demo_service_day(
        now.astimezone(ZoneInfo(city.timezone)),
        [v.shift_end for v in vehicles],
        lambda d: closed_today(d, city.holiday_region),
    )
    fractions = sorted({v.fraction for v in vehicles})
    plan_ids = [
        PlanRepository(session)
        .create(
            city_id=city.id,
            fraction=f,
            service_date=day,
            options={"time_limit_s": time_limit_s, "seed": seed},
            created_at=now,
        )
        .id
        for f in fractions
    ]
    closed = None if later else closed_today(day, city.holiday_region)
    return DemoPlans(city.id, day, later, closed, fractions, plan_ids)


def _issue_keys(session: Any, settings: Settings, city_id: int, plan_ids: list[int]) -> dict[str, str]:
    """Keys for the demo: an admin, a dispatcher, and the driver of the first planned tour. Their names
    show on the German pages (who started a plan), so they are German."""
    repo = PrincipalRepository(session, settings.secret_key.get_secret_value())
    keys = {
        "admin": repo.create(city_id=city_id, name="Demo-Administration", role="admin").key,
        "dispatcher": repo.create(city_id=city_id, name="Demo-Disposition", role="dispatcher").key,
    }
    plans = PlanRepository(session)
    routes = [r for plan_id in sorted(plan_ids, reverse=True) for r in plans.routes(plan_id)]
    if routes:
        vehicle = next(v for v in CityRepository(session).vehicles(city_id) if v.id == routes[0].vehicle_id)
        keys["driver"] = repo.create(
            city_id=city_id, name=f"Fahrer {vehicle.external_id}", role="driver", vehicle_id=vehicle.id
        ).key
    return keys


def _count(factory: Any, sql: str) -> int:
    with transaction(factory) as session:
        return int(session.execute(text(sql)).scalar_one())


def _wait_for_plans(
    factory: Any, plan_ids: list[int], stop: threading.Event, timeout_s: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.is_set():
        with transaction(factory) as session:
            plans = [PlanRepository(session).get(i) for i in plan_ids]
            if all(p is not None and p.status in (PlanStatus.DONE, PlanStatus.FAILED) for p in plans):
                return [
                    {
                        "id": p.id,
                        "fraction": p.fraction,
                        "status": p.status,
                        "summary": p.summary,
                        "diagnosis": p.diagnosis,
                        "error": p.error,
                    }
                    for p in plans
                    if p is not None
                ]
        time.sleep(0.5)
    raise TimeoutError("plans did not finish in time")


def _serve(
    settings: Settings,
    services: Services,
    opts: DemoOptions,
    keys: dict[str, str],
    totals: dict[str, Any],
    stop: threading.Event,
) -> int:
    import uvicorn

    from wasteroute.api.app import create_app

    port = opts.port or settings.api_port
    try:
        import socket

        with socket.socket() as s:
            s.bind((settings.api_host, port))
    except OSError:
        port = free_port()
    app = create_app(settings, services.database_url)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.api_host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    base = f"http://{settings.api_host}:{port}"
    _say("")
    _say(f"wasteroute is running: {base}   (API docs: {base}/docs)")
    _say(f"  dispatcher page: {base}/ui/dispatcher/   key: {keys['dispatcher']}")
    if "driver" in keys:
        _say(f"  driver page:     {base}/ui/driver/       key: {keys['driver']}")
    _say(f"  try: curl -H 'X-API-Key: {keys['dispatcher']}' '{base}/api/v1/plans/latest?fraction=residual'")
    _say(f"  summary: {json.dumps(totals)}")
    _say("Ctrl+C stops everything.")
    stop.wait()
    server.should_exit = True
    thread.join(10)
    return 0
