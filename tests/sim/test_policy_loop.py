"""The closed loop end to end on a small city: readings in, plans made, containers emptied, and
measures from the simulation's own truth; and the pure parts (rhythms, look-ahead selection)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sensors_sim.city import generate_city
from tests.support import small_simulation
from wasteroute.config import Settings
from wasteroute.forecasting import FillEstimate, RateSource, WeekProfile
from wasteroute.planning.calendar import CalendarRules
from wasteroute.planning.selection import (
    BinSelection,
    PolicyOptions,
    SelectionInput,
    SelectionParams,
    SelectionStatus,
    select_dynamic,
    select_for_policy,
)
from wasteroute.planning.service import later_visit_times
from wasteroute.simulation.loop import PolicyRun, SimulationConfig, after_last_service, prepare_city
from wasteroute.simulation.measures import JSON_KEYS, json_line, measures, reliability_misses
from wasteroute.simulation.report import run_many, simulate_policies, summarise, write_report
from wasteroute.simulation.rhythm import (
    Rhythm,
    choose_rhythm,
    due_at_switch,
    due_today,
    gap_fill,
    rhythm_options,
    worst_window,
)

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Monday 05:00 in Berlin
VISIT = NOW + timedelta(hours=5)
NEXT = VISIT + timedelta(days=1)
AFTER = NEXT + timedelta(days=1)


def est(fill_now: float, rate_per_day: float, sd: float = 0.02) -> FillEstimate:
    return FillEstimate(
        now_s=NOW.timestamp(),
        fill_now=fill_now,
        fill_now_sd=sd,
        rate_per_h=rate_per_day / 24,
        rate_sd_per_h=0.0,
        process_var_per_h=0.0,
        profile=WeekProfile.flat(),
        rate_source=RateSource.SENSOR,
    )


def dynamic(*items: tuple[str, FillEstimate]) -> dict[str, Any]:
    out = select_dynamic(
        [SelectionInput(i, "luebeck", "residual", e) for i, e in items],
        visit_at=VISIT,
        next_visit_at=NEXT,
        after_next_visit_at=AFTER,
        params=SelectionParams(),
    )
    return {d.bin_id: d for d in out}


def test_dynamic_postpones_what_can_wait_and_forces_what_cannot() -> None:
    d = dynamic(("safe", est(0.3, 0.1)), ("soon", est(0.55, 0.2)), ("late", est(0.75, 0.2)))
    assert d["safe"].status is SelectionStatus.SKIP and d["safe"].prize == 0
    assert "can wait" in d["safe"].reason
    # 0.55 + 0.2/day: about 0.83 by tomorrow's last visit, about 1.03 the day after: due tomorrow
    assert d["soon"].status is SelectionStatus.MAY_GO and d["soon"].prize > 0
    # 0.75 + 0.2/day reaches 1 before tomorrow's last visit: cannot wait
    assert d["late"].status is SelectionStatus.MUST_GO
    assert "overflow" in d["late"].reason
    for x in d.values():
        assert x.reason.count(".") >= 1 and len(x.reason) < 220  # one sentence a dispatcher reads


def test_dynamic_prize_grows_with_fill() -> None:
    d = dynamic(("a", est(0.6, 0.2)), ("b", est(0.7, 0.15)))
    assert d["b"].prize > d["a"].prize > 0


def test_dynamic_looks_ahead_over_the_planning_days_of_its_horizon() -> None:
    week = [VISIT + timedelta(days=k) for k in range(1, 7)]
    items = [
        SelectionInput(i, "luebeck", "residual", e)
        for i, e in (
            ("due_in_3", est(0.6, 0.1)),  # last safe day in 3 days at about 0.9: pull 0.67
            ("fuller", est(0.68, 0.1)),  # last safe day in 2 days at about 0.88: pull 0.77
            ("slow", est(0.2, 0.05)),  # nowhere near full within the horizon
        )
    ]
    d = {
        x.bin_id: x
        for x in select_dynamic(
            items, visit_at=VISIT, next_visit_at=week[0], later_visits=week, params=SelectionParams()
        )
    }
    assert d["due_in_3"].status is SelectionStatus.SKIP and d["due_in_3"].code == "skip_too_early"
    assert d["fuller"].status is SelectionStatus.MAY_GO and d["fuller"].code == "may_early"
    assert d["fuller"].params["until_day"] == "2026-11-25"
    assert d["fuller"].prize == pytest.approx(
        15.0 * (d["fuller"].params["fill_pct"] / d["fuller"].params["due_fill_pct"]) ** 2, rel=0.01
    )
    assert d["slow"].code == "skip_can_wait" and d["slow"].params["after_day"] == "2026-11-29"
    # a smaller minimum pull offers the earlier one too, at a lower prize
    low = select_dynamic(
        items[:1],
        visit_at=VISIT,
        next_visit_at=week[0],
        later_visits=week,
        params=SelectionParams(),
        policy=PolicyOptions(min_pull=0.5),
    )[0]
    assert low.status is SelectionStatus.MAY_GO and 0 < low.prize < d["fuller"].prize
    with pytest.raises(ValueError, match="must start with next_visit_at"):
        select_dynamic(
            items, visit_at=VISIT, next_visit_at=NEXT, later_visits=week[1:], params=SelectionParams()
        )
    with pytest.raises(ValueError, match="horizon_days"):
        PolicyOptions(horizon_days=0)
    assert PolicyOptions.from_options({"risk": 0.02, "horizon_days": 4}) == PolicyOptions(
        risk=0.02, horizon_days=4
    )
    with pytest.raises(ValueError, match="min_pull must be a number"):
        PolicyOptions.from_options({"min_pull": "high"})


def test_round_days_take_what_is_due_soon_when_its_truck_goes_anyway() -> None:
    week = [VISIT + timedelta(days=k) for k in range(1, 7)]

    def decide(*items: tuple[str, str, FillEstimate], round_days: int) -> dict[str, BinSelection]:
        inputs = [SelectionInput(i, "luebeck", "residual", e, access_class=a) for i, a, e in items]
        return {
            x.bin_id: x
            for x in select_dynamic(
                inputs,
                visit_at=VISIT,
                next_visit_at=week[0],
                later_visits=week,
                params=SelectionParams(),
                policy=PolicyOptions(round_days=round_days),
            )
        }

    forcing = ("forcing", "crane", est(0.75, 0.2))  # cannot wait: the crane truck goes today
    soon_crane = ("soon_crane", "crane", est(0.55, 0.2))  # safe until tomorrow only
    soon_std = ("soon_std", "standard", est(0.55, 0.2))
    soon_narrow = ("soon_narrow", "narrow", est(0.55, 0.2))  # only the narrow truck
    later = ("later", "crane", est(0.35, 0.2))  # safe for two more days: beyond one round day
    plain = decide(forcing, soon_crane, soon_std, soon_narrow, later, round_days=0)
    assert plain["forcing"].code == "must_overflow_risk"
    soon = ("soon_crane", "soon_std", "soon_narrow")
    assert all(plain[k].status is not SelectionStatus.MUST_GO for k in soon)
    one = decide(forcing, soon_crane, soon_std, soon_narrow, later, round_days=1)
    assert one["soon_crane"].code == "must_with_round"
    assert one["soon_crane"].params["until_day"] == "2026-11-24"
    # no container of their kind forces a truck out today
    assert one["soon_std"].status is SelectionStatus.MAY_GO
    assert one["soon_narrow"].status is SelectionStatus.MAY_GO
    std = decide(("forcing_std", "standard", est(0.75, 0.2)), soon_std, soon_narrow, round_days=1)
    assert std["soon_std"].code == "must_with_round" and std["soon_narrow"].status is SelectionStatus.MAY_GO
    assert one["later"].status is not SelectionStatus.MUST_GO
    assert decide(forcing, later, round_days=2)["later"].code == "must_with_round"
    # nothing forces a truck out today: nothing rides along
    calm = decide(soon_crane, soon_std, round_days=2)
    assert all(x.status is not SelectionStatus.MUST_GO for x in calm.values())
    with pytest.raises(ValueError, match="round_days"):
        PolicyOptions(round_days=6)
    assert PolicyOptions.from_options({"round_days": 2}).round_days == 2


def test_collection_days_take_what_cannot_wait_for_the_next_round_and_only_emergencies_between() -> None:
    week = [VISIT + timedelta(days=k) for k in range(1, 7)]  # Tuesday .. Sunday; today is a Monday

    def decide(days: list[str]) -> dict[str, BinSelection]:
        items = [
            ("forced", est(0.75, 0.2)),  # cannot wait until tomorrow
            ("until_tue", est(0.55, 0.2)),  # safe for Tuesday, not for Wednesday
            ("until_thu", est(0.2, 0.2)),  # safe until Thursday
            ("slow", est(0.2, 0.02)),
        ]
        return {
            x.bin_id: x
            for x in select_dynamic(
                [SelectionInput(i, "luebeck", "paper", e) for i, e in items],
                visit_at=VISIT,
                next_visit_at=week[0],
                later_visits=week,
                params=SelectionParams(),
                policy=PolicyOptions.from_options({"collection_days": days}),
            )
        }

    # rounds on Monday and Thursday: what cannot wait until Thursday goes today
    mon_thu = decide(["mon", "Thu"])
    assert mon_thu["forced"].code == "must_overflow_risk"
    assert mon_thu["until_tue"].code == "must_before_next_round"
    assert mon_thu["until_tue"].params["round_day"] == "2026-11-26"
    assert "next round on 2026-11-26" in mon_thu["until_tue"].reason
    assert mon_thu["until_thu"].status is not SelectionStatus.MUST_GO
    assert mon_thu["slow"].status is SelectionStatus.SKIP
    # rounds on Wednesdays only: on a Monday only the emergency goes
    wed = decide(["wed"])
    assert wed["forced"].status is SelectionStatus.MUST_GO
    assert {wed[k].code for k in ("until_tue", "until_thu", "slow")} == {"skip_no_round_today"}
    # without collection days the policy is the plain look-ahead
    plain = decide([])
    assert plain["until_tue"].status is not SelectionStatus.MUST_GO
    assert PolicyOptions.from_options({"collection_days": [0, "fri"]}).collection_days == {0, 4}
    with pytest.raises(ValueError, match="not a weekday"):
        PolicyOptions.from_options({"collection_days": ["someday"]})
    with pytest.raises(ValueError, match="list of weekdays"):
        PolicyOptions.from_options({"collection_days": "mon"})


def test_simulate_reads_collection_days_per_fraction(capsys: pytest.CaptureFixture[str]) -> None:
    from wasteroute.cli import build_parser

    args = build_parser().parse_args(["simulate", "--collection-days", "paper=mon,wed,fri; glass=Tue"])
    assert args.collection_days == {"paper": frozenset({0, 2, 4}), "glass": frozenset({1})}
    for bad, why in (
        ("paper=someday", "collection days of paper: days must look like"),
        ("paper", "expected fraction=days pairs like paper=mon,wed,fri;glass=tue,fri"),
        ("=mon", "expected fraction=days pairs"),
        ("litter=mon", "unknown fraction 'litter' (public litter bins are residual containers)"),
        ("glass=tue;glass=fri", "collection days of glass given twice"),
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["simulate", "--collection-days", bad])
        err = capsys.readouterr().err
        assert "--collection-days" in err and why in err, (bad, err)
    with pytest.raises(ValueError, match="collection days of paper"):
        SimulationConfig(collection_days={"paper": frozenset()})
    with pytest.raises(ValueError, match="collection days of an unknown fraction 'litter'"):
        SimulationConfig(collection_days={"litter": frozenset({1})})


def test_simulate_reads_service_days_per_fraction(capsys: pytest.CaptureFixture[str]) -> None:
    from wasteroute.cli import build_parser

    args = build_parser().parse_args(["simulate", "--service-days", "residual=mon-sun; paper = Mon,wed,FRI"])
    assert args.service_days == {"residual": frozenset(range(7)), "paper": frozenset({0, 2, 4})}
    assert build_parser().parse_args(["simulate"]).service_days == {}
    for bad, why in (
        ("litter=mon-sun", "unknown fraction 'litter' (public litter bins are residual containers)"),
        ("plastic=mon", "unknown fraction 'plastic'; fractions: residual, paper"),
        ("residual=sun-mon", "service days of residual: a day range runs forward"),
        ("residual=someday", "service days of residual: days must look like"),
        ("residual", "expected fraction=days pairs"),
        ("residual=", "expected fraction=days pairs"),
        ("residual=mon;residual=sun", "service days of residual given twice"),
        (";", "expected fraction=days pairs"),
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["simulate", "--service-days", bad])
        err = capsys.readouterr().err
        assert "--service-days" in err and why in err, (bad, err)
    with pytest.raises(ValueError, match="service days of an unknown fraction 'litter'"):
        SimulationConfig(service_days={"litter": frozenset({6})})
    with pytest.raises(ValueError, match="service days of paper"):
        SimulationConfig(service_days={"paper": frozenset()})
    with pytest.raises(ValueError, match="service days of paper"):
        SimulationConfig(service_days={"paper": frozenset({7})})


def test_simulate_reads_policy_options_for_every_fraction_or_for_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wasteroute.cli import build_parser
    from wasteroute.simulation.loop import city_policy

    argv = ["simulate", "--policy-option", "risk=0.01", "--policy-option", "residual:emergency_risk=0.005"]
    args = build_parser().parse_args([*argv, "--policy-option", "residual:risk=0.02"])
    assert args.policy_option == [
        (None, "risk", 0.01),
        ("residual", "emergency_risk", 0.005),
        ("residual", "risk", 0.02),
    ]
    cfg = SimulationConfig(
        policy_options={"risk": 0.01}, fraction_options={"residual": {"emergency_risk": 0.005, "risk": 0.02}}
    )
    # the fraction's own options win over those for every fraction; other fractions keep those
    assert city_policy(cfg, "residual") == {"policy": "dynamic", "risk": 0.02, "emergency_risk": 0.005}
    assert city_policy(cfg, "paper") == {"policy": "dynamic", "risk": 0.01}
    assert city_policy(replace(cfg, policy="threshold"), "residual") == {"policy": "threshold"}
    for bad, why in (
        ("litter:risk=0.1", "unknown fraction 'litter' (public litter bins are residual containers)"),
        (":risk=0.1", "or fraction:name=number like residual:emergency_risk=0.005"),
        ("residual:risk", "expected name=number like risk=0.02"),
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["simulate", "--policy-option", bad])
        err = capsys.readouterr().err
        assert "--policy-option" in err and why in err, (bad, err)
    with pytest.raises(ValueError, match="policy options of an unknown fraction 'litter'"):
        SimulationConfig(fraction_options={"litter": {"risk": 0.1}})


def test_forecasts_are_checked_against_the_fill_had_nobody_emptied_the_container() -> None:
    import numpy as np

    from wasteroute.simulation.truth import Truth

    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    truth = Truth(2, "Europe/Berlin", start, start + timedelta(days=3), warmup_days=1)
    made = start + timedelta(hours=2)
    fill = np.array([0.5, 0.5])
    for h in range(1, 30):
        t = start + timedelta(hours=h)
        if h == 3:  # both emptied an hour after the forecast; they go on filling 3 % an hour
            truth.collected(0, t, float(fill[0]))
            truth.collected(1, t, float(fill[1]))
            fill = np.zeros(2)
        fill = fill + 0.03
        truth.hour(t, fill.copy())
        if h == 2:
            truth.expect(
                0, made, start + timedelta(hours=25), 0.9
            )  # 0.56 + 23 h * 3 % = 1.25: would overflow
            truth.expect(1, made, start + timedelta(hours=12), 0.9)  # 0.56 + 10 h * 3 % = 0.86: would not
            truth.expect_band(1, made, start + timedelta(hours=12), 0.8, 0.9)
    assert sorted(truth.reliability) == [(0.9, False), (0.9, True)]
    assert truth.band == [True]


def test_overflows_after_the_last_service_are_those_no_service_day_visit_prevents() -> None:
    rules = CalendarRules(timezone="Europe/Berlin", subdivision="SH")
    berlin = ZoneInfo("Europe/Berlin")
    saturday = datetime(2026, 11, 14, 9, 0, tzinfo=berlin)
    overflows = [
        datetime(2026, 11, 15, 19, 0, tzinfo=berlin),  # Sunday, emptied on Saturday: no service between
        datetime(2026, 11, 16, 7, 0, tzinfo=berlin),  # Monday after 06:00: Monday's rounds could have come
        datetime(2026, 11, 14, 4, 0, tzinfo=berlin),  # emptied Thursday: Friday was a service day
        datetime(2026, 11, 15, 12, 0, tzinfo=berlin),  # never emptied
    ]
    emptied = [saturday, saturday, datetime(2026, 11, 12, 9, 0, tzinfo=berlin), None]
    # one event, overflowing Sunday and Monday until the Monday rounds come
    assert after_last_service(overflows, emptied, rules) == (1, 2)
    assert after_last_service(overflows[:1] * 2, [saturday, saturday], rules) == (2, 4)
    # the measured days end on the Sunday: only that day counts
    assert after_last_service(overflows[:1], [saturday], rules, date(2026, 11, 15)) == (1, 1)
    # each container by its own fraction's days: with Sunday rounds from 06:00, Sunday evening's
    # overflow of a container emptied on Saturday was one a Sunday visit could have prevented
    every_day = CalendarRules(timezone="Europe/Berlin", subdivision="SH", weekdays=frozenset(range(7)))
    assert after_last_service(overflows[:1] * 2, [saturday, saturday], [every_day, rules]) == (1, 2)
    sunday_dawn = datetime(2026, 11, 15, 5, 0, tzinfo=berlin)  # before Sunday's shifts: still counts
    assert after_last_service([sunday_dawn], [saturday], [every_day]) == (1, 1)
    with pytest.raises(ValueError):
        after_last_service(overflows[:1], [saturday], [every_day, rules])  # one calendar per overflow


def test_later_visit_times_skip_sundays_and_holidays() -> None:
    rules = CalendarRules(timezone="Europe/Berlin", subdivision="SH")
    # Thursday 24 Dec 2026: Christmas Friday and Saturday ... Boxing Day and Sunday are closed
    times = later_visit_times(date(2026, 12, 23), 6, rules)
    days = [t.astimezone(ZoneInfo("Europe/Berlin")).date() for t in times]
    assert days[0] == date(2026, 12, 23)
    assert date(2026, 12, 25) not in days and date(2026, 12, 27) not in days
    assert all(d <= date(2026, 12, 28) for d in days) and days == sorted(days)


def test_fixed_and_threshold_policies_choose_exactly_their_containers() -> None:
    items = [SelectionInput(i, "luebeck", "residual", est(f, 0.1)) for i, f in (("1", 0.9), ("2", 0.2))]
    kw: dict[str, Any] = {"visit_at": VISIT, "next_visit_at": NEXT, "after_next_visit_at": AFTER}
    params = SelectionParams()
    fixed = select_for_policy(items, params=params, policy=PolicyOptions("fixed", frozenset({"2"})), **kw)
    assert [d.status for d in fixed] == [SelectionStatus.SKIP, SelectionStatus.MUST_GO]
    thr = select_for_policy(items, params=params, policy=PolicyOptions("threshold"), **kw)
    assert [d.status for d in thr] == [SelectionStatus.MUST_GO, SelectionStatus.SKIP]
    with pytest.raises(ValueError, match="policy must be one of"):
        PolicyOptions("cheapest")


def test_rhythm_is_the_least_frequent_one_the_history_survives() -> None:
    assert worst_window([0.1, 0.5, 0.1, 0.1], 2) == pytest.approx(0.6)
    assert choose_rhythm([0.05] * 14, "d:paper").name == "fortnightly"  # 15 days x 0.05 < 1
    assert choose_rhythm([0.09] * 14, "d:paper").name == "weekly"
    assert choose_rhythm([0.18] * 14, "d:paper").name == "twice weekly"
    assert choose_rhythm([0.9] * 14, "d:paper").name == "every working day"
    weekly = rhythm_options("d:paper")[1]
    (w,) = weekly.weekdays
    monday = date(2026, 9, 21)
    round_day = monday + timedelta(days=w)
    assert due_today(weekly, round_day, round_day - timedelta(days=1))
    assert not due_today(weekly, round_day + timedelta(days=1), round_day)
    # a round on a closed day is made up on the next planning day
    assert due_today(weekly, round_day + timedelta(days=1), round_day - timedelta(days=1))


def test_rhythms_follow_a_fractions_service_days() -> None:
    key = "d:paper"
    default = rhythm_options(key)
    assert rhythm_options(key, range(6)) == default  # Monday to Saturday named is the default
    # Sundays on top: every working day stays (Saturday to Monday, 2 days), every service day comes
    # after it with 1-day gaps; the other rhythms never fall on a Sunday and keep their gaps
    with_sunday = rhythm_options(key, range(7))
    assert with_sunday[:5] == default
    every = with_sunday[5]
    assert (every.name, every.weekdays, every.longest_gap_days) == ("every service day", tuple(range(7)), 1)
    assert choose_rhythm([0.9] * 14, key, service_days=range(7)) == every
    assert choose_rhythm([0.4] * 14, key, service_days=range(7)).name == "every working day"  # 0.8 < 1
    assert choose_rhythm([0.4] * 14, key).name == "every working day"
    assert choose_rhythm([0.9] * 14, key).name == "every working day"  # the default's most frequent
    # Monday, Wednesday and Friday only: a Tuesday/Friday round is driven Wednesday/Friday, so its
    # longest gap grows from 4 to 5 days (Friday to Wednesday); every service day waits 3 (the weekend)
    mwf = {r.name: r for r in rhythm_options("b:paper", {0, 2, 4})}
    assert rhythm_options("b:paper")[2].weekdays == (1, 4)
    assert mwf["twice weekly"].weekdays == (1, 4) and mwf["twice weekly"].longest_gap_days == 5
    assert mwf["weekly"].longest_gap_days == 8 and mwf["fortnightly"].longest_gap_days == 15
    assert "every working day" not in mwf
    assert (mwf["every service day"].weekdays, mwf["every service day"].longest_gap_days) == ((0, 2, 4), 3)
    assert choose_rhythm([0.22] * 14, "b:paper", service_days={0, 2, 4}).name == "three times weekly"
    # a round on a weekday the fraction is not served on is made up on its next service day
    tuesday = date(2026, 11, 24)
    twice = mwf["twice weekly"]
    friday, monday, wednesday = (tuesday + timedelta(days=k) for k in (-4, -1, 1))
    assert due_today(twice, friday, friday - timedelta(days=2))
    assert not due_today(twice, monday, friday)
    assert due_today(twice, wednesday, monday)  # Tuesday's round
    # Sunday is a weekday a round can fall on; an eighth day is not
    assert Rhythm("sunday", (6,), None, 7).is_round_day(date(2026, 11, 29))
    with pytest.raises(ValueError, match=r"Monday\.\.Sunday \(0\.\.6\)"):
        Rhythm("never", (7,), None, 7)
    with pytest.raises(ValueError, match="service_days"):
        rhythm_options(key, set())


def test_a_noisy_history_needs_a_more_frequent_round_than_a_steady_one_of_the_same_mean() -> None:
    steady = [0.1] * 14
    noisy = [0.02, 0.18] * 7
    assert gap_fill(steady, 8) == pytest.approx(0.8)
    assert gap_fill(noisy, 8) > 1.0  # mean 0.1 a day, but a bad week overflows one time in a thousand
    assert choose_rhythm(steady, "d:residual").name == "weekly"
    assert choose_rhythm(noisy, "d:residual").name == "twice weekly"
    # a higher service level asks for more; a longer history is more certain of its mean
    assert gap_fill(noisy, 8, 0.9999) > gap_fill(noisy, 8, 0.999)
    assert gap_fill(noisy * 4, 8) < gap_fill(noisy, 8)
    with pytest.raises(ValueError, match="service_level"):
        choose_rhythm(steady, "d:residual", service_level=1.0)


def test_the_switch_to_fixed_rounds_empties_what_would_wait_longer_than_its_longest_gap() -> None:
    weekly = rhythm_options("d:paper")[1]
    (w,) = weekly.weekdays
    monday = date(2026, 11, 2)
    day_after_round = monday + timedelta(days=w + 1)  # the next round is 6 days later
    assert not due_at_switch(weekly, day_after_round - timedelta(days=1), day_after_round)  # 7-day gap
    assert due_at_switch(weekly, day_after_round - timedelta(days=3), day_after_round)  # 9 days
    assert due_at_switch(weekly, None, day_after_round)  # never emptied: go


def test_summary_takes_medians_over_seeds_and_the_dynamic_saving_per_seed() -> None:
    def row(policy: str, km: float, service: float) -> dict[str, Any]:
        return {"policy": policy, "km": km, "service_level": service, "fixed_rhythms": {"weekly": 3}}

    per_seed = {
        1: [row("fixed", 100.0, 1.0), row("dynamic", 50.0, 0.999)],
        2: [row("fixed", 200.0, 0.998), row("dynamic", 80.0, 1.0)],
        3: [row("fixed", 120.0, 1.0), row("dynamic", 90.0, 0.997)],
    }
    fixed, dyn = summarise(per_seed)
    assert fixed["policy"] == "fixed" and fixed["km"] == 120.0 and fixed["service_level"] == 1.0
    assert "fixed_rhythms" not in fixed and fixed["seeds"] == [1, 2, 3]
    assert dyn["km"] == 80.0 and dyn["service_level"] == 0.999
    # savings per seed 50 %, 60 %, 25 %: the median of the ratios, not the ratio of the medians
    assert dyn["km_saving_vs_fixed"] == pytest.approx(0.5)


def test_sensor_coverage_and_one_truck_fewer_change_only_the_imported_city() -> None:
    doc = generate_city("wismar", 50, 3)
    out, covered = prepare_city(doc, SimulationConfig(sensor_coverage=0.3, one_truck_fewer=True, seed=3))
    assert len(covered) == 15
    assert sum(1 for f in out["bins"]["features"] if f["properties"]["sensor"]) == 15
    assert all(f["properties"]["sensor"] for f in doc["bins"]["features"])  # the original is untouched
    for fraction in {v["fraction"] for v in doc["vehicles"]}:
        before = sum(1 for v in doc["vehicles"] if v["fraction"] == fraction)
        after = sum(1 for v in out["vehicles"] if v["fraction"] == fraction)
        assert after == (before - 1 if before > 1 else before)


def test_closed_loop_end_to_end(db_server: Any, tmp_path: Path) -> None:
    doc = generate_city("wismar", 40, 2)
    cfg = small_simulation()
    results = simulate_policies(
        doc, cfg, ["fixed", "threshold", "dynamic"], db_server.admin_url, Settings(), tmp_path
    )
    assert [r["policy"] for r in results] == ["fixed", "threshold", "dynamic"]
    for r in results:
        assert list(json_line(r)) == list(JSON_KEYS)
        assert r["containers"] == 40 and r["days"] == 3
        assert r["readings_stored"] > 40 * 8 * 8 * 0.8  # every sensor, every 3 h, minus faults
        assert r["dead_letters"] > 0  # the default faults send garbage, which is dead-lettered
        assert r["failed_plans"] == 0
        assert r["tours"] > 0 and r["km"] > 0
        # collections are counted by the simulation when a truck empties a container: exactly the
        # stops the drivers reported emptied
        assert r["collections"] == r["stops_reported"] - r["not_reachable"] > 0
        assert r["container_days"] == 40 * 3
        assert 0.0 <= r["service_level"] <= 1.0
        assert 0.0 < r["fill_at_emptying_mean"] <= 1.0
        assert r["co2_kg"] == pytest.approx(r["km"] * 0.55 * 2.65, abs=0.2)
        # the trucks' own books add up to the run's: every tour, km and stop is some truck's
        trucks = r["by_truck"].values()
        assert sum(t["tours"] for t in trucks) == r["tours"]
        assert sum(t["km"] for t in trucks) == pytest.approx(r["km"], abs=0.5)
        assert sum(t["stops"] for t in trucks) == r["stops_reported"]
        assert sum(t["loads"] for t in trucks) == r["loads"] >= r["tours"]
        assert 0.0 < r["load_utilisation"] <= 1.0
        assert r["overflows_after_last_service"] <= r["overflows"]
        assert r["service_level"] <= r["service_level_ceiling"] <= 1.0
    assert results[0]["fixed_rhythms"] and sum(results[0]["fixed_rhythms"].values()) == 40
    pngs = ("daily_km.png", "fill_at_emptying.png", "overflows.png", "reliability.png", "km_by_truck.png")
    for name in ("report.md", *pngs):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [s["km"] for s in saved] == [r["km"] for r in results]
    assert "| service_level |" in (tmp_path / "report.md").read_text()
    assert "## By truck" in (tmp_path / "report.md").read_text()
    assert "| depot-facility-depot km |" in (tmp_path / "report.md").read_text()


def test_service_days_plan_a_fraction_on_sundays_under_every_policy(db_server: Any, tmp_path: Path) -> None:
    doc = generate_city("wismar", 40, 2)
    fractions = sorted({v["fraction"] for v in doc["vehicles"]})
    assert "residual" in fractions and len(fractions) > 1
    # two days of run-in before Monday 21 December: the policies start on Saturday 19 December
    cfg = SimulationConfig(
        days=1,
        warmup_days=3,
        run_in_days=2,
        holiday_week=True,
        seed=2,
        plan_time_limit_s=2.0,
        plan_iterations=100,
        service_days={"residual": frozenset(range(7))},  # public litter bins hold residual waste
    )
    tasks = [(doc, replace(cfg, policy=p)) for p in ("fixed", "threshold", "dynamic")]
    tasks.append((doc, replace(cfg, policy="threshold", service_days={})))
    *runs, default = run_many(tasks, db_server.admin_url, Settings())
    saturday, sunday, monday = date(2026, 12, 19), date(2026, 12, 20), date(2026, 12, 21)
    for run in runs:
        # the loop fails a run whose plan job planned against another next day than its own (here
        # Saturday's residual plan against Sunday), so every plan read the residual schedule the
        # run wrote into the city's database
        assert [(d.day, d.fractions) for d in run.days] == [
            (saturday, fractions),
            (sunday, ["residual"]),
            (monday, fractions),
        ], run.config.policy
        assert not any(d.failed_plans for d in run.days)
    assert [(d.day, d.fractions) for d in default.days] == [(saturday, fractions), (monday, fractions)]
    # fixed rounds: containers that cannot wait from one day to the next get a round every day,
    # Sunday's included, and their trucks went
    fixed = runs[0]
    assert fixed.rhythms.get("every service day", 0) > 0
    assert fixed.days[1].stops > 0
    results = [measures(r) for r in runs]
    report = write_report(runs, results, doc, tmp_path).read_text()
    assert "Service days (every policy; other fractions Monday to Saturday): residual mon-sun." in report


def test_the_same_seed_gives_the_same_report_in_parallel_processes(db_server: Any, tmp_path: Path) -> None:
    doc = generate_city("wismar", 30, 4)
    cfg = SimulationConfig(
        days=2, warmup_days=3, run_in_days=1, seed=4, plan_iterations=100, report_interval_h=4.0
    )
    ended: list[tuple[int, PolicyRun]] = []
    runs = run_many(
        [(doc, replace(cfg, policy="dynamic")), (doc, replace(cfg, policy="dynamic"))],
        db_server.admin_url,
        Settings(),
        jobs=2,
        done=lambda i, run: ended.append((i, run)),
    )
    # each run is handed over as it ends, the same run the list returns in task order
    assert sorted(i for i, _ in ended) == [0, 1]
    assert all(run is runs[i] for i, run in ended)
    timing = {"seconds", "planning_seconds"}
    a, b = ({k: v for k, v in measures(r).items() if k not in timing} for r in runs)
    assert a == b
    assert a["collections"] > 0
    assert runs[0].truth.fill_at_emptying == runs[1].truth.fill_at_emptying
    # every plan of every day has its digest, the same in both runs (``a == b`` above)
    digests = a["plan_digests"]
    assert list(digests) == [d.day.isoformat() for d in runs[0].days]
    days = zip(runs[0].days, digests.values(), strict=True)
    assert all(set(plans) == set(d.fractions) for d, plans in days)
    # ... and a digest tells plans apart: a day with routes differs from a fraction-day without any
    planned = {digest for plans in digests.values() for digest in plans.values()}
    assert len(planned) > 1


def test_the_misses_of_small_overflow_probabilities_are_grouped_by_kind_sensor_weekday_and_event() -> None:
    pairs = [(0.01, True), (0.01, False), (0.02, True), (0.5, True), (0.0001, True), (0.03, False)]
    tags = [
        "residual/litter-100;healthy sensor;sat;Christmas market",
        "residual/litter-100;healthy sensor;mon;no event",
        "paper/wheelie-1100;sensor flagged;sat;no event",
        "paper/wheelie-1100;healthy sensor;sat;no event",  # 50 %: not a small probability
        "glass/glass-bank-2500;healthy sensor;sat;no event",  # 0.01 %: below the span
        "glass/glass-bank-2500;healthy sensor;tue;no event",
    ]
    misses = reliability_misses(pairs, tags)
    by_kind = {r["group"]: r for r in misses["kind"]}
    assert by_kind["residual/litter-100"] == {
        "group": "residual/litter-100",
        "n": 2,
        "expected": 0.0,
        "observed": 1,
        "ratio": 50.0,
    }
    assert by_kind["glass/glass-bank-2500"]["n"] == 1 and by_kind["glass/glass-bank-2500"]["observed"] == 0
    # the groups with the most overflows beyond the forecast come first
    assert [r["group"] for r in misses["weekday"]] == ["sat", "mon", "tue"]
    assert {r["group"]: r["observed"] for r in misses["sensor"]} == {"healthy sensor": 1, "sensor flagged": 1}
    assert {r["group"]: (r["n"], r["observed"]) for r in misses["event"]} == {
        "Christmas market": (1, 1),
        "no event": (3, 1),
    }
    with pytest.raises(ValueError, match="tags"):
        reliability_misses(pairs, tags[:-1])


def test_the_truth_counts_the_waste_up_to_an_emptying_and_not_the_residue_left_after_it() -> None:
    import numpy as np

    from wasteroute.simulation.truth import Truth

    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    truth = Truth(1, "Europe/Berlin", start, start + timedelta(days=3), warmup_days=1)
    made = start + timedelta(hours=2)
    for h in range(1, 30):
        t = start + timedelta(hours=h)
        if h == 3:
            # 2 % an hour: 0.04 at 02:00, emptied half an hour later at 0.05, 3 % left in it
            truth.collected(0, t - timedelta(minutes=30), 0.05, residue=0.03)
            truth.hour(t, np.array([0.03 + 0.01]))
            continue
        level = 0.02 * h if h < 3 else 0.04 + 0.02 * (h - 3)
        truth.hour(t, np.array([level]))
        if h == 2:
            # from 0.04 at 02:00, 2 % an hour had nobody emptied it: 0.04 + 0.02 * 23 = 0.50 at 01:00
            truth.expect_band(0, made, start + timedelta(hours=25), 0.495, 0.505)
            truth.expect_band(0, made, start + timedelta(hours=26), 0.515, 0.525)
    assert truth.band == [True, True]


def test_the_truck_table_gives_each_trucks_round_trip_between_depot_and_nearest_facility() -> None:
    from wasteroute.simulation.report import round_trips_km

    doc = {
        "depots": [{"external_id": "d", "lon": 10.0, "lat": 54.0}],
        "facilities": [
            {"lon": 10.0, "lat": 54.01, "fractions": ["paper"]},  # 1.11 km north, paper only
            {"lon": 10.0, "lat": 54.03, "fractions": ["paper", "glass"]},  # 3.34 km north
        ],
        "vehicles": [
            {"external_id": "P", "depot": "d", "fraction": "paper"},
            {"external_id": "G", "depot": "d", "fraction": "glass"},
            {"external_id": "B", "depot": "d", "fraction": "bio"},  # no facility takes bio
        ],
    }
    trips = round_trips_km(doc)
    # there and back, road = straight line x 1.3 (the product's default distances)
    assert trips["P"] == pytest.approx(2 * 1.112 * 1.3, rel=1e-3)
    assert trips["G"] == pytest.approx(2 * 3.336 * 1.3, rel=1e-3)
    assert "B" not in trips


def test_safer_fixed_rounds_choose_more_frequent_rhythms(
    db_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wasteroute.cli import build_parser

    assert build_parser().parse_args(["simulate"]).fixed_service_level == 0.999
    args = build_parser().parse_args(["simulate", "--fixed-service-level", "0.9999"])
    assert args.fixed_service_level == 0.9999
    for bad in (1.0, 0.5):
        with pytest.raises(ValueError, match=r"fixed_service_level must be in \(0.5, 1\)"):
            SimulationConfig(fixed_service_level=bad)
    doc = generate_city("wismar", 40, 2)
    cfg = small_simulation(policy="fixed", days=1)
    usual, safer = run_many(
        [(doc, cfg), (doc, replace(cfg, fixed_service_level=0.99999))], db_server.admin_url, Settings()
    )
    order = [r.name for r in rhythm_options("any:residual")]

    def rounds_a_fortnight(run: PolicyRun) -> list[int]:
        """Each rhythm's rounds in two weeks, once per container."""
        per_two_weeks = {
            "fortnightly": 1,
            "weekly": 2,
            "twice weekly": 4,
            "three times weekly": 6,
            "every working day": 12,
            "every service day": 12,
        }
        return sorted(n for name, count in run.rhythms.items() for n in [per_two_weeks[name]] * count)

    assert set(usual.rhythms) | set(safer.rhythms) <= set(order)
    assert sum(usual.rhythms.values()) == sum(safer.rhythms.values()) == 40
    # the rounds, from the least frequent to the most, come at least as often, some more often
    assert all(a <= b for a, b in zip(rounds_a_fortnight(usual), rounds_a_fortnight(safer), strict=True))
    assert sum(rounds_a_fortnight(safer)) > sum(rounds_a_fortnight(usual))
    report = write_report([safer], [measures(safer)], doc, tmp_path).read_text()
    assert "Fixed rounds' rhythms survive 99.999% of their gaps by the warm-up." in report


