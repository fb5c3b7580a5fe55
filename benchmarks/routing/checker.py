"""Independent re-check of a benchmark solution, from the instance's own data.

Given plain routes (sequences of node indices in the instance file's order, depot excluded) this
module recomputes feasibility and cost with the benchmark's own conventions, arc by arc in plain
Python. It shares no code with the router or with the matrices the router is given, so a bug in
either shows up as a disagreement here.

Checks:

* **VRPLIB** (CVRPLIB, Solomon/Gehring-Homberger as LKH-3 files): every customer exactly once,
  capacity per route, optional fleet size, ``DISTANCE`` route limit when the file has one, and
  with time windows: travel time = the arc's (scaled, rounded) distance, service start within
  ``[ready, due]`` with waiting allowed, service time, return to the depot before its due time.
  Cost = sum of integer arc costs / scale (CVRPLIB nint; DIMACS one-decimal truncation; LKH exact).
* **Kim et al. (2006)**: every customer exactly once (facilities may repeat), load never above the
  vehicle capacity (unload at a disposal facility whenever full), empty on return to the depot
  (a disposal visit ends every route that collected something), route capacity per day, maximum
  stops per route, service start within each window (waiting allowed; facilities included), back
  at the depot before it closes, and the lunch break: one break of the file's duration starting
  within 11:00-12:00, never inside a service or unload (on the road, while waiting, or - with
  ``lunch_after_service_only`` - only right after a service); a route that is back at the depot by
  12:00 takes it there (Benjamin & Beasley 2010). Cost = Manhattan
  miles; times from Manhattan miles at the file's speed, not rounded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from benchmarks.routing.readers import (
    KIM_LUNCH_WINDOW_S,
    KimInstance,
    KimStopType,
    VrplibInstance,
    kim_arc_miles,
    kim_arc_seconds,
    vrplib_arc_cost,
)

__all__ = ["CheckReport", "check_kim", "check_solution", "check_vrplib"]

_EPS = 1e-6
"""Tolerance for float comparisons of times (seconds or scaled units) and loads."""

_MAX_LISTED = 10
"""At most this many violations of one kind are listed (then a count)."""


@dataclass(frozen=True)
class CheckReport:
    """Outcome of a check.

    Attributes:
        feasible: no violation found.
        cost: total cost in the benchmark's reported unit (distance units; miles for Kim).
        vehicles: number of non-empty routes.
        violations: one sentence per problem found, naming the route (1-based) and the node
            (0-based file position).
        route_costs: cost of each route in the given order (empty routes cost 0).
    """

    feasible: bool
    cost: float
    vehicles: int
    violations: tuple[str, ...]
    route_costs: tuple[float, ...]


def check_solution(
    instance: VrplibInstance | KimInstance,
    routes: Sequence[Sequence[int]],
    *,
    max_vehicles: int | None = None,
) -> CheckReport:
    """Check ``routes`` against either kind of instance (see :func:`check_vrplib`, :func:`check_kim`)."""
    if isinstance(instance, KimInstance):
        return check_kim(instance, routes, max_vehicles=max_vehicles)
    return check_vrplib(instance, routes, max_vehicles=max_vehicles)


class _Violations:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def result(self) -> tuple[str, ...]:
        return tuple(self.items)


def _check_cover(
    routes: Sequence[Sequence[int]],
    n: int,
    customers: Sequence[int],
    forbidden: dict[int, str],
    repeatable: set[int],
    out: _Violations,
) -> None:
    """Every customer exactly once; indices in range; no forbidden node (e.g. the depot) in a route."""
    counts: Counter[int] = Counter()
    for r, route in enumerate(routes, start=1):
        for node in route:
            if not 0 <= node < n:
                out.add(f"route {r}: node {node} does not exist (valid 0..{n - 1})")
            elif node in forbidden:
                out.add(f"route {r}: node {node} is {forbidden[node]} and must not appear inside a route")
            elif node not in repeatable:
                counts[node] += 1
    twice = sorted(node for node, c in counts.items() if c > 1)
    missing = sorted(set(customers) - set(counts))
    if twice:
        out.add(f"{len(twice)} customer(s) visited more than once: {twice[:_MAX_LISTED]}")
    if missing:
        out.add(f"{len(missing)} customer(s) not visited: {missing[:_MAX_LISTED]}")


def _valid_route(route: Sequence[int], n: int, forbidden: dict[int, str]) -> bool:
    return all(0 <= node < n and node not in forbidden for node in route)


def check_vrplib(
    instance: VrplibInstance,
    routes: Sequence[Sequence[int]],
    *,
    max_vehicles: int | None = None,
) -> CheckReport:
    """Check a CVRP/VRPTW solution (customer indices per route, depot excluded) and recompute its cost.

    ``max_vehicles``: fleet size limit, ``None`` = unlimited (the CVRPLIB and DIMACS conventions).
    """
    out = _Violations()
    routes = [[int(node) for node in route] for route in routes]
    n = instance.dimension
    depot = instance.depot
    forbidden = {depot: "the depot"}
    _check_cover(routes, n, instance.customers, forbidden, set(), out)
    vehicles = sum(1 for route in routes if route)
    if max_vehicles is not None and vehicles > max_vehicles:
        out.add(f"{vehicles} routes used, the fleet has {max_vehicles} vehicles")
    scale = instance.scale
    service = instance.service_times
    total_units = 0
    route_costs: list[float] = []
    for r, route in enumerate(routes, start=1):
        if not route or not _valid_route(route, n, forbidden):
            route_costs.append(0.0)
            continue
        seq = [depot, *route, depot]
        arcs = [vrplib_arc_cost(instance, a, b) for a, b in pairwise(seq)]
        units = sum(arcs)
        total_units += units
        route_costs.append(units / scale)
        load = sum(instance.demands[node] for node in route)
        if load > instance.capacity:
            out.add(f"route {r}: load {load} exceeds the capacity {instance.capacity}")
        if instance.max_route_distance is not None:
            length = units / scale + (sum(service[node] for node in route) if service else 0.0)
            if length > instance.max_route_distance + _EPS:
                out.add(
                    f"route {r}: length {length:g} (distance + service) exceeds DISTANCE "
                    f"{instance.max_route_distance:g}"
                )
        if instance.time_windows is not None:
            _check_vrptw_times(instance, r, seq, arcs, out)
    return CheckReport(
        feasible=not out.items,
        cost=total_units / scale,
        vehicles=vehicles,
        violations=out.result(),
        route_costs=tuple(route_costs),
    )


def _check_vrptw_times(
    instance: VrplibInstance, r: int, seq: Sequence[int], arcs: Sequence[int], out: _Violations
) -> None:
    """Earliest-start schedule in scaled units: the travel time of an arc equals its integer cost."""
    assert instance.time_windows is not None
    scale = instance.scale
    windows = instance.time_windows
    service = instance.service_times or (0.0,) * instance.dimension
    t = windows[seq[0]][0] * scale
    late: list[str] = []
    for node, travel in zip(seq[1:-1], arcs[:-1], strict=True):
        arrival = t + travel
        ready, due = windows[node][0] * scale, windows[node][1] * scale
        start = max(arrival, ready)
        if start > due + _EPS:
            late.append(f"node {node} at {start / scale:g} (due {due / scale:g})")
        t = start + service[node] * scale
    back = t + arcs[-1]
    depot_due = windows[seq[-1]][1] * scale
    if late:
        out.add(f"route {r}: service starts after the time window: {', '.join(late[:_MAX_LISTED])}")
    if back > depot_due + _EPS:
        out.add(f"route {r}: back at the depot at {back / scale:g}, after it closes at {depot_due / scale:g}")


def check_kim(
    instance: KimInstance,
    routes: Sequence[Sequence[int]],
    *,
    max_vehicles: int | None = None,
    lunch_after_service_only: bool = False,
) -> CheckReport:
    """Check a Kim et al. solution: routes of customer and disposal-facility indices, depot excluded.

    ``max_vehicles``: fleet size limit, ``None`` = unlimited (the benchmark's convention).
    ``lunch_after_service_only``: the lunch must start right after a service (Buhrkal et al. 2012);
    by default it may also start on the road or while waiting, never inside a service (the
    product's rule).
    """
    out = _Violations()
    routes = [[int(node) for node in route] for route in routes]
    n = len(instance.stops)
    depot = instance.depot
    forbidden = {depot: "the depot"}
    facilities = set(instance.facilities)
    _check_cover(routes, n, instance.customers, forbidden, facilities, out)
    vehicles = sum(1 for route in routes if route)
    if max_vehicles is not None and vehicles > max_vehicles:
        out.add(f"{vehicles} routes used, the fleet has {max_vehicles} vehicles")
    total_miles = 0.0
    route_costs: list[float] = []
    for r, route in enumerate(routes, start=1):
        if not route or not _valid_route(route, n, forbidden):
            route_costs.append(0.0)
            continue
        seq = [depot, *route, depot]
        miles = math.fsum(kim_arc_miles(instance, a, b) for a, b in pairwise(seq))
        total_miles += miles
        route_costs.append(miles)
        _check_kim_loads(instance, r, route, out)
        _check_kim_times(instance, r, seq, lunch_after_service_only, out)
    return CheckReport(
        feasible=not out.items,
        cost=total_miles,
        vehicles=vehicles,
        violations=out.result(),
        route_costs=tuple(route_costs),
    )


def _check_kim_loads(instance: KimInstance, r: int, route: Sequence[int], out: _Violations) -> None:
    capacity = instance.vehicle_capacity_yd3
    load = 0.0
    collected = 0.0
    stops = 0
    over: list[str] = []
    for node in route:
        stop = instance.stops[node]
        if stop.type is KimStopType.DISPOSAL:
            load = 0.0
            continue
        stops += 1
        load += stop.load_yd3
        collected += stop.load_yd3
        if load > capacity + _EPS:
            over.append(f"node {node} ({load:g} yd3)")
    if over:
        out.add(
            f"route {r}: load above the vehicle capacity {capacity:g} yd3 (no disposal trip when full) "
            f"after {', '.join(over[:_MAX_LISTED])}"
        )
    if load > _EPS:
        out.add(f"route {r}: returns to the depot with {load:g} yd3 on board (no disposal before return)")
    if collected > instance.route_capacity_yd3 + _EPS:
        out.add(
            f"route {r}: collects {collected:g} yd3, above the route capacity {instance.route_capacity_yd3:g}"
        )
    if stops > instance.max_stops:
        out.add(f"route {r}: {stops} stops, above the maximum {instance.max_stops} per route")


@dataclass(frozen=True)
class _Schedule:
    """Result of simulating one route with the lunch at one position."""

    late: tuple[str, ...]
    back_s: float
    lunch_ok: bool


def _simulate_kim(
    instance: KimInstance, seq: Sequence[int], lunch_gap: int | None, after_service_only: bool
) -> _Schedule:
    """Earliest-start schedule of ``depot, ..., depot``.

    ``lunch_gap = k`` takes the lunch between the end of the service at ``seq[k]`` (``k = 0``: leaving
    the depot) and the start of the next service, as early as its window allows: on the road or
    while waiting (``after_service_only``: right after the service, before driving on).
    ``k = len(seq) - 1``: at the depot after returning, which needs the return by the latest lunch
    start. ``None`` = no lunch.
    """
    lunch_earliest, lunch_latest = KIM_LUNCH_WINDOW_S
    depot = instance.stops[seq[0]]
    t = float(depot.early_s)
    lunch_ok = lunch_gap is None
    late: list[str] = []
    last = len(seq) - 1
    if lunch_gap == last:
        lunch_gap = None
        check_return = True
    else:
        check_return = False
    for k in range(1, last + 1):
        node = seq[k]
        travel = kim_arc_seconds(instance, seq[k - 1], node)
        if k - 1 == lunch_gap:
            lunch_start = max(t, float(lunch_earliest))
            lunch_ok = lunch_start <= lunch_latest + _EPS
            if after_service_only:
                arrival = lunch_start + instance.lunch_s + travel
            else:
                arrival = max(t + travel, lunch_start) + instance.lunch_s
        else:
            arrival = t + travel
        if k == last:
            t = arrival
            break
        stop = instance.stops[node]
        start = max(arrival, float(stop.early_s))
        if start > stop.late_s + _EPS:
            late.append(f"node {node} at {_clock(start)} (latest {_clock(stop.late_s)})")
        t = start + stop.service_s
    if check_return:
        lunch_ok = max(t, float(lunch_earliest)) <= lunch_latest + _EPS
    return _Schedule(late=tuple(late), back_s=t, lunch_ok=lunch_ok)


def _check_kim_times(
    instance: KimInstance, r: int, seq: Sequence[int], after_service_only: bool, out: _Violations
) -> None:
    depot = instance.stops[seq[0]]
    closes = float(depot.late_s)
    base = _simulate_kim(instance, seq, None, after_service_only)
    if base.late:
        out.add(f"route {r}: service starts after the time window: {', '.join(base.late[:_MAX_LISTED])}")
    if base.back_s > closes + _EPS:
        out.add(f"route {r}: back at the depot at {_clock(base.back_s)}, after it closes at {_clock(closes)}")
    if base.late or base.back_s > closes + _EPS or instance.lunch_s <= 0:
        return
    for k in range(len(seq)):
        sched = _simulate_kim(instance, seq, k, after_service_only)
        if sched.lunch_ok and not sched.late and sched.back_s <= closes + _EPS:
            return
    out.add(
        f"route {r}: no place for the {instance.lunch_s:g} s lunch starting between "
        f"{_clock(KIM_LUNCH_WINDOW_S[0])} and {_clock(KIM_LUNCH_WINDOW_S[1])} without missing a time window "
        "or the depot's closing time"
    )


def _clock(seconds: float) -> str:
    """``HH:MM:SS`` for seconds since midnight (for messages)."""
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
