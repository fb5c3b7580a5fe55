"""Plan jobs with real worker processes (``wasteroute worker``) on a real PostgreSQL.

A worker killed with SIGKILL in the middle of a plan is replaced by another one and the plan is
stored once; a city that floods the queue delays another city's plan by one job at most; two
workers create each scheduled morning plan once.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tests.planning.support import TwoCities, Workers, wait_for
from wasteroute.storage.db import make_session_factory, transaction
from wasteroute.storage.jobs import ScheduleRepository
from wasteroute.storage.plans import PlanRepository


def _queue(cities: TwoCities, city_id: int, time_limit_s: float, n: int = 1) -> list[int]:
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    with transaction(make_session_factory(cities.engine)) as s:
        return [
            PlanRepository(s)
            .create(
                city_id=city_id,
                fraction="residual",
                service_date=today,
                options={"time_limit_s": time_limit_s, "seed": 1},
            )
            .id
            for _ in range(n)
        ]


def _plan(cities: TwoCities, plan_id: int) -> dict[str, object]:
    row = cities.rows(
        "SELECT status, progress, attempts, worker, summary, error, started_at, created_at "
        "FROM plan WHERE id = :id",
        id=plan_id,
    )[0]
    keys = ("status", "progress", "attempts", "worker", "summary", "error", "started_at", "created_at")
    return dict(zip(keys, row, strict=True))


def test_a_worker_killed_mid_plan_is_replaced_and_the_plan_is_stored_once(
    two_cities: TwoCities, workers: Workers
) -> None:
    procs = [workers.start(plan_lease_s=2), workers.start(plan_lease_s=2)]
    (plan_id,) = _queue(two_cities, two_cities.a, time_limit_s=8)

    def solving() -> dict[str, object] | None:
        p = _plan(two_cities, plan_id)
        return p if p["status"] == "running" and float(p["progress"]) >= 0.3 else None  # type: ignore[arg-type]

    first = wait_for("the plan to reach the solver", solving, 120, workers)
    holder_pid = int(str(first["worker"]).rsplit(":", 1)[1])
    holder = next(p for p in procs if p.pid == holder_pid)
    other = next(p for p in procs if p.pid != holder_pid)
    os.kill(holder_pid, signal.SIGKILL)
    assert holder.wait(timeout=10) == -signal.SIGKILL

    done = wait_for(
        "another worker to finish the plan",
        lambda: (p := _plan(two_cities, plan_id))["status"] in ("done", "failed") and p,
        120,
        workers,
    )
    assert done["status"] == "done", done["error"]
    assert done["attempts"] == 2 and str(done["worker"]).endswith(f":{other.pid}")
    summary = done["summary"]
    assert isinstance(summary, dict) and summary["attempt"] == 2
    fleet = summary["fleet"]  # how tightly the must-go bins fitted the trucks, for the dispatcher
    assert fleet["used"] == summary["routes"] and fleet["available"] >= fleet["used"]
    assert isinstance(fleet["note"], str) and fleet["note"]
    routes = two_cities.rows("SELECT vehicle_id FROM route WHERE plan_id = :id", id=plan_id)
    assert len(routes) == summary["routes"] >= 1
    assert len({r[0] for r in routes}) == len(routes)
    bins = two_cities.rows("SELECT count(*) FROM plan_bin WHERE plan_id = :id", id=plan_id)[0][0]
    assert bins == summary["bins_considered"] > 0
    assert other.poll() is None  # the survivor keeps working


def test_a_flooded_city_delays_another_citys_plan_by_one_job_at_most(
    two_cities: TwoCities, workers: Workers
) -> None:
    workers.start()
    flood = _queue(two_cities, two_cities.a, time_limit_s=3, n=5)
    wait_for(
        "the first flood job to run", lambda: _plan(two_cities, flood[0])["status"] == "running", 120, workers
    )
    (other,) = _queue(two_cities, two_cities.b, time_limit_s=1)
    wait_for(
        "the other city's plan to finish", lambda: _plan(two_cities, other)["status"] == "done", 120, workers
    )
    b = _plan(two_cities, other)
    started_since = two_cities.rows(
        "SELECT id FROM plan WHERE started_at >= :t ORDER BY started_at, id", t=b["created_at"]
    )
    # the only job that started before it is the one already running when it was queued
    assert started_since[0][0] == other, started_since
    waiting = [p for p in flood[1:] if _plan(two_cities, p)["status"] in ("queued", "running")]
    assert waiting, "the flood ran out before the other city's plan: the test shows nothing"


def test_two_workers_create_each_scheduled_morning_plan_once(two_cities: TwoCities, workers: Workers) -> None:
    with transaction(make_session_factory(two_cities.engine)) as s:
        for city in (two_cities.a, two_cities.b):
            ScheduleRepository(s).upsert(
                city_id=city,
                fraction="residual",
                local_time=time(0, 0),
                weekdays=list(range(7)),
                on_holidays=True,
                time_limit_s=1,
                enabled=True,
            )
    workers.start()
    workers.start()
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).date()

    def both_done() -> bool:
        rows = two_cities.rows(
            "SELECT status FROM plan WHERE trigger = 'scheduled' AND service_date = :d", d=today
        )
        return len(rows) == 2 and all(r[0] == "done" for r in rows)

    wait_for("both scheduled plans to finish", both_done, 180, workers)
    # every poll of both workers (every 0.2 s) tried to create them again by now
    wait_for(
        "both workers to have polled after the plans",
        lambda: workers.log_text().count("scheduled plan") == 2 and both_done(),
        5,
        workers,
    )
    rows = two_cities.rows(
        "SELECT city_id, fraction, service_date, count(*), min(attempts), max(attempts) FROM plan "
        "WHERE trigger = 'scheduled' GROUP BY 1, 2, 3 ORDER BY 1"
    )
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        (two_cities.a, "residual", today, 1, 1, 1),
        (two_cities.b, "residual", today, 1, 1, 1),
    ]
    with two_cities.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plan WHERE trigger = 'manual'")).scalar_one() == 0


def test_a_worker_process_runs_nice_so_the_api_and_ingest_come_first(
    two_cities: TwoCities, workers: Workers
) -> None:
    default = workers.start()
    unchanged = workers.start(worker_nice=0)

    def niceness(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])

    wait_for("the worker to lower its priority", lambda: niceness(default.pid) >= 10, 60, workers)
    assert niceness(default.pid) == 10
    second_log = workers.logs / "worker-1.log"
    wait_for("the other worker to poll", lambda: "polling every" in second_log.read_text(), 60, workers)
    assert niceness(unchanged.pid) == niceness(os.getpid())
