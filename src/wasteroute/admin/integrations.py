"""Network-server integrations of a city: what an admin registers, and the broker ACL built from them.

===========  ==================================  ==========================================
kind         application_id                      topics the integration's broker user writes
===========  ==================================  ==========================================
tts          The Things Stack application id     ``v3/{application}@{tenant}/devices/+/up``
chirpstack   ChirpStack v4 application UUID      ``application/{uuid}/device/+/event/+``
native       the gateway's own id                ``wasteroute/{city}/sensors/+/up``
===========  ==================================  ==========================================

The Things Stack's MQTT server speaks QoS 0 to its own clients only; its uplinks reach our broker
through a bridge that logs in as the integration's ``broker_user``. ChirpStack's MQTT integration
and native gateways publish directly as that user.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from wasteroute.errors import Conflict
from wasteroute.storage.admin import CityObjects
from wasteroute.storage.integrations import Integration, IntegrationInfo, IntegrationRepository
from wasteroute.vocabulary import IntegrationKind

TOKEN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
BROKER_USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,119}$"
INGEST_USER = "wasteroute-ingest"
SIMULATOR_USER = "wasteroute-sim"
RESERVED_USERS = (INGEST_USER, SIMULATOR_USER)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IntegrationKind
    application_id: str = Field(
        pattern=TOKEN_PATTERN,
        description="The Things Stack application id, ChirpStack application UUID, or the gateway's id",
    )
    tenant_id: str = Field(
        default="",
        max_length=64,
        pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$",
        description="The Things Stack tenant (ttn on The Things Network; empty for the Open Source "
        "edition); ChirpStack tenant UUID (informative); empty for native gateways",
    )
    broker_user: str | None = Field(
        default=None,
        pattern=BROKER_USER_PATTERN,
        description="the MQTT user it publishes as (default: {kind}-{city}-{application_id})",
    )
    name: str = Field(default="", max_length=200)
    enabled: bool = True

    @model_validator(mode="after")
    def _shape(self) -> IntegrationCreate:
        if self.kind == IntegrationKind.CHIRPSTACK:
            try:
                # canonical form, as ChirpStack writes it in its topics (lower case, with hyphens)
                self.application_id = str(uuid.UUID(self.application_id))
            except ValueError:
                raise ValueError(
                    f"a ChirpStack v4 application id is a UUID, got {self.application_id!r}"
                ) from None
        if self.kind == IntegrationKind.NATIVE and self.tenant_id:
            raise ValueError("a native gateway has no tenant; leave tenant_id empty")
        _check_user(self.broker_user)
        return self


class IntegrationUpdate(BaseModel):
    """Kind, application and tenant are the integration's identity: register a new one to change them."""

    model_config = ConfigDict(extra="forbid")

    broker_user: str | None = Field(default=None, pattern=BROKER_USER_PATTERN)
    name: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _user(self) -> IntegrationUpdate:
        _check_user(self.broker_user)
        return self


def _check_user(user: str | None) -> None:
    if user in RESERVED_USERS:
        raise ValueError(f"broker_user {user!r} is reserved for wasteroute's own clients")


class IntegrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    application_id: str
    tenant_id: str
    topic_prefix: str = Field(description="the topics of this integration start with this prefix")
    broker_user: str
    name: str
    enabled: bool
    created_at: datetime


def topic_prefix(kind: str, city_slug: str, application_id: str, tenant_id: str = "") -> str:
    """The topic prefix an integration publishes under (see the module table)."""
    if kind == IntegrationKind.TTS:
        return f"v3/{application_id}@{tenant_id}" if tenant_id else f"v3/{application_id}"
    if kind == IntegrationKind.CHIRPSTACK:
        return f"application/{application_id}"
    if kind == IntegrationKind.NATIVE:
        return f"wasteroute/{city_slug}"
    raise ValueError(f"kind must be tts, chirpstack or native, got {kind!r}")


def default_broker_user(kind: str, city_slug: str, application_id: str) -> str:
    """``{kind}-{city}-{application id}`` (a ChirpStack UUID shortened to its first 8 digits)."""
    app = application_id[:8] if kind == IntegrationKind.CHIRPSTACK else application_id
    return _UNSAFE.sub("-", f"{kind}-{city_slug}-{app}")[:120]


