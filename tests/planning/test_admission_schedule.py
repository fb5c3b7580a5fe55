"""Pure rules of plan jobs: the admission bounds, the morning schedule, the matrix cache key."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import numpy as np
import pytest

from tests.support import calendar_inputs
from wasteroute.errors import InvalidInput
from wasteroute.planning.admission import QueueFull, check_queue, check_service_date, check_time_limit
from wasteroute.planning.distances import GreatCircleProvider, point_set_key, reorder
from wasteroute.planning.schedule import MorningRule, format_weekdays, parse_weekdays

MON_SAT = frozenset(range(6))


def _rule(**kw: object) -> MorningRule:
    args: dict[str, object] = {
        "local_time": time(5, 30),
        "weekdays": MON_SAT,
        "on_holidays": False,
        "timezone": "Europe/Berlin",
        "subdivision": "MV",
    }
    args.update(kw)
    return MorningRule(**args)  # type: ignore[arg-type]


def test_service_date_window_and_time_limit_cap() -> None:
    today = date(2026, 12, 6)
    assert check_service_date(date(2026, 12, 20), today, days_back=1, days_ahead=14) == date(2026, 12, 20)
    with pytest.raises(InvalidInput, match=r"between 2026-12-05 and 2026-12-20 .* got 2026-12-21"):
        check_service_date(date(2026, 12, 21), today, days_back=1, days_ahead=14)
    with pytest.raises(InvalidInput, match="got 0001-01-01"):
        check_service_date(date(1, 1, 1), today, days_back=1, days_ahead=14)
    assert check_time_limit(120, cap_s=120) == 120
    for bad in (539.0, 0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInput, match="at most 120 seconds"):
            check_time_limit(bad, cap_s=120)
    check_queue(9, cap=10)
    with pytest.raises(QueueFull, match="10 plan jobs queued or running, at most 10") as exc:
        check_queue(10, cap=10)
    assert exc.value.status == 429


def test_morning_plan_is_due_from_its_local_time_on_service_days_only() -> None:
    rule = _rule()
    # Tuesday 2026-12-08: 04:29 UTC is 05:29 in Berlin (winter time), 04:30 UTC is 05:30
    assert rule.due(datetime(2026, 12, 8, 4, 29, tzinfo=UTC)) is None
    assert rule.due(datetime(2026, 12, 8, 4, 30, tzinfo=UTC)) == date(2026, 12, 8)
    assert rule.due(datetime(2026, 12, 8, 22, 59, tzinfo=UTC)) == date(2026, 12, 8)
    assert rule.due(datetime(2026, 12, 8, 23, 0, tzinfo=UTC)) is None  # Wednesday 00:00 local
    # summer time: 05:30 in Berlin is 03:30 UTC
    assert rule.due(datetime(2026, 7, 7, 3, 30, tzinfo=UTC)) == date(2026, 7, 7)
    assert rule.skip_reason(date(2026, 12, 6)) == "Sunday is not a service day"
    assert rule.due(datetime(2026, 12, 6, 10, 0, tzinfo=UTC)) is None


def test_public_holidays_of_the_citys_state_are_skipped_unless_configured() -> None:
    mv, sh = _rule(subdivision="MV"), _rule(subdivision="SH")
    assert mv.skip_reason(date(2026, 12, 25)) == "public holiday (Christmas Day)"
    assert mv.skip_reason(date(2026, 10, 31)) is not None  # Reformation Day: MV, Saturday
    assert sh.skip_reason(date(2026, 10, 31)) is not None  # a holiday in SH too since 2018
    assert mv.skip_reason(date(2026, 3, 8)) is not None  # Sunday (Women's Day is Berlin and MV)
    assert mv.skip_reason(date(2027, 3, 8)) == "public holiday (Women's Day)"
    assert sh.skip_reason(date(2027, 3, 8)) is None  # not a holiday in Schleswig-Holstein
    assert _rule(on_holidays=True).skip_reason(date(2026, 12, 25)) is None
    with_sunday = _rule(weekdays=frozenset(range(7)), on_holidays=True)
    assert with_sunday.due(datetime(2026, 12, 6, 10, 0, tzinfo=UTC)) == date(2026, 12, 6)


def test_the_morning_rule_and_the_plan_job_read_one_calendar() -> None:
    from datetime import timedelta

    from wasteroute.planning.calendar import closed_reason
    from wasteroute.planning.service import plan_calendar

    # a city without a holiday region: the plan job plans against Schleswig-Holstein's holidays, so
    # the morning rule must not create a plan on a day the plan job has closed (Reformation Day 2025,
    # a Friday, is a holiday in Schleswig-Holstein but not nationwide)
    assert _rule(subdivision=None).skip_reason(date(2025, 10, 31)) == "public holiday (Reformation Day)"
    for weekdays, on_holidays in ((MON_SAT, False), (frozenset(range(7)), True), (frozenset({0, 4}), False)):
        rule = _rule(subdivision=None, weekdays=weekdays, on_holidays=on_holidays)
        inputs = calendar_inputs(weekdays, on_holidays, holiday_region=None, service_date=date(2025, 10, 20))
        job = plan_calendar(inputs)
        days = [date(2025, 10, 20) + timedelta(days=k) for k in range(80)]  # to 8 Jan 2026
        assert [rule.skip_reason(d) for d in days] == [closed_reason(d, job) for d in days]


def test_weekday_specs() -> None:
    assert parse_weekdays("mon-sat") == MON_SAT
    assert parse_weekdays("Mon, Wed,fri") == {0, 2, 4}
    assert parse_weekdays("mon-fri,sun") == {0, 1, 2, 3, 4, 6}
    for bad in ("sat-mon", "monday", "mon-tue-wed", ""):
        with pytest.raises(ValueError, match="mon"):
            parse_weekdays(bad)
    with pytest.raises(ValueError, match="non-empty set"):
        _rule(weekdays=frozenset())


def test_weekday_specs_are_written_the_way_they_are_read() -> None:
    assert format_weekdays(range(7)) == "mon-sun"
    assert format_weekdays(MON_SAT) == "mon-sat"
    assert format_weekdays({4, 0, 2}) == "mon,wed,fri"
    assert format_weekdays({0, 1, 2, 3, 4, 6}) == "mon-fri,sun"
    assert format_weekdays({5, 6}) == "sat,sun"
    for days in ({0}, {6}, {0, 1}, {0, 1, 3, 4, 5}, {1, 2, 3, 6}, set(range(7))):
        assert parse_weekdays(format_weekdays(days)) == days
    for bad in (set(), {7}):
        with pytest.raises(ValueError, match="non-empty set"):
            format_weekdays(bad)


def test_the_matrix_key_is_the_set_of_points_and_reorder_restores_any_order() -> None:
    points = [(54.09, 12.1), (54.08, 12.14), (54.1, 12.12), (54.07, 12.11)]
    shuffled = [points[i] for i in (2, 0, 3, 1)]
    key, order = point_set_key(points, "osrm x")
    key2, order2 = point_set_key(shuffled, "osrm x")
    assert key == key2 and key != point_set_key(points, "osrm y")[0]
    assert key != point_set_key(points[:3], "osrm x")[0]
    gc = GreatCircleProvider()
    canonical = gc.matrices([points[int(i)] for i in order])[0]
    assert np.array_equal(reorder(canonical, order), gc.matrices(points)[0])
    assert np.array_equal(reorder(canonical, order2), gc.matrices(shuffled)[0])
