"""Ingest over TLS (``mqtts://``) against a real mosquitto with a TLS listener: the chunked socket
wraps paho's TLS socket, so a burst of readings must arrive whole and in order, and acks must end
their redelivery. The broker's certificate comes from a private CA named by ``SSL_CERT_FILE``, the
standard OpenSSL variable a city sets for its own CA."""

from __future__ import annotations

import queue
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.ingest import fast_publisher
from wasteroute.ingest.edge import InboundMessage, Inbox, MqttEdge
from wasteroute.runtime.broker import BrokerHandle, start_mosquitto
from wasteroute.runtime.ports import free_port, wait_for_port


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(d: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed; it makes the test certificates")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=wasteroute test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1",
        cwd=d,
    )  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext",
        cwd=d,
    )  # fmt: skip
    return d / "ca.crt", d / "server.crt", d / "server.key"


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[BrokerHandle, int, Path]]:
    """The shipped configuration plus a TLS listener; yields (broker, TLS port, CA file)."""
    ca, cert, key = _certificates(tmp_path)
    plain = start_mosquitto(tmp_path / "mqtt")
    plain.stop()
    assert plain.config_path is not None
    tls_port = free_port()
    config = plain.config_path.read_text() + (
        f"\nlistener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    )
    plain.config_path.write_text(config)
    log = (tmp_path / "mqtt" / "mosquitto-tls.log").open("ab")
    proc = subprocess.Popen(["mosquitto", "-c", str(plain.config_path)], stdout=log, stderr=log)
    handle = BrokerHandle(plain.host, plain.port, plain.passwords, "5", proc, plain.config_path)
    assert wait_for_port("127.0.0.1", plain.port, 10) and wait_for_port("127.0.0.1", tls_port, 10)
    yield handle, tls_port, ca
    handle.stop()


def _drain(inbox: Inbox, n: int, timeout_s: float) -> list[InboundMessage]:
    got: list[InboundMessage] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < deadline:
        try:
            got.append(inbox.get(timeout=0.1))
        except queue.Empty:
            continue
    return got


@pytest.mark.services  # a live mosquitto with a TLS listener
def test_a_burst_over_tls_arrives_whole_in_order_and_acks_end_redelivery(
    tls_broker: tuple[BrokerHandle, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, tls_port, ca = tls_broker
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    pw = broker.passwords["wasteroute-ingest"]
    url = f"mqtts://wasteroute-ingest:{pw}@127.0.0.1:{tls_port}"
    topics = ["wasteroute/+/sensors/+/up"]

    def edge(inbox: Inbox) -> MqttEdge:
        e = MqttEdge(url, client_id="tls-ingest", topics=topics, inbox=inbox, receive_maximum=5_000)
        e.start()
        assert e.wait_subscribed(15), "the TLS connection must come up and be granted its subscription"
        return e

    first_inbox = Inbox(100_000)
    first = edge(first_inbox)
    messages = [
        (f"wasteroute/tls/sensors/dev-{i % 50:03d}/up", f'{{"n":{i}}}'.encode() * 8) for i in range(3_000)
    ]
    with fast_publisher(broker.url("wasteroute-sim"), "tls-pub") as pub:
        pub.publish_all(messages)
        assert pub.wait_all(60)
    got = _drain(first_inbox, len(messages), 60)
    assert [(m.topic, m.payload) for m in got] == messages
    assert first.ack_batch(got[:2_000]) == 2_000  # the last 1,000 stay unacknowledged
    time.sleep(0.5)
    first.stop()

    again_inbox = Inbox(100_000)
    again = edge(again_inbox)
    redelivered = _drain(again_inbox, 1_000, 30)
    time.sleep(0.5)
    assert [m.payload for m in redelivered] == [p for _, p in messages[2_000:]]
    assert again_inbox.empty()
    again.ack_batch(redelivered)
    time.sleep(0.3)
    again.stop()
