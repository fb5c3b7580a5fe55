"""Plan jobs from the PostgreSQL queue (``plan`` rows with status ``queued``).

Any number of workers may run: each claims a job with ``FOR UPDATE SKIP LOCKED``. CPU-heavy
solving happens in the worker process, never in the API process.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from wasteroute.config import Settings
from wasteroute.planning.service import execute_plan
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import make_engine, make_session_factory, transaction
from wasteroute.storage.plans import PlanRepository

log = logging.getLogger(__name__)


def run_worker(settings: Settings, database_url: str, stop: threading.Event, poll_s: float = 1.0) -> int:
    """Claim and execute queued jobs until ``stop`` is set; returns the number of jobs run.

    Between jobs it also runs storage maintenance (partitions, retention, rollups) every
    ``settings.maintenance_interval_s``; concurrent workers skip a run another one holds."""
    from wasteroute.storage.maintenance import run_maintenance

    engine = make_engine(database_url, pool_size=2)
    factory = make_session_factory(engine)
    done = 0
    next_maintenance = 0.0
    try:
        while not stop.is_set():
            if time.monotonic() >= next_maintenance:
                try:
                    run_maintenance(database_url, datetime.now(UTC), retention_days=settings.retention_days)
                except Exception:  # maintenance must never stop planning; it is retried next interval
                    log.exception("maintenance failed")
                next_maintenance = time.monotonic() + settings.maintenance_interval_s
            with transaction(factory) as session:
                plan_id = PlanRepository(session).claim_next()
            if plan_id is None:
                stop.wait(poll_s)
                continue
            log.info("plan %s: started", plan_id)
            result = execute_plan(factory, settings, plan_id)
            log.info("plan %s: %s", plan_id, result.get("status"))
            done += 1
    finally:
        engine.dispose()
    return done


def _worker_main(settings_json: str, database_url: str, stop: Any) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.model_validate_json(settings_json)
    run_worker(settings, database_url, stop)


def start_worker_process(
    settings: Settings, database_url: str
) -> tuple[multiprocessing.process.BaseProcess, Any]:
    """A worker in a separate process (spawned, so no state of this process leaks into it)."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(
        target=_worker_main,
        args=(settings.model_dump_json(), database_url, stop),
        name="wasteroute-plan-worker",
        daemon=True,
    )
    proc.start()
    return proc, stop


def plan_now(
    settings: Settings,
    database_url: str,
    *,
    city: str,
    fraction: str,
    service_date: date | None,
    time_limit_s: float | None,
    seed: int,
) -> dict[str, Any]:
    """Create a job and run it here, in this (CLI) process; returns the plan's summary.

    The job is created already claimed (one transaction), so a worker polling the queue never
    takes it as well."""
    engine = make_engine(database_url, pool_size=2)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            c = CityRepository(session).by_slug(city)
            if c is None:
                raise LookupError(f"no city {city!r}; import one with `wasteroute import-city`")
            plans = PlanRepository(session)
            plan_id = plans.create(
                city_id=c.id,
                fraction=fraction,
                service_date=service_date or datetime.now(ZoneInfo(c.timezone)).date(),
                options={"time_limit_s": time_limit_s or settings.plan_time_limit_s, "seed": seed},
            ).id
            plans.claim(plan_id)
        return execute_plan(factory, settings, plan_id, lambda: datetime.now(UTC))
    finally:
        engine.dispose()
