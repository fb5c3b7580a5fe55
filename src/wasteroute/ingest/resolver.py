"""The resolver, shared by MQTT and webhook ingest: a message's readings tied to their sensor, bin
and city (device id -> sensor -> bin -> city), or dead letters saying why not (unknown device, a
device of another city, a network-server integration that may not deliver it).

Fill levels come from the container's geometry when a device reports a distance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wasteroute.ingest.adapters import parse_uplink
from wasteroute.ingest.edge import InboundMessage
from wasteroute.ingest.geometry import ContainerGeometry, estimate_fill
from wasteroute.ingest.integrations import SOURCE_KIND, IntegrationDirectory, check_integration
from wasteroute.ingest.rejects import IngestLimits, Rejected
from wasteroute.ingest.schemas import CanonicalReading
from wasteroute.ingest.writer import Resolved
from wasteroute.storage.readings import DeadLetterRow, ReadingRow, SensorInfo


class SensorDirectory:
    """Device id -> sensor, reloaded from the database when an unknown device shows up (at most every
    ``refresh_s`` seconds), so a sensor registered while ingest runs is picked up without a restart."""

    def __init__(self, load: Callable[[], dict[str, SensorInfo]], refresh_s: float = 5.0) -> None:
        self._load = load
        self._refresh_s = refresh_s
        self._by_device: dict[str, SensorInfo] = {}
        self._loaded_at = -1e9

    def get(self, device_id: str) -> SensorInfo | None:
        info = self._by_device.get(device_id)
        if info is None and time.monotonic() - self._loaded_at >= self._refresh_s:
            self.reload()
            info = self._by_device.get(device_id)
        return info

    def reload(self) -> None:
        self._by_device = self._load()
        self._loaded_at = time.monotonic()

    def model_of(self, device_id: str) -> str | None:
        info = self.get(device_id)
        return info.model if info else None


def to_row(
    c: CanonicalReading, info: SensorInfo, raw: bytes, geometry: ContainerGeometry | None = None
) -> ReadingRow:
    """Tie a canonical reading to its sensor and bin.

    When the device reports a distance and the bin's container height is known, the fill level
    comes from the geometry (it is authoritative, as in :func:`geometry.apply_geometry`); otherwise
    the device's own fill level is kept. ``geometry`` (optional) is the sensor's container geometry,
    passed in by callers that cache it.
    """
    fill = c.fill_level
    if c.distance_mm is not None and info.height_mm:
        geo = geometry or ContainerGeometry(info.height_mm, info.mount_offset_mm)
        fill = estimate_fill(c.distance_mm, geo).fill_level
    tilt = c.tilt_deg if c.tilt_deg is not None else (90.0 if c.tilted else None)
    return ReadingRow(
        sensor_id=info.sensor_id,
        measured_at=c.measured_at,
        city_id=info.city_id,
        bin_id=info.bin_id,
        fill_level=fill,
        distance_mm=c.distance_mm,
        battery_pct=c.battery_pct,
        battery_v=c.battery_v,
        temperature_c=c.temperature_c,
        tilt_deg=tilt,
        rssi_dbm=c.rssi_dbm,
        snr_db=c.snr_db,
        source=c.source,
        raw=raw,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Resolver:
    """Message -> reading rows or dead letters, for MQTT and webhooks alike.

    ``clock`` is the ingest clock for the time-window checks (wall clock, UTC, by default);
    ``integrations`` the registry of network-server integrations (see
    :mod:`wasteroute.ingest.integrations`; ``None`` checks nothing but native topics' cities).
    """

    directory: SensorDirectory
    limits: IngestLimits
    channel: str = "mqtt"
    clock: Callable[[], datetime] = _utc_now
    integrations: IntegrationDirectory | None = None

    _geometries: dict[tuple[float, float], ContainerGeometry] = field(default_factory=dict, repr=False)

    def resolve(
        self,
        topic: str | None,
        payload: bytes,
        received_at: datetime,
        parse: Callable[[], list[CanonicalReading]],
        *,
        caller_city_id: int | None = None,
    ) -> list[Resolved]:
        """Rows for one message whose readings ``parse`` returns (or a dead letter if it refuses).

        ``caller_city_id``: the city of the webhook's API key, which may deliver only through its
        own city's integrations."""
        try:
            readings = parse()
        except Rejected as r:
            return [DeadLetterRow(self.channel, topic, payload, r.reason.value, r.detail)]
        return self._rows(topic, payload, readings, caller_city_id)

    def _rows(
        self,
        topic: str | None,
        payload: bytes,
        readings: list[CanonicalReading],
        caller_city_id: int | None = None,
    ) -> list[Resolved]:
        if not readings:
            return [
                DeadLetterRow(self.channel, topic, payload, "no_reading", "the message held no measurement")
            ]
        out: list[Resolved] = []
        for c in readings:
            info = self.directory.get(c.device_id)
            if info is None:
                out.append(
                    DeadLetterRow(
                        self.channel,
                        topic,
                        payload,
                        "unknown_device",
                        f"no sensor is registered with device id {c.device_id!r}",
                    )
                )
                continue
            topic_city = c.extra.get("topic_city")
            if topic_city is not None and topic_city != info.city_slug:
                out.append(
                    DeadLetterRow(
                        self.channel,
                        topic,
                        payload,
                        "wrong_city",
                        f"device {c.device_id} belongs to another city than {topic_city!r}",
                        info.city_id,
                    )
                )
                continue
            if self.integrations is not None and c.source in SOURCE_KIND:
                refused = self._integration_refusal(c, info, caller_city_id)
                if refused is not None:
                    out.append(DeadLetterRow(self.channel, topic, payload, *refused))
                    continue
            geometry = None
            if info.height_mm:
                key = (info.height_mm, info.mount_offset_mm)
                geometry = self._geometries.get(key)
                if geometry is None:
                    geometry = self._geometries[key] = ContainerGeometry(*key)
            out.append(to_row(c, info, payload, geometry))
        return out

    def _integration_refusal(
        self, c: CanonicalReading, info: SensorInfo, caller_city_id: int | None
    ) -> tuple[str, str, int] | None:
        assert self.integrations is not None
        kind = SOURCE_KIND[c.source]
        app = c.extra.get("application_id")
        application = app if isinstance(app, str) else None
        tenant_value = c.extra.get("tenant_id")
        tenant = tenant_value if isinstance(tenant_value, str) else None
        if c.source == "tts" and tenant is None:
            tenant = ""  # the topic named no tenant (The Things Stack Open Source)
        refusal = check_integration(
            self.integrations.current(kind, application),
            source=c.source,
            application_id=application,
            tenant_id=tenant,
            device_id=c.device_id,
            device_city_id=info.city_id,
            caller_city_id=caller_city_id,
        )
        return None if refusal is None else (refusal.reason, refusal.detail, refusal.city_id)

    def __call__(self, m: InboundMessage) -> list[Resolved]:
        try:
            readings = parse_uplink(
                m.topic,
                m.payload,
                received_at=m.received_at,
                now=self.clock(),
                limits=self.limits,
                model_hint=self.directory.model_of,
            )
        except Rejected as r:
            return [DeadLetterRow(self.channel, m.topic, m.payload, r.reason.value, r.detail)]
        return self._rows(m.topic, m.payload, readings)
