"""Tenant isolation: every endpoint x every role (and no key) x own / other city -> the expected status.

The cases are generated from ``app.routes``: a route without an entry in ``EXPECT`` fails the test, so
a new endpoint cannot escape the matrix. For each route:

- no key: 401 (public routes: their normal answer);
- a role the route does not admit: 403, whether the object is the caller's or another city's;
- an admitted role on its own city's object: the route's success status;
- an admitted role naming another city's object: exactly what a missing object answers (same status,
  same body once ids are masked), and never the other city's data in any successful answer.

Every request runs in a savepoint that is rolled back, so each one sees the same two cities.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests.api.support import ROLES, SETTINGS, CityWorld, World
from tests.api.uplinks import chirpstack_uplink, tts_uplink
from wasteroute.api.app import create_app

MISSING = 2_000_000_000


class _Spare(dict[str, int]):
    def __missing__(self, key: str) -> int:
        return MISSING


class Missing:
    """Stands in for a city whose every object id is missing."""

    slug = "no-such-city"
    prefix = "NONE"
    id = plan_id = route_id = other_route_id = alert_id = depot_id = facility_id = container_type_id = (
        vehicle_id
    ) = MISSING

    def __init__(self) -> None:
        self.bin_ids = self.stop_ids = self.sensor_ids = [MISSING]
        self.device_ids = ["ffffffffffffff00", "ffffffffffffff01"]
        self.spare = _Spare()


Target = CityWorld | Missing


@dataclass
class Req:
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Expect:
    roles: frozenset[str] | None
    """Admitted roles; None: a public route (no key needed)."""
    ok: int
    build: Callable[[CityWorld, Target], Req] = lambda m, t: Req()
    targeted: bool = False
    """The request names an object (path id or referenced id): check the other city and a missing one."""
    other: int = 404
    """Status for another city's (or a missing) object."""


DISPATCH = frozenset({"dispatcher", "admin"})
ADMIN = frozenset({"admin"})
DRIVER = frozenset({"driver"})
GATEWAY = frozenset({"gateway"})
FEED = frozenset({"admin", "dispatcher", "gateway"})


def _event(m: CityWorld, t: Target) -> Req:
    return Req(
        json={
            "client_event_id": "6f1c1a52-2f8e-4b8a-9d1e-5a3f0c1e2d10",
            "stop_id": t.stop_ids[0],
            "kind": "emptied",
            "observed_fill": 0.9,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    )


def _bin_feature(ext: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [10.7, 53.87]},
        "properties": {"external_id": ext, "fraction": "glass", "container_type": "wheelie-1100"},
    }


CREATE_BODIES: dict[str, Callable[[CityWorld, Target], dict[str, Any]]] = {
    "container-types": lambda m, t: {
        "code": "new-240",
        "name": "240 L",
        "volume_l": 240,
        "height_mm": 1000,
        "service_s": 30,
        "max_mass_kg": 100,
    },
    "depots": lambda m, t: {"external_id": "new-depot", "name": "Hof 2", "lon": 10.7, "lat": 53.9},
    "facilities": lambda m, t: {
        "external_id": "new-fac",
        "name": "Glas",
        "lon": 10.6,
        "lat": 53.8,
        "fractions": ["glass"],
    },
    "vehicles": lambda m, t: {
        "external_id": "new-veh",
        "name": "Truck 9",
        "depot_id": t.depot_id,
        "fraction": "glass",
        "volume_l": 12000,
        "mass_kg": 6000,
    },
    "bins": lambda m, t: {
        "external_id": "new-bin",
        "lon": 10.7,
        "lat": 53.86,
        "fraction": "glass",
        "container_type_id": t.container_type_id,
    },
    "sensors": lambda m, t: {"device_id": "a1b2c3d4e5f60718", "bin_id": t.spare["bins"], "model": "native"},
    "integrations": lambda m, t: {"kind": "tts", "application_id": "new-bins", "tenant_id": "ttn"},
    "events": lambda m, t: {
        "name": "Hafenfest",
        "first_day": "2026-08-14",
        "last_day": "2026-08-16",
        "lon": 10.87,
        "lat": 53.96,
        "radius_m": 600,
        "factors": {"*": 2.0},
    },
}
UPDATE_BODIES: dict[str, dict[str, Any]] = {
    "container-types": {"name": "renamed"},
    "depots": {"name": "renamed"},
    "facilities": {"name": "renamed"},
    "vehicles": {"name": "renamed"},
    "bins": {"site_id": "S-9"},
    "sensors": {"mount_offset_mm": 40},
    "integrations": {"enabled": False},
    "events": {"name": "renamed"},
}
REFERENCING = {"vehicles", "bins", "sensors"}


