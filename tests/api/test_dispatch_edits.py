"""The dispatcher's daily questions through the API: the plans of a day, why a container is not planned,
a container's fill history, and moving or locking stops with the checks against truck and shift."""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.api.support import SETTINGS, World
from wasteroute.api.dispatch import DROP_CODES
from wasteroute.api.schemas.bins import BinMap
from wasteroute.api.schemas.dispatch import DayPlans, FillHistory, UnplannedList
from wasteroute.api.schemas.plans import PlanRead
from wasteroute.planning.result import DropReason
from wasteroute.planning.service import execute_plan
from wasteroute.storage.plans import PlanRepository
from wasteroute.vocabulary import UnplannedReason


def _stops(plan: PlanRead) -> dict[int, list[Any]]:
    return {r.id: r.stops for r in plan.routes}


def _set(world: World, sql: str, **params: Any) -> None:
    world.conn.execute(text(sql), params)


def test_moving_a_stop_retimes_both_tours_and_bumps_their_versions(world: World) -> None:
    h = world.key("dispatcher")
    a = world.a
    before = PlanRead.model_validate(world.client.get(f"/api/v1/plans/{a.plan_id}", headers=h).json())
    versions = dict(
        world.conn.execute(text("SELECT id, version FROM route WHERE plan_id = :p"), {"p": a.plan_id}).all()
    )
    moving = a.stop_ids[0]
    r = world.client.post(f"/api/v1/stops/{moving}/move", json={"route_id": a.other_route_id}, headers=h)
    assert r.status_code == 200, r.text
    after = PlanRead.model_validate(r.json())
    stops = _stops(after)
    assert moving in [s.id for s in stops[a.other_route_id]]
    assert moving not in [s.id for s in stops[a.route_id]]
    for route in after.routes:
        seqs = [s.seq for s in route.stops]
        assert seqs == list(range(len(seqs)))
        assert route.stops[0].kind == "start" and route.stops[-1].kind == "end"
        etas = [s.eta for s in route.stops]
        assert etas == sorted(etas)
        assert all(s.departure >= s.eta for s in route.stops)
        assert route.start_at == route.stops[0].eta and route.end_at == route.stops[-1].eta
    taking = next(x for x in after.routes if x.id == a.other_route_id)
    # the moved container's load (100 l in the fixture) travels with it: the taking tour's first trip
    assert taking.trips[0].stops == 3 and round(taking.trips[0].volume_l) == 300
    assert taking.trips[0].facility_id == a.facility_id
    assert max(s.load_volume_l for s in taking.stops) == 300
    old_n = {x.id: len(x.stops) for x in before.routes}
    assert (
        len(stops[a.route_id]) == old_n[a.route_id] - 1
        and len(stops[a.other_route_id]) == old_n[a.other_route_id] + 1
    )
    new_versions = dict(
        world.conn.execute(text("SELECT id, version FROM route WHERE plan_id = :p"), {"p": a.plan_id}).all()
    )
    assert all(new_versions[k] == v + 1 for k, v in versions.items())
    # the driver of the giving truck no longer has the container on their tour
    tour = world.client.get("/api/v1/driver/tour", headers=world.key("driver")).json()
    assert moving not in [s["id"] for s in tour["stops"]]


def test_a_move_that_overloads_the_truck_is_refused_with_the_rule_and_nothing_changes(world: World) -> None:
    h = world.key("dispatcher")
    a = world.a
    _set(world, "UPDATE vehicle SET volume_l = 250 WHERE id = :v", v=a.other_vehicle_id)
    r = world.client.post(
        f"/api/v1/stops/{a.stop_ids[0]}/move", json={"route_id": a.other_route_id}, headers=h
    )
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "capacity_volume"
    assert err["details"]["params"] == {
        "trip": 1,
        "load_l": 300,
        "capacity_l": 250,
        "vehicle": "Truck 2",
        "vehicle_id": a.other_vehicle_id,
    }
    assert "300 l" in err["message"] and "250 l" in err["message"]
    route = world.conn.execute(
        text("SELECT route_id FROM route_stop WHERE id = :s"), {"s": a.stop_ids[0]}
    ).scalar()
    assert route == a.route_id


