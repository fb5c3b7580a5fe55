"""Nobody can jam the plan queue: a service date near today, a capped time limit, a capped queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from tests.api.support import SETTINGS, World
from wasteroute.storage.jobs import JobQueue


def _today() -> str:
    return datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2000-01-01"])
def test_a_service_date_far_from_today_is_refused_with_the_window(world: World, day: str) -> None:
    r = world.client.post(
        "/api/v1/plans", json={"fraction": "residual", "service_date": day}, headers=world.key("dispatcher")
    )
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_input" and day in err["message"]
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    earliest = (today - timedelta(days=SETTINGS.plan_days_back)).isoformat()
    latest = (today + timedelta(days=SETTINGS.plan_days_ahead)).isoformat()
    assert earliest in err["message"] and latest in err["message"]
    assert err["details"] == {"service_date": day, "earliest": earliest, "latest": latest}


def test_the_edges_of_the_window_are_accepted_and_one_day_beyond_is_not(world: World) -> None:
    h = world.key("dispatcher")
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    last = today + timedelta(days=SETTINGS.plan_days_ahead)
    first = today - timedelta(days=SETTINGS.plan_days_back)
    for day, expected in (
        (last, 202),
        (first, 202),
        (last + timedelta(days=1), 422),
        (first - timedelta(days=1), 422),
    ):
        r = world.client.post(
            "/api/v1/plans", json={"fraction": "residual", "service_date": day.isoformat()}, headers=h
        )
        assert r.status_code == expected, (day, r.text)


def test_a_time_limit_above_the_cap_is_refused(world: World) -> None:
    cap = SETTINGS.plan_max_time_limit_s
    r = world.client.post(
        "/api/v1/plans",
        json={"fraction": "residual", "options": {"time_limit_s": 539}},
        headers=world.key("dispatcher"),
    )
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert f"at most {cap:g} seconds" in err["message"] and "539" in err["message"]
    ok = world.client.post(
        "/api/v1/plans",
        json={"fraction": "residual", "options": {"time_limit_s": cap}},
        headers=world.key("dispatcher"),
    )
    assert ok.status_code == 202, ok.text


def test_a_full_queue_is_refused_per_city_and_the_other_city_still_queues(
    world: World, session: Session
) -> None:
    h = world.key("dispatcher")
    active = JobQueue(session).active_jobs(world.a.id)
    for _ in range(SETTINGS.plan_queue_per_city - active):
        assert world.client.post("/api/v1/plans", json={"fraction": "residual"}, headers=h).status_code == 202
    r = world.client.post("/api/v1/plans", json={"fraction": "paper"}, headers=h)
    assert r.status_code == 429, r.text
    err = r.json()["error"]
    assert err["code"] == "queue_full"
    assert f"at most {SETTINGS.plan_queue_per_city} are allowed" in err["message"]
    other = world.client.post(
        "/api/v1/plans", json={"fraction": "residual"}, headers=world.key("dispatcher", "b")
    )
    assert other.status_code == 202, other.text


def test_a_dispatcher_can_replan_a_day_that_was_planned_by_the_schedule(
    world: World, session: Session
) -> None:
    queue = JobQueue(session)
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    first = queue.create_scheduled(city_id=world.a.id, fraction="residual", service_date=today, options={})
    again = queue.create_scheduled(city_id=world.a.id, fraction="residual", service_date=today, options={})
    assert first is not None and again is None
    r = world.client.post(
        "/api/v1/plans",
        json={"fraction": "residual", "service_date": _today()},
        headers=world.key("dispatcher"),
    )
    assert r.status_code == 202 and r.json()["trigger"] == "manual" and r.json()["id"] != first
    listed = world.client.get("/api/v1/plans", headers=world.key("dispatcher")).json()["items"]
    assert {p["trigger"] for p in listed if p["id"] in (first, r.json()["id"])} == {"scheduled", "manual"}
