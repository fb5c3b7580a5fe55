"""Admins: CRUD of the city's objects, bulk imports with per-row errors, API keys."""

from __future__ import annotations

import json

from tests.api.support import World


def test_crud_round_trip_of_a_depot(world: World) -> None:
    h = world.key("admin")
    created = world.client.post(
        "/api/v1/admin/depots",
        json={"external_id": "hof-2", "name": "Hof 2", "lon": 10.7, "lat": 53.9},
        headers=h,
    )
    assert created.status_code == 201, created.text
    depot_id = created.json()["id"]
    assert world.client.get(f"/api/v1/admin/depots/{depot_id}", headers=h).json()["name"] == "Hof 2"
    changed = world.client.patch(f"/api/v1/admin/depots/{depot_id}", json={"name": "Hof Nord"}, headers=h)
    assert changed.status_code == 200 and changed.json()["name"] == "Hof Nord"
    assert world.client.delete(f"/api/v1/admin/depots/{depot_id}", headers=h).status_code == 204
    assert world.client.get(f"/api/v1/admin/depots/{depot_id}", headers=h).status_code == 404


def test_duplicate_external_id_and_depot_in_use_are_conflicts(world: World) -> None:
    h = world.key("admin")
    dup = world.client.post(
        "/api/v1/admin/depots",
        json={"external_id": "depot-1", "name": "again", "lon": 10.7, "lat": 53.9},
        headers=h,
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict"
    in_use = world.client.delete(f"/api/v1/admin/depots/{world.a.depot_id}", headers=h)
    assert in_use.status_code == 409
    assert world.client.get(f"/api/v1/admin/depots/{world.a.depot_id}", headers=h).status_code == 200


def test_lists_are_paginated_with_a_maximum(world: World) -> None:
    h = world.key("admin")
    page = world.client.get("/api/v1/admin/bins", params={"limit": 5, "offset": 3}, headers=h).json()
    assert len(page["items"]) == 5 and page["total"] == 25 and page["offset"] == 3
    everything = world.client.get("/api/v1/admin/bins", params={"limit": 1000}, headers=h).json()
    assert [b["id"] for b in everything["items"][3:8]] == [b["id"] for b in page["items"]]
    too_many = world.client.get("/api/v1/admin/bins", params={"limit": 1001}, headers=h)
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "invalid_input"


def test_geojson_import_reports_errors_per_row_and_stores_the_good_rows(world: World) -> None:
    h = world.key("admin")

    def feature(ext: str, **props: object) -> dict[str, object]:
        p = {"external_id": ext, "fraction": "glass", "container_type": "wheelie-1100", **props}
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [10.7, 53.87]},
            "properties": p,
        }

    bad_geometry = feature("g-3")
    bad_geometry["geometry"] = {"type": "Point", "coordinates": [200, 53.87]}
    body = {
        "type": "FeatureCollection",
        "features": [
            feature("g-1", sensor={"device_id": "ABCDEF0123456789"}),
            feature("g-2", fraction="plastic"),
            bad_geometry,
            feature("g-4", container_type="no-such-type"),
            feature("g-1"),
            feature("g-5", sensor={"device_id": world.b.device_ids[0]}),
        ],
    }
    dry = world.client.post(
        "/api/v1/admin/bins/import/geojson", params={"dry_run": True}, json=body, headers=h
    )
    assert dry.status_code == 200 and dry.json()["imported"] == 0
    r = world.client.post("/api/v1/admin/bins/import/geojson", json=body, headers=h)
    report = r.json()
    assert r.status_code == 200 and report["rows"] == 6 and report["imported"] == 1 and report["sensors"] == 1
    errors = {e["row"]: e for e in report["errors"]}
    assert sorted(errors) == [2, 3, 4, 5, 6]
    assert "fraction" in errors[2]["errors"][0]
    assert "coordinates" in errors[3]["errors"][0]
    assert "container type of your city" in errors[4]["errors"][0]
    assert "more than once" in errors[5]["errors"][0]
    assert errors[6]["errors"] == ["device_id: an object with this identifier already exists"]
    assert dry.json()["errors"] == report["errors"]
    sensors = world.client.get("/api/v1/admin/sensors", params={"limit": 1000}, headers=h).json()["items"]
    assert "abcdef0123456789" in {s["device_id"] for s in sensors}


