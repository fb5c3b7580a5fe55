"""Which city an uplink came through, and whether its device may come that way.

A network-server uplink (The Things Stack, ChirpStack; by MQTT or webhook) names its application.
When a city has registered that application as an integration, the uplink belongs to that city:
a device of another city under it is refused as ``wrong_city`` (a Rostock DevEUI under
``v3/luebeck-bins@ttn/...``). A city that has registered integrations of a network server receives
that server's uplinks only through them: an application nobody registered is refused as
``unknown_integration`` for its devices. A city without any integration of that server is served
as before integrations existed (by the device's city alone), so a deployment can register its
applications one city at a time.

The check itself, :func:`check_integration`, is pure; :class:`IntegrationDirectory` keeps the
registry fresh from the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wasteroute.storage.integrations import IntegrationInfo

log = logging.getLogger(__name__)

SOURCE_KIND = {
    "tts": "tts",
    "webhook-tts": "tts",
    "chirpstack": "chirpstack",
    "webhook-chirpstack": "chirpstack",
}
"""Reading source -> the integration kind it arrives through (native readings carry their city in the
topic and are checked against it instead)."""


class IntegrationRegistry:
    """An immutable snapshot of the registered integrations, indexed for the ingest hot path."""

    def __init__(self, integrations: Iterable[IntegrationInfo] = ()) -> None:
        self._by_app: dict[tuple[str, str], list[IntegrationInfo]] = {}
        self._kinds_by_city: dict[int, set[str]] = {}
        self.items: tuple[IntegrationInfo, ...] = tuple(integrations)
        for i in self.items:
            self._by_app.setdefault((i.kind, i.application_id), []).append(i)
            self._kinds_by_city.setdefault(i.city_id, set()).add(i.kind)

    def find(
        self, kind: str, application_id: str | None, tenant_id: str | None, city_id: int | None = None
    ) -> IntegrationInfo | None:
        """The integration of ``kind`` registered for this application.

        The Things Stack: the tenant must match (``""`` is the Open Source edition's "no tenant");
        a webhook body names no tenant (``tenant_id=None``): the application's only registration,
        or among several (one application id under several tenants) the one of ``city_id`` (the
        sending key's city). ChirpStack application ids are UUIDs: the tenant is not compared.
        """
        if application_id is None:
            return None
        if kind == "chirpstack":
            application_id = application_id.lower()  # registered in canonical (lower-case) form
        candidates = self._by_app.get((kind, application_id))
        if not candidates:
            return None
        if kind != "tts":
            return candidates[0]
        if tenant_id is None:
            if len(candidates) > 1 and city_id is not None:
                candidates = [c for c in candidates if c.city_id == city_id]
            return candidates[0] if len(candidates) == 1 else None
        return next((c for c in candidates if c.tenant_id == tenant_id), None)

    def knows(self, kind: str, application_id: str) -> bool:
        """Whether any integration of ``kind`` is registered for this application (any tenant)."""
        if kind == "chirpstack":
            application_id = application_id.lower()
        return (kind, application_id) in self._by_app

    def city_has(self, city_id: int, kind: str) -> bool:
        """Whether ``city_id`` registered any integration of ``kind`` (enabled or not)."""
        return kind in self._kinds_by_city.get(city_id, ())


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reading may not be stored: a dead-letter reason and its detail. ``city_id`` is the city
    the dead letter is filed under (the integration's, or the device's when none was used)."""

    reason: str
    detail: str
    city_id: int


def check_integration(
    registry: IntegrationRegistry,
    *,
    source: str,
    application_id: str | None,
    tenant_id: str | None,
    device_id: str,
    device_city_id: int,
    caller_city_id: int | None = None,
) -> Refusal | None:
    """``None`` when a reading of ``device_id`` (a sensor of ``device_city_id``) may arrive through
    the application it names; otherwise the refusal.

    ``caller_city_id``: the city of the webhook's API key (``None`` on MQTT). A key may deliver only
    its own city's devices, and only through its own city's integrations. The order of the checks:
    a device of another city than the key's or the integration's is ``wrong_city`` before anything
    else (a disabled integration carrying another city's device is still ``wrong_city``). Details
    never name the other city.
    """
    kind = SOURCE_KIND.get(source)
    if kind is None:
        return None
    if caller_city_id is not None and device_city_id != caller_city_id:
        return Refusal(
            "wrong_city", f"device {device_id} is not a sensor of the sending key's city", caller_city_id
        )
    integration = registry.find(kind, application_id, tenant_id, caller_city_id)
    if integration is None:
        if registry.city_has(device_city_id, kind):
            tenant = f"@{tenant_id}" if tenant_id else ""
            return Refusal(
                "unknown_integration",
                f"application {application_id}{tenant} is not a registered {kind} integration of the "
                f"device's city; register it (admin API /api/v1/admin/integrations or "
                "'wasteroute integration add')",
                device_city_id,
            )
        return None
    if caller_city_id is not None and integration.city_id != caller_city_id:
        return Refusal(
            "wrong_city",
            f"integration {integration.label} is not one of the sending key's city",
            caller_city_id,
        )
    if integration.city_id != device_city_id:
        return Refusal(
            "wrong_city",
            f"device {device_id} is not a sensor of the city of integration {integration.label}",
            integration.city_id,
        )
    if not integration.enabled:
        return Refusal(
            "integration_disabled", f"integration {integration.label} is disabled", integration.city_id
        )
    return None


class IntegrationDirectory:
    """The registry, reloaded from the database every ``max_age_s`` seconds (default 10 s) and when an
    application shows up that it does not know (at most every ``refresh_s`` seconds), so an
    integration registered, moved or disabled while ingest runs takes effect without a restart."""

    def __init__(
        self,
        load: Callable[[], list[IntegrationInfo]],
        *,
        refresh_s: float = 5.0,
        max_age_s: float = 10.0,
    ) -> None:
        self._load = load
        self._refresh_s = refresh_s
        self._max_age_s = max_age_s
        self.registry = IntegrationRegistry()
        self._loaded_at = -1e9

    def reload(self) -> None:
        self.registry = IntegrationRegistry(self._load())
        self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        """Reload on the next use (after this process changed the registry)."""
        self._loaded_at = -1e9

    def current(self, kind: str | None = None, application_id: str | None = None) -> IntegrationRegistry:
        """The registry, fresh enough for a message naming ``application_id`` of ``kind``."""
        age = time.monotonic() - self._loaded_at
        if age >= self._max_age_s or (
            age >= self._refresh_s
            and kind is not None
            and application_id is not None
            and not self.registry.knows(kind, application_id)
        ):
            self.reload()
        return self.registry
