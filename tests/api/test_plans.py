"""A plan job end to end through the API, plan detail, route GeoJSON, the dispatcher map and alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.support import SETTINGS, World
from wasteroute.api.schemas.bins import BinMap
from wasteroute.api.schemas.plans import PlanRead, RouteGeoJSON
from wasteroute.planning.result import DropReason
from wasteroute.planning.service import execute_plan
from wasteroute.storage.plans import PlanRepository


def test_plan_job_runs_end_to_end_through_the_api(world: World) -> None:
    h = world.key("dispatcher")
    created = world.client.post(
        "/api/v1/plans", json={"fraction": "residual", "options": {"time_limit_s": 2, "seed": 3}}, headers=h
    )
    assert created.status_code == 202, created.text
    job = created.json()
    assert (
        job["status"] == "queued"
        and job["progress"] == 0
        and job["options"] == {"time_limit_s": 2, "seed": 3}
    )
    factory = world.app.state.session_factory
    with factory() as s:  # what a worker does: claim, then run the job
        assert PlanRepository(s).claim(job["id"])
        s.commit()
    assert world.client.get(f"/api/v1/plans/{job['id']}/status", headers=h).json()["status"] == "running"
    outcome = execute_plan(factory, SETTINGS, job["id"], lambda: datetime.now(UTC))
    assert outcome["status"] == "done", outcome
    status = world.client.get(f"/api/v1/plans/{job['id']}/status", headers=h).json()
    assert status["status"] == "done" and status["progress"] == 1.0
    detail = PlanRead.model_validate(world.client.get(f"/api/v1/plans/{job['id']}", headers=h).json())
    assert detail.summary is not None and detail.summary["routes"] == len(detail.routes) >= 1
    route = detail.routes[0]
    assert route.distance_km > 0 and route.duration_h > 0 and route.stops[0].kind == "start"
    bins_routed = [s for r in detail.routes for s in r.stops if s.kind == "stop"]
    assert bins_routed and all(s.bin_external_id and s.bin_external_id.startswith("TH-") for s in bins_routed)
    assert all(t.volume_l >= 0 for r in detail.routes for t in r.trips)
    assert all(x.reason for x in detail.left_out)
    # beside the English reasons: the selection's code and the router's, with their numbers
    assert all(x.code and x.code.startswith(("must_", "may_")) for x in detail.left_out)
    assert all(x.drop_code in {r.code for r in DropReason} for x in detail.left_out)
    assert all(x.drop_params["prize"] >= 0 for x in detail.left_out if x.drop_code == "optional_not_worth")
    assert all(r.vehicle_external_id.startswith("TH-") for r in detail.routes)
    assert {r.vehicle_access_class for r in detail.routes} <= {"standard", "narrow"}
    assert detail.notes == [] and detail.diagnosis is None  # the mini city's trucks carry everything
    latest = world.client.get("/api/v1/plans/latest", params={"fraction": "residual"}, headers=h).json()
    assert latest["id"] == job["id"]
    geo = RouteGeoJSON.model_validate(
        world.client.get(f"/api/v1/routes/{route.id}/geojson", headers=h).json()
    )
    line = geo.features[0]
    assert line.geometry.type == "LineString"
    assert len(line.geometry.coordinates) == len([s for s in route.stops if s.lon is not None])
    assert len(geo.features) == 1 + len(line.geometry.coordinates)


def test_plan_list_is_newest_first_and_filtered(world: World) -> None:
    h = world.key("dispatcher")
    ids = [
        world.client.post("/api/v1/plans", json={"fraction": f}, headers=h).json()["id"]
        for f in ("paper", "residual")
    ]
    page = world.client.get("/api/v1/plans", params={"fraction": "paper"}, headers=h).json()
    assert [p["id"] for p in page["items"]] == [ids[0]]
    everything = world.client.get("/api/v1/plans", headers=h).json()
    assert [p["id"] for p in everything["items"][:2]] == [ids[1], ids[0]]


def test_unknown_fraction_and_extra_fields_are_refused(world: World) -> None:
    h = world.key("dispatcher")
    for body in ({"fraction": "plutonium"}, {"fraction": "paper", "city_id": world.b.id}):
        r = world.client.post("/api/v1/plans", json=body, headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_bin_map_states_filters_and_forecast(world: World) -> None:
    h = world.key("dispatcher")
    r = world.client.get("/api/v1/bins", params={"limit": 100}, headers=h)
    fc = BinMap.model_validate(r.json())
    assert fc.total == 25 and len(fc.features) == 25  # 24 from the seed and a spare glass bin
    by_state: dict[str, int] = {}
    for f in fc.features:
        by_state[f.properties.state] = by_state.get(f.properties.state, 0) + 1
    assert by_state.get("alert") == 1  # the fire alert
    assert by_state.get("stale", 0) >= 15  # bins whose sensors never reported
    measured = [f for f in fc.features if f.properties.fill_level is not None]
    assert len(measured) == 6 and all(
        f.properties.forecast_fill_24h is not None for f in measured if f.properties.state != "alert"
    )
    soon = world.client.get("/api/v1/bins", params={"state": "must_go_soon"}, headers=h).json()
    assert soon["total"] >= 1 and all(f["properties"]["state"] == "must_go_soon" for f in soon["features"])
    paper = world.client.get("/api/v1/bins", params={"fraction": "paper"}, headers=h).json()
    assert paper["total"] == 6 and {f["properties"]["fraction"] for f in paper["features"]} == {"paper"}
    one = world.client.get(f"/api/v1/bins/{measured[0].id}", headers=h).json()
    assert one["id"] == measured[0].id and one["type"] == "Feature"


def test_alerts_stored_and_computed_and_clearing(world: World) -> None:
    h = world.key("dispatcher")
    alerts = world.client.get("/api/v1/alerts", params={"limit": 1000}, headers=h).json()
    kinds = {a["kind"] for a in alerts["items"]}
    assert {"fire", "stale"} <= kinds
    fire = next(a for a in alerts["items"] if a["kind"] == "fire")
    assert fire["source"] == "stored" and fire["bin_external_id"].startswith("TH-")
    # what raised it, as a code and numbers beside the English detail
    assert fire["code"] == "temperature" and fire["params"]["temperature_c"] >= 65
    assert f"temperature {fire['params']['temperature_c']} °C" == fire["detail"]
    stale = [a for a in alerts["items"] if a["kind"] == "stale"]
    assert stale and all(a["code"] in ("no_reading_yet", "no_reading_since") for a in stale)
    assert all(
        a["params"]["device_id"] and ("since" in a["params"]) == (a["code"] == "no_reading_since")
        for a in stale
    )
    assert all(
        a["bin_external_id"] is None or a["bin_external_id"].startswith("TH-") for a in alerts["items"]
    )
    cleared = world.client.post(f"/api/v1/alerts/{fire['id']}/clear", headers=h)
    assert cleared.status_code == 200 and all(a["id"] != fire["id"] for a in cleared.json()["items"])
    assert world.client.post(f"/api/v1/alerts/{fire['id']}/clear", headers=h).status_code == 404