def test_csv_import_with_semicolons_and_a_bad_row(world: World) -> None:
    csv_text = (
        "external_id;lon;lat;fraction;container_type;collection_hours\n"
        "c-1;10.70;53.87;paper;wheelie-1100;06:00-20:00\n"
        "c-2;east;53.87;paper;wheelie-1100;\n"
        "TH-0001;10.71;53.88;residual;wheelie-1100;07:00-19:00\n"
    )
    r = world.client.post(
        "/api/v1/admin/bins/import/csv",
        content=csv_text.encode(),
        headers={**world.key("admin"), "Content-Type": "text/csv"},
    )
    report = r.json()
    assert r.status_code == 200 and report["imported"] == 2
    assert [e["row"] for e in report["errors"]] == [2] and "geometry.coordinates" in report["errors"][0][
        "errors"
    ][0]
    bins = world.client.get("/api/v1/admin/bins", params={"limit": 1000}, headers=world.key("admin")).json()
    updated = next(b for b in bins["items"] if b["external_id"] == "TH-0001")
    assert updated["lon"] == 10.71 and updated["collection_start"] == "07:00:00"


def test_csv_without_required_columns_is_refused_whole(world: World) -> None:
    r = world.client.post(
        "/api/v1/admin/bins/import/csv",
        content=b"name,x\na,1\n",
        headers={**world.key("admin"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and "external_id" in r.json()["error"]["message"]


def test_issued_key_works_once_created_and_stops_when_disabled(world: World) -> None:
    h = world.key("admin")
    r = world.client.post(
        "/api/v1/admin/principals", json={"name": "night dispatcher", "role": "dispatcher"}, headers=h
    )
    assert r.status_code == 201
    key, pid = r.json()["key"], r.json()["principal"]["id"]
    assert key not in json.dumps(world.client.get("/api/v1/admin/principals", headers=h).json())
    assert world.client.get("/api/v1/plans", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert (
        world.client.patch(f"/api/v1/admin/principals/{pid}", json={"disabled": True}, headers=h).status_code
        == 200
    )
    denied = world.client.get("/api/v1/plans", headers={"X-API-Key": key})
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "unauthorized"


def test_driver_keys_need_a_vehicle_and_admins_keep_their_own_key(world: World) -> None:
    h = world.key("admin")
    r = world.client.post("/api/v1/admin/principals", json={"name": "d", "role": "driver"}, headers=h)
    assert r.status_code == 422 and "vehicle_id" in r.json()["error"]["message"]
    own = world.a.principal_ids["admin"]
    assert (
        world.client.patch(f"/api/v1/admin/principals/{own}", json={"disabled": True}, headers=h).status_code
        == 409
    )
    assert world.client.delete(f"/api/v1/admin/principals/{own}", headers=h).status_code == 409


def test_a_new_city_is_sealed_from_the_creating_admin(world: World) -> None:
    r = world.client.post(
        "/api/v1/admin/cities",
        json={"slug": "neustadt", "name": "Neustadt", "center_lon": 10.8, "center_lat": 54.1},
        headers=world.key("admin"),
    )
    assert r.status_code == 201
    new = r.json()
    assert (
        world.client.get(f"/api/v1/admin/cities/{new['city']['id']}", headers=world.key("admin")).status_code
        == 404
    )
    mine = world.client.get("/api/v1/admin/cities", headers={"X-API-Key": new["admin_key"]}).json()
    assert [c["slug"] for c in mine["items"]] == ["neustadt"]
    clash = world.client.post(
        "/api/v1/admin/cities",
        json={"slug": "zweithafen", "name": "x", "center_lon": 10.8, "center_lat": 54.1},
        headers=world.key("admin"),
    )
    assert clash.status_code == 409


def test_deleting_a_city_needs_its_slug(world: World) -> None:
    h = world.key("admin")
    wrong = world.client.delete(f"/api/v1/admin/cities/{world.a.id}", params={"confirm": "x"}, headers=h)
    assert wrong.status_code == 422
    assert world.client.get(f"/api/v1/admin/cities/{world.a.id}", headers=h).status_code == 200
