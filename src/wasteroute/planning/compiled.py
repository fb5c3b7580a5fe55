"""The routing problem in solver form: integer units, a node list with facility copies, pre-checks.

Engine-neutral (numpy and the standard library only). Both the OR-Tools model
(:mod:`.solver`) and the PyVRP seeding (:mod:`.seeding`) are built from one
:class:`CompiledProblem`, so node numbers mean the same in both.

Node layout: ``[depots..., stops..., facility copies...]``. A stop that no vehicle can possibly
serve (wrong fraction or access class, too big, time window unreachable) is left out of the node
list and reported in :attr:`CompiledProblem.excluded` with its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from wasteroute.planning.problem import BreakKind, Facility, Problem, Stop, Vehicle
from wasteroute.planning.result import DroppedStop, DropReason

__all__ = ["CompiledProblem", "NodeKind", "compile_problem"]

ARC_UNITS_PER_M = 100
"""Cost units per metre driven by the cheapest vehicle (1 unit = 1 cm), leaving room for tie-breakers."""
ML_PER_L = 1000
G_PER_KG = 1000
_BIG_CAPACITY = 1 << 40


class NodeKind(IntEnum):
    DEPOT = 0
    STOP = 1
    FACILITY = 2


def volume_ml(volume_l: float) -> int:
    """Demand in whole millilitres, rounded up."""
    return math.ceil(volume_l * ML_PER_L - 1e-6)


def capacity_ml(volume_l: float) -> int:
    """Capacity in whole millilitres, rounded down."""
    return math.floor(volume_l * ML_PER_L + 1e-6)


def _mass_g(mass_kg: float) -> int:
    return math.ceil(mass_kg * G_PER_KG - 1e-6)


def _capacity_g(mass_kg: float) -> int:
    return math.floor(mass_kg * G_PER_KG + 1e-6)


@dataclass
class CompiledProblem:
    """Integer view of a :class:`Problem`; see the module docstring for the node layout.

    Costs are in *cost units*: :data:`ARC_UNITS_PER_M` units are the cost of one metre in the
    cheapest vehicle (``money = units / cost_scale``).
    """

    problem: Problem
    excluded: list[DroppedStop]
    node_kind: list[NodeKind]
    node_ref: list[int]
    node_location: npt.NDArray[np.int64]
    node_volume_ml: list[int]
    node_mass_g: list[int]
    node_service_s: list[int]
    depot_node: dict[str, int]
    stop_node: dict[int, int]
    facility_copies: list[list[int]]
    vehicle_start: list[int]
    vehicle_end: list[int]
    vehicle_cap_ml: list[int]
    vehicle_cap_g: list[int]
    vehicle_start_window: list[tuple[int, int]]
    vehicle_end_window: list[tuple[int, int]]
    vehicle_max_duration_s: list[int]
    vehicle_max_trips: list[int]
    allowed_vehicles: dict[int, list[int]]
    cost_scale: float
    vehicle_cost_ratio: list[float]
    horizon_s: int
    use_mass: bool
    required_penalty: int
    prize_units: dict[int, int] = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return len(self.node_kind)

    def stop_nodes(self) -> list[int]:
        return [n for n, k in enumerate(self.node_kind) if k is NodeKind.STOP]

    def stop_of(self, node: int) -> Stop:
        return self.problem.stops[self.node_ref[node]]

    def facility_of(self, node: int) -> Facility:
        return self.problem.facilities[self.node_ref[node]]

    def compatible_facilities(self, vehicle: int) -> list[int]:
        fraction = self.problem.vehicles[vehicle].fraction
        return [i for i, f in enumerate(self.problem.facilities) if fraction in f.fractions]


def _break_total_s(vehicle: Vehicle, span_s: int) -> int:
    rule = vehicle.break_rule
    if rule is None:
        return 0
    if rule.kind is BreakKind.LUNCH:
        return rule.duration_s
    assert rule.max_work_s is not None
    return (span_s // (rule.max_work_s + rule.duration_s)) * rule.duration_s


def _stop_reachable(problem: Problem, stop: Stop, vehicle: Vehicle, end_empty_s: int) -> bool:
    """Optimistic check: can ``vehicle`` reach ``stop`` inside a window and get home in time?"""
    start_depot = problem.depot(vehicle.start_depot)
    end_depot = problem.depot(vehicle.end_depot or vehicle.start_depot)
    leave_s = max(vehicle.shift[0], start_depot.window[0])
    home_by_s = min(vehicle.shift[1], end_depot.window[1])
    duration = problem.duration_s
    arrive_s = leave_s + int(duration[start_depot.location, stop.location])
    windows = stop.time_windows or ((0, home_by_s),)
    for w_start, w_end in windows:
        begin_s = max(arrive_s, w_start)
        if begin_s > w_end:
            continue
        back_s = begin_s + stop.service_s + end_empty_s
        if back_s > home_by_s:
            continue
        max_duration = vehicle.max_duration_s
        if max_duration is not None:
            # Waiting at the start can be avoided by leaving later.
            earliest_leave = begin_s - int(duration[start_depot.location, stop.location])
            if back_s - max(leave_s, earliest_leave) > max_duration:
                continue
        return True
    return False


def _end_empty_s(problem: Problem, stop: Stop, vehicle: Vehicle) -> int:
    """Fastest way home from ``stop``: via a facility when the vehicle must end empty."""
    end_loc = problem.depot(vehicle.end_depot or vehicle.start_depot).location
    duration = problem.duration_s
    if not vehicle.must_end_empty:
        return int(duration[stop.location, end_loc])
    best = None
    for f in problem.facilities:
        if vehicle.fraction in f.fractions:
            t = int(duration[stop.location, f.location]) + f.unload_s + int(duration[f.location, end_loc])
            best = t if best is None else min(best, t)
    return 0 if best is None else best


def _default_copies(problem: Problem, included: list[int], vehicles_ok: dict[int, list[int]]) -> list[int]:
    """How many copies of each facility the model needs (enough trips, but not too many nodes)."""
    facilities = problem.facilities
    if not facilities:
        return []
    copies = [0] * len(facilities)
    dist = problem.distance_m
    volume_by_fac = [0.0] * len(facilities)
    for s in included:
        stop = problem.stops[s]
        options = [i for i, f in enumerate(facilities) if stop.fraction in f.fractions]
        if not options or not vehicles_ok.get(s):
            continue
        nearest = min(options, key=lambda i: int(dist[stop.location, facilities[i].location]))
        volume_by_fac[nearest] += stop.volume_l
    for fi, fac in enumerate(facilities):
        users = [v for v in problem.vehicles if v.fraction in fac.fractions]
        if not users:
            continue
        cap = min(v.capacity_volume_l for v in users)
        end_users = 0
        for v in users:
            end_loc = problem.depot(v.end_depot or v.start_depot).location
            options = [i for i, f in enumerate(facilities) if v.fraction in f.fractions]
            nearest = min(options, key=lambda i: int(dist[facilities[i].location, end_loc]))
            if nearest == fi and v.must_end_empty:
                end_users += 1
        need = math.ceil(volume_by_fac[fi] / cap) if cap > 0 else 0
        total = need + end_users + 2
        bound = 0
        for v in users:
            if v.max_disposal_trips is not None:
                bound += v.max_disposal_trips
            else:
                bound = -1
                break
        copies[fi] = total if bound < 0 else max(1, min(total, bound))
    return copies


def compile_problem(problem: Problem, *, min_copies: list[int] | None = None) -> CompiledProblem:
    """Turn ``problem`` into integer solver data.

    ``min_copies`` (per facility) raises the number of facility copies, e.g. to fit a seed
    solution that uses a facility more often than the default estimate.
    """
    excluded, included, allowed = _screen_stops(problem)
    copies = _default_copies(problem, included, allowed)
    if min_copies is not None:
        copies = [max(c, m) for c, m in zip(copies, min_copies, strict=True)]
    nodes = _lay_out_nodes(problem, included, copies)
    vol, mass, service = _node_loads(problem, nodes)
    fleet = _fleet(problem, nodes, included)
    cpk_min = min(v.cost_per_km for v in problem.vehicles)
    cost_scale = 1000.0 * ARC_UNITS_PER_M / cpk_min
    ratios = [v.cost_per_km / cpk_min for v in problem.vehicles]
    horizon = _horizon_s(problem, fleet)
    required_penalty = _required_penalty(problem, cost_scale, ratios, horizon)
    prize_units = {}
    for si in included:
        stop = problem.stops[si]
        if not stop.required:
            prize_units[nodes.stop_node[si]] = min(round(stop.prize * cost_scale), required_penalty // 2)

    return CompiledProblem(
        problem=problem,
        excluded=excluded,
        node_kind=nodes.kind,
        node_ref=nodes.ref,
        node_location=np.asarray(nodes.location, dtype=np.int64),
        node_volume_ml=vol,
        node_mass_g=mass,
        node_service_s=service,
        depot_node=nodes.depot_node,
        stop_node=nodes.stop_node,
        facility_copies=nodes.facility_copies,
        vehicle_start=fleet.starts,
        vehicle_end=fleet.ends,
        vehicle_cap_ml=fleet.cap_ml,
        vehicle_cap_g=fleet.cap_g,
        vehicle_start_window=fleet.start_windows,
        vehicle_end_window=fleet.end_windows,
        vehicle_max_duration_s=fleet.max_duration_s,
        vehicle_max_trips=fleet.max_trips,
        allowed_vehicles={nodes.stop_node[si]: vs for si, vs in allowed.items()},
        cost_scale=cost_scale,
        vehicle_cost_ratio=ratios,
        horizon_s=horizon,
        use_mass=any(v.capacity_mass_kg is not None for v in problem.vehicles),
        required_penalty=required_penalty,
        prize_units=prize_units,
    )


def _screen_stops(problem: Problem) -> tuple[list[DroppedStop], list[int], dict[int, list[int]]]:
    """The stops no vehicle can serve (with the reason), the indices of the others, and for each of
    those the vehicles that can: compatible, large enough, and able to reach it in time."""
    excluded: list[DroppedStop] = []
    included: list[int] = []
    allowed: dict[int, list[int]] = {}
    for si, stop in enumerate(problem.stops):
        reach, why = _vehicles_for(problem, stop)
        if why is not None:
            excluded.append(why)
            continue
        included.append(si)
        allowed[si] = reach
    return excluded, included, allowed


def _vehicles_for(problem: Problem, stop: Stop) -> tuple[list[int], DroppedStop | None]:
    """The vehicles that can serve ``stop``, or why none can."""
    vehicles = problem.vehicles
    compatible = [vi for vi, v in enumerate(vehicles) if v.can_serve(stop)]
    if not compatible:
        return [], DroppedStop(
            stop.id,
            stop.required,
            DropReason.NO_COMPATIBLE_VEHICLE,
            f"no vehicle collects fraction {stop.fraction!r} with access class {stop.access_class!r}",
            {"fraction": stop.fraction, "access_class": stop.access_class},
        )
    fits = [
        vi
        for vi in compatible
        if volume_ml(stop.volume_l) <= capacity_ml(vehicles[vi].capacity_volume_l)
        and (
            vehicles[vi].capacity_mass_kg is None
            or _mass_g(stop.mass_kg) <= _capacity_g(vehicles[vi].capacity_mass_kg or 0.0)
        )
        and (
            vehicles[vi].max_collected_volume_l is None
            or volume_ml(stop.volume_l) <= capacity_ml(vehicles[vi].max_collected_volume_l or 0.0)
        )
    ]
    if not fits:
        biggest = max(vehicles[vi].capacity_volume_l for vi in compatible)
        return [], DroppedStop(
            stop.id,
            stop.required,
            DropReason.CAPACITY,
            f"{stop.volume_l:,.0f} L / {stop.mass_kg:,.0f} kg exceed every compatible vehicle "
            f"(largest body {biggest:,.0f} L)",
            {
                "volume_l": round(stop.volume_l),
                "mass_kg": round(stop.mass_kg),
                "largest_l": round(biggest),
            },
        )
    reach = [
        vi
        for vi in fits
        if _stop_reachable(problem, stop, vehicles[vi], _end_empty_s(problem, stop, vehicles[vi]))
    ]
    if not reach:
        return [], DroppedStop(
            stop.id,
            stop.required,
            DropReason.TIME_WINDOW_UNREACHABLE,
            f"no compatible vehicle can reach it within {list(stop.time_windows) or 'its shift'} "
            "and still return in time",
        )
    return reach, None


@dataclass
class _Nodes:
    """The node layout: depots, then the included stops, then the copies of each facility."""

    kind: list[NodeKind] = field(default_factory=list)
    ref: list[int] = field(default_factory=list)
    location: list[int] = field(default_factory=list)
    depot_node: dict[str, int] = field(default_factory=dict)
    stop_node: dict[int, int] = field(default_factory=dict)
    facility_copies: list[list[int]] = field(default_factory=list)

    def add(self, kind: NodeKind, ref: int, location: int) -> int:
        self.kind.append(kind)
        self.ref.append(ref)
        self.location.append(location)
        return len(self.kind) - 1


def _lay_out_nodes(problem: Problem, included: list[int], copies: list[int]) -> _Nodes:
    nodes = _Nodes()
    for di, depot in enumerate(problem.depots):
        nodes.depot_node[depot.id] = nodes.add(NodeKind.DEPOT, di, depot.location)
    for si in included:
        nodes.stop_node[si] = nodes.add(NodeKind.STOP, si, problem.stops[si].location)
    for fi, fac in enumerate(problem.facilities):
        nodes.facility_copies.append(
            [nodes.add(NodeKind.FACILITY, fi, fac.location) for _ in range(copies[fi])]
        )
    return nodes


def _node_loads(problem: Problem, nodes: _Nodes) -> tuple[list[int], list[int], list[int]]:
    """Per node: volume (ml) and mass (g) collected, and service or unload seconds."""
    n = len(nodes.kind)
    vol = [0] * n
    mass = [0] * n
    service = [0] * n
    for node in range(n):
        if nodes.kind[node] is NodeKind.STOP:
            stop = problem.stops[nodes.ref[node]]
            vol[node] = volume_ml(stop.volume_l)
            mass[node] = _mass_g(stop.mass_kg)
            service[node] = stop.service_s
        elif nodes.kind[node] is NodeKind.FACILITY:
            service[node] = problem.facilities[nodes.ref[node]].unload_s
    return vol, mass, service


@dataclass
class _Fleet:
    """Per vehicle: start and end nodes, capacities, time windows, maximum duration and trips."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    cap_ml: list[int] = field(default_factory=list)
    cap_g: list[int] = field(default_factory=list)
    start_windows: list[tuple[int, int]] = field(default_factory=list)
    end_windows: list[tuple[int, int]] = field(default_factory=list)
    max_duration_s: list[int] = field(default_factory=list)
    max_trips: list[int] = field(default_factory=list)


