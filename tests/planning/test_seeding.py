"""The PyVRP side of the router: units of the encoding, penalty pacing, the stopping rule."""

from __future__ import annotations

import time

import numpy as np
import pyvrp

from benchmarks.routing.cityday import city_day
from wasteroute.planning.compiled import compile_problem
from wasteroute.planning.problem import Depot, Location, Problem, Stop, Vehicle
from wasteroute.planning.seeding import (
    _Budget,
    _distance_multiplier,
    _load_unit,
    _Penalties,
    encode,
)


def test_loads_count_in_their_largest_common_unit_and_metres_cost_one() -> None:
    assert _load_unit([2000, 3000, 1500]) == 500
    assert _load_unit([]) == 1
    assert _distance_multiplier([1.0, 1.0]) == 1
    assert _distance_multiplier([1.0, 1.5]) == 2  # 1.2 and 1.8 money per km
    assert _distance_multiplier([1.0, 4 / 3]) == 3


def test_city_day_encoding_keeps_capacities_exact_in_coarser_units() -> None:
    problem = city_day(60, seed=2, n_vehicles=4)
    cp = compile_problem(problem)
    enc = encode(cp)
    assert enc.load_unit[0] >= 100  # volumes in 0.1 L steps: at least 100 mL per unit
    for k, node in enumerate(enc.stop_nodes):
        assert enc.data.client(k).pickup[0] * enc.load_unit[0] == cp.node_volume_ml[node]
    costs = sorted({vt.unit_distance_cost for vt in enc.data.vehicle_types()})
    assert costs == [2, 3]  # 1.2 and 1.8 money per km: one metre costs 2 or 3 units
    for members, vt in zip(enc.type_members, enc.data.vehicle_types(), strict=True):
        cap_ml = cp.vehicle_cap_ml[members[0]]
        # Never more than the body holds (the day's volume limit may lower the per-trip load).
        assert 0 < vt.capacity[0] * enc.load_unit[0] <= cap_ml


def _two_stop_data() -> pyvrp.ProblemData:
    distance = np.array([[0, 1000, 1000], [1000, 0, 500], [1000, 500, 0]], dtype=np.int64)
    problem = Problem(
        locations=(Location("d"), Location("a"), Location("b")),
        distance_m=distance,
        duration_s=distance // 10,
        stops=(Stop("a", 1, volume_l=600.0), Stop("b", 2, volume_l=600.0)),
        depots=(Depot("yard", 0),),
        vehicles=(
            Vehicle("t0", "yard", capacity_volume_l=1000.0, must_end_empty=False),
            Vehicle("t1", "yard", capacity_volume_l=1000.0, must_end_empty=False),
        ),
    )
    return encode(compile_problem(problem)).data


def test_penalties_hunt_feasibility_quickly_then_settle_at_pyvrps_pace() -> None:
    data = _two_stop_data()
    overloaded = pyvrp.Solution(data, [[0, 1]])
    feasible = pyvrp.Solution(data, [[0], [1]])
    assert not overloaded.is_feasible() and feasible.is_feasible()

    def cost(p: _Penalties) -> float:
        return float(p.cost_evaluator().penalised_cost(overloaded))

    penalties = _Penalties(data, pyvrp.PenaltyParams())
    penalties.hunt()  # a binding fleet: no feasible solution by 40 % of the budget
    start = cost(penalties)
    for _ in range(50):
        penalties.register(overloaded)
    raised = cost(penalties)
    assert raised > start  # no feasible solution among 50: the load penalty went up already
    for _ in range(50):
        penalties.register(feasible)
    assert penalties.seen_feasible and cost(penalties) < raised  # too many feasible: down, as quickly
    lowered = cost(penalties)
    for k in range(50):
        penalties.register(feasible if k % 3 else overloaded)  # 66 % feasible: PyVRP's target
    assert cost(penalties) == lowered
    for _ in range(100):
        penalties.register(overloaded)
    assert cost(penalties) == lowered  # settled: PyVRP's pace of 500 from now on


def test_without_a_hunt_the_penalties_keep_pyvrps_pace() -> None:
    data = _two_stop_data()
    overloaded = pyvrp.Solution(data, [[0, 1]])
    penalties = _Penalties(data, pyvrp.PenaltyParams())
    before = penalties.cost_evaluator().penalised_cost(overloaded)
    for _ in range(499):
        penalties.register(overloaded)
    assert penalties.cost_evaluator().penalised_cost(overloaded) == before


def test_budget_counts_iterations_and_stops_at_its_checkpoint_when_asked() -> None:
    budget = _Budget(seconds=60.0, limit=10)
    calls = 0
    while not budget(0.0):
        calls += 1
    assert calls == 10 and not budget.clocked
    asked: list[int] = []

    def stop_here() -> bool:
        asked.append(checkpointed.done)
        return True

    checkpointed = _Budget(seconds=60.0, limit=100, checkpoint_share=0.5, checkpoint=stop_here)
    while not checkpointed(0.0):
        pass
    assert asked == [50] and checkpointed.stopped_at_checkpoint
    hunted: list[int] = []
    hunting = _Budget(seconds=60.0, limit=100)
    hunting.hunt = lambda: hunted.append(hunting.done)
    while not hunting(float("inf")):  # never a feasible best
        pass
    assert hunted == [40]


def test_budget_calibrates_a_snapped_count_that_fits_the_time() -> None:
    budget = _Budget(seconds=0.5, limit=None, calibrate=True, probe=5)
    started = time.monotonic()
    while not budget(0.0):
        time.sleep(0.002)
    assert budget.limit is not None and budget.done == budget.limit
    assert time.monotonic() - started <= 0.6
    # Snapped: round(2 ** (k / 2)) for some k.
    assert any(round(2 ** (k / 2)) == budget.limit for k in range(60))
