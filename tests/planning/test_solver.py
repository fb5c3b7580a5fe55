"""Behaviour of the routing core on tiny fixed instances (tests/data/routing/)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.routing.cityday import city_day
from wasteroute.planning import (
    BreakKind,
    BreakRule,
    Depot,
    DropReason,
    Facility,
    InvalidProblem,
    Location,
    Problem,
    RoutePlan,
    Stop,
    Vehicle,
    VisitKind,
    seeding,
)
from wasteroute.planning import solver as solver_module
from wasteroute.planning.compiled import compile_problem
from wasteroute.planning.result import PyvrpStats, SearchStats
from wasteroute.planning.solver import _Clock, _validated_seed, plan_routes

DATA = Path(__file__).resolve().parents[1] / "data" / "routing"
TIME_LIMIT_S = 2.0


def load(name: str) -> Problem:
    raw: dict[str, Any] = json.loads((DATA / name).read_text())
    xy = np.asarray(raw["locations"], dtype=float)
    distance = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2).astype(np.int64)
    duration = np.rint(distance / raw["speed_mps"]).astype(np.int64)
    vehicles = []
    for v in raw["vehicles"]:
        spec = dict(v)
        brk = spec.pop("break", None)
        if brk is not None:
            kind = brk.pop("kind")
            spec["break_rule"] = BreakRule.lunch(**brk) if kind == "lunch" else BreakRule.statutory(**brk)
        if "access_classes" in spec:
            spec["access_classes"] = frozenset(spec["access_classes"])
        if "shift" in spec:
            spec["shift"] = tuple(spec["shift"])
        vehicles.append(Vehicle(**spec))
    stops = [
        Stop(**{**s, "time_windows": tuple(tuple(w) for w in s.get("time_windows", ()))})
        for s in raw["stops"]
    ]
    return Problem(
        locations=tuple(Location(f"L{i}") for i in range(len(xy))),
        distance_m=distance,
        duration_s=duration,
        stops=tuple(stops),
        depots=tuple(Depot(d["id"], d["location"], tuple(d["window"])) for d in raw["depots"]),
        vehicles=tuple(vehicles),
        facilities=tuple(
            Facility(f["id"], f["location"], frozenset(f["fractions"]), tuple(f["window"]), f["unload_s"])
            for f in raw["facilities"]
        ),
    )


def check_plan(problem: Problem, plan: RoutePlan) -> None:
    """An independent check of every rule the plan must obey."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    facilities = {f.id: f for f in problem.facilities}
    served: list[str] = []
    for route in plan.routes:
        veh = vehicles[route.vehicle_id]
        visits = route.visits
        events = [v for v in visits if v.kind is not VisitKind.BREAK]  # breaks may precede or follow
        assert events[0].kind is VisitKind.START and events[-1].kind is VisitKind.END
        assert [v.arrival_s for v in visits] == sorted(v.arrival_s for v in visits), "chronological"
        assert veh.shift[0] <= events[0].start_s and events[-1].arrival_s <= veh.shift[1]
        load_l = load_kg = 0.0
        last_non_break = None
        for visit in visits:
            if visit.kind is VisitKind.STOP:
                stop = stops[visit.ref_id]
                assert veh.can_serve(stop), f"{veh.id} may not serve {stop.id}"
                load_l += stop.volume_l
                load_kg += stop.mass_kg
                assert load_l <= veh.capacity_volume_l + 1e-6
                if veh.capacity_mass_kg is not None:
                    assert load_kg <= veh.capacity_mass_kg + 1e-6
                if stop.time_windows:
                    assert any(a <= visit.start_s <= b for a, b in stop.time_windows), visit
                assert visit.end_s == visit.start_s + stop.service_s
                served.append(stop.id)
            elif visit.kind is VisitKind.FACILITY:
                fac = facilities[visit.ref_id]
                assert veh.fraction in fac.fractions
                assert fac.window[0] <= visit.start_s <= fac.window[1]
                load_l = load_kg = 0.0
            if visit.kind is not VisitKind.BREAK:
                last_non_break = visit
            assert visit.arrival_s <= visit.start_s <= visit.end_s
        if veh.must_end_empty:
            assert last_non_break is not None and load_l == 0.0, "route must end empty"
            kinds = [v.kind for v in visits if v.kind is not VisitKind.BREAK]
            assert kinds[-2] is VisitKind.FACILITY, "disposal before return"
        # Breaks never overlap a service or an unload.
        busy = [(v.start_s, v.end_s) for v in visits if v.kind in (VisitKind.STOP, VisitKind.FACILITY)]
        for b in (v for v in visits if v.kind is VisitKind.BREAK):
            assert all(b.end_s <= s or b.start_s >= e for s, e in busy), f"break {b} overlaps a visit"
        if veh.max_duration_s is not None:
            assert route.duration_s <= veh.max_duration_s
    assert len(served) == len(set(served)), "a stop was served twice"
    dropped = {d.stop_id for d in plan.dropped}
    assert set(served) | dropped == set(stops), "every stop is either served or dropped with a reason"
    assert not set(served) & dropped


