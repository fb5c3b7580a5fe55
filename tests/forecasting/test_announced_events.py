"""Announced local events in a container's forecast: more waste on the event's days, counted once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wasteroute.forecasting import RateSource, WeekProfile
from wasteroute.forecasting.estimators import FillEstimate
from wasteroute.forecasting.events import AnnouncedEvent, WithEvents, with_events

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_6 = datetime(2026, 11, 23, 6, 0, tzinfo=BERLIN)  # a Monday
MARKET = AnnouncedEvent(
    name="Christmas market",
    first_day=date(2026, 11, 24),
    last_day=date(2026, 11, 28),
    lon=10.6866,
    lat=53.8664,
    radius_m=500,
    factors={"litter-100": 2.0, "*": 1.2},
)


def _estimate(now: datetime, rate_per_h: float = 0.01) -> FillEstimate:
    return FillEstimate(
        now_s=now.timestamp(),
        fill_now=0.1,
        fill_now_sd=0.02,
        rate_per_h=rate_per_h,
        rate_sd_per_h=0.003,
        process_var_per_h=0.0,
        profile=WeekProfile.flat(),
        rate_source=RateSource.SENSOR,
        container_type="litter-100",
    )


def _with(e: FillEstimate, container_type: str = "litter-100", lon: float = 10.6870) -> FillEstimate:
    return with_events(
        e,
        [MARKET],
        lon=lon,
        lat=53.8666,
        container_type=container_type,
        timezone="Europe/Berlin",
        half_life_days=3.0,
    )


def test_an_announced_event_adds_its_waste_on_its_days_only() -> None:
    e = _estimate(MONDAY_6)
    adjusted = _with(e)
    assert isinstance(adjusted, WithEvents)
    midnight = datetime(2026, 11, 24, 0, 0, tzinfo=BERLIN)
    # before the market opens nothing changes
    assert adjusted.at(midnight) == pytest.approx(e.at(midnight))
    # Tuesday brings twice its usual waste: 18 h + 2 x 24 h at 1 % an hour
    tuesday_night = midnight + timedelta(days=1)
    assert adjusted.at(tuesday_night)[0] == pytest.approx(0.1 + 0.01 * (18 + 48))
    assert adjusted.at(tuesday_night)[1] > e.at(tuesday_night)[1]
    assert adjusted.probability_at_least(tuesday_night, 0.6) > e.probability_at_least(tuesday_night, 0.6)
    assert any("Christmas market" in n and "×2" in n for n in adjusted.notes)
    # other container types get the "*" factor
    other = _with(e, container_type="wheelie-1100")
    assert other.at(tuesday_night)[0] == pytest.approx(0.1 + 0.01 * (18 + 24 * 1.2))


def test_a_container_outside_the_radius_or_without_a_factor_keeps_its_forecast() -> None:
    e = _estimate(MONDAY_6)
    assert _with(e, lon=10.72) is e  # about 2 km east
    no_star = AnnouncedEvent(
        "Fair", MARKET.first_day, MARKET.last_day, 10.6866, 53.8664, 500, {"glass-bank": 3.0}
    )
    assert (
        with_events(
            e,
            [no_star],
            lon=10.687,
            lat=53.8666,
            container_type="litter-100",
            timezone="Europe/Berlin",
            half_life_days=3.0,
        )
        is e
    )


def test_once_the_rate_has_seen_the_event_it_is_not_counted_twice() -> None:
    # Thursday: three market days are in the readings, and the rate (half-life 3 days) has learnt part of them
    thursday = datetime(2026, 11, 26, 6, 0, tzinfo=BERLIN)
    e = _estimate(thursday, rate_per_h=0.015)
    adjusted = _with(e)
    assert isinstance(adjusted, WithEvents)
    weights = [0.5 ** (k / 3) for k in range(1, 15)]
    seen = (sum(weights[:2]) * 2.0 + sum(weights[2:])) / sum(weights)
    factors = {datetime.fromtimestamp(a, BERLIN).date(): m for a, _, m in adjusted.days}
    # the market's remaining days: what it adds beyond what the rate has seen
    assert factors[date(2026, 11, 27)] == pytest.approx(2.0 / seen)
    assert 1.0 < factors[date(2026, 11, 27)] < 2.0
    # after it closes, the rate still carries its waste for a while: those days are taken down
    assert factors[date(2026, 11, 29)] == pytest.approx(1.0 / seen) and factors[date(2026, 11, 29)] < 1.0
    assert len(factors) == 22  # today and three weeks ahead, every day different from 1
