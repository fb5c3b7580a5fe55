"""The API against careless and hostile callers: failed keys are limited per client address, a key is
checked before the body, CSV cells that spreadsheets would run are refused on import and neutralised on
export, and only the open data may be read from other sites."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.support import World
from wasteroute.api.throttle import FailedAuthLimiter, client_address
from wasteroute.runtime.ports import free_port
from wasteroute.storage.db import make_engine, make_session_factory, transaction
from wasteroute.storage.principals import PrincipalRepository

WRONG = {"X-API-Key": "wr_0123456789ab_not-the-secret"}


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def _from(world: World, host: str) -> TestClient:
    """A client of the same app that connects from ``host``."""
    return TestClient(world.app, raise_server_exceptions=False, client=(host, 40_000))


# --------------------------------------------------------------------------------------------------
# failed authentications per client address


def test_a_flood_of_wrong_keys_gets_429_after_the_burst_and_valid_keys_elsewhere_keep_working(
    world: World,
) -> None:
    clock = FakeClock()
    world.app.state.auth_failures = FailedAuthLimiter(burst=20, refill_s=6.0, clock=clock)
    attacker = _from(world, "198.51.100.7")
    codes = [attacker.get("/api/v1/bins", headers=WRONG).status_code for _ in range(300)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    limited = attacker.get("/api/v1/bins", headers=WRONG)
    assert limited.json()["error"]["code"] == "too_many_requests"
    assert limited.headers["Retry-After"] == "6"
    # while limited, even a valid key from that address is not checked (no oracle for a guesser)
    assert attacker.get("/api/v1/bins", headers=world.key("dispatcher")).status_code == 429
    # the driver's tour (its own authentication path) is limited the same way
    assert attacker.get("/api/v1/driver/tour", headers=WRONG).status_code == 429

    tablet = _from(world, "203.0.113.20")
    for _ in range(50):  # successful keys are never counted
        assert tablet.get("/api/v1/driver/tour", headers=world.key("driver")).status_code == 200
    assert tablet.get("/api/v1/bins", headers=world.key("dispatcher")).status_code == 200

    clock.t += 6.0  # one more try earned
    assert attacker.get("/api/v1/bins", headers=world.key("dispatcher")).status_code == 200
    assert attacker.get("/api/v1/bins", headers=WRONG).status_code == 401
    assert attacker.get("/api/v1/bins", headers=WRONG).status_code == 429


def test_requests_without_a_key_are_not_counted(world: World) -> None:
    world.app.state.auth_failures = FailedAuthLimiter(burst=3, refill_s=60.0)
    anonymous = _from(world, "192.0.2.50")
    assert {anonymous.get("/api/v1/bins").status_code for _ in range(10)} == {401}
    assert anonymous.get("/api/v1/bins", headers=world.key("dispatcher")).status_code == 200


def test_the_limiter_forgets_old_addresses_and_counts_ipv6_per_64() -> None:
    clock = FakeClock()
    limiter = FailedAuthLimiter(burst=2, refill_s=10.0, max_clients=100, clock=clock)
    for i in range(10_000):
        limiter.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(limiter) == 100  # bounded whatever the number of addresses
    assert limiter.retry_after_s("10.0.0.0") is None  # the oldest were forgotten
    limiter.failed("10.0.39.15")  # the newest: its second failure
    assert limiter.retry_after_s("10.0.39.15") == 10
    clock.t += 25
    assert limiter.retry_after_s("10.0.39.15") is None and len(limiter) == 99  # full again: dropped
    assert client_address("2001:db8:1:2:aaaa::1") == client_address("2001:db8:1:2:bbbb::9")
    assert client_address("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:3::1") != client_address("2001:db8:1:2::1")
    assert client_address("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_address(None) == "unknown"


# --------------------------------------------------------------------------------------------------
# the key before the body


def _post_broken(client: TestClient, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST a JSON body cut off in the middle."""
    r: httpx.Response = client.post(
        path,
        content=b'{"fraction": "residual",',
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    return r


def test_a_malformed_body_without_a_valid_key_answers_401_not_422(world: World) -> None:
    no_key = _post_broken(world.client, "/api/v1/plans")
    assert no_key.status_code == 401 and no_key.headers["WWW-Authenticate"] == "Bearer"
    assert _post_broken(world.client, "/api/v1/plans", WRONG).status_code == 401
    assert _post_broken(world.client, "/api/v1/plans", world.key("driver")).status_code == 403
    bearer = {"Authorization": f"Bearer {world.a.keys['dispatcher']}"}
    allowed = _post_broken(world.client, "/api/v1/plans", bearer)
    assert allowed.status_code == 422 and allowed.json()["error"]["details"][0]["type"] == "json_invalid"
    assert _post_broken(world.client, "/api/v1/ingest/tts").status_code == 401
    assert _post_broken(world.client, "/api/v1/admin/integrations", world.key("gateway")).status_code == 403


def test_a_throttled_address_gets_429_for_a_malformed_body_too(world: World) -> None:
    world.app.state.auth_failures = FailedAuthLimiter(burst=1, refill_s=60.0)
    client = _from(world, "198.51.100.9")
    assert _post_broken(client, "/api/v1/plans", WRONG).status_code == 401
    assert _post_broken(client, "/api/v1/plans", WRONG).status_code == 429


# --------------------------------------------------------------------------------------------------
# CSV cells that spreadsheets run


def _import_csv(world: World, text: str) -> httpx.Response:
    r: httpx.Response = world.client.post(
        "/api/v1/admin/bins/import/csv",
        content=text.encode(),
        headers={**world.key("admin"), "Content-Type": "text/csv"},
    )
    return r


def test_csv_cells_that_start_a_formula_are_refused_per_row_and_negative_numbers_are_not(
    world: World,
) -> None:
    rows = [
        "external_id,lon,lat,fraction,container_type,site_id",
        "ok-1,10.70,53.87,paper,wheelie-1100,S-1",
        "\"=cmd|' /C calc'!A0\",10.70,53.87,paper,wheelie-1100,",
        "f-2,10.70,53.87,paper,wheelie-1100,+49123",
        "f-3,10.70,53.87,paper,wheelie-1100,-2+3",
        "f-4,10.70,53.87,paper,wheelie-1100,@SUM(A1)",
        'f-5,10.70,53.87,paper,wheelie-1100,"\tx"',
        'f-6,10.70,53.87,paper,wheelie-1100,"\r=1"',
        "f-7,=1+1,53.87,paper,wheelie-1100,",
        "west-1,-3.70,40.41,paper,wheelie-1100,S-2",
    ]
    r = _import_csv(world, "\n".join(rows) + "\n")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["imported"] == 2
    errors = {e["row"]: e for e in report["errors"]}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8]
    assert errors[2]["errors"] == [
        "external_id: \"=cmd|' /C calc'!A0\" starts with '=', which spreadsheets run as a formula; "
        "expected text that starts with a letter or a digit"
    ]
    assert "starts with a tab" in errors[6]["errors"][0]
    assert "starts with a carriage return" in errors[7]["errors"][0]
    assert errors[8]["errors"] == [
        "lon: '=1+1' starts with '=', which spreadsheets run as a formula; expected a number"
    ]
    bins = world.client.get("/api/v1/admin/bins", params={"limit": 1000}, headers=world.key("admin")).json()
    ids = {b["external_id"] for b in bins["items"]}
    assert {"ok-1", "west-1"} <= ids and not any(i.startswith(("=", "f-")) for i in ids)