def test_the_simulate_command_prints_a_json_line_per_policy_and_writes_its_report(
    db_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasteroute.cli import main

    monkeypatch.setenv("WASTEROUTE_DATABASE_URL", db_server.admin_url)
    small = ["simulate", "--city", "wismar", "--bins", "30", "--days", "1", "--warmup-days", "3"]
    small += ["--run-in-days", "1", "--plan-iterations", "100", "--plan-time-limit", "2", "--jobs", "1"]
    out = tmp_path / "report"
    argv = [*small, "--policy", "fixed,dynamic", "--fixed-service-level", "0.9999", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[0] == f"report: {out / 'report.md'}"
    lines = [json.loads(x) for x in printed[1:]]
    assert [x["policy"] for x in lines] == ["fixed", "dynamic"]
    assert all(list(x) == list(JSON_KEYS) and x["containers"] == 30 and x["days"] == 1 for x in lines)
    saved = json.loads((out / "results.json").read_text())
    assert [s["km"] for s in saved] == [x["km"] for x in lines]
    assert "Fixed rounds' rhythms survive 99.990% of their gaps" in (out / "report.md").read_text()
    # a value out of range is said in one line that names the flag, before anything starts
    capsys.readouterr()
    for bad, why in (
        (
            ["--fixed-service-level", "1.5"],
            "argument --fixed-service-level: expected a number in (0.5, 1), got 1.5",
        ),
        (["--sensor-coverage", "0"], "argument --sensor-coverage: expected a number in (0, 1], got 0"),
        (["--bins", "0"], "argument --bins: expected at least 1, got 0"),
        (["--days", "two"], "argument --days: expected a whole number, got 'two'"),
        (["--plan-time-limit", "nan"], "argument --plan-time-limit: expected a number in (0, ∞), got nan"),
        (["--report-interval", "0"], "argument --report-interval: expected a number in (0, ∞), got 0"),
        (
            ["--perfect-forecast", "--known-model"],
            "argument --known-model: not allowed with argument --perfect-forecast",
        ),
    ):
        with pytest.raises(SystemExit) as stop:
            main([*small, *bad, "--out", str(tmp_path / "never")])
        assert stop.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].endswith(why)
    assert not (tmp_path / "never").exists()
