"""The lean paths of the ingest client (``IngestClient``): PUBLISH decoding checked against paho's own
decoder, the chunked socket on a real socket pair, and on a real mosquitto: deliveries with and
without v5 properties, batched PUBACKs that the broker honours, and unacked messages redelivered.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wasteroute.ingest.edge import BrokerAddress, ChunkedSocket, IngestClient, decode_publish
from wasteroute.runtime.broker import BrokerHandle

# --------------------------------------------------------------------------------------------------
# decoding


def _publish_body(topic: bytes, mid: int | None, props: bytes | None, payload: bytes) -> bytes:
    """Variable header and payload of a PUBLISH (what follows the fixed header)."""
    body = len(topic).to_bytes(2, "big") + topic
    if mid is not None:
        body += mid.to_bytes(2, "big")
    if props is not None:
        body += props
    return body + payload


def _v5_properties(rng: random.Random) -> bytes:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    kind = rng.randrange(4)
    if kind >= 1:
        props.UserProperty = [(f"k{i}", "v" * rng.randrange(0, 300)) for i in range(rng.randrange(1, 4))]
    if kind >= 2:
        props.MessageExpiryInterval = rng.randrange(1, 2**31)
    if kind == 3:
        props.ContentType = "application/json"
        props.CorrelationData = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    return bytes(props.pack())  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("v5", [True, False], ids=["mqtt5", "mqtt311"])
def test_decode_publish_agrees_with_paho_on_random_packets(v5: bool) -> None:
    rng = random.Random(20261122)
    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    for _ in range(500):
        qos = rng.randrange(2)
        topic = f"wasteroute/city-{rng.randrange(99)}/sensors/dev-ä{rng.randrange(10**6)}/up".encode()
        mid = rng.randrange(1, 65_536) if qos else None
        props = _v5_properties(rng) if v5 else None
        payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 120, 127, 128, 5000])))
        body = _publish_body(topic, mid, props, payload)
        expected = _packet.decode_publish(0x30 | (qos << 1), body, protocol)
        got_topic, got_mid, got_payload = decode_publish(bytearray(body), qos, v5=v5)
        assert got_topic == expected.topic.decode()
        assert got_mid == expected.mid
        assert got_payload == expected.payload
        assert type(got_payload) is bytes


@pytest.mark.parametrize(
    ("body", "qos", "v5", "why"),
    [
        (b"\x00", 0, True, "shorter than its topic length"),
        (b"\x00\x09abc", 0, True, "topic runs past"),
        (b"\x00\x01a\x00", 1, True, "packet id runs past"),
        (b"\x00\x01a\x00\x01", 1, True, "property length is malformed"),
        (b"\x00\x01a\x00\x01\x05ab", 1, True, "properties run past"),
        (b"\x00\x01a\x00\x01\xff\xff\xff\xff\x01", 1, True, "property length is malformed"),
        (b"\x00\x00\x00\x01payload", 1, False, "empty PUBLISH topic"),
    ],
)
def test_decode_publish_refuses_malformed_packets(body: bytes, qos: int, v5: bool, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        decode_publish(body, qos, v5=v5)


def test_a_topic_that_is_not_utf8_is_decoded_with_replacement_characters() -> None:
    topic, mid, payload = decode_publish(_publish_body(b"a/\xff/b", 7, b"\x00", b"{}"), 1, v5=True)
    assert (topic, mid, payload) == ("a/\ufffd/b", 7, b"{}")


def test_decode_publish_accepts_an_empty_v5_topic_for_a_topic_alias() -> None:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.TopicAlias = 3
    body = _publish_body(b"", 9, bytes(props.pack()), b"x")  # type: ignore[no-untyped-call]
    assert decode_publish(body, 1, v5=True) == ("", 9, b"x")


# --------------------------------------------------------------------------------------------------
# the chunked socket


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_chunked_socket_serves_small_reads_from_one_chunk(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    chunked = ChunkedSocket(a, chunk_bytes=1024)
    b.sendall(b"\x30\x05hello" * 3)
    time.sleep(0.05)
    assert chunked.pending() == 0  # nothing read yet: select decides
    assert chunked.recv(1) == b"\x30"
    assert chunked.pending() == 20  # the rest of the chunk is in memory
    out = [chunked.recv(1), chunked.recv(5)]
    assert out == [b"\x05", b"hello"]
    assert chunked.recv(100) == b"\x30\x05hello" * 2  # at most what is buffered, never blocking
    assert chunked.pending() == 0
    with pytest.raises(BlockingIOError):
        chunked.recv(1)


def test_chunked_socket_hands_out_every_byte_in_order_across_chunks(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    chunked = ChunkedSocket(a, chunk_bytes=64)
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(20_000))
    sender = threading.Thread(target=b.sendall, args=(data,))
    sender.start()
    got = bytearray()
    deadline = time.monotonic() + 10
    while len(got) < len(data) and time.monotonic() < deadline:
        try:
            got += chunked.recv(rng.choice([1, 2, 3, 50, 700]))
        except BlockingIOError:
            time.sleep(0.001)
    sender.join()
    assert bytes(got) == data


def test_chunked_socket_passes_everything_else_to_the_socket(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    chunked = ChunkedSocket(a)
    assert chunked.fileno() == a.fileno()
    assert chunked.send(b"ping") == 4
    assert b.recv(10) == b"ping"


# --------------------------------------------------------------------------------------------------
# against a real broker


class _Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[tuple[int, int, str, bytes]] = []
        self.subscribed = threading.Event()

    def __call__(self, mid: int, qos: int, topic: str, payload: bytes) -> None:
        with self.lock:
            self.got.append((mid, qos, topic, payload))

    def wait_for(self, n: int, timeout_s: float = 20) -> list[tuple[int, int, str, bytes]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            time.sleep(0.02)
        with self.lock:
            raise AssertionError(f"received {len(self.got)} of {n} messages")


def _client(url: str, client_id: str, v5: bool, collector: _Collector) -> IngestClient:
    addr = BrokerAddress.parse(url)
    if v5:
        c = IngestClient(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
    else:
        c = IngestClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
            clean_session=False,
        )
    if addr.username:
        c.username_pw_set(addr.username, addr.password)
    c.on_uplink = collector
    c.on_connect = lambda client, *a: client.subscribe("wasteroute/+/sensors/+/up", qos=1)
    c.on_subscribe = lambda *a: collector.subscribed.set()
    if v5:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 600
        c.connect(addr.host, addr.port, keepalive=30, clean_start=False, properties=props)
    else:
        c.connect(addr.host, addr.port, keepalive=30)
    c.loop_start()
    assert collector.subscribed.wait(10)
    return c


def _publish(url: str, messages: list[tuple[str, bytes, Properties | None]]) -> None:
    addr = BrokerAddress.parse(url)
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"pub-{time.monotonic_ns()}", protocol=mqtt.MQTTv5
    )
    if addr.username:
        pub.username_pw_set(addr.username, addr.password)
    pub.connect(addr.host, addr.port)
    pub.loop_start()
    infos = [pub.publish(t, p, qos=1, properties=props) for t, p, props in messages]
    for info in infos:
        info.wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()


def _stop(c: mqtt.Client) -> None:
    c.disconnect()
    c.loop_stop()


@pytest.mark.parametrize("v5", [True, False], ids=["mqtt5", "mqtt311"])
def test_deliveries_with_properties_arrive_whole_and_batched_acks_end_redelivery(
    broker: BrokerHandle, v5: bool
) -> None:
    ingest_url, pub_url = broker.url("wasteroute-ingest"), broker.url("wasteroute-sim")
    client_id = f"lean-{'5' if v5 else '311'}-{time.monotonic_ns()}"
    first = _Collector()
    c = _client(ingest_url, client_id, v5, first)
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.UserProperty = [("gateway", "gw-7"), ("note", "ü" * 200)]
    props.MessageExpiryInterval = 3_600
    messages = [
        (
            f"wasteroute/lean/sensors/dev-{i:03d}/up",
            f'{{"n":{i}}}'.encode() + b" " * (i * 7),
            props if i % 2 else None,
        )
        for i in range(300)
    ]
    _publish(pub_url, messages)
    got = first.wait_for(300)
    assert [(t, p) for _, _, t, p in got] == [(t, p) for t, p, _ in messages]
    assert all(qos == 1 and 1 <= mid <= 65_535 for mid, qos, _, _ in got)
    c.ack_many([mid for mid, _, _, _ in got[:200]])  # the last 100 stay unacknowledged
    time.sleep(0.3)
    _stop(c)

    again = _Collector()
    c = _client(ingest_url, client_id, v5, again)
    redelivered = again.wait_for(100)
    time.sleep(0.5)  # anything acked and still redelivered would show up by now
    with again.lock:
        assert [p for _, _, _, p in again.got] == [p for _, p, _ in messages[200:]]
    c.ack_many([mid for mid, _, _, _ in redelivered])
    time.sleep(0.3)
    _stop(c)

    last = _Collector()
    c = _client(ingest_url, client_id, v5, last)
    time.sleep(0.8)
    with last.lock:
        assert last.got == []
    c.ack_many([])  # nothing to acknowledge is fine
    _stop(c)
