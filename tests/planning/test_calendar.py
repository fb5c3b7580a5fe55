"""Planning days: Sundays, public holidays per German state, city overrides, local shift times."""

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