def complete(values: dict[str, Any], city_slug: str) -> dict[str, Any]:
    """The row to insert for a validated :class:`IntegrationCreate` dump: topic prefix and default
    broker user filled in."""
    out = dict(values)
    out["topic_prefix"] = topic_prefix(
        out["kind"], city_slug, out["application_id"], out.get("tenant_id", "")
    )
    if not out.get("broker_user"):
        out["broker_user"] = default_broker_user(out["kind"], city_slug, out["application_id"])
    return out


def refuse_taken(
    repo: IntegrationRepository, values: dict[str, Any], *, integration_id: int | None = None
) -> None:
    """Raise :class:`Conflict` with the reason when the application (kind, application id, tenant) or
    the broker user of ``values`` is registered already, by any city (an application and a broker
    user belong to one integration of one city). ``integration_id``: the integration being changed
    (its own broker user is not a conflict). The database's unique keys refuse what a concurrent
    registration slips past this check."""
    if "kind" in values:
        label = values["application_id"] + (
            f"@{values['tenant_id']}" if values.get("tenant_id") and values["kind"] == "tts" else ""
        )
        if repo.application_taken(values["kind"], values["application_id"], values.get("tenant_id", "")):
            raise Conflict(
                f"the {values['kind']} application {label} is registered already (an application "
                "belongs to one integration of one city)"
            )
    user = values.get("broker_user")
    if user and repo.broker_user_taken(user, exclude_id=integration_id):
        raise Conflict(f"broker user {user!r} is taken by another integration; choose another broker_user")


def register(session: Session, city_id: int, city_slug: str, body: IntegrationCreate) -> Integration:
    """Register ``body`` as an integration of the city (the caller commits). Raises
    :class:`Conflict` when its application or broker user is registered already."""
    values = complete(body.model_dump(), city_slug)
    refuse_taken(IntegrationRepository(session), values)
    row = CityObjects(session).create(Integration, {"city_id": city_id, **values})
    session.refresh(row)
    return row


def _write_topics(i: IntegrationInfo) -> list[str]:
    if i.kind == IntegrationKind.TTS:
        return [f"{i.topic_prefix}/devices/+/up"]
    if i.kind == IntegrationKind.CHIRPSTACK:
        return [f"{i.topic_prefix}/device/+/event/+"]
    return [f"{i.topic_prefix}/sensors/+/up"]


def render_acl(integrations: Iterable[IntegrationInfo], *, simulator: bool = False) -> str:
    """A mosquitto ``acl_file``: the ingestor reads every uplink; each enabled integration's broker user
    writes only its own topics; disabled integrations get no rights. ``simulator`` adds the
    simulator's user, which may write every city's topics (demos and load tests only)."""
    lines = [
        "# Access control for wasteroute's broker (mosquitto acl_file), generated from the integration",
        "# registry by 'wasteroute broker-acl'. Everything not granted here is denied. Regenerate after",
        "# registering or disabling an integration, then send mosquitto SIGHUP to reload; each broker user",
        "# needs a password (mosquitto_passwd <password file> <user>).",
        "",
        "# the ingestor (and any shared-subscription member): read all uplinks",
        f"user {INGEST_USER}",
        "topic read wasteroute/+/sensors/+/up",
        "topic read v3/+/devices/+/up",
        "topic read application/+/device/+/event/up",
        "topic read $share/+/wasteroute/+/sensors/+/up",
        "topic read $share/+/v3/+/devices/+/up",
        "topic read $share/+/application/+/device/+/event/up",
    ]
    for i in sorted(integrations, key=lambda x: (x.city_slug, x.kind, x.application_id, x.tenant_id)):
        if not i.enabled:
            continue
        lines += ["", f"# {i.city_slug}: {i.label}", f"user {i.broker_user}"]
        lines += [f"topic write {t}" for t in _write_topics(i)]
    if simulator:
        lines += [
            "",
            "# the simulator in demos and load tests: writes every city's topics; not for production",
            f"user {SIMULATOR_USER}",
            "topic write wasteroute/+/sensors/+/up",
            "topic write v3/+/devices/+/up",
            "topic write application/+/device/+/event/up",
        ]
    return "\n".join(lines) + "\n"
