"""Perfect foresight, the simulator's what-if: the fill model read ahead is the waste the simulation
really adds, and a run planned from it knows every overflow before it happens."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sensors_sim.city import generate_city
from sensors_sim.dynamics import OVERFILL_CAP, WEEKDAY_PROFILE
from sensors_sim.engine import SimStats, fill_increments, local_events, simulate
from tests.support import small_simulation
from wasteroute.config import Settings
from wasteroute.forecasting import RateSource, WeekProfile
from wasteroute.simulation.foresight import KnownFill, ModelFill, kind_profile
from wasteroute.simulation.measures import measures
from wasteroute.simulation.report import run_many, write_report

START = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # Monday 00:00 in Berlin


def test_fill_increments_are_the_waste_the_simulation_adds_hour_by_hour() -> None:
    doc = generate_city("wismar", 30, 3)
    hours = 48
    levels: list[np.ndarray] = []
    stats = SimStats(on_hour=lambda t, fills: levels.append(fills.copy()))
    for _ in simulate(doc, hours / 24, 5, "native", "none", START, baseline=False, stats=stats):
        pass
    assert len(levels) == hours
    ahead = fill_increments(doc, 5, START, hours)
    assert ahead.shape == (hours, 30) and (ahead >= 0).all() and ahead.sum() > 0
    grown = np.diff(np.stack(levels), axis=0)
    below_cap = np.stack(levels)[1:] < OVERFILL_CAP
    # nobody empties anything: every hour's growth is that hour's increment (until a container is full
    # to the brim)
    assert below_cap.mean() > 0.5
    np.testing.assert_allclose(grown[below_cap], ahead[1:][below_cap], rtol=1e-9, atol=1e-12)
    # another seed is another future
    other = fill_increments(doc, 6, START, hours)
    assert not np.allclose(other, ahead)


def test_the_local_events_a_run_lives_through_have_their_days_and_the_containers_near_them() -> None:
    doc = generate_city("luebeck", 300, 1)
    start = datetime(2026, 11, 20, 23, tzinfo=UTC)
    events = local_events(doc, 1, start, 10 * 24)
    market = next(e for e in events if e.name == "Christmas market")
    assert date(2026, 11, 24) in market.days and date(2026, 11, 23) not in market.days
    kinds = [f["properties"]["container_type"] for f in doc["bins"]["features"]]
    near = {kinds[i] for i in np.flatnonzero(market.factor > 1.0)}
    # the litter bins of the old town fill faster, the rest of the city does not notice
    assert "litter-100" in near and (market.factor == 1.0).sum() > 150
    assert max(market.factor[i] for i, k in enumerate(kinds) if k == "litter-100") > 2.0
    # one seed, one future: the same events again; the unnamed ones are the seed's own
    again = local_events(doc, 1, start, 10 * 24)
    assert [(e.name, e.days) for e in again] == [(e.name, e.days) for e in events]
    many = [e.days for e in local_events(doc, 1, start, 120 * 24) if e.name == "local event"]
    assert many and many != [e.days for e in local_events(doc, 2, start, 120 * 24) if e.name == "local event"]


def _known(fill_now: float, per_hour: list[float]) -> KnownFill:
    received = np.concatenate([[0.0], np.cumsum(per_hour)])
    return KnownFill(
        now_s=START.timestamp() + 3600.0,
        fill_now=fill_now,
        fill_now_sd=0.0,
        rate_per_h=0.0,
        rate_sd_per_h=0.0,
        process_var_per_h=0.0,
        profile=WeekProfile.flat(),
        rate_source=RateSource.SENSOR,
        start_s=START.timestamp(),
        received=received,
    )


def test_a_known_fill_adds_the_waste_to_come_and_is_certain() -> None:
    k = _known(0.5, [0.1, 0.2, 0.3, 0.4])  # "now" is the end of the first hour
    assert k.at(START + timedelta(hours=1)) == (0.5, 0.0)
    assert k.at(START + timedelta(hours=2)) == pytest.approx((0.7, 0.0))
    assert k.at(START + timedelta(hours=2, minutes=30))[0] == pytest.approx(0.85)
    assert k.probability_at_least(START + timedelta(hours=2, minutes=30), 1.0) == 0.0
    assert k.probability_at_least(START + timedelta(hours=3, minutes=30), 1.0) == 1.0
    # past the known hours nothing more comes, and no container holds more than the simulator's cap
    assert k.at(START + timedelta(days=3))[0] == pytest.approx(min(1.4, OVERFILL_CAP))
    assert _known(1.4, [0.0, 0.5]).at(START + timedelta(hours=2))[0] == OVERFILL_CAP
    low, high = k.band(START + timedelta(hours=2))
    assert low < 0.7 < high and high - low < 1e-5


def test_a_run_with_perfect_foresight_knows_every_overflow_before_it_happens(
    db_server: Any, tmp_path: Path
) -> None:
    doc = generate_city("wismar", 40, 2)
    cfg = small_simulation(days=4, perfect_forecast=True)
    tasks = [(doc, cfg), (doc, replace(cfg, perfect_forecast=False))]
    known, forecast = run_many(tasks, db_server.admin_url, Settings())
    entries = known.truth.reliability
    assert len(entries) >= 40 * 3  # every container, every plan the run saw through
    assert {p for p, _ in entries} <= {0.0, 1.0}
    said = [p == 1.0 for p, _ in entries]
    came = [hit for _, hit in entries]
    assert any(said)
    # what it says will overflow does; what it says will not, does not (up to the minutes between
    # the shift's last visit and the hour the simulation checks it)
    assert all(c for s, c in zip(said, came, strict=True) if s)
    assert sum(c and not s for s, c in zip(said, came, strict=True)) <= 0.01 * len(entries)
    assert known.truth.band and all(known.truth.band)
    # the forecast the product plans from is uncertain; the known future is not
    assert any(0.0 < p < 1.0 for p, _ in forecast.truth.reliability)
    results = [measures(known)]
    assert results[0]["failed_plans"] == 0 and results[0]["collections"] > 0
    report = write_report([known], results, doc, tmp_path).read_text()
    assert "Perfect foresight (a what-if, not the product)" in report


def _modelled(fill: float, rate: float, known: float = 1.0) -> ModelFill:
    return ModelFill(
        now_s=START.timestamp(),
        fill_now=fill,
        fill_now_sd=0.0,
        rate_per_h=rate / 24.0,
        rate_sd_per_h=0.0,
        process_var_per_h=0.0,
        profile=kind_profile("household", "Europe/Berlin"),
        rate_source=RateSource.SENSOR,
        kind="household",
        rate_per_day=rate,
        index=1,
        known=lambda d: np.array([1.0, known]),
    )


def test_a_perfect_model_expects_the_mean_rate_and_knows_how_much_a_day_varies() -> None:
    m = _modelled(0.5, 0.2)
    monday = WEEKDAY_PROFILE["household"][0]
    mean, sd = m.at(START + timedelta(days=1))
    assert mean == pytest.approx(0.5 + 0.2 * monday, rel=0.01)
    assert 0.25 < sd / (mean - 0.5) < 0.35  # a day's waste varies by about 30 %
    assert m.at(START) == (0.5, 0.0)
    # the probability of reaching a level is the share of the outcomes that get there
    half = m.probability_at_least(START + timedelta(days=1), mean)
    assert 0.4 < half < 0.6
    assert 0 < m.probability_at_least(START + timedelta(days=1), 1.0) < 0.005  # 2.5 days in one
    assert m.probability_at_least(START + timedelta(days=4), 1.0) > 0.3
    low, high = m.band(START + timedelta(days=1))
    assert low < mean < high
    # a known factor (a named event, the season) scales the waste to come
    busy = _modelled(0.5, 0.2, known=2.0)
    assert busy.at(START + timedelta(days=1))[0] - 0.5 == pytest.approx(2 * (mean - 0.5))
    assert kind_profile("litter", "Europe/Berlin").bins_per_day == 24


def test_a_run_on_perfect_models_plans_from_honest_probabilities(db_server: Any, tmp_path: Path) -> None:
    doc = generate_city("wismar", 40, 2)
    cfg = small_simulation(days=4, known_model=True)
    with pytest.raises(ValueError, match="choose one"):
        replace(cfg, perfect_forecast=True)
    (run,) = run_many([(doc, cfg)], db_server.admin_url, Settings())
    probabilities = [p for p, _ in run.truth.reliability]
    assert len(probabilities) >= 40 * 3
    # neither certain nor the forecast's: the model's own spread of the waste to come
    assert any(0.0 < p < 1.0 for p in probabilities)
    result = measures(run)
    assert result["failed_plans"] == 0 and result["collections"] > 0
    # its probabilities mean what they say: the containers it gave under 1 % rarely overflowed
    low = [hit for p, hit in run.truth.reliability if p < 0.01]
    assert low and sum(low) <= max(2, 0.05 * len(low))
    report = write_report([run], [result], doc, tmp_path).read_text()
    assert "Perfect model (a what-if, not the product)" in report
