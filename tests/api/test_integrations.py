"""Registering network-server integrations: through the admin API and the command line, with the
refusals an admin meets (an application or broker user registered already, an unknown city, bad
input), and the broker ACL file the command line writes from the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.support import World
from wasteroute.cli import main

PATH = "/api/v1/admin/integrations"
CS_APP = "5b6e2f60-2bd4-4a7e-9b47-0c1d2e3f4a5b"


def _post(world: World, body: dict[str, Any], city: str = "a") -> httpx.Response:
    r: httpx.Response = world.client.post(PATH, json=body, headers=world.key("admin", city))
    return r


def test_an_admin_registers_lists_disables_and_removes_an_integration_of_their_city(world: World) -> None:
    h = world.key("admin")
    created = _post(world, {"kind": "tts", "application_id": "testhafen-bins", "tenant_id": "ttn"})
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["topic_prefix"] == "v3/testhafen-bins@ttn"
    assert row["broker_user"] == "tts-testhafen-testhafen-bins" and row["enabled"] is True
    cs = _post(world, {"kind": "chirpstack", "application_id": CS_APP.upper(), "broker_user": "cs-th"})
    assert cs.status_code == 201 and cs.json()["application_id"] == CS_APP
    assert cs.json()["topic_prefix"] == f"application/{CS_APP}"

    own = world.client.get(PATH, headers=h).json()
    assert {i["application_id"] for i in own["items"]} >= {"testhafen-bins", CS_APP}
    other = world.client.get(PATH, headers=world.key("admin", "b")).json()
    assert not {i["application_id"] for i in other["items"]} & {"testhafen-bins", CS_APP}

    off = world.client.patch(f"{PATH}/{row['id']}", json={"enabled": False}, headers=h)
    assert off.status_code == 200 and off.json()["enabled"] is False
    same_user = world.client.patch(f"{PATH}/{row['id']}", json={"broker_user": row["broker_user"]}, headers=h)
    assert same_user.status_code == 200  # its own broker user is no conflict
    assert world.client.delete(f"{PATH}/{row['id']}", headers=h).status_code == 204
    assert world.client.get(f"{PATH}/{row['id']}", headers=h).status_code == 404


def test_an_application_registered_already_is_a_conflict_in_any_city(world: World) -> None:
    assert _post(world, {"kind": "tts", "application_id": "bins", "tenant_id": "ttn"}).status_code == 201
    again = _post(world, {"kind": "tts", "application_id": "bins", "tenant_id": "ttn", "broker_user": "x1"})
    other_city = _post(
        world, {"kind": "tts", "application_id": "bins", "tenant_id": "ttn", "broker_user": "x2"}, "b"
    )
    for r in (again, other_city):
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "conflict"
        assert err["message"].startswith("the tts application bins@ttn is registered already")
        assert "testhafen" not in err["message"]  # the other city is not named
    # the same application id under another tenant is another application
    assert _post(world, {"kind": "tts", "application_id": "bins", "tenant_id": "eu1"}, "b").status_code == 201
    assert _post(world, {"kind": "chirpstack", "application_id": CS_APP}).status_code == 201
    cs_again = _post(world, {"kind": "chirpstack", "application_id": CS_APP.upper(), "tenant_id": "t2"}, "b")
    assert cs_again.status_code == 409 and "chirpstack application" in cs_again.json()["error"]["message"]


def test_a_broker_user_taken_by_another_integration_is_a_conflict(world: World) -> None:
    first = _post(world, {"kind": "native", "application_id": "gw-1", "broker_user": "gw-shared"})
    assert first.status_code == 201
    taken = _post(world, {"kind": "native", "application_id": "gw-9", "broker_user": "gw-shared"}, "b")
    assert taken.status_code == 409
    assert taken.json()["error"]["message"] == (
        "broker user 'gw-shared' is taken by another integration; choose another broker_user"
    )
    second = _post(world, {"kind": "native", "application_id": "gw-2"})
    moved = world.client.patch(
        f"{PATH}/{second.json()['id']}", json={"broker_user": "gw-shared"}, headers=world.key("admin")
    )
    assert moved.status_code == 409 and "is taken" in moved.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"kind": "chirpstack", "application_id": "not-a-uuid"}, "a ChirpStack v4 application id is a UUID"),
        ({"kind": "native", "application_id": "gw-1", "tenant_id": "ttn"}, "a native gateway has no tenant"),
        ({"kind": "tts", "application_id": "x", "broker_user": "wasteroute-ingest"}, "is reserved"),
        ({"kind": "tts", "application_id": "../x"}, "String should match pattern"),
        ({"kind": "lorawan", "application_id": "x"}, "Input should be 'tts', 'chirpstack' or 'native'"),
        ({"application_id": "x"}, "Field required"),
    ],
)
def test_bad_input_answers_422_with_what_was_expected(
    world: World, body: dict[str, Any], expected: str
) -> None:
    r = _post(world, body)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_input"
    assert any(expected in d["msg"] for d in err["details"]), err


def test_identity_cannot_be_changed_and_only_admins_register(world: World) -> None:
    row = _post(world, {"kind": "tts", "application_id": "fixed", "tenant_id": "ttn"}).json()
    moved = world.client.patch(f"{PATH}/{row['id']}", json={"kind": "chirpstack"}, headers=world.key("admin"))
    assert moved.status_code == 422
    for role in ("dispatcher", "driver", "gateway"):
        r = world.client.post(
            PATH, json={"kind": "native", "application_id": "gw-x"}, headers=world.key(role)
        )
        assert r.status_code == 403, role


# --------------------------------------------------------------------------------------------------
# the command line (in this process, against a committed database)


def _cli(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("WASTEROUTE_DATABASE_URL", url)
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_line_registers_refuses_and_writes_the_broker_acl(
    mini_city_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        return _cli(mini_city_url, monkeypatch, capsys, *args)

    add_tts = [
        "integration",
        "add",
        "--city",
        "testhafen",
        "--kind",
        "tts",
        "--application",
        "th-bins",
        "--tenant",
        "ttn",
    ]

    code, out, _ = cli(*add_tts)
    assert code == 0, out
    tts = json.loads(out)
    assert (tts["topic_prefix"], tts["broker_user"]) == ("v3/th-bins@ttn", "tts-testhafen-th-bins")
    code, out, _ = cli(
        "integration", "add", "--city", "testhafen", "--kind", "chirpstack", "--application", CS_APP
    )
    assert code == 0
    cs_id = json.loads(out)["id"]

    code, _, err = cli(*add_tts, "--broker-user", "another")
    assert code == 1 and "not registered: the tts application th-bins@ttn is registered already" in err
    code, _, err = cli("integration", "add", "--city", "atlantis", "--kind", "native", "--application", "gw")
    assert code == 2 and "no city 'atlantis'" in err
    code, _, err = cli("integration", "list", "--city", "atlantis")
    assert code == 2 and "no city 'atlantis'" in err
    code, _, err = cli(
        "integration", "add", "--city", "testhafen", "--kind", "chirpstack", "--application", "app-1"
    )
    assert code == 2 and "a ChirpStack v4 application id is a UUID, got 'app-1'" in err
    code, _, err = cli("integration", "add", "--city", "testhafen", "--application", "x")
    assert code == 2 and err.startswith("kind: ")
    code, _, err = cli("integration", "disable", "--city", "testhafen", "--id", "999999")
    assert code == 2 and "no integration 999999 in testhafen" in err

    code, out, _ = cli("integration", "disable", "--city", "testhafen", "--id", str(cs_id))
    assert code == 0 and json.loads(out)["enabled"] is False
    code, out, _ = cli("integration", "list", "--city", "testhafen")
    listed = {r["application_id"]: r for r in map(json.loads, out.splitlines())}
    assert set(listed) == {"th-bins", CS_APP} and listed[CS_APP]["enabled"] is False

    acl_file = tmp_path / "wasteroute.acl"
    assert cli("broker-acl", "--output", str(acl_file))[0] == 0
    acl = acl_file.read_text()
    assert "user tts-testhafen-th-bins\ntopic write v3/th-bins@ttn/devices/+/up\n" in acl
    assert "chirpstack-testhafen" not in acl  # disabled: no rights
    assert "user wasteroute-ingest\n" in acl and "wasteroute-sim" not in acl
    code, out, _ = cli("broker-acl", "--simulator")
    assert code == 0 and "user wasteroute-sim" in out

    code, out, _ = cli("integration", "remove", "--city", "testhafen", "--id", str(cs_id))
    assert code == 0 and json.loads(out) == {"removed": cs_id}
