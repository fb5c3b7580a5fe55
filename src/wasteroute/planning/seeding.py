"""PyVRP search that seeds the OR-Tools model with good routes.

PyVRP models reloads (our disposal trips), prizes, time windows, heterogeneous fleets and
several depots, but not breaks, daily volume or stop limits. Those are approximated here
(the shift is shortened by the break time, reloads capped by the daily volume) and the routes
are then checked against the full model by :mod:`.solver`.

Encoding:

* locations = ``[depots, facilities, virtual ends, stops]``; each stop gets its own location so that
  compatibility can be expressed per stop.
* A vehicle that must end empty ends at a *virtual end* of its depot: the arc ``i -> end`` costs
  ``min_f d(i, f) + d(f, depot)`` over the facilities accepting its fraction, i.e. the final unload
  is folded into the last arc and added back as an explicit facility visit when translating.
* Compatibility (fraction, access class) uses PyVRP profiles: a profile's distances to the stops
  a vehicle may not serve are prohibitive.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

from wasteroute.planning.compiled import ARC_UNITS_PER_M, CompiledProblem, NodeKind, break_allowance_s

__all__ = ["SeedResult", "solve_with_pyvrp"]

_FORBIDDEN = 1 << 31
# Deterministic work limit: PyVRP iterations per second x stops, a conservative figure (measured
# 12,000-38,000 on city days of 40-1,000 stops on a shared 2-core VM; CVRP instances run faster).
_ITERATION_WORK_PER_S = 3_000.0


@dataclass
class SeedResult:
    """Routes per vehicle in *stop nodes and facility indices*; see :meth:`assign_copies`."""

    routes: list[list[tuple[NodeKind, int]]] | None
    facility_uses: list[int]
    stats: dict[str, float] = field(default_factory=dict)

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


def _iterations(cp: CompiledProblem, seconds: float) -> int:
    n = max(20, len(cp.stop_nodes()))
    return max(50, int(seconds * _ITERATION_WORK_PER_S / n))


def solve_with_pyvrp(
    cp: CompiledProblem, *, time_limit_s: float, seed: int, deterministic: bool = True
) -> SeedResult:
    """Search with PyVRP for at most ``time_limit_s`` seconds.

    With ``deterministic`` the search stops after an iteration budget derived from the time limit
    (conservatively, so usually before the clock); otherwise it uses the whole time.
    """
    problem = cp.problem
    vehicles = problem.vehicles
    stop_nodes = cp.stop_nodes()
    n_dep = len(problem.depots)
    n_fac = len(problem.facilities)

    # Virtual ends, one per (end depot, fraction) of vehicles that must end empty.
    ends: list[tuple[int, str]] = []
    for veh in vehicles:
        if veh.must_end_empty:
            end_key = (cp.depot_node[veh.end_depot or veh.start_depot], veh.fraction)
            if end_key not in ends:
                ends.append(end_key)
    n_end = len(ends)
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

    first_client = n_dep + n_fac + n_end
    # Breaks are invisible to PyVRP: windows that close after the earliest possible break close
    # earlier by the longest break allowance, so a break can be slotted in without lateness.
    allowance = 0
    earliest_break = cp.horizon_s
    for v, veh in enumerate(vehicles):
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

    locations = [pyvrp.Location(0.0, 0.0) for _ in range(len(loc))]
    dims = 2 if cp.use_mass else 1
    depots = [pyvrp.Depot(i, d.window[0], d.window[1]) for i, d in enumerate(problem.depots)]
    depots += [
        pyvrp.Depot(n_dep + i, f.window[0], tighten(*f.window), service_duration=f.unload_s)
        for i, f in enumerate(problem.facilities)
    ]
    for e, (depot_node, _) in enumerate(ends):
        w = problem.depots[cp.node_ref[depot_node]].window
        depots.append(pyvrp.Depot(n_dep + n_fac + e, w[0], w[1]))
    clients = []
    for k, node in enumerate(stop_nodes):
        stop = cp.stop_of(node)
        windows = stop.time_windows
        if windows:
            early, late = max(windows, key=lambda w: w[1] - w[0])
        else:
            early, late = 0, cp.horizon_s
        pickup = [cp.node_volume_ml[node]] + ([cp.node_mass_g[node]] if dims == 2 else [])
        clients.append(
            pyvrp.Client(
                first_client + k,
                delivery=[0] * dims,
                pickup=pickup,
                service_duration=stop.service_s,
                tw_early=early,
                tw_late=tighten(early, late),
                prize=0 if stop.required else cp.prize_units.get(node, 0),
                required=stop.required,
            )
        )

    # Profiles: one per distinct (fraction, access classes).
    profile_keys: list[tuple[str, frozenset[str]]] = []
    dist_profiles: list[npt.NDArray[np.int64]] = []
    vehicle_profile: list[int] = []
    for veh in vehicles:
        profile_key = (veh.fraction, veh.access_classes)
        if profile_key not in profile_keys:
            profile_keys.append(profile_key)
            masked = dist.copy()
            bad = [
                first_client + k for k, node in enumerate(stop_nodes) if not veh.can_serve(cp.stop_of(node))
            ]
            if bad:
                masked[bad, :] = _FORBIDDEN
                masked[:, bad] = _FORBIDDEN
                masked[bad, bad] = 0
            dist_profiles.append(masked)
        vehicle_profile.append(profile_keys.index(profile_key))

    # Vehicle types: group identical vehicles.
    type_keys: list[tuple[object, ...]] = []
    type_members: list[list[int]] = []
    type_args: list[dict[str, object]] = []
    for v, veh in enumerate(vehicles):
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
        capacity = [cap_ml] + ([cp.vehicle_cap_g[v]] if dims == 2 else [])
        args: dict[str, object] = {
            "capacity": capacity,
            "start_depot": cp.node_ref[cp.vehicle_start[v]],
            "end_depot": end,
            "fixed_cost": round(veh.fixed_cost * cp.cost_scale),
            "tw_early": cp.vehicle_start_window[v][0],
            "tw_late": max(cp.vehicle_start_window[v][0], cp.vehicle_end_window[v][1] - brk),
            "start_late": min(
                cp.vehicle_start_window[v][1],
                max(cp.vehicle_start_window[v][0], cp.vehicle_end_window[v][1] - brk),
            ),
            "shift_duration": shift,
            "unit_distance_cost": max(1, round(cp.vehicle_cost_ratio[v] * ARC_UNITS_PER_M)),
            "unit_duration_cost": round(veh.cost_per_hour * cp.cost_scale / 3600.0),
            "profile": vehicle_profile[v],
            "reload_depots": reload if reload else [],
            "max_reloads": max_reloads if reload else 0,
        }
        type_key = tuple(sorted((k, repr(a)) for k, a in args.items()))
        if type_key in type_keys:
            type_members[type_keys.index(type_key)].append(v)
        else:
            type_keys.append(type_key)
            type_members.append([v])
            type_args.append(args)
    vehicle_types = [
        pyvrp.VehicleType(num_available=len(members), **args)  # type: ignore[arg-type]
        for members, args in zip(type_members, type_args, strict=True)
    ]
    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        dist_profiles,  # type: ignore[arg-type]
        [dur] * len(dist_profiles),  # type: ignore[list-item]
    )
    iterations = _iterations(cp, time_limit_s) if deterministic else 1 << 62
    t0 = time.monotonic()
    criterion = MultipleCriteria([MaxIterations(iterations), MaxRuntime(time_limit_s)])
    with warnings.catch_warnings():
        # An over-full day makes PyVRP warn about its penalties; the diagnosis explains it better.
        warnings.simplefilter("ignore")
        result = pyvrp.solve(data, stop=criterion, seed=seed, collect_stats=False)
    elapsed = time.monotonic() - t0
    stats = {
        "pyvrp_s": elapsed,
        "pyvrp_iterations": float(result.num_iterations),
        "pyvrp_iteration_limit": float(iterations),
        "pyvrp_feasible": float(result.best.is_feasible()),
        "pyvrp_cost": float(result.cost()) if result.best.is_feasible() else math.inf,
        "pyvrp_stopped_by_clock": float(deterministic and result.num_iterations < iterations),
    }

    routes: list[list[tuple[NodeKind, int]]] = [[] for _ in vehicles]
    uses = [0] * n_fac
    next_member = [0] * len(type_members)
    for route in result.best.routes():
        vt = route.vehicle_type()
        v = type_members[vt][next_member[vt]]
        next_member[vt] += 1
        activities = list(route)
        out: list[tuple[NodeKind, int]] = []
        for act in activities[1:-1]:
            if act.is_client():
                out.append((NodeKind.STOP, stop_nodes[act.idx]))
            elif act.is_depot() and n_dep <= act.idx < n_dep + n_fac:
                out.append((NodeKind.FACILITY, act.idx - n_dep))
                uses[act.idx - n_dep] += 1
        last = activities[-1]
        if last.is_depot() and last.idx >= n_dep + n_fac:
            e = last.idx - n_dep - n_fac
            prev = activities[-2]
            prev_loc = first_client + prev.idx if prev.is_client() else prev.idx
            if not (prev.is_depot() and n_dep <= prev.idx < n_dep + n_fac):
                fi = int(final_facility[e][prev_loc])
                out.append((NodeKind.FACILITY, fi))
                uses[fi] += 1
        routes[v] = out
    return SeedResult(routes=routes, facility_uses=uses, stats=stats)
