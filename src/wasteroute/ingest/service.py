"""The ingest loop: MQTT edge -> resolver -> batch writer -> PostgreSQL, acks after commit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wasteroute.config import Settings
from wasteroute.ingest import metrics
from wasteroute.ingest.adapters import parse_uplink
from wasteroute.ingest.edge import InboundMessage, Inbox, MqttEdge
from wasteroute.ingest.geometry import ContainerGeometry, estimate_fill
from wasteroute.ingest.integrations import SOURCE_KIND, IntegrationDirectory, check_integration
from wasteroute.ingest.rejects import IngestLimits, Rejected
from wasteroute.ingest.schemas import (
    CHIRPSTACK_TOPIC_FILTER,
    NATIVE_TOPIC_FILTER,
    TTS_TOPIC_FILTER,
    CanonicalReading,
)
from wasteroute.ingest.writer import BatchWriter, Resolved
from wasteroute.storage.integrations import IntegrationInfo, fetch_integrations
from wasteroute.storage.readings import (
    BatchOutcome,
    BatchStore,
    DeadLetterRow,
    ReadingRow,
    SensorInfo,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

TOPICS = [NATIVE_TOPIC_FILTER, TTS_TOPIC_FILTER, CHIRPSTACK_TOPIC_FILTER]


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


def limits_from(settings: Settings) -> IngestLimits:
    return IngestLimits(
        max_payload_bytes=settings.ingest_max_payload_bytes,
        future_tolerance_s=float(settings.ingest_future_tolerance_s),
        retention_days=settings.retention_days,
    )


class Ingestor:
    """Writer first, then the edge (a resumed session redelivers right after CONNACK).

    ``on_commit`` (optional) is called by the writer thread after each committed and acked batch;
    ``topics`` replaces the subscribed filters (default: native, The Things Stack and ChirpStack uplinks).
    """

    def __init__(
        self,
        settings: Settings,
        database_url: str,
        mqtt_url: str,
        protocol: str = "5",
        *,
        on_commit: Callable[[Sequence[InboundMessage], BatchOutcome], None] | None = None,
        topics: list[str] | None = None,
    ) -> None:
        self.inbox = Inbox(settings.ingest_queue_size)
        self.store = BatchStore(database_url)
        self.directory = SensorDirectory(self._load_sensors)
        self.integrations = IntegrationDirectory(self._load_integrations)
        self.resolver = Resolver(self.directory, limits_from(settings), integrations=self.integrations)
        self.edge = MqttEdge(
            mqtt_url,
            client_id=settings.mqtt_client_id,
            topics=topics if topics is not None else TOPICS,
            inbox=self.inbox,
            session_expiry_s=settings.mqtt_session_expiry_s,
            receive_maximum=max(settings.ingest_batch_size * 2, 2000),
            shared_group=settings.mqtt_shared_group,
            protocol=protocol,
        )
        self.writer = BatchWriter(
            self.inbox,
            self.store,
            self.resolver,
            self.edge.ack_batch,
            batch_size=settings.ingest_batch_size,
            batch_age_s=settings.ingest_batch_age_ms / 1000,
            on_commit=on_commit,
        )

    def _load_sensors(self) -> dict[str, SensorInfo]:
        try:
            return self.store.sensors()
        except StorageUnavailable:
            log.warning("could not load the sensor directory; keeping the previous one")
            return dict(self.directory._by_device)

    def _load_integrations(self) -> list[IntegrationInfo]:
        try:
            return fetch_integrations(self.store.url)
        except StorageUnavailable as exc:
            log.warning("could not load the integrations (%s); keeping the previous ones", exc)
            return list(self.integrations.registry.items)

    def start(self) -> None:
        self.writer.start()
        self.edge.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Flush, then leave: the edge stops queueing, the writer writes, commits and acks everything
        it holds, and only then the edge disconnects (the acks go out before DISCONNECT).

        Messages that arrive after the pause are neither stored nor acked: the broker redelivers
        them to the next session with this client id. If the database stays down past
        ``timeout_s`` the batch in flight is left unacked and is redelivered the same way.
        """
        self.edge.pause()
        self.writer.stop()
        self.writer.join(timeout_s)
        if self.writer.is_alive():
            log.warning("the writer did not finish within %.0f s; its batch will be redelivered", timeout_s)
        self.edge.stop()
        self.store.close()


def run_ingestor(
    settings: Settings,
    database_url: str,
    mqtt_url: str,
    stop: threading.Event,
    protocol: str = "5",
    *,
    metrics_port: int | None = None,
) -> Ingestor:
    """Run until ``stop`` is set (SIGTERM/SIGINT in the CLI); returns the stopped ingestor.

    ``metrics_port``: serve Prometheus ``/metrics`` on that port (default: ``settings.metrics_port``;
    none when unset).
    """
    if metrics_port is None:
        metrics_port = settings.metrics_port
    server = metrics.serve_metrics(metrics_port) if metrics_port is not None else None
    if server is not None:
        log.info("Prometheus metrics on port %s", metrics_port)
    try:
        ingestor = Ingestor(settings, database_url, mqtt_url, protocol)
        ingestor.start()
        if not ingestor.edge.wait_connected(15):
            log.warning("broker not reachable yet; still trying in the background")
        while not stop.wait(0.5):
            if ingestor.writer.failure is not None:
                ingestor.stop(timeout_s=5)
                raise RuntimeError("ingest writer failed") from ingestor.writer.failure
        ingestor.stop()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    return ingestor
