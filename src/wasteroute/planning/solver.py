"""The routing core: ``plan_routes(problem, *, time_limit_s, seed) -> RoutePlan``.

This is the only module of the project that imports OR-Tools. The OR-Tools model carries every
rule of :mod:`.problem`: volume and mass capacity, disposal trips (optional facility copies whose
capacity slack lets the load drop to zero; the end of a route is empty when the vehicle says so),
shift windows and maximum duration, lunch or statutory breaks, container time windows, service
and unload times, heterogeneous fleet and vehicle-container compatibility, optional stops with
prizes, several depots, daily volume and stop limits.

Search (``engine="auto"``): PyVRP (:mod:`.seeding`, which models most of the rules but not breaks
or daily limits; those are approximated conservatively) searches for nearly all of the budget, in
the units its penalties are tuned for, feasibility first when the fleet binds (must-go stops
become droppable at a prize above any detour when no plan serves them all by 80 % of the budget).
Every route is then loaded into a one-vehicle OR-Tools model of the full rules
(:func:`_route_alone`, cut to the route's own places: about 0.2 s for 500 stops, 0.6 s for 1,000;
placing statutory breaks is a search, limited by its failures rather than by seconds, so a busy
machine accepts the routes a quiet one does);
every rule is a rule of one route, so a plan whose routes all pass is one the full model accepts.
OR-Tools improves the plan only where it adds value (:func:`_ortools_adds_value`: breaks or daily
limits, which PyVRP approximates, on models up to 300 nodes, not in reproducible mode); on CVRPLIB
X and Solomon days PyVRP's model is exact and the seconds OR-Tools took after it (15 % of the
budget, plus building the full model) made plans worse than plain PyVRP's at the same time. A
rejected route is cut back until it fits; the full model then reinserts the cut stops, or (in
reproducible mode, and above 1,500 nodes, where the full model is not built) each cut stop goes to
the cheapest place a route's one-vehicle model accepts (:func:`_mend`, no search: with breaks the
full model's reinsertion on a 111-node city day ran out of a 30 s budget before its solution limit,
so its plan depended on how busy the machine was). ``engine="ortools"`` runs OR-Tools alone (parallel
cheapest insertion, then guided local search); it is also the fallback when PyVRP is not installed
or finds no plan.

Timing of a route: every route gets the shortest timing its stop order allows
(:func:`_compact_schedule`): it leaves as late as its windows permit and serves everything as
early as possible from there, a lunch break goes where the day is shortest (after a route that is
over before lunch: at the depot), so its hours contain no waiting that a later start or an earlier
return would remove. Statutory breaks keep the OR-Tools timing.

Determinism (``deterministic=True``, the default): the search stops on *iterations*, not on
elapsed time. The budget is calibrated on the run itself: its first iterations are timed and the
rate they show fills the budget (with a 15 % margin), rounded to a coarse grid (steps of a factor
1.41) so that repeated measurements agree; a search that reaches that count with a quarter of the
time left extends it once more the same way (the first iterations of a large day are slower). The
value is kept per problem and budget for the process, reported as
``stats.pyvrp.iteration_limit``, and can be passed back (``iterations=``) to replay a plan
exactly in another process. Two processes measure the same grid value unless the machine's speed
moved across a step between them (a busy shared machine can do that). ``time_limit_s`` stays a
wall-clock guard; a search that hits it anyway says so (``stats.stopped_by_clock``) and records
the iterations it did, so a replay gives the same plan. ``deterministic=False`` spends the whole
budget on the clock.

A plan says how tightly its must-go stops fitted the fleet (:attr:`RoutePlan.fleet`).

Time: ``time_limit_s`` is the whole call: compiling, searching, loading the routes into OR-Tools
and timing them (a few tenths of a second more on busy machines).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from wasteroute.planning.compiled import ARC_UNITS_PER_M, CompiledProblem, NodeKind, compile_problem
from wasteroute.planning.problem import BreakKind, BreakRule, Problem
from wasteroute.planning.result import (
    DroppedStop,
    DropReason,
    FleetUse,
    Note,
    Route,
    RoutePlan,
    SearchStats,
    Visit,
    VisitKind,
)

__all__ = ["Engine", "plan_routes"]

Engine = Literal["auto", "ortools", "hybrid"]

_BIG = 1 << 40
# Deterministic OR-Tools budget: solutions per second x nodes, conservative (2-core VM).
_ORTOOLS_WORK_PER_S = 50_000.0
# RoutingModel.status() values (routing_enums_pb2.RoutingSearchStatus).
_STATUS_TIMEOUT_WITH_SOLUTION = 2
_STATUS_FAIL_TIMEOUT = 4
# Above this many nodes, OR-Tools local search with breaks is too slow to be worth its time.
_SLOW_NODES = 300
# Above this many nodes the full OR-Tools model is not built at all (its matrices alone take
# seconds and gigabytes); PyVRP's routes are validated one by one.
_FULL_MODEL_NODES = 1_500
# Seconds per node to validate routes one by one in a model with breaks (measured 0.0007 on a
# 2-core VM under load; four times that is kept back), and to compile a problem before the search.
_VALIDATE_S_PER_NODE = 0.001
_COMPILE_S_PER_NODE = 0.0005
# Loading a route into its one-vehicle model is a search when the route has statutory breaks (where
# the breaks go): it stops on failures, not seconds, so whether a route is accepted does not depend
# on how busy the machine is. A 72-stop packaging route of a simulated Lübeck day needs 76,198
# failures (0.9 s on a quiet 2-core machine, 1.7 s beside two busy processes); about 12 µs each.
_READ_FAILURES = 200_000
# A wall-clock guard on that search, far above what the failure limit takes on any machine we run.
_READ_GUARD_S = 60.0


def _validation_reserve_s(cp: CompiledProblem) -> float:
    """Time kept back from the search for loading its routes into the OR-Tools model."""
    return _VALIDATE_S_PER_NODE * cp.num_nodes


def _compile_estimate_s(cp: CompiledProblem) -> float:
    return _COMPILE_S_PER_NODE * cp.num_nodes


@dataclass
class _Model:
    cp: CompiledProblem
    manager: Any
    routing: Any
    time_dim: Any
    breaks: dict[int, list[Any]]


def _node_matrix(cp: CompiledProblem, matrix: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    loc = cp.node_location
    out: npt.NDArray[np.int64] = matrix[np.ix_(loc, loc)].astype(np.int64)
    return out


def _build(cp: CompiledProblem) -> _Model:
    """The OR-Tools model of every rule of ``cp`` (see the module docstring)."""
    manager = pywrapcp.RoutingIndexManager(
        cp.num_nodes, len(cp.problem.vehicles), cp.vehicle_start, cp.vehicle_end
    )
    routing = pywrapcp.RoutingModel(manager)
    _add_costs(cp, routing)
    _add_loads(cp, manager, routing)
    time_dim = _add_time(cp, manager, routing)
    breaks = _add_breaks(cp, manager, routing, time_dim)
    _add_visits(cp, manager, routing)
    return _Model(cp, manager, routing, time_dim, breaks)


def _add_costs(cp: CompiledProblem, routing: Any) -> None:
    """Arc costs (one matrix per distinct cost ratio) and fixed costs of the vehicles."""
    dist = _node_matrix(cp, cp.problem.distance_m)
    by_ratio: dict[float, list[int]] = {}
    for v, ratio in enumerate(cp.vehicle_cost_ratio):
        by_ratio.setdefault(ratio, []).append(v)
    for ratio, group in by_ratio.items():
        costs = np.rint(dist * (ratio * ARC_UNITS_PER_M)).astype(np.int64)
        cb = routing.RegisterTransitMatrix(costs.tolist())
        for v in group:
            routing.SetArcCostEvaluatorOfVehicle(cb, v)
    for v, veh in enumerate(cp.problem.vehicles):
        if veh.fixed_cost > 0:
            routing.SetFixedCostOfVehicle(round(veh.fixed_cost * cp.cost_scale), v)


def _add_loads(cp: CompiledProblem, manager: Any, routing: Any) -> None:
    """Volume and mass on board (a facility visit empties the truck through its slack), and the
    daily limits of collected volume, stops and disposal trips."""
    vehicles = cp.problem.vehicles
    is_fac = [k is NodeKind.FACILITY for k in cp.node_kind]
    is_stop = [k is NodeKind.STOP for k in cp.node_kind]

    def reload_dimension(name: str, demand: list[int], caps: list[int]) -> None:
        top = max(caps)
        transit = [(-top if is_fac[n] else demand[n]) for n in range(cp.num_nodes)]
        cb = routing.RegisterUnaryTransitVector(transit)
        routing.AddDimensionWithVehicleCapacity(cb, top, caps, True, name)
        dim = routing.GetDimensionOrDie(name)
        for i in range(routing.Size()):
            if routing.IsEnd(i):
                continue
            node = manager.IndexToNode(i)
            if is_fac[node] and not routing.IsStart(i):
                dim.SlackVar(i).SetRange(0, top)
            else:
                dim.SlackVar(i).SetValue(0)
        for v, veh in enumerate(vehicles):
            if veh.must_end_empty:
                dim.CumulVar(routing.End(v)).SetValue(0)

    reload_dimension("volume", cp.node_volume_ml, cp.vehicle_cap_ml)
    if cp.use_mass:
        reload_dimension("mass", cp.node_mass_g, cp.vehicle_cap_g)

    if any(v.max_collected_volume_l is not None for v in vehicles):
        cb = routing.RegisterUnaryTransitVector(
            [cp.node_volume_ml[n] if is_stop[n] else 0 for n in range(cp.num_nodes)]
        )
        caps = [
            _BIG if v.max_collected_volume_l is None else math.floor(v.max_collected_volume_l * 1000 + 1e-6)
            for v in vehicles
        ]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "collected")
    if any(v.max_stops is not None for v in vehicles):
        cb = routing.RegisterUnaryTransitVector([1 if is_stop[n] else 0 for n in range(cp.num_nodes)])
        caps = [_BIG if v.max_stops is None else v.max_stops for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "stops")
    if any(v.max_disposal_trips is not None for v in vehicles):
        cb = routing.RegisterUnaryTransitVector([1 if is_fac[n] else 0 for n in range(cp.num_nodes)])
        caps = [_BIG if v.max_disposal_trips is None else v.max_disposal_trips for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "trips")


def _add_time(cp: CompiledProblem, manager: Any, routing: Any) -> Any:
    """The time dimension (transit = service at the origin + driving; slack = waiting and breaks):
    container and facility windows, shifts, maximum durations and the cost of an hour."""
    index = manager.NodeToIndex
    travel = _node_matrix(cp, cp.problem.duration_s)
    service = np.asarray(cp.node_service_s, dtype=np.int64)
    time_cb = routing.RegisterTransitMatrix((travel + service[:, None]).tolist())
    horizon = cp.horizon_s
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for node in range(cp.num_nodes):
        kind = cp.node_kind[node]
        if kind is NodeKind.STOP:
            windows = cp.stop_of(node).time_windows
            if windows:
                cumul = time_dim.CumulVar(index(node))
                cumul.SetRange(windows[0][0], windows[-1][1])
                for (_, end_a), (start_b, _) in pairwise(windows):
                    cumul.RemoveInterval(end_a + 1, start_b - 1)
        elif kind is NodeKind.FACILITY:
            start_s, end_s = cp.facility_of(node).window
            time_dim.CumulVar(index(node)).SetRange(start_s, end_s)
    for v, veh in enumerate(cp.problem.vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(*cp.vehicle_start_window[v])
        time_dim.CumulVar(routing.End(v)).SetRange(*cp.vehicle_end_window[v])
        time_dim.SetSpanUpperBoundForVehicle(cp.vehicle_max_duration_s[v], v)
        if veh.cost_per_hour > 0:
            coef = max(1, round(veh.cost_per_hour * cp.cost_scale / 3600.0))
            time_dim.SetSpanCostCoefficientForVehicle(coef, v)
        elif veh.break_rule is not None:
            # Tie-breaker (1 unit = 1 cm per second): compact schedules around breaks.
            time_dim.SetSpanCostCoefficientForVehicle(1, v)
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
    return time_dim


def _add_breaks(cp: CompiledProblem, manager: Any, routing: Any, time_dim: Any) -> dict[int, list[Any]]:
    """Break intervals per vehicle: a lunch break in its window, or a chain of statutory breaks.
    Visits (services, unloads) are never interrupted."""
    breaks: dict[int, list[Any]] = {}
    visit_transit = [0] * routing.Size()
    for i in range(routing.Size()):
        visit_transit[i] = cp.node_service_s[manager.IndexToNode(i)]
    solver = routing.solver()
    for v, veh in enumerate(cp.problem.vehicles):
        rule = veh.break_rule
        if rule is None:
            continue
        if rule.kind is BreakKind.LUNCH:
            assert rule.earliest_start_s is not None and rule.latest_start_s is not None
            intervals = [
                solver.FixedDurationIntervalVar(
                    rule.earliest_start_s, rule.latest_start_s, rule.duration_s, False, f"break {v} 0"
                )
            ]
        else:
            intervals = _statutory_breaks(cp, routing, time_dim, v, rule)
        time_dim.SetBreakIntervalsOfVehicle(intervals, v, visit_transit)
        for interval in intervals:
            routing.AddVariableMinimizedByFinalizer(interval.SafeStartExpr(0).Var())
        breaks[v] = intervals
    return breaks


def _statutory_breaks(cp: CompiledProblem, routing: Any, time_dim: Any, v: int, rule: BreakRule) -> list[Any]:
    """Chain of mandatory breaks: each starts at most ``max_work_s`` after the route start or the
    previous break, and the route ends at most ``max_work_s`` after the last one. Breaks not needed
    by a short route are placed after its end (they cost nothing)."""
    assert rule.max_work_s is not None
    solver = routing.solver()
    work, pause = rule.max_work_s, rule.duration_s
    first_s, last_s = (
        cp.vehicle_start_window[v][0],
        max(cp.horizon_s, cp.vehicle_end_window[v][1] + work),
    )
    count = max(1, math.ceil((cp.vehicle_max_duration_s[v] - work) / (work + pause)))
    intervals = [
        solver.FixedDurationIntervalVar(first_s, last_s, pause, False, f"break {v} {k}") for k in range(count)
    ]
    start_var = time_dim.CumulVar(routing.Start(v))
    end_var = time_dim.CumulVar(routing.End(v))
    solver.Add(intervals[0].StartExpr() >= start_var)
    solver.Add(intervals[0].StartExpr() <= start_var + work)
    for a, b in pairwise(intervals):
        solver.Add(b.StartExpr() >= a.EndExpr())
        solver.Add(b.StartExpr() <= a.EndExpr() + work)
    solver.Add(end_var <= intervals[-1].EndExpr() + work)
    return intervals


def _add_visits(cp: CompiledProblem, manager: Any, routing: Any) -> None:
    """Which visits may happen and by whom. Stops are disjunctions: required ones with a
    prohibitive penalty (robust first solutions), optional ones with their prize; facility copies
    are free to use or not; depots no vehicle uses are switched off; no unloading twice in a row
    at the same facility."""
    vehicles = cp.problem.vehicles
    n_veh = len(vehicles)
    index = manager.NodeToIndex
    for node in range(cp.num_nodes):
        kind = cp.node_kind[node]
        if kind is NodeKind.STOP:
            stop = cp.stop_of(node)
            penalty = cp.required_penalty if stop.required else cp.prize_units.get(node, 0)
            routing.AddDisjunction([index(node)], penalty)
            allowed = cp.allowed_vehicles[node]
            if len(allowed) < n_veh:
                routing.VehicleVar(index(node)).SetValues([-1, *allowed])
        elif kind is NodeKind.FACILITY:
            routing.AddDisjunction([index(node)], 0)
            fractions = cp.facility_of(node).fractions
            allowed = [v for v, veh in enumerate(vehicles) if veh.fraction in fractions]
            if len(allowed) < n_veh:
                routing.VehicleVar(index(node)).SetValues([-1, *allowed])
    # A depot no vehicle starts or ends at is an ordinary node to OR-Tools: switch it off.
    used_depots = set(cp.vehicle_start) | set(cp.vehicle_end)
    for node in range(cp.num_nodes):
        if cp.node_kind[node] is NodeKind.DEPOT and node not in used_depots:
            routing.AddDisjunction([index(node)], 0)
            routing.ActiveVar(index(node)).SetValue(0)
    # Never unload twice in a row at the same facility (copies are interchangeable).
    for copies in cp.facility_copies:
        for node in copies:
            others = [index(m) for m in copies if m != node]
            if others:
                routing.NextVar(index(node)).RemoveValues(others)


def _search_parameters(time_limit_s: float, solution_limit: int | None) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    params.lns_time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = max(1, solution_limit)
    return params


def _routes_of(model: _Model, assignment: Any) -> list[list[int]]:
    routing, manager = model.routing, model.manager
    routes = []
    for v in range(len(model.cp.problem.vehicles)):
        nodes = []
        i = assignment.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(i):
            nodes.append(manager.IndexToNode(i))
            i = assignment.Value(routing.NextVar(i))
        routes.append(nodes)
    return routes


def _read_routes(model: _Model, routes: Sequence[Sequence[int]]) -> Any:
    index = model.manager.NodeToIndex
    return model.routing.ReadAssignmentFromRoutes([[index(n) for n in r] for r in routes], True)


def _route_fits(cp: CompiledProblem, v: int, route: Sequence[int]) -> bool:
    """Does the full model accept ``route`` for vehicle ``v``? Checked on a one-vehicle sub-model."""
    return _route_alone(cp, v, route) is not None


def _route_alone(
    cp: CompiledProblem, v: int, route: Sequence[int]
) -> tuple[_Model, Any, npt.NDArray[np.int64]] | None:
    """``route`` of vehicle ``v`` loaded into a one-vehicle model of the same rules (None if rejected).

    Every rule of the model is a rule of one route (the only link between routes, each stop at most
    once, holds by construction), so a plan whose routes all pass here is a plan the full model
    accepts, at a fraction of the cost of loading it into the full model. The sub-model holds only
    the depots, the facilities and the route's own stops (its matrices are cut to those places), so
    its cost does not grow with the size of the day.
    """
    problem = cp.problem
    stop_indices = [cp.node_ref[n] for n in route if cp.node_kind[n] is NodeKind.STOP]
    uses = [0] * len(problem.facilities)
    for n in route:
        if cp.node_kind[n] is NodeKind.FACILITY:
            uses[cp.node_ref[n]] += 1
    places: dict[int, int] = {}
    for loc in (
        [d.location for d in problem.depots]
        + [f.location for f in problem.facilities]
        + [problem.stops[i].location for i in stop_indices]
    ):
        places.setdefault(loc, len(places))
    keep = np.fromiter(places, dtype=np.int64, count=len(places))
    sub = Problem(
        locations=tuple(problem.locations[i] for i in keep),
        distance_m=problem.distance_m[np.ix_(keep, keep)],
        duration_s=problem.duration_s[np.ix_(keep, keep)],
        stops=tuple(
            replace(problem.stops[i], location=places[problem.stops[i].location]) for i in stop_indices
        ),
        depots=tuple(replace(d, location=places[d.location]) for d in problem.depots),
        vehicles=(problem.vehicles[v],),
        facilities=tuple(replace(f, location=places[f.location]) for f in problem.facilities),
    )
    sub_cp = compile_problem(sub, min_copies=uses)
    if len(sub_cp.stop_nodes()) != len(stop_indices):
        return None
    sub_stop_node = {sub_cp.node_ref[n]: n for n in sub_cp.stop_nodes()}
    next_copy = [0] * len(problem.facilities)
    sub_route = []
    k = 0
    for n in route:
        if cp.node_kind[n] is NodeKind.STOP:
            sub_route.append(sub_stop_node[k])
            k += 1
        else:
            fi = cp.node_ref[n]
            sub_route.append(sub_cp.facility_copies[fi][next_copy[fi]])
            next_copy[fi] += 1
    model = _build(sub_cp)
    model.routing.CloseModelWithParameters(_search_parameters(_READ_GUARD_S, 1))
    model.routing.AddSearchMonitor(model.routing.solver().FailuresLimit(_READ_FAILURES))
    assignment = _read_routes(model, [sub_route])
    if assignment is None:
        return None
    return model, assignment, keep


def _fit(cp: CompiledProblem, v: int, route: Sequence[int], stats: SearchStats) -> list[Route] | None:
    """``route`` of vehicle ``v`` validated alone (:func:`_route_alone`) and timed, or None."""
    loaded = _route_alone(cp, v, route)
    if loaded is None:
        return None
    sub_routes, _ = _extract_routes(loaded[0], loaded[1], stats)
    keep = loaded[2]  # the sub-model's place k is the day's place keep[k]
    out = []
    for r in sub_routes:
        visits = tuple(
            vis if vis.location is None else replace(vis, location=int(keep[vis.location]))
            for vis in r.visits
        )
        out.append(replace(r, visits=visits))
    return out


def _validate_alone(
    cp: CompiledProblem, routes: Sequence[Sequence[int]], stats: SearchStats
) -> tuple[list[Route], set[str]] | None:
    """Load every route into its own one-vehicle model (see :func:`_route_alone`); the routes with
    their timing, or None as soon as one is rejected."""
    checked = _validate_each(cp, routes, stats, stop_early=True)
    if any(c is None for c in checked):
        return None
    return _collect(checked)


def _validate_each(
    cp: CompiledProblem, routes: Sequence[Sequence[int]], stats: SearchStats, *, stop_early: bool = False
) -> list[list[Route] | None]:
    """Per vehicle: its validated, timed route (``[]`` when unused) or None when rejected."""
    out: list[list[Route] | None] = []
    for v, route in enumerate(routes):
        fitted = _fit(cp, v, route, stats) if route else []
        out.append(fitted)
        if fitted is None and stop_early:
            break
    return out


def _collect(checked: Sequence[list[Route] | None]) -> tuple[list[Route], set[str]]:
    routes = [r for c in checked if c is not None for r in c]
    return routes, {sid for r in routes for sid in r.stop_ids}


def _mend(
    cp: CompiledProblem, routes: list[list[int]], stats: SearchStats, tries: int = 40
) -> tuple[list[Route], set[str], int]:
    """Validate every route; cut rejected ones back until they fit and put the stops cut where a
    route's one-vehicle model accepts them (must-go first, each at the cheapest of its ``tries``
    cheapest places). Only changed routes are loaded again. Returns the timed routes, the served
    stop ids and the number of stops left out."""
    checked = _validate_each(cp, routes, stats)
    fixed = [list(r) for r in routes]
    missing: list[int] = []
    for v, c in enumerate(checked):
        if c is not None:
            continue
        cut, _ = _cut_to_fit(cp, [[] if w != v else routes[v] for w in range(len(routes))])
        fixed[v] = cut[v]
        kept = set(cut[v])
        missing += [n for n in routes[v] if cp.node_kind[n] is NodeKind.STOP and n not in kept]
        checked[v] = _fit(cp, v, fixed[v], stats) if fixed[v] else []
    missing.sort(key=lambda n: (not cp.stop_of(n).required, n))
    loc = cp.node_location
    dist = cp.problem.distance_m
    left = 0
    for node in missing:
        here = int(loc[node])
        options: list[tuple[int, int, int]] = []
        for v in cp.allowed_vehicles.get(node, []):
            path = [cp.vehicle_start[v], *fixed[v], cp.vehicle_end[v]]
            for k in range(len(path) - 1):
                a, b = int(loc[path[k]]), int(loc[path[k + 1]])
                options.append((int(dist[a, here]) + int(dist[here, b]) - int(dist[a, b]), v, k))
        options.sort()
        for _, v, k in options[:tries]:
            trial = [*fixed[v][:k], node, *fixed[v][k:]]
            fitted = _fit(cp, v, trial, stats)
            if fitted is not None:
                fixed[v], checked[v] = trial, fitted
                break
        else:
            left += 1
    routes_out, served = _collect(checked)
    return routes_out, served, left


def _repair(model: _Model, routes: list[list[int]]) -> tuple[Any, int]:
    """Load ``routes``; if the full model rejects them, shorten offending routes until it accepts.

    The removed stops stay unserved in the initial solution; the OR-Tools search may insert them
    again. Returns the assignment (or None) and the number of stops removed.
    """
    assignment = _read_routes(model, routes)
    if assignment is not None:
        return assignment, 0
    fixed, removed = _cut_to_fit(model.cp, routes)
    return _read_routes(model, fixed), removed


def _cut_to_fit(cp: CompiledProblem, routes: Sequence[Sequence[int]]) -> tuple[list[list[int]], int]:
    """Each route checked alone on a small one-vehicle model; a rejected route loses stops from its
    end (its final unload kept) until it fits. Returns the routes and the number of stops removed."""
    removed = 0
    fixed: list[list[int]] = []
    for v, route in enumerate(routes):
        if not route or _route_fits(cp, v, route):
            fixed.append(list(route))
            continue
        # Longest prefix (cut after a stop, closed by the vehicle's final unload) that fits.
        cuts = [k + 1 for k, n in enumerate(route) if cp.node_kind[n] is NodeKind.STOP]
        tail = [route[-1]] if cp.node_kind[route[-1]] is NodeKind.FACILITY else []

        def candidate(cut: int, route: Sequence[int] = route, tail: list[int] = tail) -> list[int]:
            head = list(route[:cut])
            needs_tail = bool(tail) and head[-1] != tail[0]
            return head + tail if needs_tail else head

        lo, hi = 0, len(cuts) - 1  # cuts[hi] is the full route, known not to fit
        best: list[int] = []
        while lo < hi:
            mid = (lo + hi) // 2
            trial = candidate(cuts[mid])
            if _route_fits(cp, v, trial):
                best = trial
                lo = mid + 1
            else:
                hi = mid
        removed += len(cuts) - sum(1 for n in best if cp.node_kind[n] is NodeKind.STOP)
        fixed.append(best)
    return fixed, removed


def _ortools_adds_value(cp: CompiledProblem) -> bool:
    """Whether OR-Tools should improve PyVRP's plan rather than only validate it.

    PyVRP searches an approximation when vehicles have breaks or daily limits (shifts shortened by
    the break time, reloads capped by the daily volume); OR-Tools, which models them exactly, can
    use the slack that leaves, but its moves are slow with breaks, so only on small models. On
    every other day PyVRP's model is exact and a few seconds of OR-Tools after it improve nothing
    (measured on CVRPLIB X and Solomon instances): the time goes to PyVRP instead.
    """
    approximated = any(
        v.break_rule is not None
        or v.max_collected_volume_l is not None
        or v.max_stops is not None
        or v.max_disposal_trips is not None
        for v in cp.problem.vehicles
    )
    return approximated and cp.num_nodes <= _SLOW_NODES


def _ortools_solution_limit(cp: CompiledProblem, seconds: float) -> int:
    """Deterministic solution budget for OR-Tools alone (conservative; breaks make moves slow)."""
    if any(v.break_rule is not None for v in cp.problem.vehicles):
        return max(5, int(seconds * 0.5))
    return max(20, int(seconds * _ORTOOLS_WORK_PER_S / max(20, cp.num_nodes)))


def plan_routes(
    problem: Problem,
    *,
    time_limit_s: float,
    seed: int = 0,
    engine: Engine = "auto",
    deterministic: bool = True,
    ortools_share: float = 0.15,
    iterations: int | None = None,
) -> RoutePlan:
    """Plan the routes of one day.

    Args:
        problem: the day to plan.
        time_limit_s: budget of the whole call in seconds (> 0): search, model building and
            validation.
        seed: PyVRP's random seed.
        engine: ``"auto"``/``"hybrid"``: PyVRP search, then OR-Tools validation (and repair if the
            full model rejects a route) and, where it adds value, improvement; ``"ortools"``:
            OR-Tools alone (parallel cheapest insertion, guided local search).
        deterministic: stop on work limits (PyVRP iterations calibrated on this problem, see the
            module docstring) so that the same problem, budget and seed give the same plan on
            this machine. ``False`` searches on the
            clock for the whole budget (benchmarks) and is not reproducible.
            ``stats.stopped_by_clock`` says when a deterministic solve hit the clock anyway.
        ortools_share: fraction of the budget kept for OR-Tools improvement after PyVRP when not
            deterministic and OR-Tools adds value (default 0.15; see :func:`_ortools_adds_value`).
        iterations: PyVRP iteration budget to use instead of calibrating one (reproducible mode):
            ``stats.pyvrp.iteration_limit`` of an earlier plan replays it exactly.

    Returns:
        The plan. Required stops that cannot be served are listed in :attr:`RoutePlan.dropped`
        with a reason and explained in :attr:`RoutePlan.diagnosis`; this function does not raise
        for an over-full day.
    """
    _check_arguments(problem, time_limit_s, engine, ortools_share)
    clock = _Clock(time.monotonic(), time_limit_s)
    stats = SearchStats()
    cp = compile_problem(problem)
    stats.compile_s = clock.elapsed()
    seeding = _seeding_module(engine) if engine in ("auto", "hybrid") and cp.stop_nodes() else None
    # Reproducible plans only validate: greedy descent after PyVRP gained nothing measurable on
    # city days (40-stop day: the same objective after 1.2 s) and its time is the search's.
    improve = _ortools_adds_value(cp) and not deterministic
    seed_routes: list[list[int]] | None = None
    if seeding is not None:
        share = ortools_share if improve else 0.0  # never improved in reproducible mode
        cp, seed_routes = _seed_with_pyvrp(
            seeding,
            cp,
            stats,
            clock,
            seed=seed,
            deterministic=deterministic,
            share=share,
            iterations=iterations,
        )
        if seed_routes is not None and not improve:
            plan = _validated_seed(cp, seed_routes, stats, clock, seed=seed, deterministic=deterministic)
            if plan is not None:
                return plan
    return _solve_with_ortools(
        cp, seed_routes, stats, clock, seed=seed, deterministic=deterministic, improve=improve
    )


def _check_arguments(problem: Problem, time_limit_s: float, engine: str, ortools_share: float) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    if not (isinstance(time_limit_s, int | float) and math.isfinite(time_limit_s) and time_limit_s > 0):
        raise ValueError(f"time_limit_s must be a finite number of seconds > 0, got {time_limit_s!r}")
    if engine not in ("auto", "ortools", "hybrid"):
        raise ValueError(f"engine must be 'auto', 'ortools' or 'hybrid', got {engine!r}")
    if not 0.0 < ortools_share < 1.0:
        raise ValueError(f"ortools_share must be in (0, 1), got {ortools_share!r}")


@dataclass(frozen=True)
class _Clock:
    """The budget of one :func:`plan_routes` call: when it started and how long it may take."""

    started: float
    time_limit_s: float

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        """What is left of the budget, at least 5 % of it (a search needs some time to answer)."""
        return max(0.05 * self.time_limit_s, self.time_limit_s - self.elapsed())


def _seeding_module(engine: str) -> ModuleType | None:
    """:mod:`.seeding` (PyVRP), or None when PyVRP is not installed and ``engine`` is ``"auto"``
    (OR-Tools alone then)."""
    try:
        from wasteroute.planning import seeding
    except ImportError:
        if engine == "hybrid":
            raise
        return None
    return seeding


def _seed_with_pyvrp(
    seeding: ModuleType,
    cp: CompiledProblem,
    stats: SearchStats,
    clock: _Clock,
    *,
    seed: int,
    deterministic: bool,
    share: float,
    iterations: int | None,
) -> tuple[CompiledProblem, list[list[int]] | None]:
    """PyVRP's search for the budget less what OR-Tools keeps (``share`` of it for improving, the
    validation reserve); its routes as nodes of ``cp``, recompiled with more facility copies when
    the routes unload more often than ``cp`` has copies for (None: no plan found)."""
    time_limit_s = clock.time_limit_s
    reserve_s = _validation_reserve_s(cp)
    # Reproducible mode: the search's share must not depend on how long compiling took (its
    # budget keys the calibration), so an estimate stands for the time already spent.
    spent_s = _compile_estimate_s(cp) if deterministic else clock.elapsed()
    pyvrp_s = max(0.1 * time_limit_s, (time_limit_s - spent_s - reserve_s) - share * time_limit_s)
    seeded = seeding.solve_with_pyvrp(
        cp, time_limit_s=pyvrp_s, seed=seed, deterministic=deterministic, iterations=iterations
    )
    stats.pyvrp = seeded.stats
    stats.validation_reserve_s = reserve_s
    if seeded.routes is None:
        return cp, None
    if any(u > len(c) for u, c in zip(seeded.facility_uses, cp.facility_copies, strict=True)):
        cp = compile_problem(cp.problem, min_copies=[u + 1 for u in seeded.facility_uses])
    routes: list[list[int]] = seeded.assign_copies(cp)
    return cp, routes


def _validated_seed(
    cp: CompiledProblem,
    seed_routes: list[list[int]],
    stats: SearchStats,
    clock: _Clock,
    *,
    seed: int,
    deterministic: bool,
) -> RoutePlan | None:
    """PyVRP's routes as the plan when OR-Tools accepts them, each loaded into a one-vehicle model
    of the full rules (None when one is rejected and the full model is to repair them). In
    reproducible mode, and above :data:`_FULL_MODEL_NODES`, rejected routes are cut back until they
    fit and the stops cut go where they fit at the least detour: no search, so no clock (and never
    None)."""
    t_read = time.monotonic()
    if cp.num_nodes > _FULL_MODEL_NODES or deterministic:
        mended, served, left = _mend(cp, seed_routes, stats)
        checked: tuple[list[Route], set[str]] | None = (mended, served)
    else:
        checked, left = _validate_alone(cp, seed_routes, stats), 0
    stats.validate_s = time.monotonic() - t_read
    if checked is None:
        return None
    assert stats.pyvrp is not None
    stats.ortools_skipped = True
    stats.seed_stops_removed = left
    stats.stopped_by_clock = deterministic and stats.pyvrp.stopped_by_clock
    return _finish(cp, checked[0], checked[1], "pyvrp+ortools", clock.elapsed(), seed, stats)


def _solve_with_ortools(
    cp: CompiledProblem,
    seed_routes: list[list[int]] | None,
    stats: SearchStats,
    clock: _Clock,
    *,
    seed: int,
    deterministic: bool,
    improve: bool,
) -> RoutePlan:
    """The full OR-Tools model: PyVRP's routes repaired and (when ``improve``) improved, or a
    search of its own from a cheapest-insertion start (no routes, or none it could repair)."""
    remaining = clock.remaining()
    # Reproducible mode: the solution budget comes from the plan's time limit, not from what the
    # steps before left of it (a busy machine would otherwise search less and plan differently).
    limit = _ortools_solution_limit(cp, clock.time_limit_s) if deterministic else None
    t_build = time.monotonic()
    model = _build(cp)
    stats.build_s = time.monotonic() - t_build
    stats.nodes = cp.num_nodes
    solution = None
    engine_used = "ortools"
    if seed_routes is not None:
        # only outside reproducible mode: there rejected routes are mended (``_validated_seed``)
        solution = _from_seed(model, seed_routes, stats, clock, remaining, improve=improve)
        if solution is not None:
            engine_used = "pyvrp+ortools"
    else:
        model.routing.CloseModelWithParameters(_search_parameters(remaining, limit))
    if solution is None:
        t0 = time.monotonic()
        solution = model.routing.SolveWithParameters(_search_parameters(remaining, limit))
        stats.ortools_s = time.monotonic() - t0
        engine_used = "ortools"
    elapsed = clock.elapsed()
    status = int(model.routing.status())
    stats.ortools_status = status
    stats.ortools_solutions = int(model.routing.solver().Solutions())
    hit_clock = status == _STATUS_FAIL_TIMEOUT or (
        status == _STATUS_TIMEOUT_WITH_SOLUTION and (limit is None or stats.ortools_solutions < limit)
    )
    pyvrp_clocked = stats.pyvrp is not None and stats.pyvrp.stopped_by_clock
    stats.stopped_by_clock = deterministic and (pyvrp_clocked or hit_clock)
    if solution is None:
        return _empty_plan(cp, engine_used, elapsed, seed, stats)
    stats.objective = int(solution.ObjectiveValue())
    return _extract(model, solution, engine_used, elapsed, seed, stats)


def _from_seed(
    model: _Model,
    seed_routes: list[list[int]],
    stats: SearchStats,
    clock: _Clock,
    remaining: float,
    *,
    improve: bool,
) -> Any:
    """PyVRP's routes loaded into the full model (offending routes shortened until it accepts
    them), then improved by guided local search for the remaining time. Without improvement the
    full model only comes in to reinsert the stops of rejected routes. None when nothing could be
    loaded. Not used in reproducible mode, whose rejected routes are mended without a search."""
    params = _search_parameters(remaining, None)
    t_read = time.monotonic()
    model.routing.CloseModelWithParameters(params)
    initial, removed = _repair(model, seed_routes)
    stats.validate_s = time.monotonic() - t_read
    stats.seed_stops_removed = removed
    if initial is None:
        return None
    stats.seed_objective = int(initial.ObjectiveValue())
    remaining = clock.remaining()
    if not improve and removed == 0:
        stats.ortools_skipped = True
        return initial
    params = _search_parameters(remaining, None)
    t0 = time.monotonic()
    solution = model.routing.SolveFromAssignmentWithParameters(initial, params)
    stats.ortools_s = time.monotonic() - t0
    if solution is None or solution.ObjectiveValue() > initial.ObjectiveValue():
        return initial
    return solution


def _empty_plan(cp: CompiledProblem, engine: str, elapsed: float, seed: int, stats: SearchStats) -> RoutePlan:
    dropped = list(cp.excluded)
    for node in cp.stop_nodes():
        stop = cp.stop_of(node)
        dropped.append(
            DroppedStop(
                stop.id, stop.required, DropReason.NO_TIME_LEFT, "the search found no plan in its budget"
            )
        )
    plan_dropped = tuple(dropped)
    notes = _diagnose(cp, plan_dropped, ())
    return RoutePlan(
        routes=(),
        dropped=plan_dropped,
        diagnosis=tuple(n.text for n in notes),
        notes=notes,
        cost=sum(
            cp.problem.stops[cp.node_ref[n]].prize for n in cp.stop_nodes() if not cp.stop_of(n).required
        ),
        engine=engine,
        solve_time_s=elapsed,
        seed=seed,
        stats=stats,
    )


def _extract(
    model: _Model, solution: Any, engine: str, elapsed: float, seed: int, stats: SearchStats
) -> RoutePlan:
    routes, served = _extract_routes(model, solution, stats)
    return _finish(model.cp, routes, served, engine, elapsed, seed, stats)


def _extract_routes(model: _Model, solution: Any, stats: SearchStats) -> tuple[list[Route], set[str]]:
    """The used vehicles' routes with a compact timing (see :func:`_compact_schedule`), and the
    ids of the stops they serve."""
    cp = model.cp
    problem = cp.problem
    routing, manager, time_dim = model.routing, model.manager, model.time_dim
    dur = problem.duration_s
    dist = problem.distance_m
    routes: list[Route] = []
    served: set[str] = set()
    container = solution.IntervalVarContainer()
    break_values: dict[str, tuple[int, int, int]] = {}
    for k in range(container.Size()):
        element = container.Element(k)
        if element.PerformedValue():
            break_values[element.Var().Name()] = (1, element.StartValue(), element.DurationValue())
    for v, veh in enumerate(problem.vehicles):
        idx_list = [routing.Start(v)]
        i = routing.Start(v)
        while not routing.IsEnd(i):
            i = solution.Value(routing.NextVar(i))
            idx_list.append(i)
        if len(idx_list) == 2:
            continue
        nodes = [manager.IndexToNode(i) for i in idx_list]
        starts = [solution.Value(time_dim.CumulVar(i)) for i in idx_list]
        brks = [
            (start, length)
            for name, (performed, start, length) in break_values.items()
            if performed and name.startswith(f"break {v} ")
        ]
        brks.sort()
        compact = _compact_schedule(cp, v, nodes)
        if compact is not None and compact.duration_s <= starts[-1] - starts[0]:
            stats.add_idle_removed(float(starts[-1] - starts[0] - compact.duration_s))
            starts = compact.starts
            brks = sorted(compact.breaks)
        visits: list[Visit] = []
        load_l = 0.0
        load_kg = 0.0
        collected_l = 0.0
        collected_kg = 0.0
        trips = 0
        distance = 0
        prev_end: int | None = None
        prev_loc: int | None = None
        pending = list(brks)
        for pos, (node, start_s) in enumerate(zip(nodes, starts, strict=True)):
            loc = int(cp.node_location[node])
            kind = cp.node_kind[node]
            if prev_end is not None and prev_loc is not None:
                between = [b for b in pending if b[0] < start_s]
                pending = [b for b in pending if b[0] >= start_s]
                for b_start, b_dur in between:
                    visits.append(
                        Visit(
                            VisitKind.BREAK, "break", None, b_start, b_start, b_start + b_dur, load_l, load_kg
                        )
                    )
                # Arrival = when the truck is ready at the place: after driving and any break taken
                # on the way (or while waiting there), never after the service starts.
                ready = prev_end + int(dur[prev_loc, loc]) + sum(d for _, d in between)
                if between:
                    ready = max(ready, between[-1][0] + between[-1][1])
                arrival = min(start_s, ready)
                distance += int(dist[prev_loc, loc])
            else:
                arrival = start_s
            if pos == 0:
                ref = problem.depots[cp.node_ref[node]].id
                visits.append(Visit(VisitKind.START, ref, loc, start_s, start_s, start_s, 0.0, 0.0))
                end_s = start_s
                before = [b for b in pending if b[0] + b[1] <= start_s]
                pending = [b for b in pending if b[0] + b[1] > start_s]
                for b_start, b_dur in before:
                    visits.insert(
                        len(visits) - 1,
                        Visit(VisitKind.BREAK, "break", loc, b_start, b_start, b_start + b_dur, 0.0, 0.0),
                    )
            elif pos == len(nodes) - 1:
                ref = problem.depots[cp.node_ref[node]].id
                visits.append(Visit(VisitKind.END, ref, loc, arrival, start_s, start_s, load_l, load_kg))
                end_s = start_s
            elif kind is NodeKind.STOP:
                stop = cp.stop_of(node)
                served.add(stop.id)
                load_l += stop.volume_l
                load_kg += stop.mass_kg
                collected_l += stop.volume_l
                collected_kg += stop.mass_kg
                end_s = start_s + stop.service_s
                visits.append(Visit(VisitKind.STOP, stop.id, loc, arrival, start_s, end_s, load_l, load_kg))
            else:
                fac = cp.facility_of(node)
                load_l = 0.0
                load_kg = 0.0
                trips += 1
                end_s = start_s + fac.unload_s
                visits.append(Visit(VisitKind.FACILITY, fac.id, loc, arrival, start_s, end_s, 0.0, 0.0))
            prev_end = end_s
            prev_loc = loc
        for b_start, b_dur in pending:  # breaks after the end: taken at the depot
            visits.append(
                Visit(VisitKind.BREAK, "break", prev_loc, b_start, b_start, b_start + b_dur, load_l, load_kg)
            )
        duration_s = starts[-1] - starts[0]
        cost = distance / 1000.0 * veh.cost_per_km + veh.fixed_cost + duration_s / 3600.0 * veh.cost_per_hour
        routes.append(
            Route(
                vehicle_id=veh.id,
                visits=tuple(visits),
                distance_m=distance,
                duration_s=duration_s,
                collected_volume_l=collected_l,
                collected_mass_kg=collected_kg,
                disposal_trips=trips,
                cost=cost,
            )
        )

    return routes, served


def _finish(
    cp: CompiledProblem,
    routes: list[Route],
    served: set[str],
    engine: str,
    elapsed: float,
    seed: int,
    stats: SearchStats,
) -> RoutePlan:
    problem = cp.problem
    unserved = [n for n in cp.stop_nodes() if cp.stop_of(n).id not in served]
    shortfall = _volume_shortfall(cp, unserved, routes)
    dropped = list(cp.excluded)
    for node in unserved:
        stop = cp.stop_of(node)
        if not stop.required:
            dropped.append(
                DroppedStop(
                    stop.id,
                    False,
                    DropReason.OPTIONAL_NOT_WORTH,
                    f"skipping costs {stop.prize:g}, less than the detour to collect it",
                    {"prize": round(stop.prize, 2)},
                )
            )
        elif shortfall.get(stop.fraction, 0.0) > 0:
            dropped.append(
                DroppedStop(stop.id, True, DropReason.CAPACITY, "the fleet cannot carry all must-go volume")
            )
        else:
            dropped.append(
                DroppedStop(
                    stop.id, True, DropReason.NO_TIME_LEFT, "no vehicle had time left in its shift for it"
                )
            )
    plan_dropped = tuple(dropped)
    notes = _diagnose(cp, plan_dropped, routes)
    prizes = sum(problem.stops[cp.node_ref[n]].prize for n in unserved if not cp.stop_of(n).required)
    prizes += sum(
        s.prize for s in problem.stops if not s.required and s.id in {d.stop_id for d in cp.excluded}
    )
    return RoutePlan(
        routes=tuple(routes),
        dropped=plan_dropped,
        diagnosis=tuple(n.text for n in notes),
        notes=notes,
        cost=sum(r.cost for r in routes) + prizes,
        engine=engine,
        solve_time_s=elapsed,
        seed=seed,
        stats=stats,
        fleet=_fleet_use(cp, routes, plan_dropped, stats),
    )


def _fleet_use(
    cp: CompiledProblem, routes: Sequence[Route], dropped: Sequence[DroppedStop], stats: SearchStats
) -> FleetUse:
    """How tight the fleet was: vehicles used and needed, must-go stops dropped, and how long the
    search took to serve every must-go stop (from the PyVRP search's figures, when it ran)."""
    p = stats.pyvrp
    needed = p.fleet_lower_bound if p is not None else 0
    if not needed:
        volume = sum(cp.node_volume_ml[n] for n in cp.stop_nodes() if cp.stop_of(n).required)
        per_vehicle = [c * max(1, t) for c, t in zip(cp.vehicle_cap_ml, cp.vehicle_max_trips, strict=True)]
        needed = max(1, math.ceil(volume * len(per_vehicle) / max(1, sum(per_vehicle))))
    share: float | None
    if p is None:
        share = 0.0 if not any(d.required for d in dropped) else None
    elif p.must_go_droppable:
        # Served in the last phase, where must-go stops were droppable, or not at all.
        share = None if any(d.required for d in dropped) else 1.0
    elif p.first_feasible_iteration is None:
        share = None
    else:
        share = p.first_feasible_iteration / p.iterations if p.iterations > 0 else 0.0
    return FleetUse(
        available=len(cp.problem.vehicles),
        used=len(routes),
        needed_at_least=needed,
        must_go_dropped=sum(1 for d in dropped if d.required),
        first_plan_share=share,
    )


def _trip_bound(cp: CompiledProblem, v: int) -> int:
    """Upper bound on the disposal trips vehicle ``v`` can make in its shift."""
    veh = cp.problem.vehicles[v]
    facs = cp.compatible_facilities(v)
    if not facs:
        return 1
    if veh.max_disposal_trips is not None:
        return veh.max_disposal_trips
    # Each trip needs at least one unload plus the drive from a stop to the facility and back.
    dur = cp.problem.duration_s
    stop_locs = [s.location for s in cp.problem.stops if veh.can_serve(s)]
    per_trip = []
    for fi in facs:
        fac = cp.problem.facilities[fi]
        if stop_locs:
            to_stop = int(min(dur[fac.location, loc] for loc in stop_locs))
            back = int(min(dur[loc, fac.location] for loc in stop_locs))
        else:
            to_stop = back = 0
        per_trip.append(fac.unload_s + to_stop + back)
    cycle = max(1, min(per_trip))
    return max(1, cp.vehicle_max_duration_s[v] // cycle)


def _volume_shortfall(cp: CompiledProblem, unserved: list[int], routes: Sequence[Route]) -> dict[str, float]:
    """Per fraction: must-go volume minus what the fleet can carry at most (positive = short)."""
    problem = cp.problem
    out: dict[str, float] = {}
    fractions = {cp.stop_of(n).fraction for n in unserved if cp.stop_of(n).required}
    for fraction in fractions:
        must = sum(s.volume_l for s in problem.stops if s.required and s.fraction == fraction)
        can = 0.0
        for v, veh in enumerate(problem.vehicles):
            if veh.fraction != fraction:
                continue
            trips = _trip_bound(cp, v) if problem.facilities else 1
            per_day = veh.capacity_volume_l * trips
            if veh.max_collected_volume_l is not None:
                per_day = min(per_day, veh.max_collected_volume_l)
            can += per_day
        out[fraction] = must - can
    return out


def _diagnose(
    cp: CompiledProblem, dropped: Sequence[DroppedStop], routes: Sequence[Route]
) -> tuple[Note, ...]:
    problem = cp.problem
    required = [d for d in dropped if d.required]
    if not required:
        return ()
    lines: list[Note] = []
    by_reason: dict[DropReason, int] = {}
    for d in required:
        by_reason[d.reason] = by_reason.get(d.reason, 0) + 1
    stops_by_id = {s.id: s for s in problem.stops}
    fractions = sorted({stops_by_id[d.stop_id].fraction for d in required})
    for fraction in fractions:
        fleet = [v for v, veh in enumerate(problem.vehicles) if veh.fraction == fraction]
        must = sum(s.volume_l for s in problem.stops if s.required and s.fraction == fraction)
        if not fleet:
            lines.append(
                Note(
                    "no_vehicle_for_fraction",
                    {"fraction": fraction, "must_l": round(must)},
                    f"no vehicle collects {fraction!r}; {must:,.0f} L of must-go volume cannot be planned",
                )
            )
            continue
        trips = [(_trip_bound(cp, v) if problem.facilities else 1) for v in fleet]
        can = 0.0
        for v, t in zip(fleet, trips, strict=True):
            veh = problem.vehicles[v]
            per_day = veh.capacity_volume_l * t
            if veh.max_collected_volume_l is not None:
                per_day = min(per_day, veh.max_collected_volume_l)
            can += per_day
        trips_text = (
            f"with {trips[0]} disposal trip{'s' if trips[0] != 1 else ''} each"
            if len(set(trips)) == 1
            else f"with {min(trips)}-{max(trips)} disposal trips"
        )
        if must > can:
            lines.append(
                Note(
                    "volume_exceeds_fleet",
                    {
                        "fraction": fraction,
                        "must_l": round(must),
                        "vehicles": len(fleet),
                        "trips_min": min(trips),
                        "trips_max": max(trips),
                        "can_l": round(can),
                    },
                    f"must-go {fraction} volume {must:,.0f} L exceeds what {len(fleet)} vehicles can carry "
                    f"in their shifts {trips_text}: {can:,.0f} L",
                )
            )
            continue
        work_s = sum(s.service_s for s in problem.stops if s.required and s.fraction == fraction)
        shift_s = sum(cp.vehicle_max_duration_s[v] for v in fleet)
        if work_s > shift_s:
            lines.append(
                Note(
                    "service_exceeds_shifts",
                    {
                        "fraction": fraction,
                        "work_h": round(work_s / 3600, 1),
                        "shift_h": round(shift_s / 3600, 1),
                        "vehicles": len(fleet),
                    },
                    f"must-go {fraction} stops need {work_s / 3600:,.1f} h of service alone, more than the "
                    f"{shift_s / 3600:,.1f} h of {len(fleet)} shifts",
                )
            )
    if DropReason.NO_COMPATIBLE_VEHICLE in by_reason:
        n = by_reason[DropReason.NO_COMPATIBLE_VEHICLE]
        lines.append(
            Note("no_compatible_vehicle", {"stops": n}, f"{n} must-go stops have no compatible vehicle")
        )
    if DropReason.TIME_WINDOW_UNREACHABLE in by_reason:
        n = by_reason[DropReason.TIME_WINDOW_UNREACHABLE]
        lines.append(
            Note(
                "time_window_unreachable",
                {"stops": n},
                f"{n} must-go stops cannot be reached within their time windows by any vehicle",
            )
        )
    if DropReason.CAPACITY in by_reason and not any(n.code == "volume_exceeds_fleet" for n in lines):
        n = by_reason[DropReason.CAPACITY]
        lines.append(
            Note("stop_too_large", {"stops": n}, f"{n} must-go stops are larger than any compatible vehicle")
        )
    if DropReason.NO_TIME_LEFT in by_reason or not lines:
        used = len(routes)
        must_go = sum(1 for s in problem.stops if s.required)
        lines.append(
            Note(
                "shifts_too_short",
                {"stops": len(required), "must_go": must_go, "vehicles": len(problem.vehicles), "used": used},
                f"{len(required)} of {must_go} must-go stops could not be fitted into the shifts of "
                f"{len(problem.vehicles)} vehicles ({used} used); add a vehicle or lengthen the shifts",
            )
        )
    return tuple(lines)


# --------------------------------------------------------------------------------------------------
# Compact schedules: no pointless waiting in a route's hours


_Windows = tuple[tuple[int, int], ...]


def _earliest_in(windows: _Windows, t: int) -> int | None:
    """Earliest time >= ``t`` inside one of the sorted ``windows`` (None if none)."""
    for start_s, end_s in windows:
        if t <= end_s:
            return max(start_s, t)
    return None


def _latest_in(windows: _Windows, t: int) -> int | None:
    """Latest time <= ``t`` inside one of the sorted ``windows`` (None if none)."""
    for start_s, end_s in reversed(windows):
        if t >= start_s:
            return min(end_s, t)
    return None


@dataclass(frozen=True)
class _Schedule:
    starts: list[int]
    arrivals: list[int]
    breaks: list[tuple[int, int]]
    duration_s: int


def _compact_schedule(cp: CompiledProblem, v: int, nodes: Sequence[int]) -> _Schedule | None:
    """The shortest-duration timing of a fixed route (start depot, visits..., end depot).

    Waiting only where a window forces it: the truck leaves as late as its windows allow and, from
    there, serves everything as early as possible, so the route's duration (what drivers are paid
    for and dispatchers read) holds no idle time that a later start or an earlier return would
    remove. A lunch break is tried in every gap between two visits (on the road or while waiting),
    before the start and after the end (taken at the depot); the shortest resulting day wins,
    ties going to a break outside the route, then to the earlier return.

    Handles vehicles without a break and with a lunch break; returns None for statutory breaks
    (their chained rule stays with the OR-Tools schedule) or when no timing fits (the caller keeps
    the model's own schedule then).
    """
    problem = cp.problem
    veh = problem.vehicles[v]
    rule = veh.break_rule
    if rule is not None and rule.kind is not BreakKind.LUNCH:
        return None
    last = len(nodes) - 1
    dur = problem.duration_s
    locs = [int(cp.node_location[n]) for n in nodes]
    travel = [int(dur[a, b]) for a, b in pairwise(locs)]
    service = [cp.node_service_s[n] if 0 < k < last else 0 for k, n in enumerate(nodes)]
    windows: list[_Windows] = []
    for k, n in enumerate(nodes):
        if k == 0:
            windows.append((cp.vehicle_start_window[v],))
        elif k == last:
            windows.append((cp.vehicle_end_window[v],))
        elif cp.node_kind[n] is NodeKind.STOP:
            windows.append(cp.stop_of(n).time_windows or ((0, cp.horizon_s),))
        else:
            windows.append((cp.facility_of(n).window,))
    options: list[int | str | None] = [None] if rule is None else ["after", "before", *range(last)]
    best: _Schedule | None = None
    best_key: tuple[int, int, int] | None = None
    for option in options:
        sched = _timing(travel, service, windows, rule, option)
        if sched is None or sched.duration_s > cp.vehicle_max_duration_s[v]:
            continue
        key = (sched.duration_s, 0 if option in ("after", "before", None) else 1, sched.starts[-1])
        if best_key is None or key < best_key:
            best, best_key = sched, key
    return best


def _timing(
    travel: Sequence[int],
    service: Sequence[int],
    windows: Sequence[_Windows],
    rule: BreakRule | None,
    option: int | str | None,
) -> _Schedule | None:
    """Latest departure, then earliest service everywhere, with the lunch at ``option``.

    ``option``: None (no break), ``"before"`` (at the depot before leaving), ``"after"`` (at the
    depot after returning) or ``k`` (between the end of visit ``k`` and the start of visit ``k + 1``).
    In gap ``k`` with travel ``t`` and a break of ``d`` starting in ``[lo, hi]``, service ``k`` must end by
    ``hi`` and visit ``k + 1`` starts no earlier than ``max(end_k + t + d, lo + d)``.
    """
    last = len(windows) - 1
    lo = hi = length = 0
    if rule is not None:
        assert rule.earliest_start_s is not None and rule.latest_start_s is not None
        lo, hi, length = rule.earliest_start_s, rule.latest_start_s, rule.duration_s
    # Backward: latest start of each visit so that every later window still holds.
    latest: list[int] = [0] * (last + 1)
    bound = windows[last][-1][1]
    if option == "after":
        bound = min(bound, hi)
    t = _latest_in(windows[last], bound)
    if t is None:
        return None
    latest[last] = t
    for k in range(last - 1, -1, -1):
        t = latest[k + 1] - travel[k] - service[k]
        if option == k:
            t = min(t - length, hi - service[k])
        found = _latest_in(windows[k], t)
        if found is None:
            return None
        latest[k] = found
    # Forward from the latest departure: earliest service everywhere.
    starts = [latest[0]]
    arrivals = [starts[0]]
    breaks: list[tuple[int, int]] = []
    if option == "before":
        begin = min(hi, starts[0] - length)
        if begin < lo:
            return None
        breaks.append((begin, length))
    for k in range(last):
        end_k = starts[k] + service[k]
        arrive = end_k + travel[k]
        if option == k:
            begin = max(end_k, lo)
            if begin > hi:
                return None
            breaks.append((begin, length))
            arrive = max(arrive + length, begin + length)
        start = _earliest_in(windows[k + 1], arrive)
        if start is None or start > latest[k + 1]:
            return None
        arrivals.append(arrive)
        starts.append(start)
    if option == "after":
        begin = max(starts[last], lo)
        if begin > hi:
            return None
        breaks.append((begin, length))
    return _Schedule(starts, arrivals, breaks, starts[last] - starts[0])