@pytest.fixture(scope="module")
def town_plan() -> tuple[Problem, RoutePlan]:
    problem = load("small_town.json")
    return problem, plan_routes(problem, time_limit_s=TIME_LIMIT_S, seed=1)


def test_small_town_is_served_completely_and_legally(town_plan: tuple[Problem, RoutePlan]) -> None:
    problem, plan = town_plan
    check_plan(problem, plan)
    assert plan.feasible and not plan.dropped and plan.diagnosis == ()


def test_capacity_forces_disposal_trips(town_plan: tuple[Problem, RoutePlan]) -> None:
    problem, plan = town_plan
    total_l = sum(s.volume_l for s in problem.stops)
    fleet_l = sum(v.capacity_volume_l for v in problem.vehicles)
    assert total_l > fleet_l  # the instance needs more than one trip per truck
    assert sum(r.disposal_trips for r in plan.routes) >= 2 + 1
    for route in plan.routes:
        events = [v for v in route.visits if v.kind is not VisitKind.BREAK]
        assert events[-2].kind is VisitKind.FACILITY
        assert events[-1].load_volume_l == 0.0


def test_incompatible_vehicle_never_serves_narrow_bin(town_plan: tuple[Problem, RoutePlan]) -> None:
    _, plan = town_plan
    big = plan.route_of("big")
    assert big is None or "b08" not in big.stop_ids
    small = plan.route_of("small")
    assert small is not None and "b08" in small.stop_ids


def test_time_windows_are_met(town_plan: tuple[Problem, RoutePlan]) -> None:
    _, plan = town_plan
    starts = {v.ref_id: v.start_s for r in plan.routes for v in r.visits if v.kind is VisitKind.STOP}
    assert 28_800 <= starts["b03"] <= 32_400
    assert 36_000 <= starts["b05"] <= 39_600


def test_lunch_break_is_placed_in_its_window(town_plan: tuple[Problem, RoutePlan]) -> None:
    _, plan = town_plan
    for route in plan.routes:
        breaks = [v for v in route.visits if v.kind is VisitKind.BREAK]
        assert len(breaks) == 1
        assert 39_600 <= breaks[0].start_s <= 43_200
        assert breaks[0].end_s - breaks[0].start_s == 1_800


def test_statutory_break_after_at_most_four_and_a_half_hours() -> None:
    problem = load("long_day.json")
    plan = plan_routes(problem, time_limit_s=TIME_LIMIT_S, seed=0)
    check_plan(problem, plan)
    assert plan.feasible
    (route,) = plan.routes
    assert route.duration_s > 16_200  # long enough that a break is due
    rule = problem.vehicles[0].break_rule
    assert rule is not None and rule.kind is BreakKind.STATUTORY
    breaks = [v for v in route.visits if v.kind is VisitKind.BREAK]
    assert breaks, "a statutory break must be planned"
    # No stretch of work longer than max_work_s between route start, breaks and route end.
    marks = [route.start_s] + [t for b in breaks for t in (b.start_s, b.end_s)] + [route.end_s]
    for begin, end in zip(marks[::2], marks[1::2], strict=True):
        assert end - begin <= 16_200
    assert all(b.end_s - b.start_s == 2_700 for b in breaks)


