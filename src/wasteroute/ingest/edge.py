"""The thin MQTT edge (paho-mqtt 2.x): turn each message into data and put it on a bounded queue.

Policy when the queue is full: ``on_message`` blocks, which stops paho reading the socket, so the
broker holds the rest (QoS 1, persistent session). Nothing is dropped here and nothing is acked
here: the writer acks after its batch is committed (``manual_ack``).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wasteroute.ingest import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://user:pass@host:1883`` or ``mqtts://…:8883``."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp") or not parts.hostname:
            raise ValueError(f"expected an MQTT URL like mqtt://user:pass@host:1883, got {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


class MqttEdge:
    """A persistent-session MQTT v5 subscriber that feeds ``inbox`` and acks on request."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        topics: list[str],
        inbox: queue.Queue[InboundMessage],
        session_expiry_s: int = 86_400,
        receive_maximum: int = 2_000,
        shared_group: str | None = None,
        protocol: str = "5",
    ) -> None:
        """``protocol`` "5" (default) or "3.1.1" (brokers without MQTT v5; the session is kept with
        ``clean_session=False`` and the broker's own expiry instead of Session Expiry)."""
        self.v5 = protocol == "5"
        self.address = BrokerAddress.parse(url)
        self.inbox = inbox
        self.topics = [f"$share/{shared_group}/{t}" if shared_group else t for t in topics]
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = max(1, min(receive_maximum, 65_535))
        self.connected = threading.Event()
        self._stopping = threading.Event()
        if self.v5:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
            )
        else:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, manual_ack=True,
                clean_session=False,
            )
        if self.address.username:
            self.client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.max_inflight_messages_set(self.receive_maximum)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # paho callbacks: keep them tiny
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        log.info("connected to %s:%s (session present: %s)", self.address.host, self.address.port,
                 getattr(flags, "session_present", None))
        client.subscribe([(t, 1) for t in self.topics])
        metrics.CONNECTED.set(1)
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected.clear()
        metrics.CONNECTED.set(0)
        if not self._stopping.is_set():
            log.warning("disconnected from broker (%s); reconnecting with backoff", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        item = InboundMessage(
            mid=message.mid, qos=message.qos, topic=message.topic, payload=bytes(message.payload),
            received_at=datetime.now(UTC),
        )
        try:
            self.inbox.put_nowait(item)
        except queue.Full:
            metrics.QUEUE_FULL.inc()
            self.inbox.put(item)  # blocks the network loop: the broker keeps the rest

    def start(self) -> None:
        """Connect in the background; the writer must already be running (redelivery comes first)."""
        if self.v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.session_expiry_s
            props.ReceiveMaximum = self.receive_maximum
            self.client.connect_async(
                self.address.host, self.address.port, keepalive=30, clean_start=False, properties=props
            )
        else:
            self.client.connect_async(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()

    def wait_connected(self, timeout_s: float) -> bool:
        return self.connected.wait(timeout_s)

    def ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self.client.ack(mid, qos)

    def stop(self) -> None:
        self._stopping.set()
        try:
            self.client.disconnect()
        finally:
            deadline = time.monotonic() + 2
            while self.connected.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.client.loop_stop()
