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

import hashlib
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from wasteroute.planning.compiled import ARC_UNITS_PER_M, CompiledProblem, NodeKind, break_allowance_s

__all__ = ["SeedResult", "solve_with_pyvrp"]

_FORBIDDEN = 1 << 31
# Reproducible mode: a probe of this many iterations x stops measures the problem's own iteration
# rate (about 0.5-3 s on a shared 2-core VM: 14,000-60,000 iterations x stops per second measured
# on city days and Kim instances).
_PROBE_WORK = 30_000
_PROBE_SHARE = 0.3
"""At most this share of the budget goes to the probe (its result is where the search goes on from)."""
_FLEET_FIRST_SHARE = 0.6
"""With priced identical trucks, the search gets this share; the rest tries one truck fewer."""
_CALIBRATED: dict[tuple[bytes, int], int] = {}
"""Iteration budgets already measured in this process, per problem fingerprint and budget (ms)."""


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


def _fleet_reducible(data: pyvrp.ProblemData) -> bool:
    """One kind of truck with a price and only must-go stops: fewer trucks is a plain saving."""
    return (
        data.num_vehicle_types == 1
        and data.vehicle_type(0).fixed_cost > 0
        and data.vehicle_type(0).num_available > 1
        and all(client.required for client in data.clients())
    )


def _fleet_lower_bound(data: pyvrp.ProblemData) -> int:
    """Trucks needed at least by volume (capacity x trips per day), as in PyVRP's fleet minimisation."""
    vt = data.vehicle_type(0)
    trips = vt.max_reloads + 1
    bound = 1
    for dim in range(data.num_load_dimensions):
        pickup = sum(client.pickup[dim] for client in data.clients())
        bound = max(bound, math.ceil(pickup / max(1, vt.capacity[dim] * trips)))
    return bound


def _tight_fleet(data: pyvrp.ProblemData) -> bool:
    """A fixed fleet of one kind, at most 15 % above what its volume needs.

    Feasible plans are then rare and the search adapts its penalties ten times as often as PyVRP's
    default (every 50 instead of 500 solutions), which reaches one sooner (Gehring-Homberger
    R1_2_1 with its 20 vehicles: first feasible plan after 11-15 s instead of 15-28 s).
    """
    if data.num_vehicle_types != 1 or data.vehicle_type(0).fixed_cost > 0:
        return False
    return data.vehicle_type(0).num_available <= 1.15 * _fleet_lower_bound(data)


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


def _fingerprint(data: pyvrp.ProblemData, seconds: float) -> tuple[bytes, int]:
    digest = hashlib.blake2b(digest_size=16)
    for matrix in data.distance_matrices():
        digest.update(np.asarray(matrix).tobytes())
    for matrix in data.duration_matrices():
        digest.update(np.asarray(matrix).tobytes())
    for client in data.clients():
        digest.update(
            repr((client.pickup, client.service_duration, client.tw_early, client.tw_late)).encode()
        )
    for vt in data.vehicle_types():
        digest.update(repr((vt.num_available, vt.capacity, vt.shift_duration, vt.max_reloads)).encode())
    return digest.digest(), round(seconds * 1000)


class _Clock(pyvrp.IteratedLocalSearchCallbacks):
    """Times the search loop itself: when it starts (after set-up) and when each iteration ends."""

    def __init__(self) -> None:
        self.started = math.nan
        self.ends: list[float] = []

    def on_start(self, ils: object) -> None:
        self.started = time.monotonic()

    def on_iteration(self, current: object, candidate: object, best: object, cost_evaluator: object) -> None:
        self.ends.append(time.monotonic())

    def rate(self) -> float:
        """Iterations per second over the last quarter of the run (the first iterations, which find
        new best solutions and search them exhaustively, are slower than the search goes on)."""
        first = (3 * len(self.ends)) // 4
        if first < 1 or first >= len(self.ends):
            return 0.0
        seconds = self.ends[-1] - self.ends[first - 1]
        return (len(self.ends) - first) / seconds if seconds > 0 else 0.0


def _run(
    data: pyvrp.ProblemData,
    criteria: list[StoppingCriterion],
    seed: int,
    initial: pyvrp.Solution | None,
    clock: _Clock | None = None,
) -> pyvrp.Result:
    penalty = (
        pyvrp.PenaltyParams(solutions_between_updates=50) if _tight_fleet(data) else pyvrp.PenaltyParams()
    )
    params = pyvrp.SolveParams(
        ils=pyvrp.IteratedLocalSearchParams(callbacks=clock or _Clock()), penalty=penalty
    )
    with warnings.catch_warnings():
        # An over-full day makes PyVRP warn about its penalties; the diagnosis explains it better.
        warnings.simplefilter("ignore")
        return pyvrp.solve(
            data,
            stop=MultipleCriteria(criteria),
            seed=seed,
            collect_stats=False,
            params=params,
            initial_solution=initial,
        )