def test_optional_stop_with_tiny_prize_is_dropped_with_reason() -> None:
    problem = load("small_town.json")
    far = Location("far-away")
    n = problem.num_locations
    distance = np.zeros((n + 1, n + 1), dtype=np.int64)
    distance[:n, :n] = problem.distance_m
    distance[n, :n] = distance[:n, n] = problem.distance_m[0] + 25_000
    duration = np.rint(distance / 10).astype(np.int64)
    lonely = Stop("lonely", n, volume_l=300, service_s=60, required=False, prize=0.5)
    wanted = Stop("wanted", 2, volume_l=10, service_s=30, required=False, prize=1_000.0)
    problem = dataclasses.replace(
        problem,
        locations=(*problem.locations, far),
        distance_m=distance,
        duration_s=duration,
        stops=(*problem.stops, lonely, wanted),
    )
    plan = plan_routes(problem, time_limit_s=TIME_LIMIT_S, seed=0)
    check_plan(problem, plan)
    dropped = {d.stop_id: d for d in plan.dropped}
    assert dropped["lonely"].reason is DropReason.OPTIONAL_NOT_WORTH
    assert not dropped["lonely"].required
    assert "wanted" not in dropped
    assert plan.feasible


def test_stop_without_compatible_vehicle_is_reported() -> None:
    problem = load("small_town.json")
    glass = Stop("glass-1", 3, volume_l=200, fraction="glass")
    problem = dataclasses.replace(problem, stops=(*problem.stops, glass))
    plan = plan_routes(problem, time_limit_s=TIME_LIMIT_S, seed=0)
    dropped = {d.stop_id: d for d in plan.dropped}
    assert dropped["glass-1"].reason is DropReason.NO_COMPATIBLE_VEHICLE
    assert not plan.feasible
    assert any("compatible" in line for line in plan.diagnosis)


def test_over_full_must_go_set_gives_a_diagnosis_not_an_exception() -> None:
    problem = load("small_town.json")
    vehicles = tuple(dataclasses.replace(v, max_disposal_trips=1) for v in problem.vehicles)
    problem = dataclasses.replace(problem, vehicles=vehicles)
    plan = plan_routes(problem, time_limit_s=TIME_LIMIT_S, seed=0)
    check_plan(problem, plan)
    assert not plan.feasible
    required_dropped = [d for d in plan.dropped if d.required]
    assert required_dropped and all(d.reason is DropReason.CAPACITY for d in required_dropped)
    assert plan.diagnosis
    assert "exceeds what 2 vehicles can carry" in plan.diagnosis[0]
    assert "8,970 L" in plan.diagnosis[0]  # the must-go volume
    assert "5,000 L" in plan.diagnosis[0]  # 3,000 + 2,000 L with one trip each
    # the same sentence as a code with its numbers, for the pages
    assert plan.notes[0].code == "volume_exceeds_fleet"
    assert plan.notes[0].params == {
        "fraction": plan.notes[0].params["fraction"],
        "must_l": 8970,
        "vehicles": 2,
        "trips_min": 1,
        "trips_max": 1,
        "can_l": 5000,
    }
    assert [n.text for n in plan.notes] == list(plan.diagnosis)


@pytest.mark.slow  # two searches of about 3 s
def test_same_seed_gives_same_plan() -> None:
    # a work budget, not the clock, ends both searches: the time limit is only a guard far above it,
    # so a busy machine gives the same plan as an idle one
    problem = city_day(40, seed=3, n_vehicles=3)
    first = plan_routes(problem, time_limit_s=120.0, seed=7, iterations=1024)
    second = plan_routes(problem, time_limit_s=120.0, seed=7, iterations=1024)
    assert not first.stats.stopped_by_clock and not second.stats.stopped_by_clock
    assert [r.visits for r in first.routes] == [r.visits for r in second.routes]
    assert first.dropped == second.dropped
    check_plan(problem, first)


