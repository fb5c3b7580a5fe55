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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wasteroute.ingest import metrics

log = logging.getLogger(__name__)


@dataclass(slots=True)
class InboundMessage:
    """One MQTT message as received; ``generation`` is the connection it arrived on.

    Read-only by convention; not ``frozen``, which costs a microsecond per message to build."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    generation: int = 0


class Inbox:
    """The bounded FIFO between the network thread and the writer.

    ``put`` blocks while ``capacity`` messages wait: that is the edge's full-queue policy (paho stops
    reading the socket, the broker keeps the rest). A blocked ``put`` is woken once the writer has
    taken the queue down to three quarters of ``capacity``, not after every message, so a full
    queue costs one thread switch per quarter of its capacity. Cheap when not full: a C
    ``SimpleQueue`` and no Python-level lock per message.

    A full queue is normal, not an outage: a session resumed after the ingestor was away gets its
    whole backlog right after CONNACK (mosquitto sends what it queued while the client was offline
    without waiting for Receive Maximum).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"the inbox capacity must be >= 1 message, got {capacity}")
        self.capacity = capacity
        self._low = capacity * 3 // 4
        self._q: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self._space = threading.Event()

    def put(self, item: InboundMessage) -> bool:
        """Append ``item``; returns False when it first had to wait for space."""
        if self._q.qsize() < self.capacity:
            self._q.put(item)
            return True
        while self._q.qsize() > self._low:  # full: wait until the writer took a quarter
            self._space.clear()
            if self._q.qsize() <= self._low:
                break
            self._space.wait(0.05)
        self._q.put(item)
        return False

    def _taken(self) -> None:
        if not self._space.is_set() and self._q.qsize() <= self._low:
            self._space.set()

    def get(self, timeout: float) -> InboundMessage:
        """The oldest message, waiting up to ``timeout`` seconds; raises ``queue.Empty``."""
        item = self._q.get(timeout=timeout)
        self._taken()
        return item

    def get_nowait(self) -> InboundMessage:
        """The oldest message; raises ``queue.Empty`` at once when there is none."""
        item = self._q.get_nowait()
        self._taken()
        return item

    def qsize(self) -> int:
        return self._q.qsize()

    def empty(self) -> bool:
        return self._q.empty()


class ChunkedSocket:
    """The broker connection, read in large chunks.

    paho reads every packet with several small ``recv`` calls (the fixed header, each byte of the
    remaining length, then the rest) and goes back to ``select`` after each packet. Served from
    memory, a backlog of small PUBLISH packets costs one system call per chunk of up to
    ``chunk_bytes`` instead of about five per message. Everything else (``send``, ``fileno``,
    ``setblocking``, ``close``…) goes to the socket unchanged.
    """

    def __init__(self, sock: Any, chunk_bytes: int = 65_536) -> None:
        self._sock = sock
        self._chunk = chunk_bytes
        self._buf = b""
        self._pos = 0

    def pending(self) -> int:
        """Bytes received but not yet handed out (paho's loop does not wait in ``select`` while
        this is non-zero; it is the hook paho uses for TLS sockets, whose own count is included)."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buf) - self._pos + inner

    def recv(self, bufsize: int) -> bytes:
        available = len(self._buf) - self._pos
        if available == 0:
            data: bytes = self._sock.recv(max(bufsize, self._chunk))
            if len(data) <= bufsize:
                return data
            self._buf, self._pos, available = data, 0, len(data)
        end = self._pos + min(bufsize, available)
        out = self._buf[self._pos : end]
        self._pos = end
        if end == len(self._buf):
            self._buf, self._pos = b"", 0
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


UplinkHandler = Callable[[int, int, str, bytes], None]
"""``(mid, qos, topic, payload)`` of one QoS 0 or 1 PUBLISH, called on paho's network thread."""

_PUBACK_HEADER = bytes((0x40, 0x02))
"""PUBACK fixed header and remaining length 2 (packet id only: success, no properties), MQTT 3.1.1 and 5."""


