"""km against service level: each policy at several settings, and the saving at the same service level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import frontier
from benchmarks.frontier import km_at_service, seed_summary, summarise, sweep, variant_name, variants
from sensors_sim.city import generate_city
from tests.support import small_simulation
from wasteroute.config import Settings


def test_the_km_at_a_service_level_lie_on_the_line_between_the_runs_around_it() -> None:
    runs = [(0.999, 12_000.0), (0.97, 9_000.0), (0.99, 10_000.0)]
    assert km_at_service(runs, 0.98) == pytest.approx(9_500.0)
    assert km_at_service(runs, 0.9945) == pytest.approx(11_000.0)
    assert km_at_service(runs, 0.97) == pytest.approx(9_000.0)
    # beyond what any run reached, or below all of them: no figure
    assert km_at_service(runs, 0.9995) is None
    assert km_at_service(runs, 0.96) is None
    assert km_at_service([], 0.99) is None


def _row(seed: int, policy: str, level: float | None, km: float, service: float) -> dict[str, Any]:
    return {
        "seed": seed,
        "variant": variant_name(policy, level),
        "level": level,
        "policy": policy,
        "km": km,
        "service_level": service,
    }


def test_a_seed_compares_the_dynamic_policy_with_threshold_at_80_and_at_the_same_service() -> None:
    rows = [
        _row(1, "fixed", None, 10_000.0, 0.997),
        _row(1, "threshold", 0.8, 9_000.0, 0.97),
        _row(1, "threshold", 0.6, 9_800.0, 0.995),
        _row(1, "threshold", 0.5, 10_400.0, 0.999),
        _row(1, "dynamic", 0.02, 8_000.0, 0.996),
        _row(1, "dynamic", 0.005, 8_500.0, 0.997),
    ]
    s = seed_summary(rows)
    assert s["dynamic_km"] == 8_500.0
    # 0.997 lies halfway between the thresholds 0.6 (0.995) and 0.5 (0.999)
    assert s["threshold_km_at_same_service"] == pytest.approx(10_100.0)
    assert s["saving_vs_threshold_at_same_service"] == pytest.approx(1 - 8_500 / 10_100, abs=1e-4)
    # the bound: the threshold run closest below (0.6, 0.995) already drives 9,800
    assert s["saving_vs_threshold_at_same_service_at_least"] == pytest.approx(1 - 8_500 / 9_800, abs=1e-4)
    assert s["saving_vs_threshold_80"] == pytest.approx(1 - 8_500 / 9_000, abs=1e-4)
    assert s["saving_vs_fixed"] == pytest.approx(0.15)
    # a dynamic run better than every threshold: no threshold km at its level, and the best level said
    better = [r for r in rows if r["policy"] != "dynamic"] + [_row(1, "dynamic", 0.005, 8_500.0, 0.9995)]
    s = seed_summary(better)
    assert s["threshold_km_at_same_service"] is None and s["saving_vs_threshold_at_same_service"] is None
    assert s["best_threshold_service_level"] == 0.999
    # beyond every threshold: the bound is the best one's km
    assert s["saving_vs_threshold_at_same_service_at_least"] == pytest.approx(1 - 8_500 / 10_400, abs=1e-4)
    # a dynamic run below every threshold's service: no bound either
    worse = [r for r in rows if r["policy"] != "dynamic"] + [_row(1, "dynamic", 0.005, 8_500.0, 0.96)]
    assert seed_summary(worse)["saving_vs_threshold_at_same_service_at_least"] is None
    with pytest.raises(ValueError, match=r"risk 0\.005"):
        seed_summary([r for r in rows if r["variant"] != "dynamic-risk-0.005"])


def test_against_a_baseline_the_cheapest_dynamic_risk_with_at_least_its_service_is_taken() -> None:
    rows = [
        _row(1, "fixed", None, 10_000.0, 0.997),
        _row(1, "threshold", 0.8, 9_000.0, 0.97),
        _row(1, "dynamic", 0.005, 8_500.0, 0.999),
        _row(1, "dynamic", 0.02, 8_000.0, 0.997),
        _row(1, "dynamic", 0.1, 7_000.0, 0.975),
        _row(1, "dynamic", 0.3, 6_000.0, 0.96),
    ]
    s = seed_summary(rows)
    # risk 0.3 is cheapest but below both baselines' service; 0.1 keeps the threshold's 97 %
    assert s["dynamic_risk_as_good_as_threshold_80"] == 0.1
    assert s["saving_vs_threshold_80_as_good"] == pytest.approx(1 - 7_000 / 9_000, abs=1e-4)
    # fixed rounds' 99.7 %: 0.02 reaches it exactly, at fewer km than 0.005
    assert s["dynamic_risk_as_good_as_fixed"] == 0.02
    assert s["saving_vs_fixed_as_good"] == pytest.approx(0.2)
    # the default risk's own comparison is unchanged
    assert s["saving_vs_fixed"] == pytest.approx(0.15)
    # 99.9 %: only risk 0.005 keeps it, against fixed rounds' km
    assert s["dynamic_risk_at_target"] == 0.005 and s["dynamic_km_at_target"] == 8_500.0
    assert s["saving_vs_fixed_at_target"] == pytest.approx(0.15)
    # no dynamic run as good as the baseline: no figure
    poor = [r if r["policy"] != "dynamic" else {**r, "service_level": 0.95} for r in rows]
    s = seed_summary(poor)
    assert s["dynamic_risk_as_good_as_fixed"] is None and s["saving_vs_fixed_as_good"] is None
    assert s["dynamic_risk_at_target"] is None and s["saving_vs_fixed_at_target"] is None


def test_the_summary_is_the_median_of_the_seeds_and_none_where_a_seed_has_no_figure() -> None:
    seeds = [
        {"seed": 1, "dynamic_km": 1.0, "saving_vs_threshold_at_same_service": 0.2},
        {"seed": 2, "dynamic_km": 3.0, "saving_vs_threshold_at_same_service": None},
        {"seed": 3, "dynamic_km": 2.0, "saving_vs_threshold_at_same_service": 0.1},
    ]
    assert summarise(seeds) == {
        "seeds": [1, 2, 3],
        "dynamic_km": 2.0,
        "saving_vs_threshold_at_same_service": None,
    }


def test_a_sweep_runs_each_variant_once_stores_it_and_reads_it_back(
    db_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = generate_city("wismar", 30, 2)
    runs = variants([0.5, 0.9], [0.005])
    rows = sweep(lambda seed: doc, small_simulation(), runs, [2], db_server.admin_url, Settings(), tmp_path)
    assert [r["variant"] for r in rows] == ["fixed", "threshold-0.50", "threshold-0.90", "dynamic-risk-0.005"]
    assert [r["policy"] for r in rows] == ["fixed", "threshold", "threshold", "dynamic"]
    for r in rows:
        stored = json.loads((tmp_path / "seed-2" / f"{r['variant']}.json").read_text())
        assert stored["km"] == r["km"] > 0 and stored["collections"] > 0
    low, high = rows[1], rows[2]
    # a lower threshold empties more containers, emptier
    assert low["collections"] > high["collections"]
    assert low["fill_at_emptying_mean"] < high["fill_at_emptying_mean"]

    # a second sweep reads what is stored and runs nothing
    def no_run(*args: object, **kwargs: object) -> list[Any]:
        raise AssertionError("ran again")

    monkeypatch.setattr(frontier, "run_many", no_run)
    again = sweep(lambda seed: doc, small_simulation(), runs, [2], db_server.admin_url, Settings(), tmp_path)
    assert again == rows
    out = tmp_path / "frontier.png"
    frontier.draw(rows, out)
    assert out.stat().st_size > 0


def test_the_command_reads_a_stored_sweep_without_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = {
        "fixed": (10_000.0, 0.997),
        "threshold-0.80": (9_000.0, 0.97),
        "threshold-0.50": (10_400.0, 0.999),
        "dynamic-risk-0.005": (8_500.0, 0.998),
    }
    (tmp_path / "seed-1").mkdir()
    for name, (km, service) in stored.items():
        policy = name.split("-")[0]
        result = {
            "policy": policy,
            "km": km,
            "service_level": service,
            "collections": 1,
            "tours": 1,
            "fill_at_emptying_mean": 0.5,
            "overflows": 0,
        }
        (tmp_path / "seed-1" / f"{name}.json").write_text(json.dumps(result))
    argv = ["--seeds", "1", "--thresholds", "0.5,0.8", "--risks", "0.005", "--out", str(tmp_path)]
    assert frontier.main(argv) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["seeds"] == [1]
    assert last["threshold_km_at_same_service"] == pytest.approx(9_000 + 1_400 * (0.028 / 0.029), abs=0.1)
    assert last["saving_vs_fixed"] == pytest.approx(0.15)
    assert (tmp_path / "frontier.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="own risk"):
        frontier.main(["--risks", "0.02", "--out", str(tmp_path)])
