"""The assembly step between rows and the router, without a database: ids, the problem built from
rows, and a solved plan turned back into the rows a plan job stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from wasteroute.planning.assembly import (
    BinRow,
    Chosen,
    Considered,
    DepotRow,
    FacilityRow,
    PlanInputs,
    RefKind,
    VehicleRow,
    build_problem,
    consider,
    decode_ref,
    encode_ref,
    plan_rows,
)
from wasteroute.planning.distances import GreatCircleProvider
from wasteroute.planning.result import (
    DroppedStop,
    DropReason,
    PyvrpStats,
    Route,
    RoutePlan,
    SearchStats,
    Visit,
    VisitKind,
)
from wasteroute.planning.selection import BinSelection, SelectionStatus
from wasteroute.planning.solver import plan_routes

DAY = date(2026, 3, 2)  # a Monday in winter time: local = UTC + 1 h
HOUR = 3600


def _bin(i: int, *, fraction: str = "residual", access: str = "standard") -> BinRow:
    return BinRow(
        id=i,
        lon=10.68 + 0.004 * (i % 5),
        lat=53.86 + 0.003 * (i // 5),
        fraction=fraction,
        access_class=access,
        window_s=(6 * HOUR, 18 * HOUR),
        container_code="mgb1100",
        container_volume_l=1100.0,
        service_s=60,
    )


def _inputs(bins: Sequence[BinRow], *, vehicles: int = 2) -> PlanInputs:
    return PlanInputs(
        city_id=7,
        slug="testhafen",
        timezone="Europe/Berlin",
        threshold=0.8,
        holiday_region=None,
        service_date=DAY,
        fraction="residual",
        bins=tuple(bins),
        histories={},
        vehicles=tuple(
            VehicleRow(
                id=30 + k,
                depot_id=3,
                volume_l=8000.0,
                mass_kg=2000.0,
                shift_s=(6 * HOUR, 14 * HOUR),
                max_duration_s=8 * HOUR,
                access_class="narrow",
            )
            for k in range(vehicles)
        ),
        depots=(DepotRow(3, 10.66, 53.85),),
        facilities=(FacilityRow(2, 10.72, 53.88, (5 * HOUR, 20 * HOUR), 600),),
    )


def _decision(bin_id: int, status: SelectionStatus, fill: float, prize: float = 0.0) -> BinSelection:
    return BinSelection(
        bin_id=str(bin_id),
        status=status,
        reason=f"{status.value} at {fill:.0%}",
        threshold=0.8,
        fill_at_visit=fill,
        fill_at_visit_sd=0.05,
        fill_at_next_visit=fill + 0.1,
        overflow_probability=0.1,
        prize=prize,
        flags=frozenset(),
        code=f"code_{status.value}",
        params={"fill_pct": round(fill * 100)},
    )


def test_a_row_id_survives_the_routers_encoding_and_a_wrong_kind_is_refused() -> None:
    for kind in RefKind:
        assert decode_ref(kind, encode_ref(kind, 4711)) == 4711
    assert encode_ref(RefKind.BIN, 12) == "bin-12"
    with pytest.raises(ValueError, match="expected a vehicle id like 'vehicle-12', got 'bin-12'"):
        decode_ref(RefKind.VEHICLE, "bin-12")
    with pytest.raises(ValueError, match="expected a bin id"):
        decode_ref(RefKind.BIN, "bin-")


def test_the_selection_becomes_plan_bin_rows_and_the_chosen_containers() -> None:
    inputs = _inputs([_bin(1), _bin(2), _bin(3)])
    considered, chosen = consider(
        inputs,
        [
            _decision(3, SelectionStatus.MUST_GO, 0.91234),
            _decision(1, SelectionStatus.SKIP, 0.2),
            _decision(2, SelectionStatus.MAY_GO, 0.7, prize=12.5),
        ],
    )
    assert [(c.bin_id, c.category, c.forecast_fill) for c in considered] == [
        (3, "must", 0.912),
        (1, "skip", 0.2),
        (2, "may", 0.7),
    ]
    assert considered[0].code == "code_must_go" and considered[0].params == {"fill_pct": 91}
    assert [(c.bin.id, c.required, c.prize) for c in chosen] == [(3, True, 0.0), (2, False, 12.5)]


def test_rows_become_a_problem_with_depots_facilities_then_stops_in_the_chosen_order() -> None:
    narrow = _bin(5, access="narrow")
    inputs = _inputs([_bin(4), narrow])
    chosen = [Chosen(narrow, 1.4, True, 0.0), Chosen(_bin(4), 0.5, False, -3.0)]
    problem = build_problem(inputs, chosen, GreatCircleProvider())
    assert [loc.id for loc in problem.locations] == ["depot-3", "facility-2", "bin-5", "bin-4"]
    assert problem.name == "testhafen-residual-2026-03-02"
    full, half = problem.stops
    # a forecast above 125 % is not believed; the mass follows the fraction's density (residual 0.13)
    assert (full.id, full.volume_l, full.mass_kg, full.required) == ("bin-5", 1375.0, 178.8, True)
    assert (half.volume_l, half.mass_kg, half.prize, half.required) == (550.0, 71.5, 0.0, False)
    assert full.time_windows == ((6 * HOUR, 18 * HOUR),) and full.access_class == "narrow"
    vehicle = problem.vehicles[0]
    assert (vehicle.id, vehicle.start_depot, vehicle.shift) == (
        "vehicle-30",
        "depot-3",
        (6 * HOUR, 14 * HOUR),
    )
    assert vehicle.access_classes == frozenset({"standard", "narrow"}) and vehicle.must_end_empty
    facility = problem.facilities[0]
    assert (facility.id, facility.window, facility.unload_s) == ("facility-2", (5 * HOUR, 20 * HOUR), 600)
    assert problem.distance_m.shape == (4, 4) and int(np.diag(problem.distance_m).sum()) == 0


@pytest.mark.slow  # a search of 20 s
def test_a_solved_plan_becomes_the_rows_to_store_and_every_container_is_accounted_for() -> None:
    bins = [_bin(i) for i in range(1, 13)]
    inputs = _inputs(bins)
    decisions = [
        _decision(b.id, SelectionStatus.MUST_GO if b.id <= 8 else SelectionStatus.MAY_GO, 0.9, prize=0.01)
        for b in bins
    ]
    considered, chosen = consider(inputs, decisions)
    problem = build_problem(inputs, chosen, GreatCircleProvider())
    result = plan_routes(problem, time_limit_s=20, seed=1)
    rows = plan_rows(inputs, result, considered, {"job_seconds": 1.5})
    volume_of = {s.id: s.volume_l for s in problem.stops}

    assert len(rows.routes) == len(result.routes) > 0
    routed: set[int] = set()
    for record, route in zip(rows.routes, result.routes, strict=True):
        assert record.vehicle_id == decode_ref(RefKind.VEHICLE, route.vehicle_id)
        assert [s.seq for s in record.stops] == list(range(len(route.visits)))
        assert [s.kind for s in record.stops] == [v.kind.value for v in route.visits]
        first, end = record.stops[0], next(s for s in record.stops if s.kind == "end")
        assert first.depot_id == 3 and end.depot_id == 3 and (first.lon, first.lat) == (10.66, 53.85)
        assert all(s.lon is None for s in record.stops if s.kind == "break")
        # local 06:00 at the earliest, stored in UTC
        assert record.start_at.tzinfo is not None and record.start_at >= datetime(2026, 3, 2, 5, tzinfo=UTC)
        assert record.start_at == datetime(2026, 3, 1, 23, tzinfo=UTC) + timedelta(seconds=route.start_s)
        for stop, visit in zip(record.stops, route.visits, strict=True):
            if visit.kind is VisitKind.STOP:
                assert stop.bin_id == decode_ref(RefKind.BIN, visit.ref_id)
                routed.add(stop.bin_id)
            if visit.kind is VisitKind.FACILITY:
                assert stop.facility_id == 2
        collected = sum(volume_of[ref] for ref in route.stop_ids)
        assert [t["facility_id"] for t in record.trips] == [2] * route.disposal_trips
        assert sum(t["stops"] for t in record.trips) == len(route.stop_ids)
        assert sum(t["volume_l"] for t in record.trips) == pytest.approx(
            collected, abs=0.1 * len(record.trips)
        )
    by_bin = {b.bin_id: b for b in rows.bins}
    assert set(by_bin) == {b.id for b in bins}
    assert {b for b, row in by_bin.items() if row.routed} == routed
    dropped = {decode_ref(RefKind.BIN, d.stop_id) for d in result.dropped}
    assert routed | dropped == {b.id for b in bins} and not routed & dropped
    for bin_id in dropped:
        assert by_bin[bin_id].drop_code is not None and "; left out: " in by_bin[bin_id].reason
    assert rows.summary["bins_considered"] == 12 and rows.summary["must_go"] == 8
    assert rows.summary["may_go"] == 4 and rows.summary["routed"] == len(routed)
    assert rows.summary["job_seconds"] == 1.5 and rows.summary["feasible"] is result.feasible
    assert rows.diagnosis is None if result.feasible else rows.diagnosis


def _visit(kind: VisitKind, ref: str, t: int, volume_l: float, mass_kg: float) -> Visit:
    return Visit(kind, ref, None, t, t, t + 60, volume_l, mass_kg)


def test_trips_are_the_loads_between_unloads_and_a_tail_without_unload_is_none() -> None:
    route = Route(
        vehicle_id="vehicle-1",
        visits=(
            _visit(VisitKind.START, "depot-1", 0, 0.0, 0.0),
            _visit(VisitKind.STOP, "bin-1", 100, 300.0, 40.0),
            _visit(VisitKind.BREAK, "break", 200, 300.0, 40.0),
            _visit(VisitKind.STOP, "bin-2", 300, 750.5, 100.0),
            _visit(VisitKind.FACILITY, "facility-9", 400, 0.0, 0.0),
            _visit(VisitKind.STOP, "bin-3", 500, 200.0, 20.0),
            _visit(VisitKind.FACILITY, "facility-8", 600, 0.0, 0.0),
            _visit(VisitKind.STOP, "bin-4", 700, 90.0, 9.0),
            _visit(VisitKind.END, "depot-1", 800, 90.0, 9.0),
        ),
        distance_m=1000,
        duration_s=860,
        collected_volume_l=1040.5,
        collected_mass_kg=129.0,
        disposal_trips=2,
        cost=1.0,
    )
    assert [(t.facility_ref, t.stops, t.volume_l, t.mass_kg) for t in route.trips] == [
        ("facility-9", 2, 750.5, 100.0),
        ("facility-8", 1, 200.0, 20.0),
    ]


def test_a_container_left_out_keeps_the_selections_reason_and_adds_the_routers() -> None:
    inputs = _inputs([_bin(1)])
    considered = [Considered(1, "must", 0.95, "full", "must_threshold", {"fill_pct": 95})]
    result = RoutePlan(
        routes=(),
        dropped=(DroppedStop("bin-1", True, DropReason.CAPACITY, "1,200 L too much", {"over_l": 1200}),),
        diagnosis=("The fleet is too small.",),
        cost=0.0,
        engine="ortools",
        solve_time_s=0.5,
        seed=0,
        stats=SearchStats(stopped_by_clock=True, pyvrp=PyvrpStats(encode_s=0.1, iteration_limit=1500)),
    )
    rows = plan_rows(inputs, result, considered, {})
    (row,) = rows.bins
    assert row.reason == "full; left out: capacity (1,200 L too much)" and not row.routed
    assert (row.reason_code, row.reason_params) == ("must_threshold", {"fill_pct": 95})
    assert (row.drop_code, row.drop_params) == ("capacity", {"over_l": 1200})
    assert rows.routes == () and rows.diagnosis == "The fleet is too small."
    assert rows.summary["iterations"] == 1500 and rows.summary["stopped_by_clock"] is True
    assert rows.summary["feasible"] is False and rows.summary["fleet"] is None