def _crud_expectations(name: str) -> dict[str, Expect]:
    base = f"/api/v1/admin/{name}"
    param = "principal_id" if name == "principals" else "obj_id"
    item = f"{base}/{{{param}}}"

    def item_req(m: CityWorld, t: Target) -> Req:
        return Req(path={param: t.spare[name]})

    def patch_req(m: CityWorld, t: Target) -> Req:
        body = {"disabled": True} if name == "principals" else UPDATE_BODIES[name]
        return Req(path={param: t.spare[name]}, json=body)

    def create_req(m: CityWorld, t: Target) -> Req:
        return Req(json=CREATE_BODIES[name](m, t))

    e = {
        f"GET {base}": Expect(ADMIN, 200),
        f"GET {item}": Expect(ADMIN, 200, item_req, targeted=True),
        f"DELETE {item}": Expect(ADMIN, 204, item_req, targeted=True),
        f"PATCH {item}": Expect(ADMIN, 200, patch_req, targeted=True),
    }
    if name != "principals":
        e[f"POST {base}"] = Expect(ADMIN, 201, create_req, targeted=name in REFERENCING, other=422)
    return e


def _expectations() -> dict[str, Expect]:
    e: dict[str, Expect] = {
        "GET /healthz": Expect(None, 200),
        "GET /openapi.json": Expect(None, 200),
        "GET /docs": Expect(None, 200),
        "GET /docs/oauth2-redirect": Expect(None, 200),
        "GET /redoc": Expect(None, 200),
        "POST /api/v1/plans": Expect(DISPATCH, 202, lambda m, t: Req(json={"fraction": "residual"})),
        "GET /api/v1/plans": Expect(DISPATCH, 200),
        "GET /api/v1/plans/latest": Expect(DISPATCH, 200, lambda m, t: Req(query={"fraction": "residual"})),
        "GET /api/v1/plans/{plan_id}/status": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"plan_id": t.plan_id}), targeted=True
        ),
        "GET /api/v1/plans/{plan_id}": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"plan_id": t.plan_id}), targeted=True
        ),
        "GET /api/v1/routes/{route_id}/geojson": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"route_id": t.route_id}), targeted=True
        ),
        "GET /api/v1/bins": Expect(DISPATCH, 200),
        "GET /api/v1/bins/{bin_id}": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"bin_id": t.bin_ids[0]}), targeted=True
        ),
        "GET /api/v1/alerts": Expect(DISPATCH, 200),
        "POST /api/v1/alerts/{alert_id}/clear": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"alert_id": t.alert_id}), targeted=True
        ),
        "GET /api/v1/days/{service_date}/plans": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"service_date": datetime.now(UTC).date().isoformat()})
        ),
        "GET /api/v1/plans/{plan_id}/unplanned": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"plan_id": t.plan_id}), targeted=True
        ),
        "GET /api/v1/bins/{bin_id}/readings": Expect(
            DISPATCH, 200, lambda m, t: Req(path={"bin_id": t.bin_ids[0]}), targeted=True
        ),
        "POST /api/v1/stops/{stop_id}/move": Expect(
            DISPATCH,
            200,
            lambda m, t: Req(path={"stop_id": t.stop_ids[0]}, json={"route_id": t.other_route_id}),
            targeted=True,
        ),
        "POST /api/v1/stops/{stop_id}/lock": Expect(
            DISPATCH,
            200,
            lambda m, t: Req(path={"stop_id": t.stop_ids[0]}, json={"locked": True}),
            targeted=True,
        ),
        "GET /api/v1/driver/tour": Expect(DRIVER, 200),
        "GET /api/v1/driver/tour.gpx": Expect(DRIVER, 200),
        "POST /api/v1/driver/events": Expect(DRIVER, 200, _event, targeted=True),
        # A report id nobody sent: drivers reach the lookup (404), every other role stops at the gate;
        # withdrawing another vehicle's or city's report is checked in test_driver_reports.
        "POST /api/v1/driver/events/{client_event_id}/withdraw": Expect(
            DRIVER, 404, lambda m, t: Req(path={"client_event_id": "0b7e2a51-9c3d-4e5f-8a6b-7c8d9e0f1a2b"})
        ),
        "GET /api/v1/admin/cities": Expect(ADMIN, 200),
        "POST /api/v1/admin/cities": Expect(
            ADMIN,
            201,
            lambda m, t: Req(
                json={"slug": "neustadt", "name": "Neustadt", "center_lon": 10.8, "center_lat": 54.1}
            ),
        ),
        "GET /api/v1/admin/cities/{city_id}": Expect(
            ADMIN, 200, lambda m, t: Req(path={"city_id": t.id}), targeted=True
        ),
        "PATCH /api/v1/admin/cities/{city_id}": Expect(
            ADMIN, 200, lambda m, t: Req(path={"city_id": t.id}, json={"name": "Renamed"}), targeted=True
        ),
        "DELETE /api/v1/admin/cities/{city_id}": Expect(
            ADMIN, 204, lambda m, t: Req(path={"city_id": t.id}, query={"confirm": t.slug}), targeted=True
        ),
        # schedules are addressed by fraction within the caller's city (no id another city could own);
        # the test world has none, so reading or removing one answers 404 to an admin
        "GET /api/v1/admin/schedules": Expect(ADMIN, 200),
        "GET /api/v1/admin/schedules/{fraction}": Expect(
            ADMIN, 404, lambda m, t: Req(path={"fraction": "residual"})
        ),
        "PUT /api/v1/admin/schedules/{fraction}": Expect(
            ADMIN, 200, lambda m, t: Req(path={"fraction": "residual"}, json={"policy": {"risk": 0.02}})
        ),
        "DELETE /api/v1/admin/schedules/{fraction}": Expect(
            ADMIN, 404, lambda m, t: Req(path={"fraction": "residual"})
        ),
        "GET /api/v1/admin/principals": Expect(ADMIN, 200),
        "POST /api/v1/admin/principals": Expect(
            ADMIN,
            201,
            lambda m, t: Req(json={"name": "new driver", "role": "driver", "vehicle_id": t.vehicle_id}),
            targeted=True,
            other=422,
        ),
        "POST /api/v1/admin/bins/import/geojson": Expect(
            ADMIN,
            200,
            lambda m, t: Req(
                json={"type": "FeatureCollection", "features": [_bin_feature("imp-1"), _bin_feature("imp-2")]}
            ),
        ),
        "POST /api/v1/admin/bins/import/csv": Expect(
            ADMIN,
            200,
            lambda m, t: Req(
                content=b"external_id,lon,lat,fraction,container_type\nimp-3,10.7,53.87,glass,wheelie-1100\n",
                headers={"Content-Type": "text/csv"},
            ),
        ),
        "GET /api/v1/admin/bins/export/csv": Expect(ADMIN, 200),
        "POST /api/v1/ingest/tts": Expect(
            GATEWAY,
            200,
            lambda m, t: Req(
                content=tts_uplink(t.device_ids[0]), headers={"Content-Type": "application/json"}
            ),
            targeted=True,
            other=422,
        ),
        "POST /api/v1/ingest/chirpstack": Expect(
            GATEWAY,
            200,
            lambda m, t: Req(
                query={"event": "up"},
                content=chirpstack_uplink(t.device_ids[1]),
                headers={"Content-Type": "application/json"},
            ),
            targeted=True,
            other=422,
        ),
        "GET /api/v1/collections": Expect(
            FEED, 200, lambda m, t: Req(query={"since": (datetime.now(UTC) - timedelta(days=7)).isoformat()})
        ),
        "GET /api/v1/open/cities": Expect(None, 200),
        "GET /api/v1/open/cities/{slug}/figures": Expect(
            None, 200, lambda m, t: Req(path={"slug": t.slug}), targeted=True, other=200
        ),
        "GET /api/v1/open/cities/{slug}/waste-containers": Expect(
            None, 200, lambda m, t: Req(path={"slug": t.slug}), targeted=True, other=200
        ),
    }
    for name in (
        "container-types",
        "depots",
        "facilities",
        "vehicles",
        "bins",
        "sensors",
        "principals",
        "integrations",
        "events",
    ):
        e.update(_crud_expectations(name))
    return e


