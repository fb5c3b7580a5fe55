"""The start-up demo plans today while today's shift lasts and the next collection day after it."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from wasteroute.runtime.demo import closed_today
from wasteroute.runtime.service_day import demo_service_day

BERLIN = ZoneInfo("Europe/Berlin")
SHIFTS = [time(14, 30), time(15, 0), time(6, 0)]


def _calendar(d: date) -> str | None:
    return closed_today(d, "SH")


def test_during_the_shift_the_demo_plans_today() -> None:
    now = datetime(2026, 12, 7, 9, 15, tzinfo=BERLIN)  # a Monday morning
    assert demo_service_day(now, SHIFTS, _calendar) == (date(2026, 12, 7), None)
    just_before = datetime(2026, 12, 7, 14, 59, tzinfo=BERLIN)
    assert demo_service_day(just_before, SHIFTS, _calendar)[0] == date(2026, 12, 7)


def test_in_the_evening_the_demo_plans_the_next_service_day() -> None:
    evening = datetime(2026, 12, 7, 20, 30, tzinfo=BERLIN)  # Monday evening: the last shift ended 15:00
    day, why = demo_service_day(evening, SHIFTS, _calendar)
    assert day == date(2026, 12, 8)
    assert why == "today's shifts ended at 15:00"
    at_the_end = datetime(2026, 12, 7, 15, 0, tzinfo=BERLIN)
    assert demo_service_day(at_the_end, SHIFTS, _calendar)[0] == date(2026, 12, 8)


def test_the_next_service_day_skips_sundays_and_public_holidays() -> None:
    saturday_evening = datetime(2026, 12, 5, 19, 0, tzinfo=BERLIN)
    assert demo_service_day(saturday_evening, SHIFTS, _calendar)[0] == date(2026, 12, 7)
    # Christmas Eve (a Thursday) evening: 25 and 26 December are public holidays, 27 is a Sunday
    christmas_eve = datetime(2026, 12, 24, 18, 0, tzinfo=BERLIN)
    assert demo_service_day(christmas_eve, SHIFTS, _calendar)[0] == date(2026, 12, 28)


def test_without_trucks_the_demo_plans_today() -> None:
    late = datetime(2026, 12, 7, 23, 0, tzinfo=BERLIN)
    assert demo_service_day(late, [], _calendar) == (date(2026, 12, 7), None)
