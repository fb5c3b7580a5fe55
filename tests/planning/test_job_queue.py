"""The plan job queue on a real PostgreSQL, in this process: leases, the result guard, retries,
the fair order between cities and the once-a-day scheduled plan."""

from __future__ import annotations

import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from tests.planning.support import TwoCities
from wasteroute.config import Settings
from wasteroute.planning.schedule import enqueue_due
from wasteroute.planning.service import execute_plan
from wasteroute.storage.db import make_session_factory, transaction
from wasteroute.storage.jobs import Claim, JobQueue, ScheduleRepository
from wasteroute.storage.plans import PlanRepository

SETTINGS = Settings()


def _today() -> date:
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


def _create(
    factory: sessionmaker[Session], city_id: int, fraction: str = "residual", day: date | None = None
) -> int:
    with transaction(factory) as s:
        return (
            PlanRepository(s)
            .create(
                city_id=city_id,
                fraction=fraction,
                service_date=day or _today(),
                options={"time_limit_s": 1, "seed": 0},
            )
            .id
        )


def _claim(
    factory: sessionmaker[Session], worker: str, lease_s: float = 30, max_attempts: int = 3
) -> Claim | None:
    with transaction(factory) as s:
        return JobQueue(s).claim_next(worker=worker, lease_s=lease_s, max_attempts=max_attempts)


def _status(factory: sessionmaker[Session], plan_id: int) -> tuple[str, int, str | None]:
    with transaction(factory) as s:
        p = PlanRepository(s).get(plan_id)
        assert p is not None
        return p.status, p.attempts, p.error


def test_a_job_whose_lease_passed_is_taken_over_and_the_old_attempt_stores_nothing(
    two_cities: TwoCities,
) -> None:
    factory = make_session_factory(two_cities.engine)
    plan_id = _create(factory, two_cities.a)
    first = _claim(factory, "host-1:1", lease_s=0.3)
    assert first is not None and first.plan_id == plan_id and first.attempt == 1
    assert _claim(factory, "host-2:2") is None  # held: nobody else takes it
    clock.sleep(0.5)
    second = _claim(factory, "host-2:2")
    assert second is not None and second.plan_id == plan_id and second.attempt == 2
    with transaction(factory) as s:
        assert not JobQueue(s).renew(first, 30) and not JobQueue(s).hold(first)
    stale = execute_plan(factory, SETTINGS, plan_id, claim=first)
    assert stale["status"] == "superseded"
    assert two_cities.rows("SELECT count(*) FROM route WHERE plan_id = :id", id=plan_id)[0][0] == 0
    fresh = execute_plan(factory, SETTINGS, plan_id, claim=second)
    assert fresh["status"] == "done" and fresh["attempt"] == 2
    again = execute_plan(factory, SETTINGS, plan_id, claim=second)  # a second write of the same attempt
    assert again["status"] == "superseded"
    assert (
        two_cities.rows("SELECT count(*) FROM route WHERE plan_id = :id", id=plan_id)[0][0] == fresh["routes"]
    )


def test_a_job_whose_workers_keep_dying_fails_with_the_reason_after_the_last_attempt(
    two_cities: TwoCities,
) -> None:
    factory = make_session_factory(two_cities.engine)
    plan_id = _create(factory, two_cities.a)
    for attempt in (1, 2):
        c = _claim(factory, f"host:{attempt}", lease_s=0.2, max_attempts=2)
        assert c is not None and c.attempt == attempt
        clock.sleep(0.3)
    assert _claim(factory, "host:3", max_attempts=2) is None
    with transaction(factory) as s:
        assert JobQueue(s).fail_abandoned(max_attempts=2) == [plan_id]
    status, attempts, error = _status(factory, plan_id)
    assert status == "failed" and attempts == 2
    assert error == "the worker running it (host:2) stopped without finishing, attempt 2 of 2"