class IngestClient(mqtt.Client):
    """paho's client, lean on the path every reading takes; paho keeps everything else (connect,
    session, subscribe, keepalive, reconnect, QoS 2, TLS).

    - The broker socket is read in chunks (:class:`ChunkedSocket`) and ``loop_read`` goes on while
      bytes are already buffered (at most ``max_packets_per_read`` packets, so pings and acks still
      go out in between); paho handles one packet per ``select``.
    - With ``on_uplink`` set, a QoS 0/1 PUBLISH is decoded here (MQTT 3.1.1/5 section 3.3: topic,
      packet id, properties skipped: ingest uses none) and handed over as ``(mid, qos, topic,
      payload)``, without paho's message object, its v5 property parsing, topic matching and debug log.
    - :meth:`ack_many` queues the PUBACKs of a committed batch as one write with one wake-up of the
      network loop, in order; ``ack`` queues one packet and one wake-up per message.

    These hooks are paho 2.x internals (``_create_socket``, ``_handle_publish``, ``_packet_queue``);
    the version is pinned exactly and the ingest tests, the loss tests included, run through this class.
    """

    max_packets_per_read = 2_000
    on_uplink: UplinkHandler | None = None

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if self._transport == "websockets":
            return sock
        return ChunkedSocket(sock)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        n = 1
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and n < self.max_packets_per_read:
            sock = self._sock
            if sock is None or not hasattr(sock, "pending") or sock.pending() <= 0:
                break
            rc = super().loop_read(max_packets)
            n += 1
        return rc

    def _handle_publish(self) -> MQTTErrorCode:
        handler = self.on_uplink
        header: int = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if handler is None or qos > 1:
            return super()._handle_publish()
        packet: bytearray = self._in_packet["packet"]
        try:
            topic, mid, payload = decode_publish(packet, qos, v5=self._protocol == mqtt.MQTTv5)
        except ValueError as exc:
            raise MalformedPacket(str(exc)) from None
        with self._in_callback_mutex:
            handler(mid, qos, topic, payload)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def ack_many(self, mids: Sequence[int]) -> None:
        """Acknowledge QoS 1 messages (in this order) with one queued write; a no-op for no ids."""
        if not mids:
            return
        data = b"".join([_PUBACK_HEADER + mid.to_bytes(2, "big") for mid in mids])
        self._packet_queue(PacketTypes.PUBACK << 4, data, 0, 0)


def decode_publish(packet: bytes | bytearray, qos: int, *, v5: bool) -> tuple[str, int, bytes]:
    """``(topic, packet id, payload)`` of the variable header and payload of a PUBLISH packet
    (everything after the fixed header); the packet id is 0 for QoS 0. Raises ``ValueError`` when
    the packet is truncated or its topic is empty (3.1.1): paho then drops the connection, as for any
    malformed packet. A topic that is not UTF-8 (brokers refuse those) is decoded with U+FFFD in
    place of the bad bytes, so the message is dead-lettered for its topic instead of being
    redelivered for ever."""
    n = len(packet)
    if n < 2:
        raise ValueError("PUBLISH packet shorter than its topic length")
    end = 2 + ((packet[0] << 8) | packet[1])
    if end > n:
        raise ValueError("PUBLISH topic runs past the end of the packet")
    topic = packet[2:end].decode("utf-8", errors="replace")
    if not topic and not v5:
        raise ValueError("empty PUBLISH topic")
    mid = 0
    if qos:
        if end + 2 > n:
            raise ValueError("PUBLISH packet id runs past the end of the packet")
        mid = (packet[end] << 8) | packet[end + 1]
        end += 2
    if v5:  # property length: a variable byte integer, then that many bytes of properties
        length = shift = 0
        while True:
            if end >= n or shift > 21:
                raise ValueError("PUBLISH property length is malformed")
            byte = packet[end]
            end += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        end += length
        if end > n:
            raise ValueError("PUBLISH properties run past the end of the packet")
    return topic, mid, bytes(memoryview(packet)[end:])


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
            self.client: IngestClient = IngestClient(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
            )
        else:
            self.client = IngestClient(
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
        self.client.on_message = self._on_message  # QoS 2 deliveries (ingest subscribes at QoS 1)
        self.client.on_uplink = self._on_uplink
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

    def _on_uplink(self, mid: int, qos: int, topic: str, payload: bytes) -> None:
        if self._paused.is_set():
            return  # draining for shutdown: not queued, not acked, redelivered to the next session
        item = InboundMessage(mid, qos, topic, payload, datetime.now(UTC), self.generation)
        if not self.inbox.put(item):  # blocked the network loop while full: the broker kept the rest
            metrics.QUEUE_FULL.inc()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._on_uplink(message.mid, message.qos, message.topic, bytes(message.payload))

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
        stale = 0
        qos1: list[int] = []
        qos2: list[int] = []
        with self._gen_lock:
            generation = self.generation
            for m in messages:
                if m.qos <= 0:
                    continue
                if m.generation != generation:
                    stale += 1
                    continue
                (qos1 if m.qos == 1 else qos2).append(m.mid)
            self.client.ack_many(qos1)
            for mid in qos2:
                self.client.ack(mid, 2)
        sent = len(qos1) + len(qos2)
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
