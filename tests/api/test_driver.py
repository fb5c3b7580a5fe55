"""The driver's tablet: own tour, idempotent stop events, GPX; nothing of other vehicles or cities."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.api.support import World
from wasteroute.api.schemas.driver import TourRead
from wasteroute.storage.models import BinState, CollectionEvent, RouteStop


def test_tour_lists_own_stops_in_order_with_bins_facility_and_break(world: World) -> None:
    r = world.client.get("/api/v1/driver/tour", headers=world.key("driver"))
    assert r.status_code == 200, r.text
    tour = TourRead.model_validate_json(r.content)  # the documented schema
    assert tour.route_id == world.a.route_id and tour.vehicle_id == world.a.vehicle_id
    assert tour.vehicle_external_id.startswith("TH-") and tour.vehicle_access_class in ("standard", "narrow")
    assert [s.seq for s in tour.stops] == sorted(s.seq for s in tour.stops)
    kinds = [s.kind for s in tour.stops]
    assert kinds[0] == "start" and kinds[-1] == "end" and "facility" in kinds and "break" in kinds
    bin_stops = [s for s in tour.stops if s.kind == "stop"]
    assert [s.id for s in bin_stops] == world.a.stop_ids
    assert all(s.bin_external_id and s.bin_external_id.startswith("TH-") for s in bin_stops)
    assert all(
        s.container_type == "wheelie-1100" or s.container_type == "underground-3000" for s in bin_stops
    )
    assert all(s.eta.tzinfo is not None for s in tour.stops)
    facility = next(s for s in tour.stops if s.kind == "facility")
    assert facility.facility_name == "Entsorgungszentrum"
    assert "ZH-" not in r.text


def test_tour_of_the_other_city_driver_is_its_own(world: World) -> None:
    r = world.client.get("/api/v1/driver/tour", headers=world.key("driver", "b"))
    assert r.status_code == 200
    assert r.json()["route_id"] == world.b.route_id and "TH-" not in r.text


def _event(stop_id: int, kind: str = "emptied", event_id: uuid.UUID | None = None) -> dict[str, object]:
    return {
        "client_event_id": str(event_id or uuid.uuid4()),
        "stop_id": stop_id,
        "kind": kind,
        "observed_fill": 0.85,
        "occurred_at": datetime.now(UTC).isoformat(),
        "lon": 10.68,
        "lat": 53.86,
    }


def test_stop_event_is_idempotent_by_client_id(world: World) -> None:
    body = _event(world.a.stop_ids[0])
    first = world.client.post("/api/v1/driver/events", json=body, headers=world.key("driver"))
    again = world.client.post("/api/v1/driver/events", json=body, headers=world.key("driver"))
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    with world.app.state.session_factory() as s:
        n = s.scalar(
            select(func.count())
            .select_from(CollectionEvent)
            .where(CollectionEvent.client_event_id == uuid.UUID(str(body["client_event_id"])))
        )
        stop = s.get(RouteStop, world.a.stop_ids[0])
        state = s.get(BinState, first.json()["bin_id"])
    assert n == 1
    assert stop is not None and stop.status == "emptied"
    assert state is not None and state.last_emptied_at is not None
    tour = world.client.get("/api/v1/driver/tour", headers=world.key("driver")).json()
    assert next(s for s in tour["stops"] if s["id"] == world.a.stop_ids[0])["status"] == "emptied"


def test_same_client_id_for_another_stop_is_a_conflict(world: World) -> None:
    event_id = uuid.uuid4()
    ok = world.client.post(
        "/api/v1/driver/events",
        json=_event(world.a.stop_ids[0], event_id=event_id),
        headers=world.key("driver"),
    )
    clash = world.client.post(
        "/api/v1/driver/events",
        json=_event(world.a.stop_ids[1], event_id=event_id),
        headers=world.key("driver"),
    )
    assert ok.status_code == 200 and clash.status_code == 409
    assert clash.json()["error"]["code"] == "conflict"


def test_latest_event_sets_the_stop_status(world: World) -> None:
    stop = world.a.stop_ids[1]
    later = _event(stop, "not_reachable")
    earlier = _event(stop, "emptied")
    earlier["occurred_at"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for body in (later, earlier):
        assert (
            world.client.post("/api/v1/driver/events", json=body, headers=world.key("driver")).status_code
            == 200
        )
    tour = world.client.get("/api/v1/driver/tour", headers=world.key("driver")).json()
    assert next(s for s in tour["stops"] if s["id"] == stop)["status"] == "not_reachable"


def test_other_vehicles_and_other_cities_stops_answer_like_missing_ones(world: World) -> None:
    answers = []
    for stop_id in (world.a.other_vehicle_stop_id, world.b.stop_ids[0], 2_000_000_000):
        r = world.client.post("/api/v1/driver/events", json=_event(stop_id), headers=world.key("driver"))
        answers.append((r.status_code, r.json()["error"]["message"].replace(str(stop_id), "N")))
    assert answers == [(404, "stop N not found")] * 3


def test_naive_time_is_refused(world: World) -> None:
    body = _event(world.a.stop_ids[0])
    body["occurred_at"] = "2026-11-22T08:00:00"
    r = world.client.post("/api/v1/driver/events", json=body, headers=world.key("driver"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_gpx_has_a_waypoint_per_located_stop(world: World) -> None:
    r = world.client.get("/api/v1/driver/tour.gpx", headers=world.key("driver"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/gpx+xml")
    root = ET.fromstring(r.content)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    wpts = root.findall("g:wpt", ns)
    tour = world.client.get("/api/v1/driver/tour", headers=world.key("driver")).json()
    located = [s for s in tour["stops"] if s["lon"] is not None]
    assert len(wpts) == len(located) == len(root.findall("g:rte/g:rtept", ns))
    assert float(wpts[1].get("lat", "0")) == round(located[1]["lat"], 6)


def test_a_driver_without_a_tour_today_gets_404(world: World) -> None:
    from wasteroute.storage.principals import PrincipalRepository

    with world.app.state.session_factory() as s:
        issued = PrincipalRepository(s, "development-only-secret").create(
            city_id=world.a.id, name="spare driver", role="driver", vehicle_id=world.a.spare["vehicles"]
        )
        s.commit()
    r = world.client.get("/api/v1/driver/tour", headers={"X-API-Key": issued.key})
    assert r.status_code == 404 and r.json()["error"] == {
        "code": "not_found",
        "message": "no tour for you today",
        "details": None,
    }


def test_tour_etag_answers_304_until_a_stop_event_changes_it(world: World) -> None:
    h = world.key("driver")
    first = world.client.get("/api/v1/driver/tour", headers=h)
    etag = first.headers["ETag"]
    same = world.client.get("/api/v1/driver/tour", headers={**h, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["ETag"] == etag
    event = _event(world.a.stop_ids[0], "damaged")
    assert world.client.post("/api/v1/driver/events", json=event, headers=h).status_code == 200
    changed = world.client.get("/api/v1/driver/tour", headers={**h, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert next(s for s in changed.json()["stops"] if s["id"] == world.a.stop_ids[0])["status"] == "damaged"


def test_tour_is_gzipped_when_the_tablet_accepts_it(world: World) -> None:
    h = world.key("driver")
    plain = world.client.get("/api/v1/driver/tour", headers={**h, "Accept-Encoding": "identity"})
    zipped = world.client.get("/api/v1/driver/tour", headers={**h, "Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.json() == plain.json()  # the client inflates it
    assert int(zipped.headers["Content-Length"]) < int(plain.headers["Content-Length"])


def test_disabled_driver_key_and_wrong_role_get_the_usual_answers(world: World) -> None:
    disabled = world.client.patch(
        f"/api/v1/admin/principals/{world.a.principal_ids['driver']}",
        json={"disabled": True},
        headers=world.key("admin"),
    )
    assert disabled.status_code == 200
    r = world.client.get("/api/v1/driver/tour", headers=world.key("driver"))
    assert (
        r.status_code == 401
        and r.json()["error"]["message"] == "the API key is unknown, malformed or disabled"
    )
    bad_secret = world.key("dispatcher")["X-API-Key"][:-2] + "xx"
    assert world.client.get("/api/v1/driver/tour", headers={"X-API-Key": bad_secret}).status_code == 401
    r = world.client.get("/api/v1/driver/tour", headers=world.key("dispatcher"))
    assert (
        r.status_code == 403
        and r.json()["error"]["message"] == "this needs one of the roles driver; you are dispatcher"
    )