EXPECT = _expectations()


def _flat_routes(routes: list[Any]) -> list[Any]:
    """The app's routes with included routers expanded (FastAPI keeps included routers as one entry)."""
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out.extend(_flat_routes(list(inner.routes)) if inner is not None else [r])
    return out


def _route_keys() -> list[str]:
    app = create_app(SETTINGS, "postgresql://unused/unused")
    keys = []
    for r in _flat_routes(list(app.routes)):
        for method in sorted(getattr(r, "methods", None) or ()):
            if method not in ("HEAD", "OPTIONS"):
                keys.append(f"{method} {r.path}")
    documented = {f"{m.upper()} {p}" for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= set(keys), f"routes the expansion missed: {sorted(documented - set(keys))}"
    return keys


ROUTE_KEYS = _route_keys()


def test_every_route_has_an_expectation_and_no_stale_ones() -> None:
    assert sorted(set(ROUTE_KEYS) - set(EXPECT)) == [], "add these routes to EXPECT in test_isolation.py"
    assert sorted(set(EXPECT) - set(ROUTE_KEYS)) == [], "these EXPECT entries name no route any more"


def test_declared_roles_match_the_expectations() -> None:
    app = create_app(SETTINGS, "postgresql://unused/unused")
    for r in _flat_routes(list(app.routes)):
        if not isinstance(r, APIRoute):
            continue
        declared: set[str] = set()
        stack = list(r.dependant.dependencies)
        while stack:
            d = stack.pop()
            declared |= set(getattr(d.call, "roles", None) or ())
            stack.extend(d.dependencies)
        for method in r.methods or set():
            want = EXPECT[f"{method} {r.path}"].roles
            assert (set(want) if want is not None else set()) == declared, f"{method} {r.path}"


def _mask(text: str) -> str:
    """The answer with every number masked: ids differ between the other city's object and a missing one."""
    return re.sub(r"\d+", "N", text)


def _call(world: World, method: str, path: str, req: Req, key: str | None) -> Any:
    url = path.format(**req.path)
    headers = dict(req.headers)
    if key is not None:
        headers["X-API-Key"] = key
    return world.client.request(
        method,
        url,
        params=req.query,
        json=req.json if req.content is None else None,
        content=req.content,
        headers=headers,
    )


@pytest.mark.parametrize("route", ROUTE_KEYS)
def test_isolation_matrix(
    route: str, shared_world: World, in_savepoint: Callable[[Callable[[], Any]], Any]
) -> None:
    world = shared_world
    exp = EXPECT.get(route)
    assert exp is not None, f"{route} has no entry in EXPECT: decide who may call it and add it"
    method, path = route.split(" ", 1)
    failures: list[str] = []
    # both directions where an object is named; one direction suffices for the others
    pairs = ((world.a, world.b), (world.b, world.a)) if exp.targeted else ((world.a, world.b),)
    for mine, theirs in pairs:
        callers: list[str | None] = [None, *ROLES]
        for role in callers:
            key = mine.keys[role] if role is not None else None
            variants: list[tuple[str, Target]] = [("own", mine)]
            if exp.targeted:
                variants += [("other", theirs), ("missing", Missing())]
            answers: dict[str, tuple[int, str]] = {}
            for label, target in variants:
                req = exp.build(mine, target)
                r = in_savepoint(functools.partial(_call, world, method, path, req, key))
                if exp.roles is None:
                    want = exp.ok if label == "own" else exp.other if label == "other" else 404
                    if label == "missing" and exp.other == 200:
                        want = 404
                elif role is None:
                    want = 401
                elif role not in exp.roles:
                    want = 403
                else:
                    want = exp.ok if label == "own" else exp.other
                if r.status_code != want:
                    failures.append(
                        f"{mine.slug} {role or 'anonymous'} {label}: {r.status_code} != {want}: "
                        f"{r.text[:200]}"
                    )
                if r.status_code >= 400:
                    body = r.json()
                    if set(body) != {"error"} or set(body["error"]) != {"code", "message", "details"}:
                        failures.append(f"{mine.slug} {role} {label}: not the error envelope: {r.text[:200]}")
                elif exp.roles is not None and (theirs.prefix + "-" in r.text or theirs.slug in r.text):
                    failures.append(f"{mine.slug} {role} {label}: answer holds the other city's data")
                answers[label] = (r.status_code, _mask(r.text))
            if (
                exp.targeted
                and exp.roles is not None
                and "other" in answers
                and answers["other"] != answers["missing"]
            ):
                failures.append(
                    f"{mine.slug} {role}: another city's object answers unlike a missing one: "
                    f"{answers['other']} vs {answers['missing']}"
                )
    assert not failures, "\n".join(failures)


def test_masking_compares_messages_not_ids() -> None:
    assert _mask('{"m": "plan 17 not found"}') == _mask('{"m": "plan 2000000000 not found"}')
    assert _mask(json.dumps({"m": "plan 17 not found"})) != _mask('{"m": "no plan"}')
