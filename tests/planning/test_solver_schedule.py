"""Route timing: no pointless waiting, lunch outside a short route, reproducible iteration budgets."""

from __future__ import annotations

import dataclasses
from itertools import pairwise

import numpy as np
import pytest

from benchmarks.routing.cityday import city_day
from wasteroute.planning import (
    BreakRule,
    Depot,
    Facility,
    Location,
    Problem,
    Stop,
    Vehicle,
    VisitKind,
    seeding,
)
from wasteroute.planning.compiled import CompiledProblem, compile_problem
from wasteroute.planning.seeding import snap_iterations
from wasteroute.planning.solver import _compact_schedule, plan_routes

HOUR = 3600
LUNCH = BreakRule.lunch(earliest_start_s=11 * HOUR, latest_start_s=12 * HOUR)


def _early_day(*, window: tuple[int, int], lunch: BreakRule | None) -> Problem:
    """A depot, a facility and three bins within a few km; one bin may only be emptied in ``window``."""
    xy = np.array([[0, 0], [3000, 0], [1000, 1000], [1500, 2000], [500, 2500]], dtype=np.int64)
    distance = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    duration = distance // 10  # 10 m/s
    stops = (
        Stop("a", 2, volume_l=500.0, service_s=120, time_windows=(window,)),
        Stop("b", 3, volume_l=500.0, service_s=120),
        Stop("c", 4, volume_l=500.0, service_s=120),
    )
    vehicle = Vehicle(
        "truck",
        "yard",
        capacity_volume_l=10_000.0,
        shift=(4 * HOUR, 15 * HOUR),
        break_rule=lunch,
    )
    return Problem(
        locations=tuple(Location(f"L{i}") for i in range(len(xy))),
        distance_m=distance,
        duration_s=duration,
        stops=stops,
        depots=(Depot("yard", 0, (4 * HOUR, 15 * HOUR)),),
        vehicles=(vehicle,),
        facilities=(Facility("tip", 1, frozenset({"residual"}), (0, 24 * HOUR), unload_s=900),),
    )


def _busy_s(problem: Problem, visits: list[tuple[int, int, int]]) -> int:
    """Driving between consecutive places plus service and unload times: a route's least duration."""
    total = 0
    for (loc_a, _, service_a), (loc_b, _, _) in pairwise(visits):
        total += int(problem.duration_s[loc_a, loc_b]) + service_a
    return total


@pytest.mark.parametrize(
    "lunch", [None, BreakRule.lunch(earliest_start_s=11 * HOUR, latest_start_s=12 * HOUR)]
)
def test_early_route_leaves_late_enough_to_wait_nowhere(lunch: BreakRule | None) -> None:
    problem = _early_day(window=(8 * HOUR, 8 * HOUR + 1800), lunch=lunch)
    plan = plan_routes(problem, time_limit_s=1.0, seed=1)
    assert plan.feasible and len(plan.routes) == 1
    route = plan.routes[0]
    events = [v for v in route.visits if v.kind is not VisitKind.BREAK]
    assert all(v.start_s == v.arrival_s for v in events), "nobody waits on this route"
    services = {s.id: s.service_s for s in problem.stops} | {"tip": 900}
    places = [(v.location or 0, v.start_s, services.get(v.ref_id, 0)) for v in events]
    assert route.duration_s == _busy_s(problem, places)
    if lunch is not None:
        # The route is over long before 11:00: lunch is taken at the depot, after the route.
        (brk,) = [v for v in route.visits if v.kind is VisitKind.BREAK]
        assert brk.start_s >= events[-1].arrival_s
        assert 11 * HOUR <= brk.start_s <= 12 * HOUR


def _route_nodes(problem: Problem) -> tuple[CompiledProblem, list[int]]:
    """Compiled problem and the route yard -> a -> b -> c -> tip -> yard as its node numbers."""
    cp = compile_problem(problem)
    yard = cp.depot_node["yard"]
    return cp, [yard, cp.stop_node[0], cp.stop_node[1], cp.stop_node[2], cp.facility_copies[0][0], yard]


def _with_windows(problem: Problem, windows: dict[str, tuple[int, int]]) -> Problem:
    stops = tuple(
        dataclasses.replace(s, time_windows=(windows[s.id],) if s.id in windows else ())
        for s in problem.stops
    )
    return dataclasses.replace(problem, stops=stops)


# Driving on the route yard -> a -> b -> c -> tip -> yard: 200 + 150 + 150 + 500 + 300 s; services
# 3 x 120 s and one 900 s unload: 2,560 s of work.
BUSY_S = 2560
A_AND_B = {"a": (8 * HOUR, 8 * HOUR + 1800), "b": (9 * HOUR, 9 * HOUR + 1800)}
MIDDAY_B = {"b": (11 * HOUR + 1800, 12 * HOUR)}