def _search(
    data: pyvrp.ProblemData,
    n_stops: int,
    *,
    time_limit_s: float,
    seed: int,
    deterministic: bool,
    iterations: int | None,
) -> tuple[pyvrp.Result, dict[str, float]]:
    """PyVRP on the clock, or (``deterministic``) on an iteration budget calibrated by a probe.

    Reproducible mode: a probe of a fixed number of iterations (:data:`_PROBE_WORK` / stops) is
    timed; the rate it shows times the whole budget, rounded down by :func:`snap_iterations`, is
    the number of iterations searched in all, the rest continuing from the probe's best solution.
    Both parts stop on iterations, so the plan depends only on the problem, the seed and the grid
    value. The value is kept for the process (the same problem and budget reuse it) and reported
    in the stats (``pyvrp_iteration_limit``; pass it as ``iterations`` to replay a plan exactly on
    another machine or process).
    """
    t0 = time.monotonic()
    if not deterministic:
        result = _run(data, [MaxRuntime(time_limit_s)], seed, None)
        return result, {
            "pyvrp_s": time.monotonic() - t0,
            "pyvrp_iterations": float(result.num_iterations),
            "pyvrp_stopped_by_clock": 0.0,
        }
    key = _fingerprint(data, time_limit_s)
    probe_iters = max(10, math.ceil(_PROBE_WORK / max(1, n_stops)))
    if iterations is None:
        iterations = _CALIBRATED.get(key)
    if iterations is not None:
        probe_iters = min(probe_iters, iterations)
    clock = _Clock()
    probe = _run(
        data, [MaxIterations(probe_iters), MaxRuntime(_PROBE_SHARE * time_limit_s)], seed, None, clock
    )
    probe_s = time.monotonic() - t0
    clocked = probe.num_iterations < probe_iters
    if iterations is None:
        # Steady-state rate of the search loop (set-up and the initial solution excluded); the
        # continuation pays the set-up again.
        setup_s = clock.started - t0
        ahead_s = max(0.0, time_limit_s - probe_s - setup_s)
        iterations = probe_iters + snap_iterations(clock.rate() * ahead_s)
        if not clocked:
            _CALIBRATED[key] = iterations
    rest = iterations - probe_iters
    result = probe
    searched = probe.num_iterations
    if rest > 0 and not clocked:
        more = _run(
            data, [MaxIterations(rest), MaxRuntime(max(0.01, time_limit_s - probe_s))], seed, probe.best
        )
        searched += more.num_iterations
        clocked = more.num_iterations < rest
        if more.best.is_feasible() or not probe.best.is_feasible():
            result = more
    stats = {
        "pyvrp_s": time.monotonic() - t0,
        "pyvrp_probe_s": probe_s,
        "pyvrp_iterations": float(searched),
        "pyvrp_iteration_limit": float(iterations),
        "pyvrp_stopped_by_clock": float(clocked),
    }
    return result, stats


def solve_with_pyvrp(
    cp: CompiledProblem,
    *,
    time_limit_s: float,
    seed: int,
    deterministic: bool = True,
    iterations: int | None = None,
) -> SeedResult:
    """Search with PyVRP for at most ``time_limit_s`` seconds.

    With ``deterministic`` the search stops after an iteration budget calibrated on this problem
    (see :func:`_search`; ``iterations`` imposes one instead); otherwise it uses the whole time.
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
    t_start = time.monotonic()
    fewer = _fleet_reducible(data)
    # Reproducible mode keeps the split fixed (it keys the calibration) and stops early instead.
    first_share = _FLEET_FIRST_SHARE if fewer else 1.0
    result, stats = _search(
        data,
        len(stop_nodes),
        time_limit_s=time_limit_s * first_share,
        seed=seed,
        deterministic=deterministic,
        iterations=iterations,
    )
    fewer = fewer and result.best.is_feasible() and result.best.num_routes() - 1 >= _fleet_lower_bound(data)
    if not fewer and first_share < 1.0 and not deterministic:
        # No truck to save after all: the search goes on from where it stood for the rest.
        t_more = time.monotonic()
        rest = max(0.01, time_limit_s - (t_more - t_start))
        more_result = _run(data, [MaxRuntime(rest)], seed, result.best)
        stats["pyvrp_s"] += time.monotonic() - t_more
        stats["pyvrp_iterations"] += float(more_result.num_iterations)
        if more_result.best.is_feasible() or not result.best.is_feasible():
            result = more_result
    if fewer:
        # Trucks cost money: try the same day with one vehicle fewer than the search used.
        fleet = data.vehicle_type(0).replace(num_available=result.best.num_routes() - 1)
        rest_s = time_limit_s * (1.0 - _FLEET_FIRST_SHARE)
        if not deterministic:
            rest_s = max(0.01, time_limit_s - (time.monotonic() - t_start))
        smaller, more = _search(
            data.replace(vehicle_types=[fleet]),
            len(stop_nodes),
            time_limit_s=rest_s,
            seed=seed,
            deterministic=deterministic,
            iterations=None,
        )
        stats["pyvrp_fleet_tried"] = float(fleet.num_available)
        for name in ("pyvrp_s", "pyvrp_iterations"):
            stats[name] += more[name]
        stats["pyvrp_stopped_by_clock"] = max(stats["pyvrp_stopped_by_clock"], more["pyvrp_stopped_by_clock"])
        if smaller.best.is_feasible() and smaller.cost() < result.cost():
            result = smaller
            stats["pyvrp_fleet_reduced"] = 1.0
    stats["pyvrp_feasible"] = float(result.best.is_feasible())
    stats["pyvrp_cost"] = float(result.cost()) if result.best.is_feasible() else math.inf

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
