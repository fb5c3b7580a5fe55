"""Where messages go: a JSON-lines file, or an MQTT broker (QoS 1, MQTT v5); pacing and progress.

The MQTT publisher gates on acknowledgements: at most ``max_inflight`` messages are unacknowledged
at any time, far below paho's 65,535 message-id limit (queueing more overwrites entries silently),
so a burst at ``--speed max`` cannot lose messages inside the client.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from typing import Any, Protocol, TextIO
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sensors_sim.engine import Message


class Sink(Protocol):
    """Something that takes messages."""

    def send(self, msg: Message) -> None:
        """Send or write one message."""
        ...

    def close(self) -> None:
        """Flush and release resources; after this, every sent message is delivered."""
        ...


class JsonLinesSink:
    """Writes one JSON line per message (``Message.json_line``)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def send(self, msg: Message) -> None:
        """Write the message's line."""
        self._stream.write(msg.json_line())
        self._stream.write("\n")

    def close(self) -> None:
        """Flush the stream (the caller closes files it opened)."""
        self._stream.flush()


class MqttSink:
    """Publishes at QoS 1 over MQTT v5 and waits for every PUBACK before ``close`` returns.

    Args:
        url: ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS; default ports 1883/8883).
        client_id: MQTT client id.
        max_inflight: unacknowledged messages allowed at once (1..65535; default 1000).
        connect_timeout_s: how long to wait for the broker's CONNACK, seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        client_id: str = "sensors-sim",
        max_inflight: int = 1000,
        connect_timeout_s: float = 15.0,
    ) -> None:
        u = urlparse(url)
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise ValueError(f"mqtt url must look like mqtt://host:port, got {url!r}")
        if not 1 <= max_inflight <= 65_535:
            raise ValueError(f"max_inflight must be in 1..65535, got {max_inflight}")
        self._window = threading.BoundedSemaphore(max_inflight)
        self._max_inflight = max_inflight
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self.acked = 0
        self.failed = 0
        self._connect_error: str | None = None
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if u.username:
            c.username_pw_set(unquote(u.username), unquote(u.password) if u.password else None)
        if u.scheme == "mqtts":
            c.tls_set()
        c.max_inflight_messages_set(max_inflight)
        c.max_queued_messages_set(max_inflight)
        c.reconnect_delay_set(1, 30)
        c.on_connect = self._on_connect
        c.on_publish = self._on_publish
        self._client = c
        c.connect(u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883), keepalive=30)
        c.loop_start()
        if not self._connected.wait(connect_timeout_s):
            c.loop_stop()
            raise ConnectionError(
                self._connect_error or f"no CONNACK from {u.hostname} in {connect_timeout_s} s"
            )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._connect_error = f"broker refused the connection: {reason_code}"
            return
        self._connected.set()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            if reason_code.is_failure:
                self.failed += 1
            else:
                self.acked += 1
        self._window.release()

    def send(self, msg: Message) -> None:
        """Publish; blocks while ``max_inflight`` messages are waiting for their PUBACK."""
        self._window.acquire()
        info = self._client.publish(msg.topic, msg.payload, qos=msg.qos)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            self._window.release()
            raise ConnectionError(f"publish to {msg.topic} failed: {mqtt.error_string(info.rc)}")

    def close(self, timeout_s: float = 60.0) -> None:
        """Wait until every message is acknowledged (or ``timeout_s``), then disconnect."""
        deadline = time.monotonic() + timeout_s
        taken = 0
        while taken < self._max_inflight and self._window.acquire(
            timeout=max(0.0, deadline - time.monotonic())
        ):
            taken += 1
        self._client.disconnect()
        self._client.loop_stop()
        if taken < self._max_inflight:
            raise TimeoutError(f"{self._max_inflight - taken} messages not acknowledged within {timeout_s} s")


class Pacer:
    """Holds messages back so simulated time runs ``speed`` times as fast as the wall clock.

    ``speed`` None: no waiting (as fast as possible).
    """

    def __init__(self, speed: float | None, sim_start: datetime) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be > 0 or None (max), got {speed}")
        self._speed = speed
        self._sim_start = sim_start
        self._wall_start = time.monotonic()

    def wait_for(self, at: datetime) -> None:
        """Sleep until the wall-clock moment that corresponds to simulated time ``at``."""
        if self._speed is None:
            return
        target = self._wall_start + (at - self._sim_start).total_seconds() / self._speed
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class Progress:
    """A progress line on stderr for long runs: simulated day, share done, messages, rate.

    Shows nothing during the first ``quiet_s`` seconds; redraws in place on a terminal, prints a
    line every ``every_s`` seconds otherwise.
    """

    def __init__(
        self,
        sim_start: datetime,
        days: float,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        quiet_s: float = 2.0,
        every_s: float | None = None,
    ) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._enabled = enabled
        self._sim_start = sim_start
        self._total_s = days * 86_400.0
        self._t0 = time.monotonic()
        self._next = self._t0 + quiet_s
        self._every = every_s if every_s is not None else (0.5 if self._tty else 10.0)
        self._shown = False
        self.count = 0

    def update(self, at: datetime) -> None:
        """Count one message sent at simulated time ``at``; redraw when due."""
        self.count += 1
        if not self._enabled or self.count & 0xFF:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._every
        done_s = (at - self._sim_start).total_seconds()
        share = min(1.0, done_s / self._total_s) if self._total_s else 1.0
        rate = self.count / max(now - self._t0, 1e-9)
        line = (
            f"day {done_s / 86_400:.1f}/{self._total_s / 86_400:g} ({share:.0%}), "
            f"{self.count:,} messages, {rate:,.0f}/s"
        )
        self._stream.write(("\r" + line + "   ") if self._tty else line + "\n")
        self._stream.flush()
        self._shown = True

    def finish(self) -> None:
        """End the progress line."""
        if self._shown and self._tty:
            self._stream.write("\n")
            self._stream.flush()
