"""The thin MQTT edge (paho-mqtt 2.x): turn each message into data and put it on a bounded queue.

Policy when the queue is full: ``on_message`` blocks, which stops paho reading the socket, so the
broker holds the rest (QoS 1, persistent session). Nothing is dropped here and nothing is acked
here: the writer acks after its batch is committed (``manual_ack``).

Every message carries the connection *generation* it arrived on. A PUBACK only means something on
the connection that delivered the message: after a reconnect the broker redelivers what was not
acknowledged and may reuse packet ids for new messages, so an ack for an older generation is
skipped (the redelivered copy is stored as a duplicate and acked instead).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Sequence
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
    """One MQTT message as received; ``generation`` is the connection it arrived on."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    generation: int = 0


class Inbox:
    """The bounded FIFO between the network thread and the writer.

    ``put`` blocks while ``capacity`` messages wait: that is the edge's full-queue policy (paho stops
    reading the socket, the broker keeps the rest). Cheap when not full: a C ``SimpleQueue`` and no
    Python-level lock per message.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"the inbox capacity must be >= 1 message, got {capacity}")
        self.capacity = capacity
        self._q: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self._space = threading.Event()

    def put(self, item: InboundMessage) -> bool:
        """Append ``item``; returns False when it first had to wait for space."""
        waited = False
        while self._q.qsize() >= self.capacity:
            waited = True
            self._space.clear()
            if self._q.qsize() < self.capacity:
                break
            self._space.wait(0.05)
        self._q.put(item)
        return not waited

    def get(self, timeout: float) -> InboundMessage:
        """The oldest message, waiting up to ``timeout`` seconds; raises ``queue.Empty``."""
        item = self._q.get(timeout=timeout)
        if not self._space.is_set():
            self._space.set()
        return item

    def get_nowait(self) -> InboundMessage:
        """The oldest message; raises ``queue.Empty`` at once when there is none."""
        item = self._q.get_nowait()
        if not self._space.is_set():
            self._space.set()
        return item

    def qsize(self) -> int:
        return self._q.qsize()

    def empty(self) -> bool:
        return self._q.empty()


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


def shared_topics(topics: list[str], shared_group: str | None) -> list[str]:
    """``$share/<group>/<filter>`` for every filter when ``shared_group`` is set, else the filters."""
    if shared_group is None:
        return list(topics)
    if not shared_group or any(c in shared_group for c in "/+#"):
        raise ValueError(
            f"a shared-subscription group is a non-empty name without '/', '+' or '#', got {shared_group!r}"
        )
    return [f"$share/{shared_group}/{t}" for t in topics]


class MqttEdge:
    """A persistent-session MQTT v5 subscriber that feeds ``inbox`` and acks on request.

    Reconnects by itself with exponential backoff between ``min_reconnect_s`` (1 s) and
    ``max_reconnect_s`` (30 s); the session (subscriptions and queued messages) is resumed because
    the client id is stable and ``clean_start`` is false.
    """

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        topics: list[str],
        inbox: Inbox,
        session_expiry_s: int = 86_400,
        receive_maximum: int = 2_000,
        shared_group: str | None = None,
        protocol: str = "5",
        min_reconnect_s: int = 1,
        max_reconnect_s: int = 30,
    ) -> None:
        """``protocol`` "5" (default) or "3.1.1" (brokers without MQTT v5; the session is kept with
        ``clean_session=False`` and the broker's own expiry instead of Session Expiry)."""
        if protocol not in ("5", "3.1.1"):
            raise ValueError(f"protocol must be '5' or '3.1.1', got {protocol!r}")
        self.v5 = protocol == "5"
        self.address = BrokerAddress.parse(url)
        self.client_id = client_id
        self.inbox = inbox
        self.topics = shared_topics(topics, shared_group)
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = max(1, min(receive_maximum, 65_535))
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.session_present: bool | None = None
        self.connects = 0
        self.generation = 0
        self._gen_lock = threading.Lock()
        self._stopping = threading.Event()
        self._paused = threading.Event()
        if self.v5:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
            )
        else:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=client_id,
                protocol=mqtt.MQTTv311,
                manual_ack=True,
                clean_session=False,
            )
        if self.address.username:
            self.client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(min_delay=min_reconnect_s, max_delay=max_reconnect_s)
        self.client.max_inflight_messages_set(self.receive_maximum)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # paho callbacks (network thread): keep them tiny
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._gen_lock:
            self.generation += 1
        self.connects += 1
        self.session_present = bool(getattr(flags, "session_present", False))
        if self.connects > 1:
            metrics.RECONNECTS.inc()
        log.info(
            "connected to %s:%s as %s (session present: %s)",
            self.address.host,
            self.address.port,
            self.client_id,
            self.session_present,
        )
        # Subscribing again on a resumed session is harmless and repairs a session the broker lost.
        client.subscribe([(t, 1) for t in self.topics])
        metrics.CONNECTED.set(1)
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        refused = [str(r) for r in reasons if getattr(r, "is_failure", False) or r == 0x80]
        if refused:
            log.error("the broker refused subscriptions %s: %s (check the ACL)", self.topics, refused)
            return
        self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._gen_lock:
            self.generation += 1  # acks for messages of the lost connection are now meaningless
        self.connected.clear()
        self.subscribed.clear()
        metrics.CONNECTED.set(0)
        if not self._stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting with backoff", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._paused.is_set():
            return  # draining for shutdown: not queued, not acked, redelivered to the next session
        payload = bytes(message.payload)
        item = InboundMessage(
            message.mid, message.qos, message.topic, payload, datetime.now(UTC), self.generation
        )
        if not self.inbox.put(item):  # blocked the network loop while full: the broker kept the rest
            metrics.QUEUE_FULL.inc()

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

    def wait_subscribed(self, timeout_s: float) -> bool:
        """True once the broker granted every subscription of the current connection."""
        return self.subscribed.wait(timeout_s)

    def ack(self, mid: int, qos: int, generation: int | None = None) -> bool:
        """Send PUBACK for ``mid``; skipped (returns False) when it arrived on an earlier connection."""
        if qos <= 0:
            return True
        with self._gen_lock:
            if generation is not None and generation != self.generation:
                metrics.STALE_ACKS.inc()
                return False
            self.client.ack(mid, qos)
        return True

    def ack_batch(self, messages: Sequence[InboundMessage]) -> int:
        """PUBACK each QoS 1 message in order; messages of an earlier connection are skipped (they are
        redelivered). Returns the number of acks handed to paho."""
        sent = stale = 0
        ack = self.client.ack
        with self._gen_lock:
            generation = self.generation
            for m in messages:
                if m.qos <= 0:
                    continue
                if m.generation != generation:
                    stale += 1
                    continue
                ack(m.mid, m.qos)
                sent += 1
        if stale:
            metrics.STALE_ACKS.inc(stale)
        return sent

    def pause(self) -> None:
        """Stop queueing new messages (shutdown: the writer finishes what it holds, then we leave)."""
        self._paused.set()

    def stop(self) -> None:
        """Disconnect after the acks already handed to paho are written (same ordered out-queue)."""
        self._stopping.set()
        self._paused.set()
        try:
            self.client.disconnect()
        finally:
            deadline = time.monotonic() + 5
            while self.connected.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.client.loop_stop()