def test_failures_are_retried_up_to_the_limit_and_the_last_reason_is_kept(two_cities: TwoCities) -> None:
    factory = make_session_factory(two_cities.engine)
    plan_id = _create(factory, two_cities.a)
    outcomes = []
    for n in range(1, 4):
        c = _claim(factory, "w:1")
        assert c is not None and c.attempt == n
        with transaction(factory) as s:
            outcomes.append(
                JobQueue(s).retry_or_fail(c, f"OperationalError: gone {n}", max_attempts=3, retry=True)
            )
        if n < 3:
            assert _status(factory, plan_id) == (
                "queued",
                n,
                f"attempt {n} of 3 failed: OperationalError: gone {n}",
            )
    assert outcomes == ["queued", "queued", "failed"]
    assert _status(factory, plan_id) == ("failed", 3, "attempt 3 of 3: OperationalError: gone 3")
    assert _claim(factory, "w:1") is None


def test_bad_input_fails_at_once_without_retries(two_cities: TwoCities) -> None:
    factory = make_session_factory(two_cities.engine)
    no_truck = _create(factory, two_cities.a, fraction="paper")  # the city has no paper truck
    year_one = _create(factory, two_cities.a, day=date(1, 1, 1))  # a row written past the API's checks
    for plan_id in (no_truck, year_one):
        with transaction(factory) as s:
            c = JobQueue(s).claim_next(worker="w:1", lease_s=30, max_attempts=3, plan_id=plan_id)
        assert c is not None
        started = clock.perf_counter()
        assert execute_plan(factory, SETTINGS, plan_id, claim=c)["status"] == "failed"
        assert clock.perf_counter() - started < 30  # not the 17 minutes of a plan for year 1
    assert _status(factory, no_truck) == (
        "failed",
        1,
        "LookupError: no active vehicle collects paper in testhafen",
    )
    status, attempts, error = _status(factory, year_one)
    assert status == "failed" and attempts == 1 and error is not None
    assert "service_date must lie between" in error and "got 0001-01-01" in error


def test_the_next_job_comes_from_the_city_with_fewest_running_then_the_least_recently_served(
    two_cities: TwoCities,
) -> None:
    factory = make_session_factory(two_cities.engine)
    a1, a2, a3 = (_create(factory, two_cities.a) for _ in range(3))
    b1, b2 = (_create(factory, two_cities.b) for _ in range(2))
    order = []
    first = _claim(factory, "w:1")
    assert first is not None
    order.append(first.plan_id)  # a1: oldest, nobody running, nobody served yet
    second = _claim(factory, "w:2")
    assert second is not None
    order.append(second.plan_id)  # b1: a has one running
    with transaction(factory) as s:  # both finish; a was served before b
        for c in (first, second):
            assert JobQueue(s).retry_or_fail(c, "done", max_attempts=1, retry=False) == "failed"
    for _ in range(3):
        c = _claim(factory, "w:1")
        assert c is not None
        order.append(c.plan_id)
        with transaction(factory) as s:
            JobQueue(s).retry_or_fail(c, "done", max_attempts=1, retry=False)
    assert order == [a1, b1, a2, b2, a3]


def test_concurrent_workers_create_a_scheduled_plan_once(two_cities: TwoCities) -> None:
    factory = make_session_factory(two_cities.engine)
    with transaction(factory) as s:
        ScheduleRepository(s).upsert(
            city_id=two_cities.a,
            fraction="residual",
            local_time=time(0, 0),
            weekdays=list(range(7)),
            on_holidays=True,
            time_limit_s=1,
            enabled=True,
        )
        ScheduleRepository(s).upsert(  # a disabled one creates nothing
            city_id=two_cities.b,
            fraction="residual",
            local_time=time(0, 0),
            weekdays=list(range(7)),
            on_holidays=True,
            time_limit_s=1,
            enabled=False,
        )
    created: list[list[int]] = []
    barrier = threading.Barrier(6)
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        ids = enqueue_due(factory, datetime.now(UTC))
        with lock:
            created.append(ids)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(c) for c in created) == [0, 0, 0, 0, 0, 1]
    rows = two_cities.rows("SELECT city_id, fraction, service_date, trigger, options FROM plan")
    assert rows == [(two_cities.a, "residual", _today(), "scheduled", {"time_limit_s": 1.0, "seed": 0})]
    # tomorrow's plan is a new one (the key is the service date)
    tomorrow = datetime.combine(_today() + timedelta(days=1), time(0, 30), ZoneInfo("Europe/Berlin"))
    assert len(enqueue_due(factory, tomorrow.astimezone(UTC))) == 1
