"""Must-go / may-go / skip decisions from fill forecasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wasteroute.forecasting import FillEstimate, HealthFlag, RateSource, WeekProfile
from wasteroute.planning.selection import (
    BinSelection,
    SelectionInput,
    SelectionParams,
    SelectionStatus,
    select_bins,
)

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday, 06:00 in Berlin
VISIT = NOW + timedelta(hours=5)
NEXT = VISIT + timedelta(days=1)


def estimate(
    fill_now: float,
    rate_per_day: float = 0.0,
    *,
    sd: float = 0.0,
    flags: frozenset[HealthFlag] = frozenset(),
    source: RateSource = RateSource.SENSOR,
    notes: tuple[str, ...] = (),
) -> FillEstimate:
    return FillEstimate(
        now_s=NOW.timestamp(),
        fill_now=fill_now,
        fill_now_sd=sd,
        rate_per_h=rate_per_day / 24,
        rate_sd_per_h=0.0,
        process_var_per_h=0.0,
        profile=WeekProfile.flat(),
        rate_source=source,
        flags=flags,
        notes=notes,
    )


def decide(
    est: FillEstimate,
    params: SelectionParams | None = None,
    *,
    city: str = "luebeck",
    fraction: str = "paper",
) -> BinSelection:
    (out,) = select_bins(
        [SelectionInput("b1", city, fraction, est)], visit_at=VISIT, next_visit_at=NEXT, params=params
    )
    return out


def test_threshold_boundary_at_the_visit() -> None:
    at = decide(estimate(0.8))
    assert at.status is SelectionStatus.MUST_GO
    assert "threshold" in at.reason
    just_below = decide(estimate(0.7999))
    assert just_below.status is SelectionStatus.MAY_GO
    assert "within 10%" in just_below.reason


def test_growth_until_the_visit_counts() -> None:
    # 0.7 now, 0.24/day: 0.75 at the visit five hours later -> may-go; 0.48/day: 0.80 -> must-go
    assert decide(estimate(0.7, 0.24)).status is SelectionStatus.MAY_GO
    assert decide(estimate(0.7, 0.48)).fill_at_visit == pytest.approx(0.8)
    assert decide(estimate(0.7, 0.48)).status is SelectionStatus.MUST_GO


def test_overflow_before_the_next_planning_day_is_must_go() -> None:
    # 0.6 at the visit but 1.02 a day later
    sel = decide(estimate(0.6 - 0.42 * 5 / 24, 0.42))
    assert sel.fill_at_visit < 0.7
    assert sel.status is SelectionStatus.MUST_GO
    assert "overflow" in sel.reason
    # a slower container at the same level stays below full until the next visit
    slow = decide(estimate(0.5, 0.2))
    assert slow.status is SelectionStatus.SKIP


def test_far_below_is_skip_and_margin_is_configurable() -> None:
    assert decide(estimate(0.65)).status is SelectionStatus.SKIP
    wide = SelectionParams(margin=0.2)
    assert decide(estimate(0.65), wide).status is SelectionStatus.MAY_GO


def test_uncertain_forecast_can_be_may_go_by_overflow_risk() -> None:
    sel = decide(estimate(0.55, 0.2, sd=0.2))
    assert sel.status is SelectionStatus.MAY_GO
    assert "chance of overflow" in sel.reason
    assert sel.overflow_probability >= 0.05


def test_prize_grows_with_urgency() -> None:
    prizes = [decide(estimate(f, 0.2, sd=0.05)).prize for f in (0.3, 0.5, 0.65, 0.75, 0.85)]
    assert prizes == sorted(prizes)
    assert prizes[-1] > 2 * prizes[0]


def test_thresholds_per_city_and_fraction() -> None:
    params = SelectionParams(thresholds={("rostock", "glass"): 0.9})
    assert decide(estimate(0.85), params, city="rostock", fraction="glass").status is SelectionStatus.MAY_GO
    assert decide(estimate(0.85), params, city="rostock", fraction="paper").status is SelectionStatus.MUST_GO
    assert decide(estimate(0.85), params, city="rostock", fraction="glass").threshold == 0.9


def test_flagged_sensor_says_it_uses_the_fallback_rate() -> None:
    est = estimate(
        0.5,
        0.1,
        flags=frozenset({HealthFlag.STALE}),
        source=RateSource.SIMILAR,
        notes=("stale: no reading for 40 h",),
    )
    sel = decide(est)
    assert "Sensor flagged (stale)" in sel.reason
    assert "median rate of similar containers" in sel.reason
    assert sel.flags == {HealthFlag.STALE}


def test_unknown_container_is_may_go() -> None:
    est = estimate(0.5, 0.0, sd=0.3, flags=frozenset({HealthFlag.NO_DATA}), source=RateSource.NONE)
    assert decide(est).status is SelectionStatus.MAY_GO


def test_order_is_kept_and_results_are_deterministic() -> None:
    items = [SelectionInput(f"b{i}", "luebeck", "paper", estimate(0.1 * i, 0.1)) for i in range(10)]
    a = select_bins(items, visit_at=VISIT, next_visit_at=NEXT)
    b = select_bins(items, visit_at=VISIT, next_visit_at=NEXT)
    assert a == b
    assert [s.bin_id for s in a] == [f"b{i}" for i in range(10)]


def test_per_bin_visit_time_overrides_the_plan() -> None:
    late = SelectionInput("b1", "luebeck", "paper", estimate(0.7, 0.24), visit_at=VISIT + timedelta(hours=6))
    (sel,) = select_bins([late], visit_at=VISIT, next_visit_at=NEXT)
    assert sel.fill_at_visit == pytest.approx(0.7 + 0.01 * 11)
    assert sel.status is SelectionStatus.MUST_GO


def test_validation_messages() -> None:
    item = SelectionInput("b1", "luebeck", "paper", estimate(0.5))
    with pytest.raises(ValueError, match="must be after visit_at"):
        select_bins([item], visit_at=VISIT, next_visit_at=VISIT)
    with pytest.raises(ValueError, match="timezone-aware"):
        select_bins([item], visit_at=datetime(2026, 11, 23, 10), next_visit_at=NEXT)
    with pytest.raises(ValueError, match="appears twice"):
        select_bins([item, item], visit_at=VISIT, next_visit_at=NEXT)
    with pytest.raises(ValueError, match="threshold for luebeck/glass"):
        SelectionParams(thresholds={("luebeck", "glass"): 1.5})
    with pytest.raises(ValueError, match="margin"):
        SelectionParams(margin=0.9)
    with pytest.raises(ValueError, match="overflow_cost"):
        SelectionParams(overflow_cost=-1.0)