def _fleet(problem: Problem, nodes: _Nodes, included: list[int]) -> _Fleet:
    vehicles = problem.vehicles
    fleet = _Fleet()
    for v in vehicles:
        sd = problem.depot(v.start_depot)
        ed = problem.depot(v.end_depot or v.start_depot)
        fleet.starts.append(nodes.depot_node[sd.id])
        fleet.ends.append(nodes.depot_node[ed.id])
        fleet.cap_ml.append(capacity_ml(v.capacity_volume_l))
        fleet.cap_g.append(_BIG_CAPACITY if v.capacity_mass_kg is None else _capacity_g(v.capacity_mass_kg))
        sw = (max(v.shift[0], sd.window[0]), min(v.shift[1], sd.window[1]))
        ew = (max(v.shift[0], ed.window[0]), min(v.shift[1], ed.window[1]))
        fleet.start_windows.append(sw)
        fleet.end_windows.append(ew)
        span = max(0, ew[1] - sw[0])
        fleet.max_duration_s.append(span if v.max_duration_s is None else min(span, v.max_duration_s))
        fac_copies = sum(
            len(nodes.facility_copies[fi])
            for fi, f in enumerate(problem.facilities)
            if v.fraction in f.fractions
        )
        # Trips a vehicle plausibly needs: twice its fair share of the fraction's volume, plus one.
        fleet_cap = sum(u.capacity_volume_l for u in vehicles if u.fraction == v.fraction)
        volume = sum(
            problem.stops[si].volume_l for si in included if problem.stops[si].fraction == v.fraction
        )
        share = math.ceil(2.0 * volume / fleet_cap) + 1 if fleet_cap > 0 else 1
        fleet.max_trips.append(
            min(fac_copies, share if v.max_disposal_trips is None else v.max_disposal_trips)
        )
    return fleet