def test_the_csv_export_neutralises_formula_text_and_reimports_cleanly(world: World) -> None:
    h = world.key("admin")
    # an id that arrived another way (the admin API) still must not run when exported
    created = world.client.post(
        "/api/v1/admin/bins",
        json={
            "external_id": '=HYPERLINK("http://x")',
            "lon": -3.7,
            "lat": 40.4,
            "fraction": "glass",
            "container_type_id": world.a.container_type_id,
            "site_id": "@evil",
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    r = world.client.get("/api/v1/admin/bins/export/csv", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 25 + 1
    evil = next(row for row in rows if "HYPERLINK" in row["external_id"])
    assert evil["external_id"] == '\'=HYPERLINK("http://x")' and evil["site_id"] == "'@evil"
    assert evil["lon"] == "-3.7"  # a number stays a number
    plain = next(row for row in rows if row["external_id"] == "TH-0001")
    assert plain["device_id"] and plain["container_type"] == "wheelie-1100"
    assert (
        world.client.get("/api/v1/admin/bins/export/csv", headers=world.key("dispatcher")).status_code == 403
    )
    # the export is the import's format: the city's own rows import again without a single error
    again = _import_csv(
        world, r.text.replace(next(line for line in r.text.splitlines() if "HYPERLINK" in line) + "\r\n", "")
    )
    assert again.status_code == 200 and again.json()["errors"] == [] and again.json()["imported"] == 25


# --------------------------------------------------------------------------------------------------
# cross-origin reads


def test_only_the_open_data_may_be_read_from_other_sites(world: World) -> None:
    origin = {"Origin": "https://transparenz.example.org"}
    for path in ("/api/v1/open/cities", "/api/v1/open/cities/testhafen/figures"):
        r = world.client.get(path, headers=origin)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*", path
        assert "access-control-allow-credentials" not in r.headers
    preflight = world.client.options(
        "/api/v1/open/cities/testhafen/waste-containers",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accept",
        },
    )
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]
    keyed = world.client.get("/api/v1/bins", headers={**origin, **world.key("dispatcher")})
    assert keyed.status_code == 200 and "access-control-allow-origin" not in keyed.headers
    keyed_preflight = world.client.options(
        "/api/v1/bins", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in keyed_preflight.headers
    post_preflight = world.client.options(
        "/api/v1/open/cities", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert post_preflight.status_code == 400


# --------------------------------------------------------------------------------------------------
# metrics on a port of their own


def test_metrics_are_served_on_their_own_port_not_on_the_api(mini_city_url: str, tmp_path: Path) -> None:
    engine = make_engine(mini_city_url, pool_size=1)
    try:
        with transaction(make_session_factory(engine)) as s:
            city_id = s.execute(text("SELECT id FROM city")).scalar_one()
            key = (
                PrincipalRepository(s, "development-only-secret")
                .create(city_id=city_id, name="gw", role="gateway")
                .key
            )
    finally:
        engine.dispose()
    api_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "WASTEROUTE_DATABASE_URL": mini_city_url,
        "WASTEROUTE_API_METRICS_PORT": str(metrics_port),
        "WASTEROUTE_DATA_DIR": str(tmp_path),
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasteroute", "serve", "--port", str(api_port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text()[-2000:])
        assert httpx.get(f"{base}/metrics").status_code == 404
        body = json.dumps({"deviceInfo": {"devEui": "70b3d57ed0000001"}, "object": {"Distance": "500 mm"}})
        r = httpx.post(
            f"{base}/api/v1/ingest/chirpstack",
            content=body,
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert 'wasteroute_ingest_received_total{channel="webhook"} 1.0' in scraped
        assert "wasteroute_ingest_stored_total 1.0" in scraped
        assert "process_cpu_seconds_total" in scraped
    finally:
        proc.terminate()
        proc.wait(20)
