"""The integration rules without I/O: which uplink may arrive through which integration, what an admin
may register, and the broker ACL generated from the registry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wasteroute.admin.integrations import (
    IntegrationCreate,
    complete,
    default_broker_user,
    render_acl,
    topic_prefix,
)
from wasteroute.ingest.integrations import IntegrationRegistry, Refusal, check_integration
from wasteroute.storage.integrations import IntegrationInfo

LUEBECK, ROSTOCK = 1, 2
CS_LUEBECK = "7f0c56f4-3a3c-4c35-9a5d-2f3c4a3c0001"
CS_ROSTOCK = "7f0c56f4-3a3c-4c35-9a5d-2f3c4a3c0002"


def _info(
    iid: int, city: int, kind: str, app: str, tenant: str = "", enabled: bool = True
) -> IntegrationInfo:
    slug = "luebeck" if city == LUEBECK else "rostock"
    return IntegrationInfo(
        iid,
        city,
        slug,
        kind,
        app,
        tenant,
        topic_prefix(kind, slug, app, tenant),
        default_broker_user(kind, slug, app),
        enabled,
    )


REGISTRY = IntegrationRegistry(
    [
        _info(1, LUEBECK, "tts", "luebeck-bins", "ttn"),
        _info(2, LUEBECK, "chirpstack", CS_LUEBECK),
        _info(3, ROSTOCK, "tts", "rostock-bins", "ttn"),
        _info(4, ROSTOCK, "chirpstack", CS_ROSTOCK),
        _info(5, LUEBECK, "tts", "old-bins", "ttn", enabled=False),
        _info(6, LUEBECK, "tts", "shared-name", "ttn"),
        _info(7, ROSTOCK, "tts", "shared-name", "eu1"),
    ]
)


def _check(
    source: str, app: str | None, device_city: int, *, caller: int | None = None, tenant: str | None = "ttn"
) -> Refusal | None:
    """``tenant``: what the topic names (a webhook names none: ``None``; ChirpStack ignores it)."""
    return check_integration(
        REGISTRY,
        source=source,
        application_id=app,
        tenant_id=tenant,
        device_id="70b3d57ee0000001",
        device_city_id=device_city,
        caller_city_id=caller,
    )


@pytest.mark.parametrize(
    ("source", "app", "caller"),
    [
        ("tts", "luebeck-bins", None),
        ("chirpstack", CS_LUEBECK, None),
        ("webhook-tts", "luebeck-bins", LUEBECK),
        ("webhook-chirpstack", CS_LUEBECK, LUEBECK),
    ],
)
def test_own_device_through_own_integration_passes_and_another_citys_is_wrong_city(
    source: str, app: str, caller: int | None
) -> None:
    tenant = None if source.startswith("webhook") else "ttn"
    assert _check(source, app, LUEBECK, caller=caller, tenant=tenant) is None
    refusal = _check(source, app, ROSTOCK, caller=caller, tenant=tenant)
    assert refusal is not None and refusal.reason == "wrong_city"
    assert refusal.city_id == LUEBECK  # filed under the integration's (and the key's) city
    assert "rostock" not in refusal.detail


def test_a_key_delivers_only_its_own_citys_devices_whatever_application_the_body_names() -> None:
    # a Rostock device under Rostock's own application, sent with Lübeck's gateway key
    refusal = _check("webhook-tts", "rostock-bins", ROSTOCK, caller=LUEBECK, tenant=None)
    assert refusal == Refusal("wrong_city", refusal.detail if refusal else "", LUEBECK)
    # Rostock's key naming Lübeck's application for a Rostock device
    refusal = _check("webhook-chirpstack", CS_LUEBECK, ROSTOCK, caller=ROSTOCK)
    assert refusal is not None and (refusal.reason, refusal.city_id) == ("wrong_city", ROSTOCK)
    # an application nobody registered, for a device of a city that registered some: the key's city
    # is not the device's, so it is wrong_city before unknown_integration (nothing about Rostock leaks)
    refusal = _check("webhook-tts", "nobodys-app", ROSTOCK, caller=LUEBECK, tenant=None)
    assert refusal is not None and refusal.reason == "wrong_city"


def test_an_unregistered_application_is_refused_only_for_cities_that_registered_that_network_server() -> None:
    refusal = _check("tts", "nobodys-app", LUEBECK)
    assert refusal is not None and (refusal.reason, refusal.city_id) == ("unknown_integration", LUEBECK)
    assert "wasteroute integration add" in refusal.detail
    no_native = IntegrationRegistry([_info(1, LUEBECK, "tts", "luebeck-bins", "ttn")])
    # Rostock registered no ChirpStack application: its devices are served by their own city as before
    assert (
        check_integration(
            no_native,
            source="chirpstack",
            application_id=CS_ROSTOCK,
            tenant_id=None,
            device_id="x",
            device_city_id=ROSTOCK,
        )
        is None
    )
    assert _check("native", None, ROSTOCK) is None  # native topics are checked by their city instead


def test_a_disabled_integration_refuses_its_own_devices_and_still_names_another_citys_wrong_city() -> None:
    refusal = _check("tts", "old-bins", LUEBECK)
    assert refusal is not None and refusal.reason == "integration_disabled"
    refusal = _check("tts", "old-bins", ROSTOCK)
    assert refusal is not None and refusal.reason == "wrong_city"


def test_the_things_stack_tenant_must_match_and_a_webhook_without_tenant_finds_its_citys_application() -> (
    None
):
    # luebeck-bins is registered under tenant ttn; the same id without a tenant is another application
    assert REGISTRY.find("tts", "luebeck-bins", "") is None
    assert REGISTRY.find("tts", "luebeck-bins", "ttn") is not None
    # one application id under two tenants of two cities: a webhook (no tenant) is told apart by its key
    assert REGISTRY.find("tts", "shared-name", None) is None
    found = REGISTRY.find("tts", "shared-name", None, city_id=ROSTOCK)
    assert found is not None and found.tenant_id == "eu1"
    assert _check("webhook-tts", "shared-name", ROSTOCK, caller=ROSTOCK, tenant=None) is None


def test_chirpstack_application_ids_match_in_any_case() -> None:
    found = REGISTRY.find("chirpstack", CS_LUEBECK.upper(), None)
    assert found is not None and found.city_id == LUEBECK
    assert REGISTRY.knows("chirpstack", CS_ROSTOCK.upper())


# --------------------------------------------------------------------------------------------------
# what an admin may register


def test_registration_fills_in_the_topic_prefix_and_a_default_broker_user() -> None:
    tts = complete(
        IntegrationCreate(kind="tts", application_id="luebeck-bins", tenant_id="ttn").model_dump(), "luebeck"
    )
    assert (tts["topic_prefix"], tts["broker_user"]) == ("v3/luebeck-bins@ttn", "tts-luebeck-luebeck-bins")
    body = IntegrationCreate(kind="chirpstack", application_id=CS_LUEBECK.upper())
    assert body.application_id == CS_LUEBECK  # stored as ChirpStack writes it in its topics
    cs = complete(body.model_dump(), "luebeck")
    assert (cs["topic_prefix"], cs["broker_user"]) == (
        f"application/{CS_LUEBECK}",
        "chirpstack-luebeck-7f0c56f4",
    )
    native = complete(IntegrationCreate(kind="native", application_id="gw-7").model_dump(), "luebeck")
    assert native["topic_prefix"] == "wasteroute/luebeck"
    assert topic_prefix("tts", "x", "os-app") == "v3/os-app"  # The Things Stack Open Source: no tenant


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"kind": "chirpstack", "application_id": "not-a-uuid"}, "a ChirpStack v4 application id is a UUID"),
        ({"kind": "native", "application_id": "gw-1", "tenant_id": "ttn"}, "a native gateway has no tenant"),
        ({"kind": "tts", "application_id": "a", "broker_user": "wasteroute-ingest"}, "is reserved"),
        ({"kind": "tts", "application_id": "a/b"}, "should match pattern"),
        ({"kind": "tts", "application_id": "a", "tenant_id": "t+"}, "should match pattern"),
        ({"kind": "mqtt", "application_id": "a"}, "'tts', 'chirpstack' or 'native'"),
        ({"kind": "tts", "application_id": "a", "topic_prefix": "#"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_registrations_are_refused_with_what_was_expected(body: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        IntegrationCreate.model_validate(body)


# --------------------------------------------------------------------------------------------------
# the broker ACL


def _blocks(acl: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    user = ""
    for line in acl.splitlines():
        if line.startswith("user "):
            user = line.split(" ", 1)[1]
            out[user] = []
        elif line.startswith("topic "):
            out[user].append(line)
    return out


def test_the_acl_lets_each_enabled_integration_write_only_its_own_topics() -> None:
    blocks = _blocks(render_acl(REGISTRY.items))
    assert blocks["tts-luebeck-luebeck-bins"] == ["topic write v3/luebeck-bins@ttn/devices/+/up"]
    assert blocks["chirpstack-luebeck-7f0c56f4"] == [f"topic write application/{CS_LUEBECK}/device/+/event/+"]
    assert blocks["tts-rostock-rostock-bins"] == ["topic write v3/rostock-bins@ttn/devices/+/up"]
    assert "tts-luebeck-old-bins" not in blocks  # disabled: no rights at all
    assert all(t.startswith("topic read ") for t in blocks["wasteroute-ingest"])
    assert all(
        t.startswith("topic write ") for u, ts in blocks.items() if u != "wasteroute-ingest" for t in ts
    )
    assert "wasteroute-sim" not in blocks
    assert "wasteroute-sim" in _blocks(render_acl(REGISTRY.items, simulator=True))
    native = _blocks(render_acl([_info(9, ROSTOCK, "native", "gw-3")]))
    assert native["native-rostock-gw-3"] == ["topic write wasteroute/rostock/sensors/+/up"]
