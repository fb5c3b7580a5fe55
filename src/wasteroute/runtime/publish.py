"""A QoS 1 publisher for demos and benchmarks that never overruns paho's 65,535 in-flight ids.

paho keys its out-queue by the 16-bit message id, so more than 65,535 unacknowledged QoS 1
messages overwrite each other silently; this publisher waits for acks once ``window`` are in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from wasteroute.ingest.edge import BrokerAddress


class Publisher:
    def __init__(self, url: str, client_id: str, *, window: int = 1_000, protocol: str = "5") -> None:
        self.address = BrokerAddress.parse(url)
        self.window = window
        proto = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=proto)
        if self.address.username:
            self.client.username_pw_set(self.address.username, self.address.password)
        # paho's own in-flight limit makes it scan every in-flight message on each ack; the window
        # above already keeps the ids below 65,535, so paho's limit is off (0 = unlimited)
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self._cond = threading.Condition()
        self._in_flight = 0
        self.acked = 0
        self.on_ack: Callable[[int], None] | None = None
        self.client.on_publish = self._on_publish

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._cond:
            self._in_flight -= 1
            self.acked += 1
            self._cond.notify_all()
        if self.on_ack is not None:
            self.on_ack(mid)

    def __enter__(self) -> Publisher:
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.connect(self.address.host, self.address.port, keepalive=60)
        self.client.loop_start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wait_all(60)
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Publish one message (blocks while ``window`` messages await their ack); returns its mid."""
        with self._cond:
            while self._in_flight >= self.window:
                self._cond.wait(1.0)
            self._in_flight += 1
        info = self.client.publish(topic, payload, qos=qos)
        # NO_CONN: paho keeps a QoS > 0 message and sends it when its loop has reconnected
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN) or (
            info.rc == mqtt.MQTT_ERR_NO_CONN and qos == 0
        ):
            with self._cond:
                self._in_flight -= 1
            raise RuntimeError(f"publish failed: {mqtt.error_string(info.rc)}")
        return int(info.mid)

    def publish_all(self, messages: Iterable[tuple[str, bytes]]) -> int:
        n = 0
        for topic, payload in messages:
            self.publish(topic, payload)
            n += 1
        return n

    @property
    def in_flight(self) -> int:
        """Messages published and not acknowledged yet."""
        with self._cond:
            return self._in_flight

    def wait_all(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._in_flight > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 1.0))
        return True