def test_ortools_engine_alone_serves_small_town() -> None:
    problem = load("small_town.json")
    plan = plan_routes(problem, time_limit_s=TIME_LIMIT_S, engine="ortools")
    check_plan(problem, plan)
    assert plan.engine == "ortools"
    assert plan.feasible


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: Stop("s", 0, volume_l=-1.0), "volume_l must be a finite number >= 0"),
        (lambda: Stop("s", 0, time_windows=((50, 10),)), "0 <= start_s <= end_s"),
        (lambda: Stop("s", 0, time_windows=((0, 100), (50, 200))), "sorted and disjoint"),
        (lambda: Vehicle("v", "d", 0.0), "capacity_volume_l must be > 0"),
        (lambda: Vehicle("v", "d", 10.0, access_classes="narrow"), "set of strings"),  # type: ignore[arg-type]
        (lambda: BreakRule.lunch(earliest_start_s=50, latest_start_s=10), "start window"),
        (lambda: Facility("f", 0, frozenset()), "non-empty set of fraction names"),
    ],
)
def test_validation_errors_say_what_was_expected(build: Any, expected: str) -> None:
    with pytest.raises(InvalidProblem, match=expected):
        build()


def test_problem_validation_checks_references_and_matrices() -> None:
    loc = (Location("a"), Location("b"))
    good = np.zeros((2, 2), dtype=np.int64)
    depot = Depot("d", 0)
    vehicle = Vehicle("v", "d", 100.0, must_end_empty=False)
    with pytest.raises(InvalidProblem, match=r"2 x 2 matrix"):
        Problem(loc, np.zeros((3, 3), dtype=np.int64), good, (), (depot,), (vehicle,))
    with pytest.raises(InvalidProblem, match="is not a depot of the problem"):
        Problem(loc, good, good, (), (depot,), (Vehicle("v", "elsewhere", 100.0, must_end_empty=False),))
    with pytest.raises(InvalidProblem, match=r"index in 0\.\.1"):
        Problem(loc, good, good, (Stop("s", 5),), (depot,), (vehicle,))
    with pytest.raises(InvalidProblem, match="needs a facility accepting 'residual'"):
        Problem(loc, good, good, (), (depot,), (Vehicle("v", "d", 100.0),))
    with pytest.raises(ValueError, match="time_limit_s must be"):
        plan_routes(Problem(loc, good, good, (), (depot,), (vehicle,)), time_limit_s=0)


def _line_day(volumes: list[float], trucks: int, capacity_l: float) -> Problem:
    """Stops on a line, 1 km apart, a depot at 0; trucks of one kind without disposal trips."""
    n = len(volumes) + 1
    xy = np.arange(n, dtype=np.int64) * 1000
    distance = np.abs(xy[:, None] - xy[None, :])
    return Problem(
        locations=tuple(Location(f"L{i}") for i in range(n)),
        distance_m=distance,
        duration_s=distance // 10,
        stops=tuple(Stop(f"s{i}", i + 1, volume_l=v, service_s=60) for i, v in enumerate(volumes)),
        depots=(Depot("yard", 0),),
        vehicles=tuple(
            Vehicle(f"t{k}", "yard", capacity_volume_l=capacity_l, must_end_empty=False)
            for k in range(trucks)
        ),
    )


def test_a_fleet_too_small_drops_the_fewest_must_go_stops_and_says_so() -> None:
    # 6 stops of 1,000 L, two trucks of 2,500 L without unloading: 4 fit, and no more.
    problem = _line_day([1000.0] * 6, trucks=2, capacity_l=2500.0)
    plan = plan_routes(problem, time_limit_s=2.0, seed=1)
    check_plan(problem, plan)
    dropped = [d for d in plan.dropped if d.required]
    assert len(dropped) == 2
    assert plan.fleet is not None
    assert plan.fleet.must_go_dropped == 2 and plan.fleet.tight
    assert plan.fleet.used == plan.fleet.available == 2
    assert plan.fleet.needed_at_least == 3  # 6,000 L in trucks of 2,500 L
    assert "2 must-go stops did not fit" in plan.fleet.describe()
    assert plan.stats.pyvrp is not None and plan.stats.pyvrp.must_go_droppable


