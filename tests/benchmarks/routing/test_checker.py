"""Independent checker: reference solutions pass with their exact cost, broken ones are caught."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from benchmarks.routing.checker import check_kim, check_solution, check_vrplib
from benchmarks.routing.readers import (
    KimInstance,
    find_reference,
    read_kim,
    read_lkh_tour,
    read_vrplib,
    read_vrplib_solution,
)
from tests.support import DATA as TEST_DATA

DATA = TEST_DATA / "bench"
PUBLISHED = TEST_DATA / "published"


def _kim(**changes: object) -> KimInstance:
    inst = read_kim(DATA / "tiny_stop.txt")
    return dataclasses.replace(inst, **changes)  # type: ignore[arg-type]


def _kim_with_stops(changes: dict[int, dict[str, object]]) -> KimInstance:
    inst = read_kim(DATA / "tiny_stop.txt")
    stops = list(inst.stops)
    for index, fields in changes.items():
        stops[index] = dataclasses.replace(stops[index], **fields)  # type: ignore[arg-type]
    return dataclasses.replace(inst, stops=tuple(stops))


# --- VRPLIB ----------------------------------------------------------------------------------------


def test_cvrp_reference_is_feasible_with_its_cost() -> None:
    inst = read_vrplib(DATA / "tiny-n6-k3.vrp")
    sol = read_vrplib_solution(DATA / "tiny-n6-k3.sol")
    report = check_vrplib(inst, sol.routes)
    assert report.feasible, report.violations
    assert report.cost == sol.cost == 62
    assert report.vehicles == 3
    assert report.route_costs == (20.0, 22.0, 20.0)


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([[1, 2, 3], [5], [4]], "load 9 exceeds the capacity 8"),
        ([[1, 2], [3], [4]], r"1 customer\(s\) not visited: \[5\]"),
        ([[1, 2], [3, 5], [4, 1]], r"visited more than once: \[1\]"),
        ([[1, 2, 0], [3, 5], [4]], "node 0 is the depot"),
        ([[1, 2], [3, 5], [4, 9]], "node 9 does not exist"),
    ],
)
def test_broken_cvrp_solutions_are_caught(routes: list[list[int]], message: str) -> None:
    report = check_vrplib(read_vrplib(DATA / "tiny-n6-k3.vrp"), routes)
    assert not report.feasible
    assert any(re.search(message, v) for v in report.violations), report.violations


def test_fleet_limit_is_checked_only_when_given() -> None:
    inst = read_vrplib(DATA / "tiny-n6-k3.vrp")
    routes = [[1, 2], [3, 5], [4]]
    assert check_vrplib(inst, routes).feasible
    assert "3 routes used, the fleet has 2" in check_vrplib(inst, routes, max_vehicles=2).violations[0]


def test_route_length_limit_counts_service_times() -> None:
    inst = dataclasses.replace(
        read_vrplib(DATA / "tiny-n6-k3.vrp"), max_route_distance=25.0, service_times=(0.0,) + (1.0,) * 5
    )
    report = check_vrplib(inst, [[1, 2], [3, 5], [4]])
    # route 2: 22 distance + 2 service = 24 fits; route 1: 20 + 2 fits; route 3: 20 + 1 fits
    assert report.feasible, report.violations
    report = check_vrplib(dataclasses.replace(inst, max_route_distance=23.0), [[1, 2], [3, 5], [4]])
    assert report.violations == ("route 2: length 24 (distance + service) exceeds DISTANCE 23",)


def test_vrptw_reference_tour_is_feasible_with_its_dimacs_cost() -> None:
    inst = read_vrplib(DATA / "TINY.6.2.vrptw")
    tour = read_lkh_tour(DATA / "TINY.6.2.894.tour", inst)
    report = check_vrplib(inst, tour.routes, max_vehicles=inst.vehicles)
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(89.4)


def test_vrptw_late_service_is_caught() -> None:
    inst = read_vrplib(DATA / "TINY.6.2.vrptw")
    # Node 3 (ready 100) before node 1 (due 110): node 1 is served at 100 + 10 + travel > 110.
    report = check_vrplib(inst, [[2, 3, 1], [4, 5, 6]])
    assert not report.feasible
    assert report.violations[0].startswith("route 1: service starts after the time window: node 1")


def test_vrptw_depot_closing_time_is_caught() -> None:
    inst = read_vrplib(DATA / "TINY.6.2.vrptw")
    assert inst.time_windows is not None
    windows = list(inst.time_windows)
    windows[0] = (0.0, 170.0)  # route 2 is back at 178
    report = check_vrplib(dataclasses.replace(inst, time_windows=tuple(windows)), [[2, 1, 3], [4, 5, 6]])
    assert report.violations == ("route 2: back at the depot at 178, after it closes at 170",)


def test_vrptw_waiting_is_allowed() -> None:
    inst = read_vrplib(DATA / "TINY.6.2.vrptw")
    # Node 6 (ready 150) first: the truck waits, then the rest still fits.
    report = check_vrplib(inst, [[2, 1, 3], [6], [4, 5]])
    assert report.feasible, report.violations


# --- Kim -------------------------------------------------------------------------------------------


def test_kim_feasible_solution_and_its_cost_in_manhattan_miles() -> None:
    report = check_kim(_kim(), [[3, 4, 1], [5, 6, 7, 2]])
    assert report.feasible, report.violations
    assert report.route_costs == (6.0, 10.0)  # 1 + 1 + 2 + 2 and 1 + 2 + 1 + 4 + 2 miles
    assert report.cost == 16.0
    assert check_solution(_kim(), [[3, 4, 1], [5, 6, 7, 2]]) == report


def test_kim_facilities_may_repeat_and_routes_may_reload() -> None:
    inst = _kim(max_stops=10, route_capacity_yd3=20.0)
    report = check_kim(inst, [[3, 4, 1, 5, 6, 7, 2]])
    assert report.feasible, report.violations


def test_kim_capacity_without_disposal_trip_is_caught() -> None:
    report = check_kim(_kim(), [[3, 4, 5, 2], [6, 7, 1]])
    assert report.violations == (
        "route 1: load above the vehicle capacity 10 yd3 (no disposal trip when full) "
        "after node 5 (12.5 yd3)",
    )


def test_kim_return_without_disposal_is_caught() -> None:
    report = check_kim(_kim(), [[3, 4], [5, 6, 7, 2]])
    assert report.violations == (
        "route 1: returns to the depot with 9.5 yd3 on board (no disposal before return)",
    )


def test_kim_route_capacity_per_day_and_max_stops_are_caught() -> None:
    report = check_kim(_kim(), [[3, 4, 1, 5, 6, 2], [7]])
    assert "route 1: collects 18.5 yd3, above the route capacity 15" in report.violations
    assert "route 1: 4 stops, above the maximum 3 per route" in report.violations


def test_kim_time_window_is_caught() -> None:
    report = check_kim(_kim(), [[6, 3, 1], [4, 5, 7, 2]])
    assert report.violations[0].startswith("route 1: service starts after the time window: node 3 at 14:")


def test_kim_depot_closing_is_caught() -> None:
    inst = _kim_with_stops({0: {"late_s": 13 * 3600}})
    report = check_kim(inst, [[3, 4, 1], [5, 6, 7, 2]])
    assert report.violations == ("route 2: back at the depot at 15:10:30, after it closes at 13:00:00",)


def test_kim_lunch_taken_while_waiting_for_a_window() -> None:
    # Route 2 serves node 5 until 07:01:30 and must wait for node 6 (13:00): lunch fits in between.
    assert check_kim(_kim(), [[3, 4, 1], [5, 6, 7, 2]]).feasible


def test_kim_lunch_with_no_room_is_caught() -> None:
    # Node 4 serves from 08:01:30 for 4 h and must start by 10:00: no gap in 11:00-12:00.
    inst = _kim_with_stops({4: {"service_s": 4 * 3600.0, "late_s": 10 * 3600}})
    report = check_kim(inst, [[3, 4, 1], [5, 6, 7, 2]])
    assert len(report.violations) == 1
    assert report.violations[0].startswith("route 1: no place for the 3600 s lunch")


def test_kim_short_route_takes_lunch_at_the_depot() -> None:
    # Route 1 is back at 09:37:30: lunch at the depot, nothing to check inside the route.
    inst = _kim_with_stops({4: {"late_s": 10 * 3600}})
    assert check_kim(inst, [[3, 4, 1], [5, 6, 7, 2]]).feasible


def test_kim_lunch_pushing_a_later_window_is_caught() -> None:
    # Node 5 is served 10:00-11:00 and node 6 from 11:03 (must start by 12:00): lunch before node 5
    # or node 6 starts node 6 too late, lunch after it starts after 12:00.
    inst = _kim_with_stops({5: {"early_s": 10 * 3600}, 6: {"early_s": 11 * 3600, "late_s": 12 * 3600}})
    report = check_kim(inst, [[3, 4, 1], [5, 6, 7, 2]])
    assert len(report.violations) == 1
    assert report.violations[0].startswith("route 2: no place for the 3600 s lunch")


def test_kim_lunch_on_the_road_unless_only_after_a_service() -> None:
    # Node 5 is served until 10:59, node 6 (3 min away) must start by 12:02:30. Lunch on the road
    # from 11:00 reaches node 6 at 12:02; lunch right after node 5 would reach it at 12:03.
    inst = _kim_with_stops({5: {"early_s": 9 * 3600 + 59 * 60}, 6: {"early_s": 0, "late_s": 12 * 3600 + 150}})
    routes = [[3, 4, 1], [5, 6, 7, 2]]
    assert check_kim(inst, routes).feasible
    strict = check_kim(inst, routes, lunch_after_service_only=True)
    assert len(strict.violations) == 1
    assert strict.violations[0].startswith("route 2: no place for the 3600 s lunch")


def test_kim_missing_and_duplicate_customers_are_caught() -> None:
    report = check_kim(_kim(), [[3, 4, 1], [5, 6, 3, 2]])
    assert r"customer(s) visited more than once: [3]" in report.violations[0]
    assert "customer(s) not visited: [7]" in report.violations[1]


# --- published instances -----------------------------------------------------------------------------


def _published(pattern: str) -> list[Path]:
    found = sorted(PUBLISHED.glob(pattern))
    assert found, f"no published instance matches {pattern} in {PUBLISHED}"
    return found


@pytest.mark.parametrize("path", _published("*/*.vrp") + _published("*/*/*.vrptw"), ids=lambda p: p.name)
def test_published_references_check_feasible_with_exactly_the_reference_cost(path: Path) -> None:
    inst = read_vrplib(path)
    ref = find_reference(path, inst)
    assert ref is not None
    report = check_vrplib(inst, ref.routes, max_vehicles=inst.vehicles)
    assert report.feasible, report.violations
    assert report.cost * inst.scale == round(ref.cost * inst.scale)
    assert report.vehicles == ref.vehicles


@pytest.mark.parametrize("path", _published("*/*.vrp") + _published("*/*/*.vrptw"), ids=lambda p: p.name)
def test_published_references_broken_are_caught(path: Path) -> None:
    inst = read_vrplib(path)
    ref = find_reference(path, inst)
    assert ref is not None
    routes = [list(r) for r in ref.routes]
    # Merge the two fullest routes: the load exceeds the capacity (and time windows break).
    routes.sort(key=lambda r: sum(inst.demands[i] for i in r), reverse=True)
    merged = [routes[0] + routes[1], *routes[2:]]
    assert not check_vrplib(inst, merged).feasible
    # Drop one customer, or serve one twice.
    assert not check_vrplib(inst, [routes[0][1:], *routes[1:]]).feasible
    assert not check_vrplib(inst, [routes[0] + routes[1][:1], *routes[1:]]).feasible
    if inst.time_windows is not None:
        reversed_first = [list(reversed(routes[0])), *routes[1:]]
        assert not check_vrplib(inst, reversed_first).feasible
