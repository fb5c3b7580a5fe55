"""Seeded benchmark generators, and ``bench routing`` against plain PyVRP on what they write."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.routing.bench import load_case, main
from benchmarks.routing.checker import check_solution
from benchmarks.routing.generate import (
    LARGE_SET,
    SMALL_SET,
    GhRecipe,
    XRecipe,
    generate,
    gh_like,
    x_like,
)
from benchmarks.routing.generate import (
    main as generate_main,
)
from benchmarks.routing.readers import InstanceKind, read_vrplib


def test_same_recipe_writes_the_same_file_and_another_seed_another() -> None:
    recipe = XRecipe(60, "random", "mixed", "small-large", "medium", seed=5)
    assert x_like(recipe) == x_like(recipe)
    other = XRecipe(60, "random", "mixed", "small-large", "medium", seed=6)
    assert x_like(other) != x_like(recipe)
    c1 = GhRecipe("C1", 40, seed=3)
    assert gh_like(c1) == gh_like(c1)


@pytest.mark.parametrize(
    ("depot", "positioning", "demand"),
    [("central", "random", "unitary"), ("eccentric", "clustered", "quadrant"), ("random", "mixed", "50-100")],
)
def test_x_like_instances_follow_the_published_design(
    tmp_path: Path, depot: str, positioning: str, demand: str
) -> None:
    recipe = XRecipe(120, depot, positioning, demand, "short", seed=11)  # type: ignore[arg-type]
    [path] = generate((recipe,), tmp_path)
    inst = read_vrplib(path)
    assert inst.kind is InstanceKind.CVRP
    assert inst.dimension == 121 and inst.edge_weight_type == "EUC_2D"
    assert inst.coords is not None
    assert all(0 <= x <= 1000 and 0 <= y <= 1000 for x, y in inst.coords)
    if depot == "central":
        assert inst.coords[0] == (500.0, 500.0)
    if depot == "eccentric":
        assert inst.coords[0] == (0.0, 0.0)
    demands = inst.demands[1:]
    if demand == "unitary":
        assert set(demands) == {1}
    if demand == "50-100":
        assert min(demands) >= 50 and max(demands) <= 100
    # Capacity from the average route size (short: 5-8 customers per route).
    routes = sum(demands) / inst.capacity
    assert 120 / 8 - 1 <= routes <= 120 / 5 + 1
    assert path.name == f"XG-n121-k{math.ceil(sum(demands) / inst.capacity)}.vrp"


def test_c1_like_windows_come_from_a_plan_its_fleet_can_drive(tmp_path: Path) -> None:
    [path] = generate((GhRecipe("C1", 60, seed=4),), tmp_path)
    inst = read_vrplib(path)
    assert inst.kind is InstanceKind.VRPTW and inst.edge_weight_type == "EXACT_2D"
    assert inst.vehicles is not None and inst.capacity == 200
    assert inst.time_windows is not None and inst.service_times is not None
    assert all(b - a <= 60 for a, b in inst.time_windows[1:])
    assert set(inst.service_times[1:]) == {90.0}
    case = load_case(path, fleet="file")
    assert case.fleet == inst.vehicles  # the file's own fleet, exactly
    assert path.name == f"C1G_60_4.60.{inst.vehicles}.vrptw"


def test_r1_and_rc1_need_their_fleet_and_have_narrow_windows(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs its fleet"):
        GhRecipe("R1", 100, seed=1)
    paths = generate(
        (GhRecipe("R1", 50, seed=2, vehicles=9), GhRecipe("RC1", 50, seed=3, vehicles=8)), tmp_path
    )
    widths = []
    for path in paths:
        inst = read_vrplib(path)
        assert inst.time_windows is not None
        widths.append({b - a for a, b in inst.time_windows[1:]})
    assert widths[0] == {10} and widths[1] == {30}


def test_the_large_set_has_the_sizes_the_issue_names() -> None:
    sizes = sorted(r.customers for r in LARGE_SET if isinstance(r, XRecipe))
    assert sizes == [400, 600, 800, 1000]
    assert sorted(r.kind for r in LARGE_SET if isinstance(r, GhRecipe)) == ["C1", "R1", "RC1"]


def test_generate_command_writes_the_small_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate_main(["bench", "generate", "--out", str(tmp_path), "--set", "small", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(record["generated"]) == len(SMALL_SET)
    assert all((tmp_path / name).exists() for name in record["generated"])


@pytest.mark.slow  # both searches, three seeds
def test_against_plain_pyvrp_reports_both_and_medians_over_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [path] = generate((SMALL_SET[1],), tmp_path)  # C1-like, 30 customers, its own fleet
    code = main(
        [
            "--instance",
            str(path),
            "--time-limit",
            "1",
            "--seeds",
            "1,2",
            "--fleet",
            "file",
            "--against-pyvrp",
            "--json",
        ]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert code == 0
    per_seed = [r for r in lines if "seed" in r and "plain_pyvrp" in r]
    assert [r["seed"] for r in per_seed] == [1, 2]
    for r in per_seed:
        assert r["feasible"] and r["dropped_required"] == 0
        assert r["plain_pyvrp"]["feasible"]
        assert r["cost_diff_pct"] == pytest.approx(
            100 * (r["cost"] - r["plain_pyvrp"]["cost"]) / r["plain_pyvrp"]["cost"], abs=1e-2
        )
        assert r["fleet_use"]["available"] == r["fleet"]
    median = next(r for r in lines if "median_of_seeds" in r)
    assert median["median_of_seeds"] == [1, 2]
    assert median["cost"] == pytest.approx(sum(r["cost"] for r in per_seed) / 2, abs=1e-3)
    summary = lines[-1]
    assert summary["versus_pyvrp"] and summary["cost_paired"] == 1
    assert summary["mean_cost_diff_pct"] == median["cost_diff_pct"]


def test_plain_pyvrp_and_router_are_checked_by_the_same_checker(tmp_path: Path) -> None:
    [path] = generate((SMALL_SET[0],), tmp_path)
    case = load_case(path)
    from benchmarks.routing.baseline import run_plain_pyvrp

    plain = run_plain_pyvrp(case, time_limit_s=0.5, seed=1)
    assert plain["feasible"] and plain["unserved"] == 0
    # A solution the checker rejects: every customer on one route (capacity exceeded).
    report = check_solution(
        case.instance, [[s.location for s in case.problem.stops]], max_vehicles=case.fleet
    )
    assert not report.feasible
