"""Open data without a key: anonymous figures and NGSI-LD WasteContainer entities; one error envelope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.api.support import World


def test_figures_count_collections_fill_km_and_overflows(world: World) -> None:
    for stop_id, kind, fill in (
        (world.a.stop_ids[0], "emptied", 0.5),
        (world.a.stop_ids[1], "emptied", 1.2),
        (world.a.stop_ids[2], "overfilled", None),
    ):
        body = {
            "client_event_id": str(uuid.uuid4()),
            "stop_id": stop_id,
            "kind": kind,
            "observed_fill": fill,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        assert (
            world.client.post("/api/v1/driver/events", json=body, headers=world.key("driver")).status_code
            == 200
        )
    r = world.client.get("/api/v1/open/cities/testhafen/figures", params={"weeks": 4})
    assert r.status_code == 200
    f = r.json()
    # the seed's emptying (0.7, a day ago), two reported now (0.5, 1.2) and the overfilled one, which
    # was emptied too (no fill given)
    assert f["collections"] == 4 and f["overflows"] == 2
    assert abs(f["avg_fill_at_emptying"] - round((0.7 + 0.5 + 1.2) / 3, 3)) < 0.002
    # only the route that was driven (stops reported): 12.345 km; the other truck's 9 km never left
    assert f["km_driven"] == 12.3
    assert f["collections_per_week"] == 1.0
    text = r.text
    assert "driver" not in text and "principal" not in text and "vehicle" not in text


def test_the_average_fill_weighs_every_reported_fill_once_across_weeks(world: World) -> None:
    from datetime import timedelta

    from sqlalchemy import text

    now = datetime.now(UTC)
    # a week with one fill, a week later one fill and two overfilled reports without a fill: the
    # city's average is the mean of the three fills, whatever week each came in
    for days_ago, kind, fill in (
        (16, "emptied", 0.3),
        (9, "emptied", 0.9),
        (9, "overfilled", None),
        (9, "overfilled", None),
    ):
        world.conn.execute(
            text(
                "INSERT INTO collection_event (city_id, bin_id, kind, observed_fill, occurred_at) "
                "VALUES (:city, :bin, :kind, :fill, :at)"
            ),
            {
                "city": world.a.id,
                "bin": world.a.bin_ids[0],
                "kind": kind,
                "fill": fill,
                "at": now - timedelta(days=days_ago),
            },
        )
    f = world.client.get("/api/v1/open/cities/testhafen/figures", params={"weeks": 4}).json()
    assert f["collections"] == 5 and f["overflows"] == 2  # with the seed's emptying (0.7, a day ago)
    assert abs(f["avg_fill_at_emptying"] - (0.3 + 0.9 + 0.7) / 3) < 0.002, f["by_week"]
    weeks = [w for w in f["by_week"] if w["collections"]]
    assert len(weeks) >= 3 and sum(w["collections"] for w in weeks) == 5


def test_waste_containers_follow_the_smart_data_model(world: World) -> None:
    r = world.client.get("/api/v1/open/cities/testhafen/waste-containers", params={"limit": 50})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    page = r.json()
    assert page["total"] == 25
    entities = {e["id"]: e for e in page["items"]}
    e = entities["urn:ngsi-ld:WasteContainer:testhafen:TH-0001"]
    assert e["type"] == "WasteContainer"
    bins = world.client.get("/api/v1/admin/bins", params={"limit": 100}, headers=world.key("admin")).json()
    th1 = next(b for b in bins["items"] if b["external_id"] == "TH-0001")
    assert e["location"] == {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [th1["lon"], th1["lat"]]},
    }
    assert 0 <= e["fillingLevel"]["value"] <= 1 and e["fillingLevel"]["observedAt"].endswith("Z")
    assert e["storedWasteKind"]["value"] == ["other"] and e["status"]["value"] == "ok"
    assert any("smart-data-models" in c for c in e["@context"])
    burning = [x for x in page["items"] if x["status"]["value"] == "burning"]
    assert len(burning) == 1  # the bin with the fire alert
    paper = entities["urn:ngsi-ld:WasteContainer:testhafen:TH-0000"]
    assert paper["storedWasteKind"]["value"] == ["paper"]
    assert all(x["fillingLevel"]["value"] <= 1 for x in page["items"] if "fillingLevel" in x)


def test_open_city_list_and_unknown_city(world: World) -> None:
    cities = {c["slug"]: c for c in world.client.get("/api/v1/open/cities").json()}
    assert cities["testhafen"]["bins"] == 25 and "zweithafen" in cities
    r = world.client.get("/api/v1/open/cities/atlantis/figures")
    assert r.status_code == 404 and r.json() == {
        "error": {"code": "not_found", "message": "city 'atlantis' not found", "details": None}
    }


def test_unknown_paths_methods_and_keys_use_the_envelope(world: World) -> None:
    for r, status, code in (
        (world.client.get("/api/v1/nothing-here"), 404, "not_found"),
        (world.client.put("/api/v1/plans", json={}), 405, "method_not_allowed"),
        (world.client.get("/api/v1/plans"), 401, "unauthorized"),
        (world.client.get("/api/v1/plans", headers={"X-API-Key": "wr_abc_def"}), 401, "unauthorized"),
        (world.client.get("/api/v1/plans", headers=world.key("driver")), 403, "forbidden"),
        (world.client.get("/api/v1/plans/abc", headers=world.key("dispatcher")), 422, "invalid_input"),
    ):
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    # a key of the wrong role: the pages name the role in the user's language from the details
    wrong = world.client.get("/api/v1/plans", headers=world.key("driver")).json()["error"]
    assert wrong["details"] == {"params": {"role": "driver", "allowed": ["dispatcher", "admin"]}}
    tour = world.client.get("/api/v1/driver/tour", headers=world.key("dispatcher")).json()["error"]
    assert tour["code"] == "forbidden"
    assert tour["details"] == {"params": {"role": "dispatcher", "allowed": ["driver"]}}


def test_ordinary_bodies_are_limited_too(world: World) -> None:
    r = world.client.post(
        "/api/v1/plans",
        content=b"{" + b" " * (300 * 1024) + b"}",
        headers={**world.key("dispatcher"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["details"] == {"limit_bytes": 256 * 1024}


def test_openapi_documents_summaries_and_error_responses(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method} {path} has no summary"
            if path.startswith("/api/v1/") and not path.startswith("/api/v1/open"):
                assert {"401", "403", "422"} <= set(op["responses"]), f"{method} {path}"
