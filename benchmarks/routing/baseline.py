"""Plain PyVRP on a benchmark case: the baseline that ``bench routing --against-pyvrp`` compares with.

The baseline is PyVRP as a user would run it out of the box: ``pyvrp.solve`` with its default
parameters, the given seed and a wall-clock limit, on the instance's own data in the benchmark's
own units (the integer arc costs of the file's convention as distances and durations, the file's
demands, windows, service times and the fleet the router gets). Its routes are re-checked by the
same independent :mod:`.checker` as the router's, so both gaps are measured the same way.

Only VRPLIB cases (CVRPLIB, Solomon, Gehring-Homberger) have a baseline: the Kim instances need
disposal trips, a lunch break and daily limits that plain PyVRP does not model.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime

from benchmarks.routing.bench import BenchCase
from benchmarks.routing.checker import check_solution
from benchmarks.routing.readers import VrplibInstance

__all__ = ["plain_pyvrp_data", "run_plain_pyvrp"]


def plain_pyvrp_data(case: BenchCase) -> pyvrp.ProblemData:
    """The case as plain PyVRP data: one location per file node, the case's matrices and fleet."""
    if not isinstance(case.instance, VrplibInstance):
        raise ValueError(f"plain PyVRP needs a VRPLIB instance, got {type(case.instance).__name__}")
    problem = case.problem
    depot = problem.depots[0]
    n = len(problem.locations)
    stops = problem.stops
    # Node order for PyVRP: the depot, then the clients in the case's order.
    order = [depot.location, *(s.location for s in stops)]
    if sorted(order) != list(range(n)):
        raise ValueError(f"expected every file node once (depot and customers), got {len(order)} of {n}")
    idx = np.asarray(order, dtype=np.int64)
    dist = np.asarray(problem.distance_m, dtype=np.int64)[np.ix_(idx, idx)]
    dur = np.asarray(problem.duration_s, dtype=np.int64)[np.ix_(idx, idx)]
    has_times = any(s.time_windows for s in stops) or bool(dur.any())
    locations = [pyvrp.Location(0.0, 0.0) for _ in order]
    depots = [pyvrp.Depot(0, depot.window[0], depot.window[1]) if has_times else pyvrp.Depot(0)]
    clients = []
    for k, stop in enumerate(stops):
        window = (
            {"tw_early": stop.time_windows[0][0], "tw_late": stop.time_windows[0][1]}
            if stop.time_windows
            else {}
        )
        clients.append(
            pyvrp.Client(k + 1, delivery=[round(stop.volume_l)], service_duration=stop.service_s, **window)  # type: ignore[arg-type]
        )
    veh = problem.vehicles[0]
    vehicle_args: dict[str, object] = {
        "num_available": len(problem.vehicles),
        "capacity": [round(veh.capacity_volume_l)],
    }
    if has_times:
        vehicle_args |= {"tw_early": veh.shift[0], "tw_late": veh.shift[1]}
    vehicle_type = pyvrp.VehicleType(**vehicle_args)  # type: ignore[arg-type]
    return pyvrp.ProblemData(locations, clients, depots, [vehicle_type], [dist], [dur])  # type: ignore[list-item]


def run_plain_pyvrp(case: BenchCase, *, time_limit_s: float, seed: int) -> dict[str, object]:
    """Plain PyVRP (defaults, ``seed``, ``time_limit_s`` on the clock) on ``case``, re-checked.

    Returns ``{"gap_pct", "cost", "vehicles", "feasible", "seconds", "violations"}`` in the same
    units as the router's record (``gap_pct`` None without a reference).
    """
    started = time.perf_counter()
    data = plain_pyvrp_data(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # penalty warnings on a binding fleet; the checker reports it
        result = pyvrp.solve(data, stop=MaxRuntime(time_limit_s), seed=seed, collect_stats=False)
    seconds = time.perf_counter() - started
    stops = case.problem.stops
    routes = [[stops[act.idx].location for act in route if act.is_client()] for route in result.best.routes()]
    report = check_solution(case.instance, routes, max_vehicles=case.fleet)
    gap = None
    if case.reference:
        gap = round(100.0 * (report.cost - case.reference) / case.reference, 3)
    served = sum(len(r) for r in routes)
    return {
        "gap_pct": gap,
        "cost": round(report.cost, 4),
        "vehicles": report.vehicles,
        "feasible": report.feasible,
        "pyvrp_feasible": result.best.is_feasible(),
        "unserved": len(stops) - served,
        "seconds": round(seconds, 2),
        "violations": len(report.violations),
    }
