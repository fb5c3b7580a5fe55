"""Plan jobs from the PostgreSQL queue (``plan`` rows with status ``queued``).

Any number of workers may run, on any number of machines. Each claims a job with ``FOR UPDATE SKIP
LOCKED`` in a fair order between cities (``storage/jobs.py``), holds it by a lease that a heartbeat
thread renews every third of ``settings.plan_lease_s``, and stores the result only while its attempt
still holds the job. A worker that dies (SIGKILL, power cut) stops renewing; once its lease has passed
another worker takes the job over as the next attempt. After ``settings.plan_max_attempts`` the job
fails with the reason kept. Between jobs every worker also creates the scheduled morning plans that
are due (``planning/schedule.py``). CPU-heavy solving happens in the worker process, never in the API.

Why a queue of our own and not a job library: a plan job *is* its ``plan`` row (status, progress,
attempts and error are what the API shows), the fair order between cities is one ``ORDER BY``, and
the once-a-day scheduled plan is a unique index on that same table, all in one transaction with the
result. A library would keep a second job table beside it and still need the fairness and the
result guard written here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from wasteroute.clock import Clock, system_clock
from wasteroute.config import Settings
from wasteroute.errors import WasterouteError
from wasteroute.planning.queue import queue_plan
from wasteroute.planning.schedule import enqueue_due
from wasteroute.planning.service import execute_plan
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.db import make_engine, make_session_factory, transaction
from wasteroute.storage.jobs import Claim, JobQueue

log = logging.getLogger(__name__)


def worker_name() -> str:
    """``host:pid``: who holds a job (shown in the plan row, used to find a worker that died)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """Renews one claim's lease from a thread until stopped; ``lost`` is set if another took over."""

    def __init__(self, factory: sessionmaker[Session], claim: Claim, lease_s: float) -> None:
        self.factory = factory
        self.claim = claim
        self.lease_s = lease_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{claim.plan_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                with transaction(self.factory) as session:
                    held = JobQueue(session).renew(self.claim, self.lease_s)
            except Exception:  # a database hiccup: the next beat tries again within the lease
                log.exception("plan %s: lease renewal failed", self.claim.plan_id)
                continue
            if not held:
                log.warning("plan %s: attempt %s was taken over", self.claim.plan_id, self.claim.attempt)
                self.lost.set()
                return


def run_claimed(
    factory: sessionmaker[Session], settings: Settings, claim: Claim, clock: Clock = system_clock
) -> dict[str, Any]:
    """Execute a claimed job while a heartbeat holds its lease; ``clock`` is the job's time."""
    with Heartbeat(factory, claim, settings.plan_lease_s):
        return execute_plan(factory, settings, claim.plan_id, clock, claim)


def work_once(
    factory: sessionmaker[Session], settings: Settings, worker: str, clock: Clock = system_clock
) -> dict[str, Any] | None:
    """One turn of a worker: create due scheduled plans, then claim and run one job (None: idle)."""
    enqueue_due(factory, clock())
    with transaction(factory) as session:
        queue = JobQueue(session)
        for plan_id in queue.fail_abandoned(max_attempts=settings.plan_max_attempts):
            log.warning("plan %s: failed, its last worker stopped without finishing", plan_id)
        claim = queue.claim_next(
            worker=worker, lease_s=settings.plan_lease_s, max_attempts=settings.plan_max_attempts
        )
    if claim is None:
        return None
    log.info("plan %s: started (attempt %s, city %s)", claim.plan_id, claim.attempt, claim.city_id)
    result = run_claimed(factory, settings, claim, clock)
    log.info("plan %s: %s", claim.plan_id, result.get("status"))
    return result


def run_worker(
    settings: Settings,
    database_url: str,
    stop: threading.Event,
    poll_s: float | None = None,
    clock: Clock = system_clock,
) -> int:
    """Claim and execute queued jobs until ``stop`` is set; returns the number of jobs run. ``clock``
    is the worker's time (schedules, plan jobs, maintenance); the system clock by default.

    Between jobs it also runs storage maintenance (partitions, retention, rollups) every
    ``settings.maintenance_interval_s``; concurrent workers skip a run another one holds. An error
    of the database (down, restarting) is logged and retried after ``poll_s``, never fatal."""
    from wasteroute.storage.maintenance import run_maintenance

    poll = settings.worker_poll_s if poll_s is None else poll_s
    engine = make_engine(database_url, pool_size=2)
    factory = make_session_factory(engine)
    worker = worker_name()
    done = 0
    next_maintenance = 0.0
    log.info("worker %s: polling every %.1f s", worker, poll)
    try:
        while not stop.is_set():
            if time.monotonic() >= next_maintenance:
                try:
                    run_maintenance(database_url, clock(), retention_days=settings.retention_days)
                except Exception:  # maintenance must never stop planning; it is retried next interval
                    log.exception("maintenance failed")
                next_maintenance = time.monotonic() + settings.maintenance_interval_s
            try:
                result = work_once(factory, settings, worker, clock)
            except Exception:
                log.exception("worker %s: queue unavailable, retrying in %.1f s", worker, poll)
                stop.wait(poll)
                continue
            if result is None:
                stop.wait(poll)
                continue
            done += 1
    finally:
        engine.dispose()
    return done


def lower_priority(niceness: int) -> int:
    """Make this (worker) process at least ``niceness`` nice and return its niceness.

    Solving is CPU work on a time limit of seconds to minutes. On a host a worker shares with the
    API and ingest, a tablet waiting seconds for its tour, or readings piling up, cost more than a
    plan that searches a little less while they are busy: a nice worker gets the CPU the others
    leave, and all of it when they are idle. Only ever raises the niceness (a service manager's
    ``Nice=`` above it stays); 0 changes nothing."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness > current:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return os.getpriority(os.PRIO_PROCESS, 0)


def _worker_main(settings_json: str, database_url: str, stop: Any) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.model_validate_json(settings_json)
    lower_priority(settings.worker_nice)
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
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Create a job and run it here, in this (CLI) process; returns the plan's summary. Without a
    ``service_date`` the plan is for today by ``clock`` in the city's time zone.

    The job is created already claimed with a lease (one transaction), so a worker polling the
    queue never takes it as well, unless this process dies; the bounds of the API apply."""
    engine = make_engine(database_url, pool_size=3)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            c = CityRepository(session).by_slug(city)
            if c is None:
                raise LookupError(f"no city {city!r}; import one with `wasteroute import-city`")
            try:
                plan_id = queue_plan(
                    session,
                    settings,
                    c,
                    fraction=fraction,
                    service_date=service_date,
                    options={"time_limit_s": time_limit_s or settings.plan_time_limit_s, "seed": seed},
                    now=clock(),
                    bounded_queue=False,
                ).id
            except WasterouteError as exc:
                return {"status": "refused", "error": exc.message}
            claim = JobQueue(session).claim_next(
                worker=worker_name(),
                lease_s=settings.plan_lease_s,
                max_attempts=settings.plan_max_attempts,
                plan_id=plan_id,
            )
        if claim is None:
            raise RuntimeError(f"plan {plan_id} was created but could not be claimed")
        return run_claimed(factory, settings, claim, clock)
    finally:
        engine.dispose()