def _horizon_s(problem: Problem, fleet: _Fleet) -> int:
    """One second past the latest time any window of the day allows."""
    horizon = max(
        [w[1] for w in fleet.end_windows]
        + [w[1] for s in problem.stops for w in s.time_windows]
        + [f.window[1] for f in problem.facilities]
        + [d.window[1] for d in problem.depots]
    )
    return max(horizon, max(w[1] for w in fleet.start_windows)) + 1


def _required_penalty(problem: Problem, cost_scale: float, ratios: list[float], horizon: int) -> int:
    """Penalty of dropping a required stop: far above anything a route could save by it."""
    vehicles = problem.vehicles
    max_arc = int(problem.distance_m.max()) if problem.num_locations else 0
    max_fixed = max(round(v.fixed_cost * cost_scale) for v in vehicles)
    max_hour = max(v.cost_per_hour for v in vehicles) * cost_scale / 3600.0
    required_penalty = (
        int(100 * (2 * max_arc * max(ratios) * ARC_UNITS_PER_M + max_fixed + horizon * (max_hour + 1)))
        + 10**8
    )
    return min(required_penalty, 1 << 50)


def break_allowance_s(vehicle: Vehicle, span_s: int) -> int:
    """Total break time a route of ``span_s`` seconds must contain under the vehicle's rule."""
    return _break_total_s(vehicle, span_s)
