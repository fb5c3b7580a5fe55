"""`bench routing`: conversion of each benchmark to the router's problem, the JSON contract, exit codes."""

from __future__ import annotations

import dataclasses
import json
import math
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from benchmarks.routing.bench import load_case, main, main_distances, plan_to_routes
from benchmarks.routing.readers import KimInstance, VrplibInstance, kim_arc_miles, vrplib_arc_cost
from tests.support import DATA as TEST_DATA
from wasteroute.planning import solver
from wasteroute.planning.problem import BreakKind, Problem
from wasteroute.planning.result import RoutePlan

DATA = TEST_DATA / "bench"
PUBLISHED = TEST_DATA / "published"
REQUIRED = {"instance", "kind", "cost", "vehicles", "reference", "gap_pct", "feasible", "seconds"}


def _last_json(out: str) -> dict[str, object]:
    record = json.loads(out.strip().splitlines()[-1])
    assert isinstance(record, dict)
    return record


def test_single_instance_prints_the_checked_result_as_the_last_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--instance", str(DATA / "tiny-n6-k3.vrp"), "--time-limit", "0.5", "--seed", "3", "--json"])
    record = _last_json(capsys.readouterr().out)
    assert code == 0
    assert record.keys() >= REQUIRED
    assert record["instance"] == "tiny-n6-k3"
    assert record["kind"] == "cvrp"
    assert record["feasible"] is True
    assert record["reference"] == 62.0
    cost = record["cost"]
    assert isinstance(cost, float)
    assert cost >= 62.0  # the reference is optimal (enumerated)
    assert record["gap_pct"] == pytest.approx(100.0 * (cost - 62.0) / 62.0, abs=1e-3)
    assert record["router_cost"] == cost  # the router's own distance agrees with the checker
    assert record["seed"] == 3


def test_leading_bench_routing_words_are_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["bench", "routing", "--instance", str(DATA / "TINY.6.2.vrptw"), "--time-limit", "0.5", "--json"]
    )
    record = _last_json(capsys.readouterr().out)
    assert code == 0
    assert record["kind"] == "vrptw"
    assert record["convention"] == "dimacs"
    assert record["feasible"] is True
    assert isinstance(record["cost"], float) and record["cost"] >= 89.4


def test_all_runs_every_instance_then_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--all", str(DATA), "--time-limit", "0.5", "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert code == 0
    records, summary = lines[:-1], lines[-1]
    assert sorted(r["instance"] for r in records) == ["TINY", "tiny", "tiny-n6-k3"]
    assert all(r.keys() >= REQUIRED and r["feasible"] for r in records)
    assert summary["summary"] is True
    assert summary["instances"] == 3 and summary["feasible"] == 3
    assert set(summary["mean_gap_pct"]) == {"cvrp", "vrptw"}  # the tiny Kim file has no reference
    assert summary["mean_gap_pct"]["cvrp"] == next(r["gap_pct"] for r in records if r["kind"] == "cvrp")


def test_human_output_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--instance", str(DATA / "tiny-n6-k3.vrp"), "--time-limit", "0.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny-n6-k3 [cvrp/nint]: cost ") and "feasible" in out


def test_an_infeasible_plan_is_reported_and_fails_the_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = solver.plan_routes

    def lose_a_route(
        problem: Problem,
        *,
        time_limit_s: float,
        seed: int = 0,
        engine: str = "auto",
        deterministic: bool = True,
    ) -> RoutePlan:
        plan = real(
            problem,
            time_limit_s=time_limit_s,
            seed=seed,
            engine=engine,  # type: ignore[arg-type]
            deterministic=deterministic,
        )
        return dataclasses.replace(plan, routes=plan.routes[1:])

    monkeypatch.setattr(solver, "plan_routes", lose_a_route)
    code = main(["--instance", str(DATA / "tiny-n6-k3.vrp"), "--time-limit", "0.5", "--json"])
    record = _last_json(capsys.readouterr().out)
    assert code == 1
    assert record["feasible"] is False
    violations = record["violations"]
    assert isinstance(violations, list) and "not visited" in violations[0]


def test_unreadable_instance_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.vrp"
    bad.write_text("NAME : broken\nTYPE : CVRP\n")
    assert main(["--instance", str(bad), "--json"]) == 2
    assert "DIMENSION" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--instance", "x.vrp", "--time-limit", "0"], ["--time-limit", "5"]])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_kim_conversion_carries_every_rule() -> None:
    case = load_case(DATA / "tiny_stop.txt")
    problem = case.problem
    assert isinstance(case.instance, KimInstance)
    assert len(problem.stops) == 5 and len(problem.facilities) == 2
    vehicle = problem.vehicles[0]
    assert vehicle.capacity_volume_l == 10.0
    assert vehicle.max_collected_volume_l == 15.0
    assert vehicle.max_stops == 3
    assert vehicle.must_end_empty
    assert vehicle.shift == (6 * 3600, 17 * 3600)
    assert vehicle.break_rule is not None and vehicle.break_rule.kind is BreakKind.LUNCH
    assert (vehicle.break_rule.earliest_start_s, vehicle.break_rule.latest_start_s) == (39_600, 43_200)
    assert vehicle.break_rule.duration_s == 3600
    assert problem.facilities[0].unload_s == 1800
    stop3 = next(s for s in problem.stops if s.id == "c3")
    assert stop3.time_windows == ((7 * 3600, 9 * 3600),)
    assert next(s for s in problem.stops if s.id == "c4").time_windows == ()
    assert problem.distance_m[0, 4] == 10_560  # feet, Manhattan
    assert problem.duration_s[0, 4] == 180  # 2 miles at 40 mph
    assert case.distance_per_unit == 5280.0