def test_forced_wait_is_the_only_idle_time() -> None:
    # a in 8:00-8:30, b in 9:00-9:30: leave at 8:26:40, serve a at 8:30, wait at b until 9:00, home at
    # 9:34:50: 4,090 s, of which 1,530 s waiting that no timing can avoid.
    problem = _with_windows(
        _early_day(window=(0, 24 * HOUR), lunch=None),
        A_AND_B,
    )
    cp, nodes = _route_nodes(problem)
    schedule = _compact_schedule(cp, 0, nodes)
    assert schedule is not None
    assert schedule.starts[0] == 8 * HOUR + 26 * 60 + 40
    assert schedule.duration_s == 4090
    assert schedule.breaks == []


def test_lunch_falls_after_a_route_that_ends_before_it() -> None:
    problem = _with_windows(
        _early_day(window=(0, 24 * HOUR), lunch=LUNCH),
        A_AND_B,
    )
    cp, nodes = _route_nodes(problem)
    schedule = _compact_schedule(cp, 0, nodes)
    assert schedule is not None
    assert schedule.duration_s == 4090  # the lunch is taken at the depot, after the route
    ((start_s, length_s),) = schedule.breaks
    assert start_s >= schedule.starts[-1] and 11 * HOUR <= start_s <= 12 * HOUR and length_s == HOUR


def test_lunch_inside_a_route_adds_exactly_its_hour() -> None:
    # b opens at 11:30 and closes at 12:00: the lunch must fall inside the route and nothing else idles.
    problem = _with_windows(_early_day(window=(0, 24 * HOUR), lunch=LUNCH), MIDDAY_B)
    cp, nodes = _route_nodes(problem)
    schedule = _compact_schedule(cp, 0, nodes)
    assert schedule is not None
    assert schedule.duration_s == BUSY_S + HOUR
    ((start_s, _),) = schedule.breaks
    assert schedule.starts[0] < start_s < schedule.starts[-1]
    assert 11 * HOUR <= start_s <= 12 * HOUR


def test_iteration_grid_rounds_down_to_coarse_steps() -> None:
    estimates = [1.0, 1.9, 2.0, 7.5, 100.0, 1000.0, 12_345.6, 1e6]
    snapped = [snap_iterations(e) for e in estimates]
    assert snapped == sorted(snapped)
    for estimate, value in zip(estimates, snapped, strict=True):
        assert value <= estimate
        assert value >= 0.7 * estimate or estimate < 2
    # Nearby estimates share a grid value: that is what makes a timed calibration repeatable.
    assert snap_iterations(1000.0) == snap_iterations(1020.0) == 724
    assert snap_iterations(0.2) == 1


@pytest.mark.slow  # two searches to their budget
def test_replaying_the_reported_iteration_budget_gives_the_same_plan() -> None:
    problem = city_day(40, seed=5, n_vehicles=3)
    first = plan_routes(problem, time_limit_s=3.0, seed=4)
    assert first.stats.pyvrp is not None and first.stats.pyvrp.iteration_limit is not None
    budget = first.stats.pyvrp.iteration_limit
    seeding._CALIBRATED.clear()  # as in a fresh process
    # the budget, not the clock, ends the replay: a machine a little slower than at the first run
    # must not stop it a few iterations short (the time limit stays a guard only)
    second = plan_routes(problem, time_limit_s=30.0, seed=4, iterations=budget)
    assert second.stats.pyvrp is not None and second.stats.pyvrp.iteration_limit == budget
    assert [r.visits for r in first.routes] == [r.visits for r in second.routes]
    assert first.dropped == second.dropped


def test_route_start_and_end_are_the_depot_times_even_with_a_break_at_the_depot() -> None:
    from wasteroute.planning.result import Route, Visit, VisitKind

    visits = (
        Visit(VisitKind.START, "d", 0, 21_600, 21_600, 21_600, 0.0, 0.0),
        Visit(VisitKind.STOP, "s1", 1, 22_000, 22_000, 22_060, 100.0, 10.0),
        Visit(VisitKind.FACILITY, "f", 2, 23_000, 23_000, 23_900, 0.0, 0.0),
        Visit(VisitKind.END, "d", 0, 25_000, 25_000, 25_000, 0.0, 0.0),
        Visit(VisitKind.BREAK, "break", 0, 39_600, 39_600, 43_200, 0.0, 0.0),
    )
    route = Route("v1", visits, 10_000, 3_400, 100.0, 10.0, 1, 10.0)
    assert (route.start_s, route.end_s) == (21_600, 25_000)
