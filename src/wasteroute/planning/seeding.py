"""PyVRP search: the routes the OR-Tools model then validates.

PyVRP models reloads (our disposal trips), prizes, time windows, heterogeneous fleets and
several depots, but not breaks, daily volume or stop limits. Those are approximated here
(the shift is shortened by the break time, reloads capped by the daily volume) and the routes
are then checked against the full model by :mod:`.solver`.

Encoding (:func:`encode`):

* locations = ``[depots, facilities, virtual ends, stops]``; each stop gets its own location so that
  compatibility can be expressed per stop.
* A vehicle that must end empty ends at a *virtual end* of its depot: the arc ``i -> end`` costs
  ``min_f d(i, f) + d(f, depot)`` over the facilities accepting its fraction, i.e. the final unload
  is folded into the last arc and added back as an explicit facility visit when translating.
* Compatibility (fraction, access class) uses PyVRP profiles: a profile's distances to the stops
  a vehicle may not serve are prohibitive.
* Units are the ones PyVRP's adaptive penalties are tuned for: a metre driven by the cheapest
  vehicle costs one unit (a small integer multiple when vehicles cost differently per km), loads
  count in the largest unit that divides every demand (litres or tenths of litres on a city day,
  the file's demand units on a benchmark), times in seconds. The penalty for a unit of excess load
  or lateness lives in PyVRP's fixed range (0.1 to 100,000 per unit); in millilitres against
  centimetres (what the OR-Tools model counts in) lateness could not be priced high enough against
  distance and overloads not low enough, and on Gehring-Homberger R1_2_1 with its 20 vehicles the
  first plan without lateness came after 24 s instead of 5-9 s.

Search (:func:`solve_with_pyvrp`): one run of PyVRP's iterated local search (its own components,
assembled here so the penalties can follow the hierarchy of a binding fleet, see
:class:`_Penalties`), stopped by a :class:`_Budget`. The budget holds two checkpoints: with priced
identical trucks and a plan to spare, the rest of the budget tries one truck fewer; with no plan
serving every must-go stop at 80 % of the budget, the rest searches the same day with must-go stops
made droppable at a prize far above any detour (fewest dropped first, then cost). Reproducible mode
(``deterministic=True``) counts iterations instead of seconds: the first iterations are timed, the
rate they show fills the budget (rounded down to a coarse grid, :func:`snap_iterations`) and the
same run goes on to that count; checkpoints sit at fixed shares of it. The count is kept per
problem and budget for the process and reported as ``pyvrp_iteration_limit``; passing it back as
``iterations`` replays the plan exactly in any process.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import fmean

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)

from wasteroute.planning.compiled import CompiledProblem, NodeKind, break_allowance_s
from wasteroute.planning.result import PyvrpStats

__all__ = ["SeedResult", "encode", "snap_iterations", "solve_with_pyvrp"]

_FORBIDDEN = 1 << 31
_PROBE_WORK = 30_000
"""Reproducible mode: iterations x stops timed before the budget is fixed (0.5-3 s on a shared
2-core VM: 14,000-60,000 iterations x stops per second on city days and Kim instances)."""
_PROBE_SHARE = 0.3
"""The probe ends after at most this share of the budget, even when short of its iterations."""
_PROBE_MIN_SHARE = 0.05
"""... and lasts at least this share of it (a few slow iterations of a large day are no rate)."""
_LARGE_STOPS = 1_500
"""From this many stops on, a new best solution is not searched exhaustively: on a 2,000-stop city
day that search made an iteration six times as slow (103 against 591 iterations in 20 s, and a
worse plan)."""
_FLEET_CHECK_SHARE = 0.6
"""With priced identical trucks, one truck fewer is tried after this share of the budget."""
_HUNT_SHARE = 0.4
"""Without a feasible solution by this share of the budget, the penalties hunt for one
(:class:`_Penalties`)."""
_FEASIBLE_CHECK_SHARE = 0.8
"""Without a plan serving every must-go stop by this share of the budget, must-go stops become
droppable at a very high prize for the rest of it. Late, because a search that keeps every stop
required often gets there after all (Gehring-Homberger R1_2_1 with its 20 vehicles on a loaded
machine: plain PyVRP found its first plan late in 30 s; a switch at half the budget left 5 stops
out)."""
_RATE_MARGIN = 0.85
"""Share of the measured iteration rate the budget counts on (the rest absorbs a slower machine)."""
_CALIBRATED: dict[tuple[bytes, int], int] = {}
"""Iteration budgets already measured in this process, per problem fingerprint and budget (ms)."""


@dataclass
class SeedResult:
    """Routes per vehicle in *stop nodes and facility indices*; see :meth:`assign_copies`."""

    routes: list[list[tuple[NodeKind, int]]] | None
    facility_uses: list[int]
    stats: PyvrpStats

    def assign_copies(self, cp: CompiledProblem) -> list[list[int]]:
        """Routes as node lists of ``cp``: each facility visit takes the next free copy."""
        assert self.routes is not None
        next_copy = [0] * len(cp.facility_copies)
        out: list[list[int]] = []
        for route in self.routes:
            nodes = []
            for kind, ref in route:
                if kind is NodeKind.STOP:
                    nodes.append(ref)
                else:
                    nodes.append(cp.facility_copies[ref][next_copy[ref]])
                    next_copy[ref] += 1
            out.append(nodes)
        return out


# --------------------------------------------------------------------------------------------------
# Encoding


@dataclass
class Encoding:
    """The compiled problem as PyVRP data, and what is needed to read PyVRP's routes back.

    Attributes:
        data: the PyVRP instance.
        stop_nodes: client ``k`` of ``data`` is node ``stop_nodes[k]`` of the compiled problem.
        type_members: vehicles (indices into the problem's vehicles) of each PyVRP vehicle type.
        final_facility: per virtual end, the facility each location unloads at on its way home.
        n_dep, n_fac: depots and facilities at the front of the location list.
        money: PyVRP cost units per money unit (fixed costs, prizes and hourly costs).
        load_unit: per load dimension, millilitres (grams) per PyVRP load unit.
        drop_prize: prize that makes a must-go stop droppable only when nothing else works.
    """

    data: pyvrp.ProblemData
    stop_nodes: list[int]
    type_members: list[list[int]]
    final_facility: list[npt.NDArray[np.int64]]
    n_dep: int
    n_fac: int
    money: float
    load_unit: list[int]
    drop_prize: int

    @property
    def first_client(self) -> int:
        return self.n_dep + self.n_fac + len(self.final_facility)


def _distance_multiplier(ratios: list[float]) -> int:
    """Smallest integer ``k`` (1..20) that makes ``k x ratio`` whole within 1 % for every vehicle's
    cost per km relative to the cheapest; 20 when none does (then within 2.5 %)."""
    for k in range(1, 21):
        if all(abs(k * r - round(k * r)) <= 0.01 * k * r for r in ratios):
            return k
    return 20


def _load_unit(demands: list[int]) -> int:
    """Largest unit dividing every demand (and 1 for none): loads are counted in it."""
    unit = 0
    for d in demands:
        unit = math.gcd(unit, d)
    return max(1, unit)


def encode(cp: CompiledProblem) -> Encoding:
    """Build the PyVRP instance of ``cp`` (see the module docstring)."""
    problem = cp.problem
    vehicles = problem.vehicles
    stop_nodes = cp.stop_nodes()
    n_dep = len(problem.depots)
    n_fac = len(problem.facilities)
    ends = _virtual_ends(cp)
    loc, dist, dur, final_facility = _matrices(cp, ends, stop_nodes)
    first_client = n_dep + n_fac + len(ends)
    tighten = _break_tightening(cp)

    # Units (see the module docstring).
    multiplier = _distance_multiplier(cp.vehicle_cost_ratio)
    cpk_min = min(v.cost_per_km for v in vehicles)
    money = multiplier * 1000.0 / cpk_min
    load_unit = [_load_unit([cp.node_volume_ml[n] for n in stop_nodes])]
    if cp.use_mass:
        load_unit.append(_load_unit([cp.node_mass_g[n] for n in stop_nodes]))

    locations = [pyvrp.Location(0.0, 0.0) for _ in range(len(loc))]
    depots = [pyvrp.Depot(i, d.window[0], d.window[1]) for i, d in enumerate(problem.depots)]
    depots += [
        pyvrp.Depot(n_dep + i, f.window[0], tighten(*f.window), service_duration=f.unload_s)
        for i, f in enumerate(problem.facilities)
    ]
    for e, (depot_node, _) in enumerate(ends):
        w = problem.depots[cp.node_ref[depot_node]].window
        depots.append(pyvrp.Depot(n_dep + n_fac + e, w[0], w[1]))
    clients = _clients(cp, stop_nodes, first_client, load_unit, money, tighten)
    dist_profiles, vehicle_profile = _profiles(cp, stop_nodes, first_client, dist)
    types = _vehicle_types(cp, ends, load_unit, multiplier, money, vehicle_profile)
    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        types.vehicle_types(),
        dist_profiles,  # type: ignore[arg-type]
        [dur] * len(dist_profiles),  # type: ignore[list-item]
    )
    return Encoding(
        data=data,
        stop_nodes=stop_nodes,
        type_members=types.members,
        final_facility=final_facility,
        n_dep=n_dep,
        n_fac=n_fac,
        money=money,
        load_unit=load_unit,
        drop_prize=_drop_prize(cp, stop_nodes, dist, dur, money, types.unit_costs),
    )


def _virtual_ends(cp: CompiledProblem) -> list[tuple[int, str]]:
    """One virtual end per (end depot node, fraction) of the vehicles that must end empty."""
    ends: list[tuple[int, str]] = []
    for veh in cp.problem.vehicles:
        if veh.must_end_empty:
            end_key = (cp.depot_node[veh.end_depot or veh.start_depot], veh.fraction)
            if end_key not in ends:
                ends.append(end_key)
    return ends


def _matrices(
    cp: CompiledProblem, ends: list[tuple[int, str]], stop_nodes: list[int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], list[npt.NDArray[np.int64]]]:
    """Locations ``[depots, facilities, virtual ends, stops]`` (indices into the problem's places),
    their distance and duration matrices, and per virtual end the facility each location unloads
    at on its way home (the arc to a virtual end runs through the best one)."""
    problem = cp.problem
    n_dep = len(problem.depots)
    n_fac = len(problem.facilities)
    base_locs = (
        [d.location for d in problem.depots]
        + [f.location for f in problem.facilities]
        + [int(cp.node_location[depot_node]) for depot_node, _ in ends]
        + [int(cp.node_location[n]) for n in stop_nodes]
    )
    loc = np.asarray(base_locs, dtype=np.int64)
    dist = problem.distance_m[np.ix_(loc, loc)].astype(np.int64)
    dur = problem.duration_s[np.ix_(loc, loc)].astype(np.int64)
    final_facility: list[npt.NDArray[np.int64]] = []
    for e, (depot_node, fraction) in enumerate(ends):
        col = n_dep + n_fac + e
        depot_loc = int(cp.node_location[depot_node])
        facs = [fi for fi, f in enumerate(problem.facilities) if fraction in f.fractions]
        via_d = np.stack(
            [
                dist[:, n_dep + fi] + problem.distance_m[problem.facilities[fi].location, depot_loc]
                for fi in facs
            ]
        )
        via_t = np.stack(
            [
                dur[:, n_dep + fi]
                + problem.facilities[fi].unload_s
                + problem.duration_s[problem.facilities[fi].location, depot_loc]
                for fi in facs
            ]
        )
        best = np.argmin(via_d, axis=0)
        dist[:, col] = via_d[best, np.arange(len(loc))]
        dur[:, col] = via_t[best, np.arange(len(loc))]
        for fi in facs:  # already at a facility: just drive home
            dist[n_dep + fi, col] = problem.distance_m[problem.facilities[fi].location, depot_loc]
            dur[n_dep + fi, col] = problem.duration_s[problem.facilities[fi].location, depot_loc]
        dist[col, :] = dist[depot_node, :] if depot_node < n_dep else dist[col, :]
        dur[col, :] = dur[depot_node, :] if depot_node < n_dep else dur[col, :]
        dist[col, col] = 0
        dur[col, col] = 0
        final_facility.append(np.asarray([facs[b] for b in best], dtype=np.int64))
    return loc, dist, dur, final_facility


def _break_tightening(cp: CompiledProblem) -> Callable[[int, int], int]:
    """Breaks are invisible to PyVRP: a window that closes after the earliest possible break closes
    earlier by the longest break allowance, so a break can be slotted in without lateness. The
    function takes a window and gives its (tightened) end."""
    allowance = 0
    earliest_break = cp.horizon_s
    for v, veh in enumerate(cp.problem.vehicles):
        rule = veh.break_rule
        if rule is None:
            continue
        allowance = max(allowance, break_allowance_s(veh, cp.vehicle_max_duration_s[v]))
        begin = rule.earliest_start_s if rule.earliest_start_s is not None else cp.vehicle_start_window[v][0]
        earliest_break = min(earliest_break, begin)

    def tighten(early: int, late: int) -> int:
        if allowance and late > earliest_break:
            return max(early, late - allowance)
        return late

    return tighten


def _clients(
    cp: CompiledProblem,
    stop_nodes: list[int],
    first_client: int,
    load_unit: list[int],
    money: float,
    tighten: Callable[[int, int], int],
) -> list[pyvrp.Client]:
    """The stops as PyVRP clients: loads in the encoding's units, the widest time window (tightened
    for breaks), prizes of optional stops in PyVRP cost units."""
    clients = []
    for k, node in enumerate(stop_nodes):
        stop = cp.stop_of(node)
        windows = stop.time_windows
        if windows:
            early, late = max(windows, key=lambda w: w[1] - w[0])
        else:
            early, late = 0, cp.horizon_s
        pickup = [cp.node_volume_ml[node] // load_unit[0]]
        if len(load_unit) == 2:
            pickup.append(cp.node_mass_g[node] // load_unit[1])
        clients.append(
            pyvrp.Client(
                first_client + k,
                delivery=[0] * len(load_unit),
                pickup=pickup,
                service_duration=stop.service_s,
                tw_early=early,
                tw_late=tighten(early, late),
                prize=0 if stop.required else round(stop.prize * money),
                required=stop.required,
            )
        )
    return clients


def _profiles(
    cp: CompiledProblem, stop_nodes: list[int], first_client: int, dist: npt.NDArray[np.int64]
) -> tuple[list[npt.NDArray[np.int64]], list[int]]:
    """One distance profile per distinct (fraction, access classes) of the vehicles, prohibitive
    towards the stops those vehicles may not serve; and each vehicle's profile."""
    profile_keys: list[tuple[str, frozenset[str]]] = []
    dist_profiles: list[npt.NDArray[np.int64]] = []
    vehicle_profile: list[int] = []
    for veh in cp.problem.vehicles:
        profile_key = (veh.fraction, veh.access_classes)
        if profile_key not in profile_keys:
            profile_keys.append(profile_key)
            bad = [
                first_client + k for k, node in enumerate(stop_nodes) if not veh.can_serve(cp.stop_of(node))
            ]
            if bad:
                masked = dist.copy()
                masked[bad, :] = _FORBIDDEN
                masked[:, bad] = _FORBIDDEN
                masked[bad, bad] = 0
                dist_profiles.append(masked)
            else:
                dist_profiles.append(dist)
        vehicle_profile.append(profile_keys.index(profile_key))
    return dist_profiles, vehicle_profile


@dataclass
class _VehicleTypes:
    """Identical vehicles grouped into PyVRP vehicle types."""

    members: list[list[int]] = field(default_factory=list)
    """Per type, the vehicles (indices into the problem's vehicles) it stands for."""
    args: list[dict[str, object]] = field(default_factory=list)
    unit_costs: list[int] = field(default_factory=list)
    """Per vehicle, its cost of a distance unit."""

    def vehicle_types(self) -> list[pyvrp.VehicleType]:
        return [
            pyvrp.VehicleType(num_available=len(members), **args)  # type: ignore[arg-type]
            for members, args in zip(self.members, self.args, strict=True)
        ]


def _vehicle_types(
    cp: CompiledProblem,
    ends: list[tuple[int, str]],
    load_unit: list[int],
    multiplier: int,
    money: float,
    vehicle_profile: list[int],
) -> _VehicleTypes:
    """Each vehicle as PyVRP sees it (reloads at the facilities of its fraction, its shift less the
    break allowance, a virtual end when it must end empty), identical ones grouped."""
    problem = cp.problem
    n_dep = len(problem.depots)
    n_fac = len(problem.facilities)
    types = _VehicleTypes()
    type_keys: list[tuple[object, ...]] = []
    for v, veh in enumerate(problem.vehicles):
        end = (
            n_dep + n_fac + ends.index((cp.depot_node[veh.end_depot or veh.start_depot], veh.fraction))
            if veh.must_end_empty
            else cp.node_ref[cp.vehicle_end[v]]
        )
        reload = [n_dep + fi for fi, f in enumerate(problem.facilities) if veh.fraction in f.fractions]
        trips = cp.vehicle_max_trips[v]
        max_trips = max(1, trips if veh.must_end_empty else trips + 1)
        cap_ml = cp.vehicle_cap_ml[v]
        if veh.max_collected_volume_l is not None:
            # PyVRP cannot limit the day's total: pick trips k and a per-trip cap with k * cap <= day.
            day_ml = math.floor(veh.max_collected_volume_l * 1000 + 1e-6)
            options = [(k * min(cap_ml, day_ml // k), -k) for k in range(1, max_trips + 1)]
            max_trips = -max(options)[1]
            cap_ml = min(cap_ml, day_ml // max_trips)
        max_reloads = max_trips - 1
        span = cp.vehicle_max_duration_s[v]
        brk = break_allowance_s(veh, span)
        shift = max(0, span - brk)
        # Demands are whole multiples of the unit, so rounding the capacity down loses nothing.
        capacity = [cap_ml // load_unit[0]]
        if len(load_unit) == 2:
            capacity.append(min(cp.vehicle_cap_g[v] // load_unit[1], 1 << 50))
        unit_cost = max(1, round(cp.vehicle_cost_ratio[v] * multiplier))
        types.unit_costs.append(unit_cost)
        args: dict[str, object] = {
            "capacity": capacity,
            "start_depot": cp.node_ref[cp.vehicle_start[v]],
            "end_depot": end,
            "fixed_cost": round(veh.fixed_cost * money),
            "tw_early": cp.vehicle_start_window[v][0],
            "tw_late": max(cp.vehicle_start_window[v][0], cp.vehicle_end_window[v][1] - brk),
            "start_late": min(
                cp.vehicle_start_window[v][1],
                max(cp.vehicle_start_window[v][0], cp.vehicle_end_window[v][1] - brk),
            ),
            "shift_duration": shift,
            "unit_distance_cost": unit_cost,
            "unit_duration_cost": round(veh.cost_per_hour * money / 3600.0),
            "profile": vehicle_profile[v],
            "reload_depots": reload if reload else [],
            "max_reloads": max_reloads if reload else 0,
        }
        type_key = tuple(sorted((k, repr(a)) for k, a in args.items()))
        if type_key in type_keys:
            types.members[type_keys.index(type_key)].append(v)
        else:
            type_keys.append(type_key)
            types.members.append([v])
            types.args.append(args)
    return types


def _drop_prize(
    cp: CompiledProblem,
    stop_nodes: list[int],
    dist: npt.NDArray[np.int64],
    dur: npt.NDArray[np.int64],
    money: float,
    unit_costs: list[int],
) -> int:
    """A must-go stop dropped in the fallback must cost more than any route change could save."""
    vehicles = cp.problem.vehicles
    max_arc = int(dist.max()) if dist.size else 0
    max_dur = int(dur.max()) if dur.size else 0
    hour_cost = max((round(v.cost_per_hour * money / 3600.0) for v in vehicles), default=0)
    max_fixed = max((round(v.fixed_cost * money) for v in vehicles), default=0)
    max_service = max((cp.node_service_s[n] for n in stop_nodes), default=0)
    detour = 2 * max_arc * max(unit_costs) + hour_cost * (2 * max_dur + max_service) + max_fixed
    return min(10 * detour + 10**6, 1 << 50)


def _droppable(enc: Encoding) -> pyvrp.ProblemData:
    """The same day with every must-go stop optional at :attr:`Encoding.drop_prize`."""
    clients = [
        pyvrp.Client(
            c.location,
            delivery=c.delivery,
            pickup=c.pickup,
            service_duration=c.service_duration,
            tw_early=c.tw_early,
            tw_late=c.tw_late,
            prize=c.prize if not c.required else enc.drop_prize,
            required=False,
        )
        for c in enc.data.clients()
    ]
    return enc.data.replace(clients=clients)


def _without_shortest_route(solution: pyvrp.Solution, data: pyvrp.ProblemData) -> pyvrp.Solution:
    """``solution`` less its route with the fewest stops, in ``data`` (one truck fewer): the search
    for a smaller fleet starts from the plan it has, its stops to be placed in the other routes."""
    routes = sorted(solution.routes(), key=lambda r: r.num_clients())[1:]
    return pyvrp.Solution(
        data, [pyvrp.Route(data, list[pyvrp.Activity](r)[1:-1], r.vehicle_type()) for r in routes]
    )


def _carry(solution: pyvrp.Solution, data: pyvrp.ProblemData) -> pyvrp.Solution:
    """``solution`` (same routes, reloads included) as a solution of ``data`` (same locations)."""
    routes = [
        pyvrp.Route(data, list[pyvrp.Activity](route)[1:-1], route.vehicle_type())
        for route in solution.routes()
    ]
    return pyvrp.Solution(data, routes)


def decode(
    enc: Encoding, solution: pyvrp.Solution, n_vehicles: int
) -> tuple[list[list[tuple[NodeKind, int]]], list[int]]:
    """Routes per vehicle (stop nodes and facility indices) and facility uses of ``solution``."""
    routes: list[list[tuple[NodeKind, int]]] = [[] for _ in range(n_vehicles)]
    uses = [0] * enc.n_fac
    next_member = [0] * len(enc.type_members)
    n_dep, n_fac, first_client = enc.n_dep, enc.n_fac, enc.first_client
    for route in solution.routes():
        vt = route.vehicle_type()
        v = enc.type_members[vt][next_member[vt]]
        next_member[vt] += 1
        activities = list(route)
        out: list[tuple[NodeKind, int]] = []
        for act in activities[1:-1]:
            if act.is_client():
                out.append((NodeKind.STOP, enc.stop_nodes[act.idx]))
            elif act.is_depot() and n_dep <= act.idx < n_dep + n_fac:
                visit = (NodeKind.FACILITY, act.idx - n_dep)
                if out and out[-1] == visit:
                    # An empty trip (unload, then unload again at the same place): the model
                    # rightly forbids it and it only costs time, so it goes (a 2,000-stop day had one).
                    continue
                out.append(visit)
                uses[act.idx - n_dep] += 1
        last = activities[-1]
        if last.is_depot() and last.idx >= n_dep + n_fac:
            e = last.idx - n_dep - n_fac
            prev = activities[-2]
            prev_loc = first_client + prev.idx if prev.is_client() else prev.idx
            if not (prev.is_depot() and n_dep <= prev.idx < n_dep + n_fac):
                fi = int(enc.final_facility[e][prev_loc])
                out.append((NodeKind.FACILITY, fi))
                uses[fi] += 1
        routes[v] = out
    return routes, uses


# --------------------------------------------------------------------------------------------------
# Search components


class _Penalties:
    """PyVRP's adaptive penalties (same rule, range and pace as :class:`pyvrp.PenaltyManager`,
    every 500 solutions), with a hunt for feasibility when a binding fleet needs it.

    A search that has no feasible solution by :data:`_HUNT_SHARE` of its budget starts hunting
    (:meth:`hunt`): the penalties move every 50 solutions until a feasible solution has been seen,
    so the search reaches a plan sooner, and keep that pace until the share of feasible solutions
    is back at PyVRP's target (the penalties raised in the hunt come down as quickly as they went
    up instead of holding the search in feasible space); then PyVRP's pace again. A search that
    finds feasible plans in time is exactly PyVRP's: hunting from the start found Gehring-Homberger
    R1_2_1's first plan sooner but ended 1.5 points above plain PyVRP (median of 3 seeds, 30 s).
    """

    def __init__(self, data: pyvrp.ProblemData, params: pyvrp.PenaltyParams, fast_updates: int = 50) -> None:
        self._params = params
        self._fast = fast_updates
        midpoint = params.min_penalty + (params.max_penalty - params.min_penalty) / 2
        self._values = [midpoint] * (data.num_load_dimensions + 2)
        self._recent: list[list[int]] = [[] for _ in self._values]
        self.seen_feasible = True
        self.hunting = False
        self._settled = [True] * len(self._values)
        self._last_diff = [0.0] * len(self._values)

    def hunt(self) -> None:
        """Adjust every 50 solutions until feasible ones are seen and their share is at target."""
        self.hunting = True
        self.seen_feasible = False
        self._settled = [False] * len(self._values)
        self._last_diff = [0.0] * len(self._values)

    def _adjust(self, idx: int) -> None:
        recent = self._recent[idx]
        share = fmean(1.0 if viol == 0 else 0.0 for viol in recent)
        recent.clear()
        p = self._params
        diff = p.target_feasible - share
        if self.seen_feasible and (abs(diff) < p.feas_tolerance or self._last_diff[idx] < 0 < diff):
            self._settled[idx] = True  # back at the target share: PyVRP's pace from now on
        self._last_diff[idx] = diff
        if abs(diff) < p.feas_tolerance:
            return
        factor = p.penalty_increase if diff > 0 else p.penalty_decrease
        self._values[idx] = min(p.max_penalty, max(p.min_penalty, self._values[idx] * factor))

    def register(self, sol: pyvrp.Solution) -> None:
        violations = [*sol.excess_load(), sol.time_warp(), sol.excess_distance()]
        if not self.seen_feasible and not any(violations):
            self.seen_feasible = True
        for idx, viol in enumerate(violations):
            self._recent[idx].append(viol)
            every = self._params.solutions_between_updates if self._settled[idx] else self._fast
            if len(self._recent[idx]) >= every:
                self._adjust(idx)

    def cost_evaluator(self) -> pyvrp.CostEvaluator:
        *loads, tw, dist = self._values
        return pyvrp.CostEvaluator(loads, tw, dist)

    def max_cost_evaluator(self) -> pyvrp.CostEvaluator:
        top = self._params.max_penalty
        return pyvrp.CostEvaluator([top] * (len(self._values) - 2), top, top)


class _Watch(pyvrp.IteratedLocalSearchCallbacks):
    """Keeps the best solution in sight (the stopping rule's checkpoints look at it)."""

    def __init__(self) -> None:
        self.best: pyvrp.Solution | None = None
        self.first_feasible_iteration: int | None = None
        self.iteration = 0

    def on_iteration(self, current: object, candidate: object, best: object, cost_evaluator: object) -> None:
        self.iteration += 1

    def on_best(self, best: pyvrp.Solution) -> None:
        self.best = best
        if self.first_feasible_iteration is None and best.is_feasible():
            self.first_feasible_iteration = self.iteration


class _Budget:
    """Stopping rule of one search: seconds (``deadline``) or iterations, with a checkpoint.

    Called by PyVRP before every iteration with the best cost (infinite while the best is
    infeasible). ``limit`` is the iteration budget (None: clock only). With ``calibrate`` the
    budget is measured on the run itself: the first ``probe`` iterations (at least 5 % of the time)
    are timed and their rate fills the rest of the time, snapped to a coarse grid
    (:func:`snap_iterations`); when the search reaches that count with a quarter of the time or
    more left (early iterations of a large day are slower than later ones), the rate since the
    last estimate extends it, snapped again. ``checkpoint()`` is asked once, at
    ``checkpoint_share`` of the budget, whether to stop there (the caller goes on differently).
    The deadline always holds; ``clocked`` says when it ended a search that counts iterations.
    """

    def __init__(
        self,
        *,
        seconds: float,
        limit: int | None,
        calibrate: bool = False,
        probe: int = 0,
        checkpoint_share: float | None = None,
        checkpoint: Callable[[], bool] | None = None,
    ) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.seconds = seconds
        self.limit = limit
        self.calibrate = calibrate
        self.extendable = calibrate
        self.probe = probe
        self.checkpoint_share = checkpoint_share
        self.checkpoint = checkpoint
        self.checked = False
        self.stopped_at_checkpoint = False
        self.clocked = False
        self.done = 0
        self._mark: tuple[int, float] | None = None
        self.hunt: Callable[[], None] | None = None
        self.hunted = False

    def __call__(self, best_cost: float) -> bool:
        now = time.monotonic()
        if self._mark is None:
            self._mark = (self.done, now)  # set-up and the first solution are behind us
        if self.calibrate:
            probed = self.done >= self.probe and now - self._mark[1] >= _PROBE_MIN_SHARE * self.seconds
            if probed or now - self.started >= _PROBE_SHARE * self.seconds:
                self.calibrate = False
                self._estimate(now)
        extended = (
            self.limit is not None
            and self.done >= self.limit
            and self.extendable
            and self.deadline - now >= 0.25 * self.seconds
            and self._estimate(now)
        )
        if self.limit is not None and self.done >= self.limit and not extended:
            return True
        if now >= self.deadline:
            self.clocked = self.limit is not None
            return True
        if (
            self.hunt is not None
            and not self.hunted
            and math.isinf(best_cost)
            and self._share(now) >= _HUNT_SHARE
        ):
            self.hunted = True
            self.hunt()
        if self.checkpoint is not None and not self.checked and self._at_checkpoint(now):
            self.checked = True
            if self.checkpoint():
                self.stopped_at_checkpoint = True
                return True
        self.done += 1
        return False

    def _share(self, now: float) -> float:
        """Share of the budget used: iterations once counted, else seconds (0 while calibrating)."""
        if self.limit is not None:
            return 0.0 if self.calibrate else self.done / max(1, self.limit)
        return (now - self.started) / self.seconds

    def _at_checkpoint(self, now: float) -> bool:
        assert self.checkpoint_share is not None
        if self.limit is not None:
            return not self.calibrate and self.done >= self.checkpoint_share * self.limit
        return now - self.started >= self.checkpoint_share * self.seconds

    def _estimate(self, now: float) -> bool:
        """Set the limit from the rate since the last estimate; whether it grew."""
        assert self._mark is not None
        done0, t0 = self._mark
        rate = (self.done - done0) / (now - t0) if now > t0 else 0.0
        self._mark = (self.done, now)
        ahead = max(0.0, self.deadline - now)
        # The whole count is snapped, with a margin for a shared machine whose speed drifts.
        limit = max(self.done, snap_iterations(self.done + _RATE_MARGIN * rate * ahead))
        grew = self.limit is None or limit > self.limit
        self.limit = limit if grew else self.limit
        return grew and self.done < (self.limit or 0)


def snap_iterations(estimate: float) -> int:
    """Round an iteration estimate down to the grid ``round(2 ** (k / 2))`` (1, 2, 3, 4, 6, 8, 11, ...).

    The coarse grid is what makes a timed calibration reproducible: two measurements of the same
    problem on the same machine give the same grid value unless they straddle a step, and the
    search uses 71-100 % (85 % on average) of the estimated iterations.
    """
    if not estimate >= 1:
        return 1
    k = math.floor(2 * math.log2(estimate) + 1e-9)
    value = round(2 ** (k / 2))
    return value if value <= estimate else round(2 ** ((k - 1) / 2))


def _run(
    data: pyvrp.ProblemData,
    budget: _Budget,
    seed: int,
    initial: pyvrp.Solution | None,
    watch: _Watch,
) -> tuple[pyvrp.Result, _Penalties]:
    """PyVRP's iterated local search with its default components and our penalty pacing (and no
    exhaustive search of new best solutions from :data:`_LARGE_STOPS` stops on)."""
    params = pyvrp.SolveParams()
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    neighbours = compute_neighbours(data, NeighbourhoodParams())
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(PerturbationParams()))
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    penalties = _Penalties(data, params.penalty)
    if initial is None:
        initial = ls(pyvrp.Solution.make_random(data, rng), penalties.max_cost_evaluator(), exhaustive=True)
    budget.hunt = penalties.hunt
    if initial.is_feasible():
        watch.best = initial
        if watch.first_feasible_iteration is None:
            watch.first_feasible_iteration = 0
    ils = pyvrp.IteratedLocalSearch(
        data,
        penalties,  # type: ignore[arg-type]
        ls,
        initial,
        pyvrp.IteratedLocalSearchParams(callbacks=watch, exhaustive_on_best=data.num_clients < _LARGE_STOPS),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ils.run(budget, collect_stats=False)
    return result, penalties


def _fleet_reducible(data: pyvrp.ProblemData) -> bool:
    """One kind of truck with a price and only must-go stops: fewer trucks is a plain saving."""
    return (
        data.num_vehicle_types == 1
        and data.vehicle_type(0).fixed_cost > 0
        and data.vehicle_type(0).num_available > 1
        and all(client.required for client in data.clients())
    )


def _fleet_lower_bound(data: pyvrp.ProblemData) -> int:
    """Trucks needed at least by load (capacity x trips per day, per load dimension)."""
    bound = 1
    for dim in range(data.num_load_dimensions):
        pickup = sum(client.pickup[dim] for client in data.clients() if client.required)
        per_day = sum(
            vt.capacity[dim] * (vt.max_reloads + 1) * vt.num_available for vt in data.vehicle_types()
        )
        count = sum(vt.num_available for vt in data.vehicle_types())
        per_truck = per_day / max(1, count)
        bound = max(bound, math.ceil(pickup / max(1.0, per_truck)))
    return bound


def _fingerprint(data: pyvrp.ProblemData, seconds: float) -> tuple[bytes, int]:
    digest = hashlib.blake2b(digest_size=16)
    for matrix in data.distance_matrices():
        digest.update(np.asarray(matrix).tobytes())
    for matrix in data.duration_matrices():
        digest.update(np.asarray(matrix).tobytes())
    for client in data.clients():
        digest.update(
            repr(
                (client.pickup, client.service_duration, client.tw_early, client.tw_late, client.prize)
            ).encode()
        )
    for vt in data.vehicle_types():
        digest.update(
            repr(
                (
                    vt.num_available,
                    vt.capacity,
                    vt.shift_duration,
                    vt.max_reloads,
                    vt.fixed_cost,
                    vt.unit_distance_cost,
                )
            ).encode()
        )
    return digest.digest(), round(seconds * 1000)


@dataclass
class _Search:
    """One PyVRP search in progress: the day, its budget and what it found so far."""

    enc: Encoding
    seed: int
    started: float
    time_limit_s: float
    stats: PyvrpStats
    reducible: bool
    watch: _Watch
    budget: _Budget
    calibrate: bool
    """The first run calibrates its iteration budget (none was imposed or known)."""
    result: pyvrp.Result | None = None
    total: int | None = None
    searched: int = 0
    clocked: bool = False

    @property
    def best(self) -> pyvrp.Solution:
        assert self.result is not None
        return self.result.best

    def rest_budget(self) -> _Budget:
        """The time and iterations the first run left."""
        left_s = max(0.01, self.time_limit_s - (time.monotonic() - self.started))
        left_iters = None if self.total is None else max(1, self.total - self.searched)
        return _Budget(seconds=left_s, limit=left_iters)


def _prepare(
    cp: CompiledProblem, *, time_limit_s: float, seed: int, deterministic: bool, iterations: int | None
) -> tuple[_Search, tuple[bytes, int] | None]:
    """Encode the day and set the first run's budget: an iteration count imposed, one already
    calibrated for this problem and budget, or one to calibrate on the run itself; with the
    checkpoint that decides the second stage (see the module docstring). Also the calibration key."""
    t_start = time.monotonic()
    enc = encode(cp)
    data = enc.data
    stats = PyvrpStats(encode_s=time.monotonic() - t_start)
    seconds = max(0.01, time_limit_s - stats.encode_s)
    n_stops = len(enc.stop_nodes)
    key = _fingerprint(data, time_limit_s) if deterministic else None
    limit: int | None = None
    calibrate = False
    if deterministic:
        limit = iterations if iterations is not None else _CALIBRATED.get(key) if key else None
        calibrate = limit is None
    probe = max(10, math.ceil(_PROBE_WORK / max(1, n_stops)))

    reducible = _fleet_reducible(data)
    stats.fleet_lower_bound = _fleet_lower_bound(data)
    stats.all_required = all(c.required for c in data.clients())
    watch = _Watch()
    lower = stats.fleet_lower_bound

    def checkpoint() -> bool:
        best = watch.best
        if best is None or not best.is_feasible():
            return True  # no plan serving every must-go stop yet: go on with droppable stops
        return reducible and best.num_routes() - 1 >= lower

    has_required = any(c.required for c in data.clients())
    share = _FLEET_CHECK_SHARE if reducible else _FEASIBLE_CHECK_SHARE
    budget = _Budget(
        seconds=seconds,
        limit=limit,
        calibrate=calibrate,
        probe=probe,
        checkpoint_share=share if (reducible or has_required) else None,
        checkpoint=checkpoint if (reducible or has_required) else None,
    )
    search = _Search(enc, seed, t_start, time_limit_s, stats, reducible, watch, budget, calibrate)
    return search, key


def _first_run(search: _Search, *, deterministic: bool, key: tuple[bytes, int] | None) -> None:
    """The main search, up to its budget or its checkpoint; a calibrated budget is kept for the
    process."""
    budget = search.budget
    result, _ = _run(search.enc.data, budget, search.seed, None, search.watch)
    search.result = result
    total = budget.limit
    if budget.clocked:
        # What was searched: replaying this count gives this plan (on a machine fast enough).
        total = result.num_iterations
    if deterministic and search.calibrate and key is not None and total is not None:
        _CALIBRATED[key] = total
    search.total = total
    search.searched = result.num_iterations
    search.clocked = budget.clocked
    search.stats.first_feasible_iteration = search.watch.first_feasible_iteration


def _second_stage(search: _Search) -> pyvrp.Solution:
    """After a checkpoint, the rest of the budget: one truck fewer when the plan has one to spare,
    or must-go stops made droppable when no plan serves them all. The best plan of all stages."""
    assert search.result is not None
    best = search.best
    if not search.budget.stopped_at_checkpoint:
        return best
    data, stats = search.enc.data, search.stats
    if best.is_feasible() and search.reducible:
        # Trucks cost money: the rest of the budget tries the day with one truck fewer.
        fleet = data.vehicle_type(0).replace(num_available=best.num_routes() - 1)
        fewer = data.replace(vehicle_types=[fleet])
        more_budget = search.rest_budget()
        smaller, _ = _run(fewer, more_budget, search.seed, _without_shortest_route(best, fewer), _Watch())
        search.searched += smaller.num_iterations
        search.clocked = search.clocked or more_budget.clocked
        stats.fleet_tried = fleet.num_available
        if smaller.best.is_feasible() and smaller.cost() < search.result.cost():
            best = smaller.best
            stats.fleet_reduced = True
    elif not best.is_feasible():
        # Feasibility first: must-go stops may be dropped, at a prize far above any detour, so the
        # search serves as many as the fleet can and then minimises cost.
        more_budget = search.rest_budget()
        droppable = _droppable(search.enc)
        relaxed, _ = _run(droppable, more_budget, search.seed, _carry(best, droppable), _Watch())
        search.searched += relaxed.num_iterations
        search.clocked = search.clocked or more_budget.clocked
        stats.must_go_droppable = True
        if relaxed.best.is_feasible():
            best = relaxed.best
    return best


def solve_with_pyvrp(
    cp: CompiledProblem,
    *,
    time_limit_s: float,
    seed: int,
    deterministic: bool = True,
    iterations: int | None = None,
) -> SeedResult:
    """Search with PyVRP for at most ``time_limit_s`` seconds (see the module docstring).

    With ``deterministic`` the search stops after an iteration budget calibrated on this problem
    (``iterations`` imposes one instead); otherwise it uses the whole time.
    """
    search, key = _prepare(
        cp, time_limit_s=time_limit_s, seed=seed, deterministic=deterministic, iterations=iterations
    )
    _first_run(search, deterministic=deterministic, key=key)
    best = _second_stage(search)
    stats = search.stats
    stats.seconds = time.monotonic() - search.started
    stats.iterations = search.searched
    stats.iteration_limit = search.total
    stats.stopped_by_clock = deterministic and search.clocked
    stats.feasible = best.is_feasible()
    enc = search.enc
    if not best.is_feasible():
        return SeedResult(routes=None, facility_uses=[0] * enc.n_fac, stats=stats)
    routes, uses = decode(enc, best, len(cp.problem.vehicles))
    return SeedResult(routes=routes, facility_uses=uses, stats=stats)
