"""Admins announce local events; a bad one is refused with what was expected."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import World

URL = "/api/v1/admin/events"
MARKET = {
    "name": "Weihnachtsmarkt",
    "first_day": "2026-11-24",
    "last_day": "2026-12-30",
    "lon": 10.6866,
    "lat": 53.8664,
    "radius_m": 550,
    "factors": {"litter-100": 2.2, "*": 1.2},
}


def test_an_admin_announces_changes_and_removes_an_event(world: World) -> None:
    h = world.key("admin")
    created = world.client.post(URL, json=MARKET, headers=h)
    assert created.status_code == 201, created.text
    event = created.json()
    assert event["factors"] == {"litter-100": 2.2, "*": 1.2} and event["last_day"] == "2026-12-30"
    moved = world.client.patch(f"{URL}/{event['id']}", json={"last_day": "2026-12-23"}, headers=h)
    assert moved.status_code == 200 and moved.json()["last_day"] == "2026-12-23"
    # a change that puts the last day before the first is refused and changes nothing
    bad = world.client.patch(f"{URL}/{event['id']}", json={"first_day": "2027-01-02"}, headers=h)
    assert bad.status_code == 422 and "last_day" in bad.text
    assert world.client.get(f"{URL}/{event['id']}", headers=h).json()["first_day"] == "2026-11-24"
    # another city neither sees nor touches it
    b = world.key("admin", city="b")
    assert world.client.get(f"{URL}/{event['id']}", headers=b).status_code == 404
    assert all(e["id"] != event["id"] for e in world.client.get(URL, headers=b).json()["items"])
    assert world.client.delete(f"{URL}/{event['id']}", headers=h).status_code == 204
    assert world.client.get(f"{URL}/{event['id']}", headers=h).status_code == 404


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"last_day": "2026-11-20"}, "last_day must not be before first_day"),
        ({"last_day": "2028-01-01"}, "at most a year"),
        ({"factors": {}}, "factors"),
        ({"factors": {"*": 0}}, "greater than 0"),
        ({"factors": {"*": 50}}, "less than or equal to 10"),
        ({"radius_m": 0}, "radius_m"),
        ({"lat": 95}, "lat"),
        ({"first_day": "soon"}, "first_day"),
    ],
)
def test_a_bad_event_is_refused_with_what_was_expected(
    world: World, change: dict[str, Any], says: str
) -> None:
    r = world.client.post(URL, json={**MARKET, **change}, headers=world.key("admin"))
    assert r.status_code == 422, r.text
    assert says in r.text
