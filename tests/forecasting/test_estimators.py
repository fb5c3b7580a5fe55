"""Behaviour of the fill estimators on small hand-built series."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from wasteroute.forecasting import (
    EmptyingSource,
    FillEstimate,
    ForecastParams,
    HealthFlag,
    RateSource,
    ReadingSeries,
    WeekProfile,
    analyse_fill,
    estimate_fill,
    estimate_fleet,
    similar_rates,
    theil_sen,
    time_to_threshold,
)

T0 = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)  # a Monday
H = 3600.0
RATE = 0.1 / 24  # 10 % a day


def hourly(
    hours: int,
    *,
    rate: float = RATE,
    start_fill: float = 0.05,
    noise: float = 0.0,
    seed: int = 0,
    every_h: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = T0.timestamp() + H * np.arange(0, hours, every_h)
    y = start_fill + rate * (t - t[0]) / H + rng.normal(0.0, noise, t.shape[0])
    return t, y


def series(t: np.ndarray, y: np.ndarray, reports: list[float] | None = None) -> ReadingSeries:
    return ReadingSeries(times_s=t, fill_levels=y, emptied_at_s=np.array(reports or []))


# ---- rates ---------------------------------------------------------------------------------------


def test_clean_series_recovers_rate_and_level() -> None:
    t, y = hourly(72)
    now = t[-1] + 0.5 * H
    est = estimate_fill(series(t, y), now=now)
    assert est.healthy
    assert est.rate_source is RateSource.SENSOR
    assert est.rate_per_h == pytest.approx(RATE, rel=0.02)
    assert est.fill_now == pytest.approx(0.05 + RATE * (now - t[0]) / H, abs=0.005)


def test_noisy_series_recovers_rate() -> None:
    t, y = hourly(96, noise=0.02, seed=3)
    est = estimate_fill(series(t, y), now=t[-1])
    assert est.rate_per_h == pytest.approx(RATE, rel=0.12)
    assert est.fill_now == pytest.approx(0.05 + RATE * 95, abs=0.03)
    assert 0.01 < est.noise_sd < 0.04


def test_outliers_do_not_move_the_rate() -> None:
    t, y = hourly(96, noise=0.01, seed=4)
    rng = np.random.default_rng(5)
    bad = rng.choice(np.arange(5, 90), size=9, replace=False)
    y[bad] = rng.choice([0.0, 0.98], size=bad.shape[0])  # lost echoes and obstructions
    est = estimate_fill(series(t, y), now=t[-1])
    assert est.healthy
    assert est.rate_per_h == pytest.approx(RATE, rel=0.1)
    assert est.fill_now == pytest.approx(0.05 + RATE * 95, abs=0.03)


def test_theil_sen_ignores_a_third_of_wild_points() -> None:
    x = np.arange(30, dtype=float)
    y = 2.0 + 0.5 * x
    y[::3] = 100.0
    slope, intercept = theil_sen(x, y)
    assert slope == pytest.approx(0.5)
    assert intercept == pytest.approx(2.0)


def test_forecast_mean_follows_rate_and_band_widens() -> None:
    t, y = hourly(72, noise=0.01)
    est = estimate_fill(series(t, y), now=t[-1])
    m6, sd6 = est.at(t[-1] + 6 * H)
    m24, sd24 = est.at(datetime.fromtimestamp(t[-1] + 24 * H, tz=UTC))
    assert m24 - est.fill_now == pytest.approx(24 * est.rate_per_h)
    assert m6 < m24
    assert est.fill_now_sd < sd6 < sd24


# ---- emptyings -----------------------------------------------------------------------------------


def _emptied_series() -> tuple[np.ndarray, np.ndarray, float]:
    t, y = hourly(60, noise=0.005, start_fill=0.3)
    cut = 40
    y[cut:] = 0.02 + RATE * (t[cut:] - t[cut]) / H
    return t, y, float(t[cut])


def test_emptying_found_from_a_drop_alone() -> None:
    t, y, first_after = _emptied_series()
    est = estimate_fill(series(t, y), now=t[-1])
    assert est.last_emptied_at_s is not None
    assert first_after - H <= est.last_emptied_at_s <= first_after
    assert est.emptyings[-1].source is EmptyingSource.DROP
    assert est.fill_now == pytest.approx(0.02 + RATE * 19, abs=0.02)
    assert est.rate_per_h == pytest.approx(RATE, rel=0.15)


def test_a_small_fall_to_near_empty_is_an_emptying_without_a_report() -> None:
    # the old rounds empty a litter bin every day at about a fifth full, read every 4 hours: no
    # driver report, and the robust levels fall by about 0.1 only
    rate = 0.2 / 24
    t, _ = hourly(120, every_h=4.0)
    y = 0.02 + rate * ((t - t[0]) / H % 24.0) + np.random.default_rng(3).normal(0.0, 0.005, t.shape[0])
    est = estimate_fill(series(t, y), now=t[-1] + 1.0)
    assert len(est.emptyings) == 4
    assert all(e.source is EmptyingSource.DROP for e in est.emptyings)
    assert not est.flags
    assert est.rate_per_h == pytest.approx(rate, rel=0.2)


def test_lost_echoes_that_read_empty_between_readings_of_the_old_level_are_no_emptying() -> None:
    # a slow container a fifth full; two of three readings read empty (the echo was lost)
    t, y = hourly(96, rate=0.01 / 24, noise=0.004, start_fill=0.2, every_h=4.0)
    y[12], y[14] = 0.0, 0.0
    est = estimate_fill(series(t, y), now=t[-1] + 1.0)
    assert est.emptyings == ()


def test_a_small_fall_that_leaves_waste_in_the_container_is_no_emptying() -> None:
    # waste settles or a bag is taken out: 0.6 -> 0.5 is no emptying, and no fall to near empty
    t, y = hourly(48, noise=0.003, start_fill=0.5)
    y[24:] -= 0.1
    est = estimate_fill(series(t, y), now=t[-1] + 1.0)
    assert est.emptyings == ()


def test_drop_matched_with_a_report_takes_the_report_time() -> None:
    t, y, first_after = _emptied_series()
    report = first_after - 0.4 * H
    est = estimate_fill(series(t, y, [report]), now=t[-1])
    assert est.last_emptied_at_s == pytest.approx(report)
    assert est.emptyings[-1].source is EmptyingSource.DROP_AND_REPORT
    assert len(est.emptyings) == 1


def test_report_without_readings_after_it_restarts_the_cycle() -> None:
    t, y = hourly(48, noise=0.005, start_fill=0.4)
    report = t[-1] + 0.5 * H
    now = report + 3 * H
    est = estimate_fill(series(t, y, [report]), now=now)
    assert est.last_emptied_at_s == pytest.approx(report)
    assert est.emptyings[-1].source is EmptyingSource.REPORT
    assert est.fill_now == pytest.approx(ForecastParams().residual_fill + 3 * est.rate_per_h, abs=0.01)
    assert est.rate_per_h == pytest.approx(RATE, rel=0.15)  # the usual rate from the earlier cycle


def test_single_low_last_reading_at_night_needs_a_report() -> None:
    t, y = hourly(48, noise=0.005, start_fill=0.4)
    y[-1] = 0.01  # Wednesday 00:00 in Berlin: no truck collects then
    alone = estimate_fill(series(t, y), now=t[-1])
    assert alone.last_emptied_at_s is None
    assert alone.fill_now > 0.5  # one low value may be a lost echo: the container stays full
    reported = estimate_fill(series(t, y, [t[-1] - 0.3 * H]), now=t[-1])
    assert reported.last_emptied_at_s == pytest.approx(t[-1] - 0.3 * H)
    assert reported.fill_now < 0.1


def test_single_low_reading_during_collection_hours_counts_as_emptying() -> None:
    t, y = hourly(35, noise=0.005, start_fill=0.5)  # last reading Tuesday 10:00 UTC, 12:00 in Berlin
    y[-1] = 0.02
    est = estimate_fill(series(t, y), now=t[-1])
    assert est.last_emptied_at_s is not None
    assert est.fill_now < 0.1
    strict = estimate_fill(series(t, y), now=t[-1], params=ForecastParams(single_reading_emptying=False))
    assert strict.last_emptied_at_s is None
    assert strict.fill_now > 0.5


def test_future_readings_are_ignored() -> None:
    t, y, first_after = _emptied_series()
    before = estimate_fill(series(t, y), now=first_after - 2 * H)
    assert before.last_emptied_at_s is None
    assert before.fill_now > 0.4


# ---- weekday profile ------------------------------------------------------------------------------


def test_weekday_profile_learns_busy_weekends() -> None:
    start = T0.timestamp()
    t = start + H * np.arange(0, 24 * 42, 2.0)
    weekday = ((t - start) // (24 * H)).astype(int) % 7  # T0 is a Monday 00:00 UTC
    rate = np.where(weekday >= 5, 2.0, 0.75) * RATE
    y = np.empty_like(t)
    level = 0.02
    for i in range(t.shape[0]):
        if i and level > 0.8:
            level = 0.02
        elif i:
            level += rate[i - 1] * 2.0
        y[i] = level
    est = estimate_fill(series(t, y), now=t[-1], params=ForecastParams(timezone="UTC"))
    mult = np.array(est.profile.multipliers).reshape(7, -1).mean(axis=1)
    assert mult[5:].min() > 1.3 * mult[:5].max()
    # the weekly mean rate is what the profile is normalised to
    assert est.rate_per_h == pytest.approx(rate.mean(), rel=0.15)


def test_week_profile_validates_itself() -> None:
    with pytest.raises(ValueError, match="average 1"):
        WeekProfile(multipliers=(2.0,) * 7)
    with pytest.raises(ValueError, match="7 \\* bins_per_day"):
        WeekProfile(multipliers=(1.0,) * 5)
    with pytest.raises(ValueError, match="IANA"):
        WeekProfile(multipliers=(1.0,) * 7, timezone="Mars/Olympus")


# ---- health and fallback --------------------------------------------------------------------------


def test_stale_sensor_keeps_its_own_rate_rather_than_its_peers() -> None:
    # rates differ from container to container far more than from day to day: a busy site whose
    # sensor died goes on filling at its own rate, not at its peers' median
    t, y = hourly(48, noise=0.005)
    now = t[-1] + 50 * H
    est = estimate_fill(series(t, y), now=now, similar_rate_per_h=0.05 / 24)
    assert HealthFlag.STALE in est.flags
    assert est.rate_source is RateSource.HISTORY
    assert est.rate_per_h == pytest.approx(RATE, rel=0.15)
    last_level = 0.05 + RATE * 47
    assert est.fill_now == pytest.approx(last_level + RATE * 50, abs=0.03)
    assert any("stale" in n for n in est.notes)


def test_stale_sensor_without_a_rate_of_its_own_uses_similar_containers() -> None:
    t, y = hourly(3, noise=0.005)
    now = t[-1] + 50 * H
    est = estimate_fill(series(t, y), now=now, similar_rate_per_h=0.2 / 24)
    assert HealthFlag.STALE in est.flags
    assert est.rate_source is RateSource.SIMILAR
    assert est.rate_per_h == pytest.approx(0.2 / 24)
    assert est.fill_now == pytest.approx(0.05 + RATE * 2 + 0.2 / 24 * 50, abs=0.03)


def test_silent_sensor_restarts_from_each_later_emptying() -> None:
    # a sensor that went silent keeps being emptied: every report after its last reading is a new
    # emptying, and the forecast starts from the latest one (not from the first, filling on and on)
    t, y = hourly(48, noise=0.005, start_fill=0.1)
    reports = [t[-1] + k * 24 * H for k in (1, 2, 3)]
    now = reports[-1] + 2 * H
    est = estimate_fill(series(t, y, reports), now=now, similar_rate_per_h=RATE)
    assert HealthFlag.STALE in est.flags
    assert est.last_emptied_at_s == pytest.approx(reports[-1])
    assert est.fill_now == pytest.approx(ForecastParams().residual_fill + 2 * RATE, abs=0.02)


def test_stale_sensor_without_similar_falls_back_to_its_history() -> None:
    t, y = hourly(48, noise=0.005, start_fill=0.5)
    y[30:] = 0.02 + RATE * np.arange(18)  # an emptying gives one complete earlier cycle
    est = estimate_fill(series(t, y), now=t[-1] + 60 * H)
    assert HealthFlag.STALE in est.flags
    assert est.rate_source is RateSource.HISTORY
    assert est.rate_per_h == pytest.approx(RATE, rel=0.15)


def test_stuck_sensor_is_flagged_only_while_others_rise() -> None:
    t, y = hourly(120, noise=0.005)
    y[50:] = y[50]
    rising = estimate_fill(series(t, y), now=t[-1], similar_rate_per_h=RATE)
    assert HealthFlag.STUCK in rising.flags
    # the level is carried forward from when it froze
    assert rising.fill_now == pytest.approx(y[50] + RATE * (120 - 1 - 50), abs=0.03)
    idle = estimate_fill(series(t, y), now=t[-1], similar_rate_per_h=0.0)
    assert HealthFlag.STUCK not in idle.flags


def test_full_container_saturating_the_sensor_is_not_stuck() -> None:
    t, y = hourly(120, rate=0.4 / 24, start_fill=0.1)
    y = np.minimum(y, 1.1)
    est = estimate_fill(series(t, y), now=t[-1], similar_rate_per_h=RATE)
    assert HealthFlag.STUCK not in est.flags
    assert est.fill_now >= 1.0


def test_falling_fill_without_emptying_is_implausible() -> None:
    t, y = hourly(72, rate=-0.15 / 24, start_fill=0.8, noise=0.005)
    est = estimate_fill(series(t, y), now=t[-1], similar_rate_per_h=RATE)
    assert HealthFlag.IMPLAUSIBLE in est.flags
    assert est.rate_source is RateSource.SIMILAR
    assert any("falls" in n for n in est.notes)


def test_out_of_range_readings_are_implausible() -> None:
    t, y = hourly(72, noise=0.005)
    y[-40::2] = 3.5  # half the readings of the last 40 hours
    est = estimate_fill(series(t, y), now=t[-1], similar_rate_per_h=RATE)
    assert HealthFlag.IMPLAUSIBLE in est.flags
    assert any("out of range" in n for n in est.notes)


def test_jumping_readings_are_implausible() -> None:
    t, y = hourly(72, noise=0.005)
    rng = np.random.default_rng(2)
    y[-40:] = rng.uniform(0.0, 1.0, 40)
    est = estimate_fill(series(t, y), now=t[-1], similar_rate_per_h=RATE)
    assert HealthFlag.IMPLAUSIBLE in est.flags


def test_no_readings_without_similar_has_no_rate() -> None:
    empty = ReadingSeries(times_s=np.zeros(0), fill_levels=np.zeros(0))
    est = estimate_fill(empty, now=T0)
    assert est.flags == {HealthFlag.NO_DATA}
    assert est.rate_source is RateSource.NONE
    assert est.fill_now_sd >= 0.25


def test_healthy_sensor_is_not_flagged_by_ordinary_noise() -> None:
    t, y = hourly(24 * 14, noise=0.02, seed=9, every_h=2.0)
    y = np.where(y > 0.85, y - 0.8, y)  # emptied whenever full
    est = estimate_fill(series(t, y), now=t[-1] + H, similar_rate_per_h=RATE)
    assert est.healthy, est.notes


# ---- helpers on estimates -------------------------------------------------------------------------


def _estimate(fill: float, rate: float) -> FillEstimate:
    return FillEstimate(
        now_s=T0.timestamp(),
        fill_now=fill,
        fill_now_sd=0.02,
        rate_per_h=rate,
        rate_sd_per_h=0.0,
        process_var_per_h=0.0,
        profile=WeekProfile.flat(),
        rate_source=RateSource.SENSOR,
    )


def test_time_to_threshold() -> None:
    assert time_to_threshold(_estimate(0.3, 0.01), 0.8) == pytest.approx(50.0)
    assert time_to_threshold(_estimate(0.9, 0.01), 0.8) == 0.0
    assert math.isinf(time_to_threshold(_estimate(0.3, 0.0), 0.8))
    assert math.isinf(time_to_threshold(_estimate(0.3, 0.01), 0.8, max_horizon_h=10))


def test_time_to_threshold_follows_the_profile() -> None:
    # all the filling happens on Saturdays and Sundays
    mult = (0.0,) * 5 + (3.5, 3.5)
    est = FillEstimate(
        now_s=T0.timestamp(),  # Monday 00:00 UTC
        fill_now=0.1,
        fill_now_sd=0.0,
        rate_per_h=0.01,
        rate_sd_per_h=0.0,
        process_var_per_h=0.0,
        profile=WeekProfile(multipliers=mult, timezone="UTC"),
        rate_source=RateSource.SENSOR,
    )
    hours = time_to_threshold(est, 0.45)  # needs 35 weekly-mean hours = 10 Saturday hours
    assert hours == pytest.approx(5 * 24 + 10, abs=1e-6)


def test_similar_rates_and_fleet_fallback() -> None:
    fleet: dict[str, ReadingSeries] = {}
    for i in range(4):
        t, y = hourly(72, rate=RATE * (1 + 0.1 * i), noise=0.005, seed=i)
        fleet[f"ok{i}"] = series(t, y)
    t, y = hourly(72, noise=0.005)
    y[10:] = y[10]  # stuck
    fleet["stuck"] = series(t, y)
    now = T0.timestamp() + 72 * H
    first = {k: estimate_fill(s, now=now) for k, s in fleet.items()}
    medians = similar_rates(first.values())
    assert set(medians) == {("residual", "unknown")}
    out = estimate_fleet(fleet, now=now)
    assert HealthFlag.STUCK in out["stuck"].flags
    assert out["stuck"].rate_source is RateSource.SIMILAR
    assert out["stuck"].rate_per_h == pytest.approx(medians[("residual", "unknown")])
    assert out["ok0"].healthy


# ---- determinism and validation -------------------------------------------------------------------


def test_same_input_same_estimate() -> None:
    t, y = hourly(24 * 30, noise=0.02, seed=11, every_h=3.0)
    y = np.where(y > 0.8, y - 0.75, y)
    a = estimate_fill(series(t, y), now=t[-1])
    b = estimate_fill(series(t, y), now=t[-1])
    assert a == b


def test_series_validation_messages() -> None:
    with pytest.raises(ValueError, match="same length"):
        ReadingSeries(times_s=np.zeros(3), fill_levels=np.zeros(2))
    with pytest.raises(ValueError, match="sorted oldest first"):
        ReadingSeries(times_s=np.array([2.0, 1.0]), fill_levels=np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        ReadingSeries(times_s=np.array([1.0, 2.0]), fill_levels=np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="timezone-aware"):
        ReadingSeries.from_readings([datetime(2026, 1, 1)], [0.1])
    s = ReadingSeries.from_readings([T0 + timedelta(hours=2), T0], [0.3, 0.1])
    assert list(s.fill_levels) == [0.1, 0.3]


def test_params_and_inputs_validation_messages() -> None:
    with pytest.raises(ValueError, match="stale_after_h must be > 0"):
        ForecastParams(stale_after_h=0)
    with pytest.raises(ValueError, match="partial_drop"):
        ForecastParams(partial_drop=0.3, emptying_drop=0.2)
    with pytest.raises(ValueError, match="IANA"):
        ForecastParams(timezone="Nowhere/City")
    t, y = hourly(10)
    with pytest.raises(ValueError, match="similar_rate_per_h"):
        estimate_fill(series(t, y), now=t[-1], similar_rate_per_h=-1.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        estimate_fill(series(t, y), now=datetime(2026, 10, 6))


def test_analysis_concluded_with_a_peer_rate_equals_a_fresh_estimate() -> None:
    # the fleet analyses a container once and concludes it with and without its peers' rate
    t, y = hourly(24 * 20, noise=0.01, seed=3)
    s = series(t[:-60], y[:-60])  # stale: the conclusion depends on the rate of similar containers
    now = t[-1]
    analysis = analyse_fill(s, now=now)
    for similar in (None, 0.004, None, 0.002):
        direct = estimate_fill(s, now=now, similar_rate_per_h=similar)
        assert analysis.estimate(similar) == direct
    with pytest.raises(ValueError, match="similar_rate_per_h"):
        analysis.estimate(-1.0)


def test_theil_sen_equals_the_plain_weighted_median_of_pairwise_slopes() -> None:
    # the fast weighted median (a bracket sorted alone) picks what a full sort picks
    rng = np.random.default_rng(11)
    for n in (3, 20, 60, 150, 300):
        x = np.sort(rng.uniform(0, 200, n))
        y = 0.004 * x + rng.normal(0, 0.02, n) + np.where(rng.random(n) < 0.1, 0.5, 0.0)
        i, j = np.triu_indices(n, k=1)
        dx = x[j] - x[i]
        slopes = (y[j] - y[i]) / dx
        order = np.argsort(slopes, kind="stable")
        cum = np.cumsum((dx**2)[order])
        expected = slopes[order][int(np.searchsorted(cum, 0.5 * cum[-1]))]
        slope, intercept = theil_sen(x, y)
        assert slope == expected
        assert intercept == pytest.approx(float(np.median(y - expected * x)), abs=1e-15)
