"""Planning days: Sundays, public holidays per German state, city overrides, a fraction's service
weekdays, local shift times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from wasteroute.planning.calendar import (
    CalendarRules,
    closed_reason,
    is_planning_day,
    local_day,
    local_time,
    next_planning_day,
    next_visit_time,
    planning_days,
)

LUEBECK = CalendarRules.for_city("luebeck")
ROSTOCK = CalendarRules.for_city("rostock")


def test_sunday_is_skipped() -> None:
    assert closed_reason(date(2026, 11, 22), LUEBECK) == "Sunday"
    assert next_planning_day(date(2026, 11, 21), LUEBECK) == date(2026, 11, 23)


def test_saturday_can_be_switched_off() -> None:
    no_saturday = CalendarRules(subdivision="SH", saturday=False)
    assert is_planning_day(date(2026, 11, 21), LUEBECK)
    assert not is_planning_day(date(2026, 11, 21), no_saturday)
    assert next_planning_day(date(2026, 11, 20), no_saturday) == date(2026, 11, 23)


def test_easter_holidays_are_skipped() -> None:
    # Good Friday 3 April 2026, Easter Monday 6 April
    assert next_planning_day(date(2026, 4, 2), LUEBECK) == date(2026, 4, 4)
    assert next_planning_day(date(2026, 4, 4), LUEBECK) == date(2026, 4, 7)
    assert closed_reason(date(2026, 4, 3), LUEBECK) == "public holiday (Good Friday)"


def test_state_holidays_differ() -> None:
    # International Women's Day is a holiday in Mecklenburg-Vorpommern, not in Schleswig-Holstein
    monday = date(2027, 3, 8)
    assert not is_planning_day(monday, ROSTOCK)
    assert is_planning_day(monday, LUEBECK)
    assert CalendarRules.for_city("wismar").subdivision == "MV"
    # Reformation Day (31 October) in both states, here a Saturday
    assert not is_planning_day(date(2026, 10, 31), LUEBECK)


def test_closed_and_open_dates() -> None:
    rules = CalendarRules(
        closed_dates=frozenset({date(2026, 11, 24)}), open_dates=frozenset({date(2026, 12, 26)})
    )
    assert closed_reason(date(2026, 11, 24), rules) == "closed by the city"
    assert next_planning_day(date(2026, 11, 23), rules) == date(2026, 11, 25)
    assert is_planning_day(date(2026, 12, 26), rules)  # Second Day of Christmas opened
    days = list(planning_days(date(2026, 12, 23), date(2026, 12, 28), LUEBECK))
    assert days == [date(2026, 12, 23), date(2026, 12, 24), date(2026, 12, 28)]


def test_service_weekdays_open_sundays_or_close_weekdays_instead_of_the_weekend_flags() -> None:
    every_day = CalendarRules(subdivision="SH", weekdays=frozenset(range(7)))
    saturday = date(2026, 11, 21)
    assert next_planning_day(saturday, every_day) == date(2026, 11, 22)
    assert next_planning_day(saturday, LUEBECK) == date(2026, 11, 23)  # unset: Monday to Saturday
    mon_wed_fri = CalendarRules(subdivision="SH", weekdays=frozenset({0, 2, 4}))
    assert next_planning_day(date(2026, 11, 23), mon_wed_fri) == date(2026, 11, 25)
    assert list(planning_days(date(2026, 11, 23), date(2026, 11, 29), mon_wed_fri)) == [
        date(2026, 11, 23),
        date(2026, 11, 25),
        date(2026, 11, 27),
    ]
    assert closed_reason(date(2026, 11, 24), mon_wed_fri) == "Tuesday is not a service day"
    assert closed_reason(saturday, mon_wed_fri) == "Saturday is not a service day"
    # public holidays still close a service day, and open dates still open any day
    assert closed_reason(date(2026, 12, 27), every_day) is None  # a Sunday
    assert closed_reason(date(2026, 12, 25), every_day) == "public holiday (Christmas Day)"
    all_year = CalendarRules(weekdays=frozenset(range(7)), public_holidays=False)
    assert is_planning_day(date(2026, 12, 25), all_year)
    opened = CalendarRules(weekdays=frozenset({0}), open_dates=frozenset({date(2026, 11, 26)}))
    assert next_planning_day(date(2026, 11, 23), opened) == date(2026, 11, 26)
    # any iterable of weekday numbers, kept as a frozenset (the rules stay hashable)
    assert CalendarRules(weekdays=[6, 5]).weekdays == frozenset({5, 6})  # type: ignore[arg-type]
    assert hash(CalendarRules(weekdays=frozenset({1}))) == hash(CalendarRules(weekdays=frozenset({1})))


@pytest.mark.parametrize("bad", [frozenset(), frozenset({7}), frozenset({-1, 2}), ["mon"], [True], 3])
def test_service_weekdays_must_be_weekday_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match="weekday"):
        CalendarRules(weekdays=bad)  # type: ignore[arg-type]


def test_service_weekdays_and_the_weekend_flags_are_not_given_together() -> None:
    for flags in ({"sunday": True}, {"saturday": False}):
        with pytest.raises(ValueError, match="either weekdays or the saturday/sunday flags"):
            CalendarRules(weekdays=frozenset(range(7)), **flags)  # type: ignore[arg-type]


def test_holidays_can_be_ignored() -> None:
    rules = CalendarRules(public_holidays=False)
    assert is_planning_day(date(2026, 4, 3), rules)


def test_local_shift_times_follow_daylight_saving() -> None:
    assert local_time(date(2026, 7, 1), time(6, 0), LUEBECK) == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    assert local_time(date(2026, 1, 5), time(6, 0), LUEBECK) == datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
    assert local_day(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), LUEBECK) == date(2026, 7, 2)


def test_next_visit_time_jumps_over_the_weekend() -> None:
    saturday_0900 = local_time(date(2026, 11, 21), time(9, 0), LUEBECK)
    assert next_visit_time(saturday_0900, LUEBECK) == local_time(date(2026, 11, 23), time(9, 0), LUEBECK)


def test_validation_messages() -> None:
    with pytest.raises(ValueError, match="unknown city"):
        CalendarRules.for_city("atlantis")
    with pytest.raises(ValueError, match="both closed and open"):
        CalendarRules(closed_dates=frozenset({date(2026, 1, 2)}), open_dates=frozenset({date(2026, 1, 2)}))
    with pytest.raises(ValueError, match="IANA"):
        CalendarRules(timezone="Baltic/Hanse")
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(datetime(2026, 1, 1, 12), LUEBECK)
    nothing_open = CalendarRules(saturday=False, closed_dates=frozenset(), public_holidays=False)
    weekdays_closed = CalendarRules(
        saturday=False,
        public_holidays=False,
        closed_dates=frozenset(d for d in planning_days(date(2026, 1, 1), date(2027, 12, 31), nothing_open)),
    )
    with pytest.raises(ValueError, match="no planning day"):
        next_planning_day(date(2026, 1, 1), weekdays_closed)
