"""Admins set each fraction's morning plan and collection policy; plans of the fraction follow it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import World
from wasteroute.planning.selection import PolicyOptions

URL = "/api/v1/admin/schedules"


def _error(response: Any) -> str:
    return str(response.json()["error"])


def test_an_admin_sets_reads_replaces_and_removes_a_fractions_schedule_and_policy(world: World) -> None:
    h = world.key("admin")
    assert world.client.get(URL, headers=h).json()["items"] == []
    missing = world.client.get(f"{URL}/residual", headers=h)
    assert missing.status_code == 404 and "defaults" in _error(missing)

    body = {
        "local_time": "05:15",
        "weekdays": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        "policy": {"risk": 0.02},
    }
    put = world.client.put(f"{URL}/residual", json=body, headers=h)
    assert put.status_code == 200, put.text
    got = put.json()
    assert got["fraction"] == "residual" and got["local_time"] == "05:15:00"
    assert got["weekdays"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # in week order
    assert got["enabled"] and not got["on_holidays"] and got["time_limit_s"] == 20.0
    assert got["policy"] == {
        "policy": "dynamic",
        "risk": 0.02,
        "threshold": None,
        "collection_days": None,
        "horizon_days": None,
        "emergency_risk": None,
    }
    assert world.client.get(f"{URL}/residual", headers=h).json() == got

    # defaults: Monday to Saturday at 05:30, the dynamic policy at its own risk
    paper = world.client.put(f"{URL}/paper", json={}, headers=h).json()
    assert (
        paper["weekdays"] == ["mon", "tue", "wed", "thu", "fri", "sat"] and paper["local_time"] == "05:30:00"
    )
    assert paper["policy"]["policy"] == "dynamic" and paper["policy"]["risk"] is None

    # a second PUT replaces the whole schedule: the risk is gone, the threshold policy is in
    again = world.client.put(
        f"{URL}/residual",
        json={"enabled": False, "policy": {"policy": "threshold", "threshold": 0.7}},
        headers=h,
    ).json()
    assert not again["enabled"] and again["policy"]["policy"] == "threshold"
    assert again["policy"]["threshold"] == 0.7 and again["policy"]["risk"] is None
    listed = world.client.get(URL, headers=h).json()
    assert listed["total"] == 2 and [s["fraction"] for s in listed["items"]] == ["paper", "residual"]

    assert world.client.delete(f"{URL}/residual", headers=h).status_code == 204
    assert world.client.get(f"{URL}/residual", headers=h).status_code == 404
    assert world.client.delete(f"{URL}/residual", headers=h).status_code == 404


def test_a_collection_policy_with_dynamic_collection_days_is_stored_as_the_plan_job_reads_it(
    world: World,
) -> None:
    h = world.key("admin")
    body = {
        "policy": {
            "risk": 0.01,
            "collection_days": ["fri", "mon", "wed"],
            "horizon_days": 8,
            "emergency_risk": 0.05,
        }
    }
    got = world.client.put(f"{URL}/paper", json=body, headers=h).json()
    assert got["policy"]["collection_days"] == ["mon", "wed", "fri"] and got["policy"]["horizon_days"] == 8
    row = world.conn.exec_driver_sql(
        "SELECT policy FROM plan_schedule WHERE city_id = %s AND fraction = 'paper'", (world.a.id,)
    ).one()
    policy = PolicyOptions.from_options(row[0])
    assert policy.risk == 0.01 and policy.collection_days == {0, 2, 4} and policy.horizon_days == 8
    assert policy.emergency_risk == 0.05 and got["policy"]["emergency_risk"] == 0.05
    assert row[0] == {
        "policy": "dynamic",
        "risk": 0.01,
        "horizon_days": 8,
        "collection_days": ["mon", "wed", "fri"],
        "emergency_risk": 0.05,
    }


@pytest.mark.parametrize(
    ("fraction", "body", "says"),
    [
        ("residual", {"policy": {"risk": 0.9}}, "risk"),
        ("residual", {"policy": {"risk": 0}}, "risk"),
        ("residual", {"policy": {"policy": "fixed"}}, "policy"),
        ("residual", {"policy": {"policy": "threshold", "risk": 0.02}}, "dynamic policy"),
        ("residual", {"policy": {"threshold": 1.5}}, "threshold"),
        ("residual", {"policy": {"collection_days": []}}, "collection_days"),
        ("residual", {"policy": {"horizon_days": 40}}, "horizon_days"),
        ("residual", {"policy": {"emergency_risk": 1}}, "emergency_risk"),
        ("residual", {"policy": {"policy": "threshold", "emergency_risk": 0.05}}, "dynamic policy"),
        ("residual", {"weekdays": ["mon", "mon"]}, "at most once"),
        (
            "paper",
            {"weekdays": ["mon", "wed"], "policy": {"collection_days": ["mon", "fri"]}},
            "not a service day: fri",
        ),
        ("residual", {"weekdays": ["funday"]}, "weekdays"),
        ("residual", {"weekdays": []}, "weekdays"),
        ("residual", {"local_time": "25:00"}, "local_time"),
        ("residual", {"time_limit_s": 0}, "time_limit_s"),
        ("residual", {"colour": "blue"}, "colour"),
        ("metal", {}, "fraction"),
    ],
)
def test_a_bad_schedule_is_refused_with_what_was_expected(
    world: World, fraction: str, body: dict[str, Any], says: str
) -> None:
    h = world.key("admin")
    r = world.client.put(f"{URL}/{fraction}", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert says in r.text
    assert world.client.get(URL, headers=h).json()["total"] == 0  # nothing stored


def test_schedules_are_the_admins_and_sealed_per_city(world: World) -> None:
    a, b = world.key("admin"), world.key("admin", city="b")
    assert world.client.put(f"{URL}/glass", json={"policy": {"risk": 0.05}}, headers=a).status_code == 200
    assert world.client.get(URL, headers=b).json()["total"] == 0
    assert world.client.get(f"{URL}/glass", headers=b).status_code == 404
    assert world.client.delete(f"{URL}/glass", headers=b).status_code == 404
    # the other city's own schedule of the same fraction does not touch ours
    assert world.client.put(f"{URL}/glass", json={"policy": {"risk": 0.2}}, headers=b).status_code == 200
    assert world.client.get(f"{URL}/glass", headers=a).json()["policy"]["risk"] == 0.05
    for role in ("dispatcher", "driver"):
        assert world.client.get(URL, headers=world.key(role)).status_code == 403
        assert world.client.put(f"{URL}/glass", json={}, headers=world.key(role)).status_code == 403
    assert world.client.get(URL).status_code == 401
