"""A fraction's service days on a real PostgreSQL: the plan job reads the fraction's enabled morning
schedule and plans against the next of its days (the one written in the plan's summary and in every
decision the dispatcher reads), and without a schedule against the city's default days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.planning.support import TwoCities
from tests.support import calendar_inputs, fill_reading
from wasteroute.config import Settings
from wasteroute.forecasting.service import forecast_city_bins
from wasteroute.planning.assembly import PlanInputs
from wasteroute.planning.calendar import closed_reason
from wasteroute.planning.schedule import parse_weekdays
from wasteroute.planning.service import execute_plan, plan_calendar
from wasteroute.storage.db import make_session_factory, transaction
from wasteroute.storage.jobs import ScheduleRepository
from wasteroute.storage.models import AnnouncedEventRow
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.readings import BatchStore

SETTINGS = Settings()
SATURDAY = date(2026, 11, 21)
SUNDAY = date(2026, 11, 22)
MONDAY = date(2026, 11, 23)
WEDNESDAY = date(2026, 11, 25)


def _morning(day: date) -> datetime:
    """05:00 in Berlin (winter time) on ``day``: when the morning plan runs."""
    return datetime.combine(day, time(4, 0), tzinfo=UTC)


def _schedule(factory: sessionmaker[Session], city_id: int, days: str, *, enabled: bool = True) -> None:
    with transaction(factory) as s:
        ScheduleRepository(s).upsert(
            city_id=city_id,
            fraction="residual",
            local_time=time(5, 0),
            weekdays=sorted(parse_weekdays(days)),
            on_holidays=False,
            time_limit_s=1,
            enabled=enabled,
        )


def _readings(cities: TwoCities, until: datetime) -> None:
    """Two days of hourly readings of the residual containers of city a: the first one nearly full by
    ``until``, so that the plan must take it and names the next day it could not wait for."""
    sensors = cities.rows(
        "SELECT s.id, s.bin_id FROM sensor s JOIN bin b ON b.id = s.bin_id "
        "WHERE b.city_id = :c AND b.fraction = 'residual' ORDER BY s.id",
        c=cities.a,
    )
    assert sensors
    rows = [
        fill_reading(
            sid,
            bid,
            cities.a,
            until - timedelta(hours=47 - h),
            (0.55 if k == 0 else 0.1 + 0.03 * (k % 5)) + 0.008 * h,
            temperature_c=8.0,
        )
        for k, (sid, bid) in enumerate(sensors)
        for h in range(48)
    ]
    store = BatchStore(cities.url)
    try:
        store.write_and_commit(rows, [])
    finally:
        store.close()


def _plan(cities: TwoCities, factory: sessionmaker[Session], day: date) -> tuple[str, set[str]]:
    """Run a residual plan of city a for ``day`` at 05:00 (the dynamic policy, the product's default);
    its summary's next planning day and the next days its decisions name."""
    with transaction(factory) as s:
        plan_id = (
            PlanRepository(s)
            .create(
                city_id=cities.a,
                fraction="residual",
                service_date=day,
                options={"time_limit_s": 1, "seed": 0},
            )
            .id
        )
    outcome = execute_plan(factory, SETTINGS, plan_id, now=lambda: _morning(day))
    assert outcome["status"] == "done", outcome
    decided = cities.rows(
        "SELECT reason_params ->> 'next_day' FROM plan_bin "
        "WHERE plan_id = :id AND reason_params ? 'next_day'",
        id=plan_id,
    )
    return str(outcome["next_planning_day"]), {r[0] for r in decided}


def test_a_saturday_plan_looks_ahead_to_sunday_only_when_the_fractions_schedule_opens_it(
    two_cities: TwoCities,
) -> None:
    factory = make_session_factory(two_cities.engine)
    _readings(two_cities, _morning(SATURDAY))
    # no schedule: the city's default days, Monday to Saturday
    assert _plan(two_cities, factory, SATURDAY) == (MONDAY.isoformat(), {MONDAY.isoformat()})
    _schedule(factory, two_cities.a, "mon-sun")
    assert _plan(two_cities, factory, SATURDAY) == (SUNDAY.isoformat(), {SUNDAY.isoformat()})
    # a schedule switched off no longer speaks for the fraction
    _schedule(factory, two_cities.a, "mon-sun", enabled=False)
    assert _plan(two_cities, factory, SATURDAY)[0] == MONDAY.isoformat()
    # another city's schedule is its own
    _schedule(factory, two_cities.b, "mon-sun")
    assert _plan(two_cities, factory, SATURDAY)[0] == MONDAY.isoformat()


def test_a_monday_plan_of_a_monday_wednesday_friday_fraction_plans_against_wednesday(
    two_cities: TwoCities,
) -> None:
    factory = make_session_factory(two_cities.engine)
    _readings(two_cities, _morning(MONDAY))
    _schedule(factory, two_cities.a, "mon,wed,fri")
    assert _plan(two_cities, factory, MONDAY) == (WEDNESDAY.isoformat(), {WEDNESDAY.isoformat()})


def _inputs(weekdays: frozenset[int] | None, on_holidays: bool = False) -> PlanInputs:
    inputs: PlanInputs = calendar_inputs(weekdays, on_holidays, service_date=SATURDAY)
    return inputs


@pytest.mark.parametrize(
    ("weekdays", "on_holidays", "boxing_day", "sunday_27"),
    [
        (None, False, "public holiday (Second Day of Christmas)", "Sunday"),
        (frozenset(range(7)), False, "public holiday (Second Day of Christmas)", None),
        (frozenset(range(7)), True, None, None),
        (frozenset({0, 2, 4}), True, "Saturday is not a service day", "Sunday is not a service day"),
    ],
)
def test_the_plan_calendar_is_the_schedules_days_and_holiday_rule_else_the_citys_default(
    weekdays: frozenset[int] | None, on_holidays: bool, boxing_day: str | None, sunday_27: str | None
) -> None:
    rules = plan_calendar(_inputs(weekdays, on_holidays))
    assert rules.subdivision == "SH" and rules.timezone == "Europe/Berlin"
    assert closed_reason(date(2026, 12, 26), rules) == boxing_day
    assert closed_reason(date(2026, 12, 27), rules) == sunday_27


def _musts(
    cities: TwoCities, factory: sessionmaker[Session], options: dict[str, object]
) -> tuple[dict[str, object], int]:
    """A Monday residual plan of city a with the job's own ``options``: the policy its summary says
    it followed, and how many containers it had to take."""
    with transaction(factory) as s:
        plan_id = (
            PlanRepository(s)
            .create(city_id=cities.a, fraction="residual", service_date=MONDAY, options=options)
            .id
        )
    outcome = execute_plan(factory, SETTINGS, plan_id, now=lambda: _morning(MONDAY))
    assert outcome["status"] == "done", outcome
    musts = cities.rows("SELECT count(*) FROM plan_bin WHERE plan_id = :id AND category = 'must'", id=plan_id)
    return outcome["policy"], int(musts[0][0])


def test_every_plan_of_a_fraction_follows_the_citys_collection_policy_kept_with_its_schedule(
    two_cities: TwoCities,
) -> None:
    factory = make_session_factory(two_cities.engine)
    _readings(two_cities, _morning(MONDAY))
    job = {"time_limit_s": 1, "seed": 0}
    residual = int(
        two_cities.rows(
            "SELECT count(*) FROM bin WHERE city_id = :c AND fraction = 'residual'", c=two_cities.a
        )[0][0]
    )
    # no policy: the product's default, the dynamic policy at its own risk
    followed, default = _musts(two_cities, factory, job)
    city = float(two_cities.rows("SELECT fill_threshold FROM city WHERE id = :c", c=two_cities.a)[0][0])
    own = {"policy": "dynamic", "threshold": city, "risk": 0.005}
    assert followed == own and 1 <= default < residual

    def policy(city_id: int, options: dict[str, object], *, enabled: bool = True) -> None:
        with transaction(factory) as s:
            ScheduleRepository(s).upsert(
                city_id=city_id,
                fraction="residual",
                local_time=time(5, 0),
                weekdays=[0, 1, 2, 3, 4, 5],
                on_holidays=False,
                time_limit_s=1,
                enabled=enabled,
                policy=options,
            )

    # a city that accepts more risk: fewer containers must go, in a plan queued by hand too
    bolder = {"policy": "dynamic", "risk": 0.3}
    policy(two_cities.a, bolder)
    followed, musts = _musts(two_cities, factory, job)
    assert followed == {**own, "risk": 0.3} and 1 <= musts < default
    # a schedule switched off still keeps the fraction's policy for the plans a dispatcher queues
    policy(two_cities.a, bolder, enabled=False)
    assert _musts(two_cities, factory, job) == (followed, musts)
    # what the job itself says wins over the city's policy
    assert _musts(two_cities, factory, {**job, "risk": 0.005}) == (own, default)
    # threshold at 40 %: every container forecast at 40 % or more (here all); at 60 % fewer
    at_40 = {"policy": "threshold", "thresholds": {"residual": 0.4}}
    policy(two_cities.a, at_40)
    assert _musts(two_cities, factory, job) == ({"policy": "threshold", "threshold": 0.4}, residual)
    policy(two_cities.a, {"policy": "threshold", "thresholds": {"residual": 0.6}})
    assert 1 <= _musts(two_cities, factory, job)[1] < residual
    # another city's policy is its own
    with transaction(factory) as s:
        assert ScheduleRepository(s).delete(two_cities.a, "residual")
        assert not ScheduleRepository(s).delete(two_cities.a, "residual")
    policy(two_cities.b, at_40)
    assert _musts(two_cities, factory, job) == (own, default)


def test_an_announced_event_near_the_containers_makes_more_of_them_go_before_it(
    two_cities: TwoCities,
) -> None:
    factory = make_session_factory(two_cities.engine)
    _readings(two_cities, _morning(MONDAY))
    job = {"time_limit_s": 1, "seed": 0}
    _, before = _musts(two_cities, factory, job)
    (lon, lat), *_ = two_cities.rows(
        "SELECT avg(lon), avg(lat) FROM bin WHERE city_id = :c AND fraction = 'residual'", c=two_cities.a
    )

    def announce(city_id: int, first: date, last: date) -> None:
        with transaction(factory) as s:
            s.add(
                AnnouncedEventRow(
                    city_id=city_id,
                    name="Hafenfest",
                    first_day=first,
                    last_day=last,
                    lon=float(lon),
                    lat=float(lat),
                    radius_m=20_000,
                    factors={"*": 3.0},
                )
            )

    # another city's festival, or one long past, changes nothing here
    announce(two_cities.b, MONDAY, WEDNESDAY)
    announce(two_cities.a, MONDAY - timedelta(days=60), MONDAY - timedelta(days=50))
    assert _musts(two_cities, factory, job)[1] == before
    # a festival from Monday to Wednesday: three times the waste, so more containers cannot wait
    announce(two_cities.a, MONDAY, WEDNESDAY)
    assert _musts(two_cities, factory, job)[1] > before
    # and each decision says so, for the dispatcher (code and numbers for the pages, and in words)
    said = two_cities.rows(
        "SELECT reason, reason_params -> 'event' FROM plan_bin WHERE plan_id = "
        "(SELECT max(id) FROM plan WHERE city_id = :c)",
        c=two_cities.a,
    )
    assert said and all("Announced: Hafenfest (x3)." in r for r, _ in said)
    assert all(e == {"names": ["Hafenfest"], "factor": 3.0} for _, e in said)
    # the dispatcher's map forecasts from the same entry point: the festival is in its notes too
    with transaction(factory) as s:
        ids = [
            r[0]
            for r in two_cities.rows(
                "SELECT id FROM bin WHERE city_id = :c AND fraction = 'residual'", c=two_cities.a
            )
        ]
        forecasts = forecast_city_bins(s, two_cities.a, ids, _morning(MONDAY))
    assert all(any("Hafenfest" in n for n in f.estimate.notes) for f in forecasts.values())
