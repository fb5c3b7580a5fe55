"""What a driver's report means: overfilled is emptied too, an emptying shows on the map at once, a
report can be taken back (the server's record is corrected), and a report with an impossible time is
refused with a 422 that says why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.api.support import World
from wasteroute.api.routes.driver import CLOCK_SKEW, MAX_REPORT_AGE, event_time_problem
from wasteroute.storage.models import BinState, CollectionEvent, RouteStop


def _event(stop_id: int, kind: str = "emptied", at: datetime | None = None) -> dict[str, Any]:
    return {
        "client_event_id": str(uuid.uuid4()),
        "stop_id": stop_id,
        "kind": kind,
        "observed_fill": 1.25 if kind == "overfilled" else None,
        "occurred_at": (at or datetime.now(UTC)).isoformat(),
    }


def _post(world: World, body: dict[str, Any]) -> Any:
    return world.client.post("/api/v1/driver/events", json=body, headers=world.key("driver"))


def _stop(world: World, stop_id: int) -> dict[str, Any]:
    tour = world.client.get("/api/v1/driver/tour", headers=world.key("driver")).json()
    stop: dict[str, Any] = next(s for s in tour["stops"] if s["id"] == stop_id)
    return stop


def _map_bin(world: World, bin_id: int) -> dict[str, Any]:
    r = world.client.get(f"/api/v1/bins/{bin_id}", headers=world.key("dispatcher"))
    assert r.status_code == 200, r.text
    props: dict[str, Any] = r.json()["properties"]
    return props


def _last_emptied(world: World, bin_id: int) -> datetime | None:
    with world.app.state.session_factory() as s:
        return s.scalars(select(BinState.last_emptied_at).where(BinState.bin_id == bin_id)).first()


def test_the_tour_carries_the_street_address_of_each_container(world: World) -> None:
    tour = world.client.get("/api/v1/driver/tour", headers=world.key("driver")).json()
    bins = [s for s in tour["stops"] if s["kind"] == "stop"]
    assert bins and all(s["address"] for s in bins)
    assert all(s["address"] is None for s in tour["stops"] if s["kind"] != "stop")


def test_overfilled_counts_as_emptied_and_the_map_shows_it_at_once(world: World) -> None:
    stop_id = world.a.stop_ids[0]
    bin_id = _stop(world, stop_id)["bin_id"]
    before = _map_bin(world, bin_id)
    assert before["fill_level"] is not None and before["fill_level"] > 0
    at = datetime.now(UTC)  # after the bin's latest reading
    r = _post(world, _event(stop_id, "overfilled", at))
    assert r.status_code == 200, r.text
    assert _last_emptied(world, bin_id) == at
    after = _map_bin(world, bin_id)
    assert after["fill_level"] == 0.0 and after["state"] == "ok"
    assert after["last_emptied_at"] is not None


def test_a_future_or_ancient_report_is_refused_with_422(world: World) -> None:
    stop_id = world.a.stop_ids[0]
    now = datetime.now(UTC)
    for at in (datetime(2099, 1, 1, 8, tzinfo=UTC), now + timedelta(minutes=30), now - timedelta(days=3)):
        r = _post(world, _event(stop_id, "emptied", at))
        assert r.status_code == 422, (at, r.text)
        err = r.json()["error"]
        assert err["code"] == ("event_too_old" if at < now else "event_in_future"), err
        assert "occurred_at" in err["message"] and err["details"]["params"]["occurred_at"], err
        assert "tablet's clock" in err["message"]
    with world.app.state.session_factory() as s:
        assert (
            s.scalars(select(CollectionEvent).where(CollectionEvent.route_stop_id == stop_id)).first() is None
        )
    assert _stop(world, stop_id)["status"] == "planned"
    # a tablet clock a little ahead is within the allowance
    assert _post(world, _event(stop_id, "emptied", now + timedelta(minutes=2))).status_code == 200


def test_event_time_problem_bounds() -> None:
    now = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    assert event_time_problem(now, now) is None
    assert event_time_problem(now + CLOCK_SKEW, now) is None
    assert event_time_problem(now - MAX_REPORT_AGE, now) is None
    future = event_time_problem(now + CLOCK_SKEW + timedelta(seconds=1), now)
    assert future is not None and future.code == "event_in_future"
    assert "in the future" in future.message and "2026-12-06T18:05:01Z" in future.message
    assert future.details == {
        "params": {
            "occurred_at": "2026-12-06T18:05:01Z",
            "server_time": "2026-12-06T18:00:00Z",
            "skew_min": 5,
        }
    }
    old = event_time_problem(now - MAX_REPORT_AGE - timedelta(seconds=1), now)
    assert old is not None and old.code == "event_too_old" and "older than 48 h" in old.message
    assert old.details == {
        "params": {
            "occurred_at": "2026-12-04T17:59:59Z",
            "server_time": "2026-12-06T18:00:00Z",
            "max_age_h": 48,
        }
    }


def test_withdrawing_a_report_corrects_the_servers_record(world: World) -> None:
    stop_id = world.a.stop_ids[1]
    bin_id = _stop(world, stop_id)["bin_id"]
    earlier = _last_emptied(world, bin_id)
    wrong = _event(stop_id, "emptied")
    assert _post(world, wrong).status_code == 200
    assert _stop(world, stop_id)["status"] == "emptied"
    assert _last_emptied(world, bin_id) != earlier

    r = world.client.post(
        f"/api/v1/driver/events/{wrong['client_event_id']}/withdraw", headers=world.key("driver")
    )
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn_at"] is not None and "Idempotent-Replayed" not in r.headers
    assert _stop(world, stop_id)["status"] == "planned"
    assert _last_emptied(world, bin_id) == earlier
    with world.app.state.session_factory() as s:
        row = s.scalars(
            select(CollectionEvent).where(
                CollectionEvent.client_event_id == uuid.UUID(wrong["client_event_id"])
            )
        ).one()
        assert row.withdrawn_at is not None and row.kind == "emptied"  # kept for the record
    again = world.client.post(
        f"/api/v1/driver/events/{wrong['client_event_id']}/withdraw", headers=world.key("driver")
    )
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["withdrawn_at"] == r.json()["withdrawn_at"]

    # the correction: the stop reported again, as what it really was
    right = _event(stop_id, "not_reachable")
    assert _post(world, right).status_code == 200
    assert _stop(world, stop_id)["status"] == "not_reachable"
    with world.app.state.session_factory() as s:
        assert s.get(RouteStop, stop_id).status == "not_reachable"  # type: ignore[union-attr]


def test_withdrawing_falls_back_to_the_earlier_standing_report(world: World) -> None:
    stop_id = world.a.stop_ids[2]
    first = _event(stop_id, "not_reachable", datetime.now(UTC) - timedelta(minutes=20))
    second = _event(stop_id, "damaged", datetime.now(UTC) - timedelta(minutes=5))
    assert _post(world, first).status_code == _post(world, second).status_code == 200
    assert _stop(world, stop_id)["status"] == "damaged"
    r = world.client.post(
        f"/api/v1/driver/events/{second['client_event_id']}/withdraw", headers=world.key("driver")
    )
    assert r.status_code == 200
    assert _stop(world, stop_id)["status"] == "not_reachable"


def test_another_drivers_report_cannot_be_withdrawn(world: World) -> None:
    mine = _event(world.a.stop_ids[0], "emptied")
    assert _post(world, mine).status_code == 200
    other_city = world.client.post(
        f"/api/v1/driver/events/{mine['client_event_id']}/withdraw", headers=world.key("driver", "b")
    )
    unknown = world.client.post(f"/api/v1/driver/events/{uuid.uuid4()}/withdraw", headers=world.key("driver"))
    assert other_city.status_code == unknown.status_code == 404
    assert _stop(world, world.a.stop_ids[0])["status"] == "emptied"
    bad = world.client.post("/api/v1/driver/events/not-a-uuid/withdraw", headers=world.key("driver"))
    assert bad.status_code == 422
