"""The latest-emptying yardstick: each container emptied at the last chance before it would be full."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from benchmarks.fill_ceiling import (
    at_target,
    ceiling,
    chances,
    compared,
    draw,
    known_medians,
    known_model,
    latest_emptyings,
    main,
)
from sensors_sim.city import generate_city
from sensors_sim.outlook import overflow_probability, waste_outcomes
from wasteroute.simulation.loop import SimulationConfig


def test_a_container_waits_while_it_stays_below_full_until_the_next_chance() -> None:
    inc = np.full((8, 1), 0.3)
    fills, which, unavoidable = latest_emptyings(inc, [0, 1, 2, 3, 4, 5, 6], (0, 8))
    # 0.9 at hour 3 would be 1.2 at hour 4: emptied at 3; again at 6 (1.2 by the end)
    assert fills == pytest.approx([0.9, 0.9]) and which == [0, 0] and unavoidable == 0


def test_a_long_gap_empties_early_and_what_it_cannot_hold_is_an_overflow_no_one_could_prevent() -> None:
    inc = np.hstack([np.full((8, 1), 0.3), np.full((8, 1), 0.05)])
    fills, which, unavoidable = latest_emptyings(inc, [0, 1, 5], (0, 8))
    # the fast one: at 1 (0.3), as 1.5 by hour 5 is too much; the gap from 1 to 5 brings 1.2 anyway;
    # at 5 it is at the brim (counted as full) and would be 2.1 at the end
    assert [f for f, w in zip(fills, which, strict=True) if w == 0] == pytest.approx([0.3, 1.0])
    assert unavoidable == 1
    # the slow one never comes near full
    assert 1 not in which
    # only the measured boundaries count
    fills, which, _ = latest_emptyings(inc, [0, 1, 5], (2, 8))
    assert which == [0] and fills == pytest.approx([1.0])


def test_the_chances_are_the_full_hours_of_the_shift_on_service_days_or_one_hour_a_day() -> None:
    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 11, 7, 0, tzinfo=zone).astimezone(UTC)  # a Saturday, local midnight

    def monday_to_saturday(d: date) -> bool:
        return d.weekday() < 6

    at = chances(start, 72, zone, monday_to_saturday, (time(6), time(14, 30)))
    # Saturday 06:00 .. 14:00, no Sunday, Monday 06:00 .. 14:00
    assert at == [*range(6, 15), *range(48 + 6, 48 + 15)]
    assert chances(start, 72, zone, monday_to_saturday, (time(6), time(14, 30)), visit_hour=10) == [10, 58]


def test_a_small_city_knowing_its_future_empties_its_containers_nearly_full() -> None:
    doc = generate_city("wismar", 40, 1)
    cfg = SimulationConfig(days=7, warmup_days=3, run_in_days=1)
    r = ceiling(doc, 1, cfg, {})
    assert r["collections"] > 0 and r["containers"] == 40
    assert 0.7 < r["fill_at_emptying_mean"] <= 1.0
    assert sum(k["collections"] for k in r["by_kind"].values()) == r["collections"]
    # one chance a day instead of every hour of the shift: emptied earlier, more often
    daily = ceiling(doc, 1, cfg, {}, visit_hour=10)
    assert daily["fill_at_emptying_mean"] < r["fill_at_emptying_mean"]
    assert daily["collections"] >= r["collections"]
    assert ceiling(doc, 1, cfg, {}) == r


def test_the_plot_puts_the_frontier_runs_and_a_simulation_summary_beside_the_yardstick(
    tmp_path: Path,
) -> None:
    lines = [
        {
            "seed": 1,
            "variant": "fixed",
            "collections": 7000,
            "fill_at_emptying_mean": 0.40,
            "service_level": 0.997,
        },
        {
            "seed": 2,
            "variant": "fixed",
            "collections": 7400,
            "fill_at_emptying_mean": 0.36,
            "service_level": 0.999,
        },
        {
            "seed": 3,
            "variant": "fixed",
            "collections": 7200,
            "fill_at_emptying_mean": 0.38,
            "service_level": 0.998,
        },
        {"seed": 1, "dynamic_km": 8000.0},  # a seed's summary: no run
        {"seeds": [1, 2, 3], "dynamic_km": 8000.0},
    ]
    frontier = tmp_path / "frontier.jsonl"
    frontier.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert compared(frontier) == {"fixed": (7200.0, 0.38, 0.998)}
    summary = tmp_path / "perfect-forecast" / "summary.json"
    summary.parent.mkdir()
    summary.write_text(
        json.dumps(
            [
                {
                    "policy": "dynamic",
                    "collections": 4100.0,
                    "fill_at_emptying_mean": 0.71,
                    "service_level": 0.9974,
                }
            ]
        )
    )
    assert compared(summary) == {"dynamic (perfect-forecast)": (4100.0, 0.71, 0.9974)}
    out = tmp_path / "fill.png"
    draw({"last chance": (3200.0, 0.89)}, compared(frontier) | compared(summary), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_waste_a_model_expects_follows_the_weekday_profile_with_the_day_to_day_spread() -> None:
    from sensors_sim.dynamics import WEEKDAY_PROFILE

    zone = ZoneInfo("Europe/Berlin")
    saturday = datetime(2026, 11, 7, 0, tzinfo=zone).astimezone(UTC)
    one = waste_outcomes("litter", saturday, 24, "Europe/Berlin")
    assert np.all(np.diff(one) >= 0)
    assert one.mean() == pytest.approx(WEEKDAY_PROFILE["litter"][5], rel=0.02)
    # a day's waste varies by about 30 % (lognormal day factor, gamma hours)
    assert 0.25 < one.std() / one.mean() < 0.35
    weekend = waste_outcomes("litter", saturday, 48, "Europe/Berlin")
    assert weekend.mean() == pytest.approx(WEEKDAY_PROFILE["litter"][5:7].sum(), rel=0.02)
    # two independent days spread less, relative to their sum, than one
    assert weekend.std() / weekend.mean() < one.std() / one.mean()
    # the same window, the same outcomes; a window is its whole hours
    assert waste_outcomes("litter", saturday + timedelta(minutes=20), 24, "Europe/Berlin") is one


def test_the_overflow_probability_is_the_share_of_outcomes_that_fill_the_container() -> None:
    unit = np.linspace(0.0, 1.0, 101)[:-1]  # 0.00 .. 0.99, each a hundredth of the outcomes
    p = overflow_probability(np.array([0.5, 0.9, 0.0, 1.0]), np.array([1.0, 0.1, 0.5, 0.2]), unit)
    # needs 0.5 of a day; 1.0 (none reaches it); 2.0; nothing (already full)
    assert p == pytest.approx([0.5, 0.0, 0.0, 1.0])


def test_a_perfect_model_at_a_lower_risk_empties_earlier_and_keeps_below_the_ceiling() -> None:
    doc = generate_city("wismar", 60, 2)
    cfg = SimulationConfig(days=7, warmup_days=3, run_in_days=1)
    careful, bold = known_model(doc, 2, cfg, {}, [0.001, 0.3])
    assert careful["risk"] == 0.001 and bold["risk"] == 0.3
    assert careful["collections"] > bold["collections"]
    assert careful["fill_at_emptying_mean"] < bold["fill_at_emptying_mean"]
    assert careful["service_level"] >= bold["service_level"]
    assert careful["overflow_container_days"] <= bold["overflow_container_days"]
    assert careful["service_level"] == pytest.approx(
        1 - careful["overflow_container_days"] / (60 * 7), abs=1e-5
    )
    # knowing the model is less than knowing the future: fuller only by letting containers overflow
    ceiling_daily = ceiling(doc, 2, cfg, {}, visit_hour=10)
    assert careful["fill_at_emptying_mean"] < ceiling_daily["fill_at_emptying_mean"]
    assert careful["collections"] >= ceiling_daily["collections"]
    assert known_model(doc, 2, cfg, {}, [0.001, 0.3]) == [careful, bold]


def test_the_summary_picks_per_seed_the_fullest_risk_that_kept_the_service_level() -> None:
    def row(seed: int, risk: float, service: float, fill: float) -> dict[str, Any]:
        return {
            "seed": seed,
            "risk": risk,
            "service_level": service,
            "fill_at_emptying_mean": fill,
            "collections": 100,
            "overflow_container_days": 0,
        }

    rows = [row(1, 0.001, 0.9995, 0.70), row(1, 0.01, 0.9991, 0.78), row(1, 0.05, 0.998, 0.84)]
    rows += [row(2, 0.001, 0.9992, 0.72), row(2, 0.01, 0.9985, 0.80)]
    got = at_target(rows, 0.999)
    assert [(s["seed"], s["risk"]) for s in got["per_seed"]] == [(1, 0.01), (2, 0.001)]
    assert got["fill_at_emptying_mean"] == pytest.approx(0.75)
    assert known_medians(rows)["0.01"]["fill_at_emptying_mean"] == pytest.approx(0.79)
    # a seed no risk kept it at: no median
    assert at_target(rows, 0.9994)["fill_at_emptying_mean"] is None


def test_the_command_adds_the_perfect_model_to_the_summary_and_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ceiling.png"
    argv = "--city wismar --bins 40 --seeds 1 --days 5 --warmup-days 3 --run-in-days 1 --visit-hour 10"
    assert main([*argv.split(), "--known-model", "0.001,0.2", "--plot", str(out)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["risk"] for r in lines if "risk" in r] == [0.001, 0.2]
    assert set(lines[-1]["known_model"]) == {"0.001", "0.2"}
    assert out.stat().st_size > 10_000
    with pytest.raises(SystemExit):
        main([*argv.split(), "--known-model", "2"])
