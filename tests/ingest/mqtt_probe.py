"""A small synchronous MQTT v5 client for access-control checks on a live broker: it records the
CONNACK, the SUBACK reason codes, the PUBACK of each publish and the topics it receives."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from wasteroute.runtime.broker import BrokerHandle


class ProbeClient:
    def __init__(self, broker: BrokerHandle, user: str | None, password: str | None) -> None:
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"acl-{user}-{time.monotonic_ns()}", protocol=mqtt.MQTTv5
        )
        if user is not None:
            self.c.username_pw_set(user, password)
        self.connack: Any = None
        self.connected = threading.Event()
        self.suback: list[Any] = []
        self.subscribed = threading.Event()
        self.received: list[str] = []
        self.puback: dict[int, Any] = {}
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = lambda c, u, m: self.received.append(m.topic)
        self.c.on_publish = lambda c, u, mid, reason, props: self.puback.__setitem__(mid, reason)
        self.c.connect(broker.host, broker.port, keepalive=10)
        self.c.loop_start()
        self.connected.wait(10)

    def _on_connect(self, c: mqtt.Client, u: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connack = reason
        self.connected.set()

    def _on_subscribe(self, c: mqtt.Client, u: Any, mid: int, reasons: Any, props: Any) -> None:
        self.suback = list(reasons)
        self.subscribed.set()

    def subscribe(self, topic: str) -> list[Any]:
        self.subscribed.clear()
        self.c.subscribe(topic, qos=1)
        assert self.subscribed.wait(10)
        return self.suback

    def publish(self, topic: str, payload: bytes = b'{"probe": true}') -> Any:
        """Publish at QoS 1 and return the PUBACK's reason code (``is_failure`` when refused)."""
        info = self.c.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        return self.puback.get(info.mid)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()
