"""Benchmark readers: the tiny hand-made files, odd formatting, the published instances."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from benchmarks.routing.readers import (
    KIM_LUNCH_WINDOW_S,
    KIM_REFERENCES,
    BenchmarkFormatError,
    InstanceKind,
    KimStopType,
    VrplibInstance,
    detect_kind,
    find_reference,
    kim_arc_miles,
    kim_arc_seconds,
    read_kim,
    read_lkh_tour,
    read_vrplib,
    read_vrplib_solution,
    vrplib_arc_cost,
)
from tests.support import DATA as TEST_DATA

DATA = TEST_DATA / "bench"
PUBLISHED = TEST_DATA / "published"


def _cost(instance: VrplibInstance, routes: tuple[tuple[int, ...], ...]) -> float:
    total = 0
    for route in routes:
        seq = [instance.depot, *route, instance.depot]
        total += sum(vrplib_arc_cost(instance, a, b) for a, b in pairwise(seq))
    return total / instance.scale


def test_cvrplib_instance_with_tabs_and_crlf_is_read() -> None:
    inst = read_vrplib(DATA / "tiny-n6-k3.vrp")
    assert inst.name == "tiny-n6-k3"
    assert inst.kind is InstanceKind.CVRP
    assert inst.dimension == 6
    assert inst.depot == 0
    assert inst.capacity == 8
    assert inst.demands == (0, 3, 4, 2, 5, 3)
    assert inst.coords is not None and inst.coords[2] == (6.0, 8.0)
    assert inst.time_windows is None
    assert inst.customers == (1, 2, 3, 4, 5)


def test_cvrplib_arc_cost_rounds_to_nearest_integer() -> None:
    inst = read_vrplib(DATA / "tiny-n6-k3.vrp")
    assert vrplib_arc_cost(inst, 0, 1) == 5  # 3-4-5 triangle
    assert vrplib_arc_cost(inst, 3, 5) == 7  # sqrt(45) = 6.708
    assert vrplib_arc_cost(inst, 2, 5) == 6  # sqrt(40) = 6.325


def test_cvrplib_solution_is_read_and_its_cost_recomputes() -> None:
    inst = read_vrplib(DATA / "tiny-n6-k3.vrp")
    sol = read_vrplib_solution(DATA / "tiny-n6-k3.sol")
    assert sol.routes == ((1, 2), (3, 5), (4,))
    assert sol.cost == 62
    assert sol.vehicles == 3
    assert _cost(inst, sol.routes) == sol.cost
    assert find_reference(DATA / "tiny-n6-k3.vrp", inst) == sol


def test_lkh_vrptw_and_tour_are_read_with_dimacs_scale() -> None:
    path = DATA / "TINY.6.2.vrptw"
    inst = read_vrplib(path)
    assert inst.kind is InstanceKind.VRPTW
    assert inst.scale == 10
    assert inst.edge_weight_type == "FLOOR_2D"
    assert inst.vehicles == 2
    assert inst.time_windows is not None and inst.time_windows[0] == (0.0, 300.0)
    assert inst.service_times == (0.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0)
    # floor(10 * 18.68) = 186: one-decimal truncation
    assert vrplib_arc_cost(inst, 0, 1) == 186
    tour = read_lkh_tour(DATA / "TINY.6.2.894.tour", inst)
    assert tour.routes == ((1, 3, 2), (4, 5, 6))
    assert tour.cost == pytest.approx(89.4)
    assert _cost(inst, tour.routes) == pytest.approx(tour.cost)
    assert find_reference(path, inst) == tour
    assert detect_kind(path) is InstanceKind.VRPTW


def test_tour_cost_falls_back_to_the_comment_when_the_name_has_none(tmp_path: Path) -> None:
    inst = read_vrplib(DATA / "TINY.6.2.vrptw")
    text = (DATA / "TINY.6.2.894.tour").read_text()
    (tmp_path / "TINY.6.2.tour").write_text(text)
    assert read_lkh_tour(tmp_path / "TINY.6.2.tour", inst).cost == pytest.approx(89.4)


def test_tour_name_and_comment_disagreeing_is_an_error(tmp_path: Path) -> None:
    inst = read_vrplib(DATA / "TINY.6.2.vrptw")
    text = (DATA / "TINY.6.2.894.tour").read_text()
    (tmp_path / "TINY.6.2.895.tour").write_text(text)
    with pytest.raises(BenchmarkFormatError, match="file name says cost 895"):
        read_lkh_tour(tmp_path / "TINY.6.2.895.tour", inst)


def test_empty_routes_between_depot_copies_are_skipped(tmp_path: Path) -> None:
    inst = read_vrplib(DATA / "TINY.6.2.vrptw")
    tour = tmp_path / "TINY.6.2.894.tour"
    tour.write_text("TOUR_SECTION\n1\n3\n2\n4\n8\n9\n5\n6\n7\n-1\nEOF\n")
    assert read_lkh_tour(tour, inst).routes == ((2, 1, 3), (4, 5, 6))


@pytest.mark.parametrize(
    ("fmt", "values"),
    [
        ("FULL_MATRIX", "0 1 2\n1 0 3\n2 3 0"),
        ("LOWER_ROW", "1\n2 3"),
        ("LOWER_DIAG_ROW", "0\n1 0\n2 3 0"),
        ("UPPER_ROW", "1 2\n3"),
        ("UPPER_DIAG_ROW", "0 1 2\n0 3\n0"),
        ("UPPER_COL", "1\n2 3"),
        ("LOWER_COL", "1 2\n3"),
    ],
)
def test_explicit_weight_formats_expand_to_the_same_matrix(tmp_path: Path, fmt: str, values: str) -> None:
    path = tmp_path / "e.vrp"
    path.write_text(
        "NAME : e\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : 5\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT : {fmt}\nEDGE_WEIGHT_SECTION\n{values}\n"
        "DEMAND_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n"
    )
    inst = read_vrplib(path)
    assert inst.weights == ((0.0, 1.0, 2.0), (1.0, 0.0, 3.0), (2.0, 3.0, 0.0))
    assert vrplib_arc_cost(inst, 1, 2) == 3


def test_depot_not_first_keeps_file_positions(tmp_path: Path) -> None:
    path = tmp_path / "d.vrp"
    path.write_text(
        "NAME: d\nDIMENSION: 3\nCAPACITY: 5\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"
        "1 0 0\n2 3 4\n3 6 8\nDEMAND_SECTION\n1 2\n2 0\n3 1\nDEPOT_SECTION\n 2\n -1\nEOF\n"
    )
    inst = read_vrplib(path)
    assert inst.depot == 1
    assert inst.demands == (2, 0, 1)
    assert inst.customers == (0, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NAME : x\nCAPACITY : 5\nDEMAND_SECTION\n1 0\nEOF\n", "DIMENSION"),
        (
            "NAME : x\nDIMENSION : 2\nCAPACITY : 5\nNODE_COORD_SECTION\n1 0 0\n2 a 1\nEOF\n",
            ":6: expected a number",
        ),
        ("NAME : x\nDIMENSION : 3\nCAPACITY : 5\nNODE_COORD_SECTION\n1 0 0\n2 1 1\nEOF\n", "lists 2 of 3"),
        ("NAME : x\nDIMENSION : 2\nCAPACITY : 5\nEDGE_WEIGHT_TYPE : GEO\n", "GEO not supported"),
        ("NAME : x\nDIMENSION : 2\nCAPACITY : 5\n1 0 0\n", "data outside any section"),
    ],
)
def test_malformed_vrplib_files_fail_with_file_and_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.vrp"
    path.write_text(text)
    with pytest.raises(BenchmarkFormatError, match=message):
        read_vrplib(path)


def test_kim_file_with_crlf_tabs_spaces_and_empty_fields_is_read() -> None:
    inst = read_kim(DATA / "tiny_stop.txt")
    assert inst.name == "tiny"
    assert inst.vehicle_capacity_yd3 == 10.0
    assert inst.route_capacity_yd3 == 15.0
    assert inst.max_stops == 3
    assert inst.lunch_s == 3600.0
    assert inst.speed_mph == 40.0
    assert len(inst.stops) == 8
    depot = inst.stops[inst.depot]
    assert (depot.early_s, depot.late_s) == (6 * 3600, 17 * 3600)
    assert inst.facilities == (1, 2)
    assert inst.customers == (3, 4, 5, 6, 7)
    assert inst.stops[1].type is KimStopType.DISPOSAL and inst.stops[1].load_yd3 == 0.0
    assert inst.stops[4].load_yd3 == 5.5
    assert (inst.stops[3].early_s, inst.stops[3].late_s) == (7 * 3600, 9 * 3600)
    assert inst.stops[6].late_s == 15 * 3600
    assert inst.stops[2].late_s == 24 * 3600
    assert detect_kind(DATA / "tiny_stop.txt") is InstanceKind.KIM
    assert KIM_LUNCH_WINDOW_S == (39_600, 43_200)


def test_kim_travel_is_manhattan_miles_at_the_file_speed() -> None:
    inst = read_kim(DATA / "tiny_stop.txt")
    assert kim_arc_miles(inst, 0, 4) == pytest.approx(2.0)
    assert kim_arc_seconds(inst, 0, 4) == pytest.approx(180.0)  # 2 mi at 40 mph
    assert kim_arc_miles(inst, 4, 0) == kim_arc_miles(inst, 0, 4)


def test_kim_line_with_missing_fields_names_the_line(tmp_path: Path) -> None:
    lines = (DATA / "tiny_stop.txt").read_bytes().decode().split("\r\n")
    lines[9] = "3\t5280\t0\t0700\t0900\t3600\t4"
    path = tmp_path / "bad_stop.txt"
    path.write_text("\r\n".join(lines))
    with pytest.raises(BenchmarkFormatError, match=r":10: expected 8 fields"):
        read_kim(path)


def test_kim_bad_time_is_rejected(tmp_path: Path) -> None:
    lines = (DATA / "tiny_stop.txt").read_bytes().decode().split("\r\n")
    lines[9] = "3\t5280\t0\t0775\t0900\t3600\t4\t1"
    path = tmp_path / "bad_stop.txt"
    path.write_text("\r\n".join(lines))
    with pytest.raises(BenchmarkFormatError, match="HHMM"):
        read_kim(path)


def test_kim_references_are_benjamin_beasley_table_1() -> None:
    assert KIM_REFERENCES["102"].miles == 183.5
    assert KIM_REFERENCES["804"].vehicles == 6
    assert "Benjamin & Beasley" in KIM_REFERENCES["444"].source


def _published(pattern: str) -> list[Path]:
    found = sorted(PUBLISHED.glob(pattern))
    assert found, f"no published instance matches {pattern} in {PUBLISHED}"
    return found


@pytest.mark.parametrize("path", _published("*/*.vrp") + _published("*/*/*.vrptw"), ids=lambda p: p.name)
def test_published_reference_solutions_recompute_to_their_stated_cost(path: Path) -> None:
    inst = read_vrplib(path)
    ref = find_reference(path, inst)
    assert ref is not None
    visited = sorted(i for r in ref.routes for i in r)
    assert visited == list(inst.customers)
    assert _cost(inst, ref.routes) == pytest.approx(ref.cost, abs=1e-9)


@pytest.mark.parametrize("path", _published("wcvrptw/*_stop.txt"), ids=lambda p: p.name)
def test_published_kim_instances_match_the_published_counts(path: Path) -> None:
    counts = {"102": (99, 2), "277": (275, 1), "335": (330, 4), "444": (442, 1), "804": (784, 19)}
    inst = read_kim(path)
    assert (len(inst.customers), len(inst.facilities)) == counts[inst.name]
    assert inst.name in KIM_REFERENCES
