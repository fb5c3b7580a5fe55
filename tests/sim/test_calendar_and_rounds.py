"""Holidays, fixed rounds, fault specs, start times, fill profiles."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sensors_sim.dynamics import UNNAMED_EVENT, BinSite, FillModel
from sensors_sim.engine import default_start
from sensors_sim.faults import DEFAULT_FAULTS, NO_FAULTS, FaultRates, parse_faults
from sensors_sim.geography import CITIES
from sensors_sim.holidays_de import easter_sunday, public_holidays
from sensors_sim.schedule import BaselineSchedule, Round, parse_hours, round_for

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("year", "easter"), [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5))]
)
def test_easter(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_state_holidays_differ_where_the_law_does() -> None:
    mv, sh = public_holidays(2026, "MV"), public_holidays(2026, "SH")
    assert date(2026, 3, 8) in mv and date(2026, 3, 8) not in sh
    assert date(2026, 10, 31) in mv and date(2026, 10, 31) in sh
    assert date(2026, 5, 14) in sh  # Ascension: Easter + 39
    with pytest.raises(ValueError, match="state"):
        public_holidays(2026, "BY")


def test_fault_specs() -> None:
    assert parse_faults("none") == NO_FAULTS
    assert parse_faults("default") == DEFAULT_FAULTS
    assert parse_faults("dropout=0.1, tilt=0.2") == FaultRates(dropout=0.1, tilt=0.2)
    with pytest.raises(ValueError, match="kind=rate"):
        parse_faults("explode=0.1")
    with pytest.raises(ValueError, match=r"0\.\.1"):
        parse_faults("dropout=1.5")
    with pytest.raises(ValueError, match="<= 1"):
        FaultRates(dropout=0.6, garbage=0.6)


def test_episode_onset_gives_the_configured_share() -> None:
    rng = random.Random(3)
    p = FaultRates.episode_onset(0.05, 10.0)
    left, faulty, n = 0, 0, 200_000
    for _ in range(n):
        if left == 0 and rng.random() < p:
            left = 1 + int(np.log(1 - rng.random()) / np.log(1 - 0.1))
        if left > 0:
            left -= 1
            faulty += 1
    assert faulty / n == pytest.approx(0.05, rel=0.1)


def test_default_start_ends_the_run_in_the_past() -> None:
    now = datetime(2026, 11, 22, 12, 30, 45, tzinfo=UTC)
    assert default_start(7, None, now) == datetime(2026, 11, 15, 12, 30, tzinfo=UTC)
    # at 100x, 7 simulated days take 1.68 wall hours; the run must end by then
    s = default_start(7, 100.0, now)
    end_sim = s + timedelta(days=7)
    end_wall = now + timedelta(days=7 / 100)
    assert end_sim <= end_wall and end_wall - end_sim < timedelta(minutes=1)
    assert default_start(3, 1.0, now) == now.replace(second=0)


def test_rounds_follow_the_need_and_move_off_sundays_and_holidays() -> None:
    rng = random.Random(1)
    assert round_for(0.6, rng)[0] == (0, 1, 2, 3, 4, 5)  # litter in the centre: daily
    assert len(round_for(0.15, rng)[0]) == 2  # paper: twice a week
    wd, parity = round_for(0.03, rng)
    assert len(wd) == 1 and parity in (0, 1)  # slow glass: fortnightly
    assert parse_hours("06:00-11:30") == (21600, 41400)
    with pytest.raises(ValueError):
        parse_hours("11:00-06:00")
    # a Monday round in the week of Easter Monday moves to Tuesday
    sched = BaselineSchedule(
        [Round((0,), None, 7 * 3600)], "Europe/Berlin", public_holidays(2026, "SH").__contains__
    )
    after = datetime(2026, 4, 4, tzinfo=UTC)
    nxt = sched.next_after(0, after).astimezone(BERLIN)
    assert nxt.date() == date(2026, 4, 7) and nxt.hour == 7
    assert sched.next_after(0, sched.next_after(0, after)).astimezone(BERLIN).date() == date(2026, 4, 13)


def _model(start: datetime) -> FillModel:
    bins = [
        BinSite("glass", "glass-bank-2500", 10.6866, 53.8664),
        BinSite("residual", "litter-100", 10.6866, 53.8664),  # Lübeck old town
        BinSite("residual", "wheelie-1100", 10.8680, 53.9600),
    ] * 50
    return FillModel(bins, CITIES["luebeck"], start, np.random.default_rng(4))


def test_glass_banks_stay_quiet_at_night() -> None:
    start = datetime(2026, 3, 2, 23, tzinfo=UTC)  # 00:00 local
    m = _model(start)
    inc = np.array([m.hour_increment(h) for h in range(24)])
    glass = inc[:, 0::3].sum(axis=1)
    assert np.all(glass[:7] == 0) and np.all(glass[20:] == 0) and glass[10] > 0
    litter = inc[:, 1::3].sum(axis=1)
    assert litter[12] > 3 * litter[3]


def test_christmas_market_fills_old_town_litter_bins() -> None:
    def litter_day(start: datetime) -> float:
        m = _model(start)
        return float(sum(m.hour_increment(h)[1::3].sum() for h in range(24)))

    market = np.mean([litter_day(datetime(2026, 12, d, 23, tzinfo=UTC)) for d in (8, 9, 10)])
    plain = np.mean([litter_day(datetime(2026, 10, d, 22, tzinfo=UTC)) for d in (13, 14, 15)])
    assert market > 1.5 * plain


def test_rates_are_long_tailed() -> None:
    m = _model(datetime(2026, 3, 2, tzinfo=UTC))
    r = m.mean_rate_per_day[2::3]
    assert r.mean() > np.median(r) and r.max() > 2.5 * np.median(r)


def test_what_the_model_knows_in_advance_is_the_calendar_and_the_named_events() -> None:
    m = _model(datetime(2026, 11, 1, tzinfo=UTC))
    # Christmas: glass +80 %, residual +20 %; the litter bins' season on top
    eve, plain = m.calendar_factor(date(2026, 12, 24)), m.calendar_factor(date(2026, 12, 10))
    assert eve[0] / plain[0] == pytest.approx(1.8) and eve[2] / plain[2] == pytest.approx(1.2)
    # the Christmas market (from 24 November) near the old-town litter bin, not in Travemünde
    market = m.named_event_factor(date(2026, 11, 30))
    assert market[1] == pytest.approx(2.2) and market[2] == 1.0
    assert np.all(m.named_event_factor(date(2026, 11, 10)) == 1.0)
    # what a perfect model knows of a day is both
    d = date(2026, 11, 30)
    assert np.array_equal(m.known_factor(d), m.calendar_factor(d) * m.named_event_factor(d))
    # an unnamed event the model drew is not known in advance
    for h in range(24 * 60):
        m.hour_increment(h)
    unnamed = [ev for ev in m.events if ev.name == UNNAMED_EVENT]
    assert unnamed
    for ev in unnamed:
        for d in ev.days:
            if not any(e.name != UNNAMED_EVENT and d in e.days for e in m.events):
                assert np.all(m.named_event_factor(d) == 1.0)