def test_a_move_past_the_shift_end_is_refused(world: World) -> None:
    a = world.a
    _set(world, "UPDATE vehicle SET shift_end = '06:30' WHERE id = :v", v=a.other_vehicle_id)
    r = world.client.post(
        f"/api/v1/stops/{a.stop_ids[0]}/move",
        json={"route_id": a.other_route_id},
        headers=world.key("dispatcher"),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "shift_end", r.text
    assert r.json()["error"]["details"]["params"]["shift_end"].endswith("+00:00")


def test_locked_stops_and_started_tours_stay_where_they_are(world: World) -> None:
    h = world.key("dispatcher")
    a = world.a
    stop = a.stop_ids[1]
    r = world.client.post(f"/api/v1/stops/{stop}/lock", json={"locked": True}, headers=h)
    assert r.status_code == 200, r.text
    locked = [s for s in _stops(PlanRead.model_validate(r.json()))[a.route_id] if s.locked]
    assert [s.id for s in locked] == [stop]
    r = world.client.post(f"/api/v1/stops/{stop}/move", json={"route_id": a.other_route_id}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "stop_locked"
    r = world.client.post(f"/api/v1/stops/{stop}/lock", json={"locked": False}, headers=h)
    assert r.status_code == 200 and not any(
        s.locked for s in _stops(PlanRead.model_validate(r.json()))[a.route_id]
    )
    # once a driver reported a stop, the tour is the driver's: no move, no lock
    _set(world, "UPDATE route_stop SET status = 'emptied' WHERE id = :s", s=a.stop_ids[2])
    r = world.client.post(f"/api/v1/stops/{stop}/move", json={"route_id": a.other_route_id}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "tour_started"
    assert r.json()["error"]["details"]["params"]["vehicle"] == "Truck 1"
    r = world.client.post(f"/api/v1/stops/{stop}/lock", json={"locked": True}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "tour_started"


def test_moves_that_make_no_sense_get_422(world: World) -> None:
    h = world.key("dispatcher")
    a = world.a
    r = world.client.post(f"/api/v1/stops/{a.stop_ids[0]}/move", json={"route_id": a.route_id}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "same_route"
    depot_stop = world.conn.execute(
        text("SELECT id FROM route_stop WHERE route_id = :r AND kind = 'start'"), {"r": a.route_id}
    ).scalar()
    r = world.client.post(f"/api/v1/stops/{depot_stop}/move", json={"route_id": a.other_route_id}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_container"
    r = world.client.post(
        f"/api/v1/stops/{a.stop_ids[0]}/move", json={"route_id": world.b.other_route_id}, headers=h
    )
    assert r.status_code == 404


def test_a_past_plan_cannot_be_edited(world: World) -> None:
    a = world.a
    _set(world, "UPDATE plan SET service_date = service_date - 2 WHERE id = :p", p=a.plan_id)
    r = world.client.post(
        f"/api/v1/stops/{a.stop_ids[0]}/lock", json={"locked": True}, headers=world.key("dispatcher")
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "plan_past"


def test_fill_history_is_city_sealed_and_checks_its_range(world: World) -> None:
    h = world.key("dispatcher")
    a = world.a
    bin_id = world.conn.execute(
        text("SELECT bin_id FROM sensor WHERE id = :s"), {"s": a.sensor_ids[0]}
    ).scalar()
    r = world.client.get(f"/api/v1/bins/{bin_id}/readings", headers=h)
    assert r.status_code == 200, r.text
    hist = FillHistory.model_validate(r.json())
    assert len(hist.readings) == 12 and not hist.truncated
    fills = [p.fill_level for p in hist.readings]
    assert fills == sorted(fills) and abs((fills[-1] or 0) - 0.52) < 1e-6
    assert hist.until - hist.since == timedelta(days=7)
    now = datetime.now(UTC)
    narrow = world.client.get(
        f"/api/v1/bins/{bin_id}/readings",
        params={"since": (now - timedelta(hours=3, minutes=30)).isoformat(), "until": now.isoformat()},
        headers=h,
    )
    assert len(narrow.json()["readings"]) in (3, 4)
    for params, code in (
        ({"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}, "empty_range"),
        ({"since": (now - timedelta(days=100)).isoformat()}, "range_too_long"),
        ({"since": "2026-12-01T00:00:00"}, "naive_time"),
        ({"since": "yesterday"}, "invalid_input"),
    ):
        bad = world.client.get(f"/api/v1/bins/{bin_id}/readings", params=params, headers=h)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == code, (params, bad.text)
    other = world.client.get(f"/api/v1/bins/{world.b.bin_ids[0]}/readings", headers=h)
    assert other.status_code == 404
    assert world.client.get(f"/api/v1/bins/{bin_id}/readings", headers=world.key("driver")).status_code == 403


def test_day_plans_list_who_started_each_and_pick_the_newest_finished(world: World) -> None:
    h = world.key("dispatcher")
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    created = world.client.post(
        "/api/v1/plans", json={"fraction": "residual", "service_date": tomorrow.isoformat()}, headers=h
    ).json()
    day = DayPlans.model_validate(
        world.client.get(
            f"/api/v1/days/{tomorrow.isoformat()}/plans", params={"fraction": "residual"}, headers=h
        ).json()
    )
    assert [p.id for p in day.items] == [created["id"]]
    assert day.items[0].status == "queued" and day.items[0].created_by == "Testhafen dispatcher"
    assert day.current_plan_id is None  # nothing finished for tomorrow yet
    plans_today = DayPlans.model_validate(
        world.client.get(f"/api/v1/days/{world_today(world)}/plans", headers=h).json()
    )
    assert plans_today.current_plan_id == world.a.plan_id
    assert plans_today.items[0].routes == 2 and plans_today.items[0].distance_km == 21.345
    assert plans_today.next_plan_date is None  # the day has its own plan
    # a day without a finished plan points to the next one within a week (the world's plan)
    plan_day = date.fromisoformat(world_today(world))
    before = DayPlans.model_validate(
        world.client.get(f"/api/v1/days/{plan_day - timedelta(days=2)}/plans", headers=h).json()
    )
    assert before.current_plan_id is None and before.next_plan_date == plan_day
    far = world.client.get(f"/api/v1/days/{plan_day - timedelta(days=8)}/plans", headers=h).json()
    assert far["next_plan_date"] is None
    r = world.client.get("/api/v1/days/2026-13-01/plans", headers=h)
    assert r.status_code == 422


def world_today(world: World) -> str:
    return str(world.conn.execute(text("SELECT (now() AT TIME ZONE 'Europe/Berlin')::date")).scalar())


def test_every_container_full_soon_and_not_on_a_tour_has_a_reason(world: World) -> None:
    h = world.key("dispatcher")
    # two of the fullest residual containers need a crane truck, which the city does not have
    cranes = [
        int(x)
        for x in world.conn.execute(
            text(
                "SELECT b.id FROM bin b JOIN bin_state s ON s.bin_id = b.id WHERE b.city_id = :c "
                "AND b.fraction = 'residual' ORDER BY s.fill_level DESC NULLS LAST, b.id LIMIT 2"
            ),
            {"c": world.a.id},
        ).scalars()
    ]
    _set(world, "UPDATE bin SET access_class = 'crane' WHERE id = ANY(:ids)", ids=cranes)
    job = world.client.post(
        "/api/v1/plans", json={"fraction": "residual", "options": {"time_limit_s": 1}}, headers=h
    ).json()
    factory = world.app.state.session_factory
    with factory() as s:
        assert PlanRepository(s).claim(job["id"])
        s.commit()
    assert execute_plan(factory, SETTINGS, job["id"], lambda: datetime.now(UTC))["status"] == "done"
    plan = PlanRead.model_validate(world.client.get(f"/api/v1/plans/{job['id']}", headers=h).json())
    on_route = {s.bin_id for r in plan.routes for s in r.stops if s.bin_id}
    soon = BinMap.model_validate(
        world.client.get(
            "/api/v1/bins", params={"fraction": "residual", "state": "must_go_soon"}, headers=h
        ).json()
    )
    r = world.client.get(f"/api/v1/plans/{job['id']}/unplanned", headers=h)
    assert r.status_code == 200, r.text
    items = UnplannedList.model_validate(r.json()).items
    # the crane containers no truck of the city can serve: full soon, chosen, and left out for it
    crane = {x.bin_id for x in items if x.code == "no_access"}
    assert crane == set(cranes) & {x.bin_id for x in plan.left_out} and crane
    dropped = {x.bin_id: x for x in plan.left_out}
    assert all(dropped[b].drop_code == "no_compatible_vehicle" for b in crane)
    assert all(dropped[b].drop_params == {"fraction": "residual", "access_class": "crane"} for b in crane)
    assert any(x.must_go_soon for x in items if x.bin_id in crane)
    listed = {x.bin_id for x in items}
    assert {f.id for f in soon.features} - on_route <= listed
    assert not listed & on_route
    assert {x.bin_id for x in items if x.must_go_soon} == {f.id for f in soon.features} - on_route
    assert {x.bin_id for x in plan.left_out} <= listed
    for x in items:
        assert x.params["threshold_pct"] == 80 and x.params["next_day"]
        if x.code != "not_in_plan":
            assert x.params["category"] in ("must", "may", "skip")
        if x.code == "not_due":
            assert x.params["forecast_pct"] < 80


def test_every_router_reason_has_a_code_for_the_unplanned_list() -> None:
    assert set(DROP_CODES) == {r.code for r in DropReason}
    assert set(DROP_CODES.values()) <= set(UnplannedReason)
    # the migration that gave old plans their codes read the same English texts the router wrote
    path = Path(__file__).parents[2] / "migrations" / "versions" / "20261206_0009_codes_for_the_pages.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert {r.value: r.code for r in DropReason} == module._DROPS
