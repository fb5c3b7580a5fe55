"""The ingest loop: MQTT edge -> resolver (``ingest/resolver.py``) -> batch writer -> PostgreSQL, acks
after commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from wasteroute.config import Settings
from wasteroute.ingest import metrics
from wasteroute.ingest.edge import InboundMessage, Inbox, MqttEdge
from wasteroute.ingest.integrations import IntegrationDirectory
from wasteroute.ingest.rejects import IngestLimits
from wasteroute.ingest.resolver import Resolver, SensorDirectory
from wasteroute.ingest.schemas import (
    CHIRPSTACK_TOPIC_FILTER,
    NATIVE_TOPIC_FILTER,
    TTS_TOPIC_FILTER,
)
from wasteroute.ingest.writer import BatchWriter
from wasteroute.storage.integrations import IntegrationInfo, fetch_integrations
from wasteroute.storage.readings import (
    BatchOutcome,
    BatchStore,
    SensorInfo,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

TOPICS = [NATIVE_TOPIC_FILTER, TTS_TOPIC_FILTER, CHIRPSTACK_TOPIC_FILTER]


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