def test_kim_plan_maps_back_to_file_nodes_with_facilities() -> None:
    case = load_case(DATA / "tiny_stop.txt")
    plan = solver.plan_routes(case.problem, time_limit_s=0.5, seed=1)
    routes = plan_to_routes(case, plan)
    inst = case.instance
    assert isinstance(inst, KimInstance)
    served = sorted(i for r in routes for i in r if i in inst.customers)
    assert served == list(inst.customers)
    assert all(r[-1] in inst.facilities for r in routes if any(inst.stops[i].load_yd3 > 0 for i in r))


def test_vrptw_times_use_the_cost_scale_when_the_horizon_fits() -> None:
    case = load_case(DATA / "TINY.6.2.vrptw")
    problem = case.problem
    assert np.array_equal(problem.duration_s, problem.distance_m)
    assert problem.vehicles[0].shift == (0, 3000)
    assert next(s for s in problem.stops if s.id == "c1").time_windows == ((500, 1100),)
    assert problem.stops[0].service_s == 100
    assert len(problem.vehicles) == math.ceil(1.25 * 2)


def test_long_horizon_exact_instance_gets_coarser_times_rounded_up(tmp_path: Path) -> None:
    path = tmp_path / "L.3.1.vrptw"
    path.write_text(
        "NAME : L\nTYPE : CVRPTW\nDIMENSION : 3\nVEHICLES : 1\nCAPACITY : 10\nSERVICE_TIME : 90\n"
        "EDGE_WEIGHT_TYPE : EXACT_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 3 4\n"
        "DEMAND_SECTION\n1 0\n2 1\n3 1\n"
        "TIME_WINDOW_SECTION\n1 0 1236\n2 0 1000\n3 10 1100\nDEPOT_SECTION\n1\n-1\nEOF\n"
    )
    case = load_case(path)
    assert case.convention == "exact"
    assert case.problem.distance_m[0, 1] == 1414  # nint(1000 * sqrt(2))
    assert case.problem.duration_s[0, 1] == 142  # ceil(100 * sqrt(2)): hundredths, rounded up
    assert case.problem.duration_s[0, 2] == 500
    assert case.problem.vehicles[0].shift == (0, 123_600)


def _published(pattern: str) -> list[Path]:
    found = sorted(PUBLISHED.glob(pattern))
    assert found, f"no published instance matches {pattern} in {PUBLISHED}"
    return found


@pytest.mark.parametrize(
    "path",
    _published("*/*.vrp") + _published("*/*/*.vrptw") + _published("wcvrptw/*_stop.txt"),
    ids=lambda p: p.name,
)
def test_router_matrix_agrees_with_the_checkers_arc_costs(path: Path) -> None:
    case = load_case(path)
    inst = case.instance
    matrix = case.problem.distance_m
    n = matrix.shape[0]
    rng = np.random.default_rng(5)
    pairs = (
        list(product(range(n), repeat=2)) if n <= 120 else [tuple(p) for p in rng.integers(0, n, (20_000, 2))]
    )
    for i, j in pairs:
        if isinstance(inst, VrplibInstance):
            assert matrix[i, j] == vrplib_arc_cost(inst, int(i), int(j)), (i, j)
        else:
            assert abs(matrix[i, j] / 5280.0 - kim_arc_miles(inst, int(i), int(j))) <= 0.5 / 5280.0 + 1e-12


def test_distance_benchmark_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_distances(["--points", "50", "--repeats", "1", "--json"]) == 0
    record = _last_json(capsys.readouterr().out)
    assert record["bench"] == "distances"
    assert record["points"] == 50
    assert record["matrix_bytes"] == 2 * 50 * 50 * 8
    assert isinstance(record["seconds"], float)


def test_kim_fleet_bound_counts_spanning_tree_driving() -> None:
    from benchmarks.routing.bench import _manhattan_mst_ft

    xy = np.array([(0.0, 0.0), (5280.0, 0.0), (5280.0, 5280.0), (0.0, 10560.0)])
    assert _manhattan_mst_ft(xy) == 5280.0 * 4  # 0-1 and 1-2 (1 mile each), then 3 at 2 miles
    case = load_case(DATA / "tiny_stop.txt")
    # volume 18.5 / 15 and stops 5 / 3 give b = 2; fleet = max(1.5 b + 2, b + 4) = 6
    assert case.fleet == 6