def test_an_exactly_full_fleet_serves_everything_and_reports_it_tight() -> None:
    # 6 stops of 1,000 L, three trucks of 2,000 L: the only plans use every truck, full.
    problem = _line_day([1000.0] * 6, trucks=3, capacity_l=2000.0)
    plan = plan_routes(problem, time_limit_s=2.0, seed=1)
    check_plan(problem, plan)
    assert plan.feasible
    assert plan.fleet is not None and plan.fleet.tight
    assert plan.fleet.used == 3 and plan.fleet.needed_at_least == 3
    assert plan.fleet.first_plan_share is not None
    assert plan.fleet.as_dict()["tight"] is True


def test_a_roomy_fleet_is_not_called_tight() -> None:
    problem = _line_day([500.0] * 4, trucks=4, capacity_l=5000.0)
    plan = plan_routes(problem, time_limit_s=1.0, seed=1)
    assert plan.feasible
    assert plan.fleet is not None and not plan.fleet.tight
    assert plan.fleet.describe().endswith("every must-go stop served")


def test_rejected_routes_are_mended_in_reproducible_mode_whatever_the_clock_says() -> None:
    # PyVRP's routes that the full rules reject are cut back and the stops cut put where they fit,
    # with no search on the clock: a busy machine (20 s of the budget gone before) plans the same
    problem = city_day(30, seed=3, n_vehicles=2)
    cp = compile_problem(problem)
    # the stops shared out as each truck may serve them, in the order of their numbers (all over the
    # town: longer than a shift), then to a facility (the trucks must come home empty)
    routes: list[list[int]] = [[], []]
    for node in cp.stop_nodes():
        allowed = cp.allowed_vehicles[node]
        v = 1 if 1 in allowed and (0 not in allowed or len(routes[1]) < len(routes[0])) else 0
        routes[v].append(int(node))
    routes = [[*route, cp.facility_copies[v][0]] for v, route in enumerate(routes)]
    plans = [
        _validated_seed(
            cp,
            routes,
            SearchStats(pyvrp=PyvrpStats(encode_s=0.0)),
            _Clock(start, 30.0),
            seed=0,
            deterministic=True,
        )
        for start in (time.monotonic(), time.monotonic() - 20.0)
    ]
    assert plans[0] is not None and plans[1] is not None  # mended, not left to a search
    quiet, busy = plans
    check_plan(problem, quiet)
    assert len(quiet.routes) == 2 and quiet.stats.seed_stops_removed > 0  # cut, and not all placed again
    assert [r.visits for r in quiet.routes] == [r.visits for r in busy.routes]
    assert quiet.dropped == busy.dropped


def test_whether_a_route_fits_its_rules_is_decided_by_work_not_by_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Loading a route with statutory breaks into its one-vehicle model searches where the breaks go.
    # That search stops on a number of failures, so a busy machine accepts exactly the routes a quiet
    # one does (it used to stop after one second, and a 72-stop route that took 0.9 s quietly was
    # rejected beside two busy processes, and the day planned differently).
    problem = city_day(60, seed=3, n_vehicles=2)
    cp = compile_problem(problem)
    seeded = seeding.solve_with_pyvrp(cp, time_limit_s=5.0, seed=0, iterations=200)
    assert seeded.routes is not None
    routes = seeded.assign_copies(cp)
    assert all(routes)
    assert all(solver_module._route_fits(cp, v, r) for v, r in enumerate(routes))
    # with a budget of work below what placing the breaks takes, the same routes are rejected ...
    monkeypatch.setattr(solver_module, "_READ_FAILURES", 0)
    assert not any(solver_module._route_fits(cp, v, r) for v, r in enumerate(routes))
    # ... and a wall-clock guard far beyond the work does not change the answer either way
    monkeypatch.setattr(solver_module, "_READ_FAILURES", 10_000_000)
    monkeypatch.setattr(solver_module, "_READ_GUARD_S", 600.0)
    assert all(solver_module._route_fits(cp, v, r) for v, r in enumerate(routes))
