"""Webhook ingest (The Things Stack, ChirpStack over HTTP): the same resolver as MQTT, one commit per
request; the API's gateway routes hand the bodies over.

Readings are written with :class:`~wasteroute.storage.readings.BatchStore` (readings, state, alerts
and dead letters in one transaction); the HTTP answer is sent only after that commit, so a sender
that sees 2xx knows the data is stored, and a sender that sees 503 retries.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from wasteroute.ingest import metrics
from wasteroute.ingest.adapters import WebhookKind, parse_webhook
from wasteroute.ingest.integrations import IntegrationDirectory
from wasteroute.ingest.rejects import IngestLimits
from wasteroute.ingest.resolver import Resolver, SensorDirectory
from wasteroute.storage.integrations import IntegrationInfo
from wasteroute.storage.readings import (
    BatchOutcome,
    BatchRejected,
    DeadLetterRow,
    ReadingRow,
    SensorInfo,
    StorageUnavailable,
)

T = TypeVar("T")


class ReadingStore(Protocol):
    """What the webhook path needs from storage (``BatchStore`` in production)."""

    def write_and_commit(
        self, readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]
    ) -> BatchOutcome: ...

    def sensors(self) -> dict[str, SensorInfo]: ...

    def integrations(self) -> list[IntegrationInfo]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class WebhookOutcome:
    stored: int
    duplicates: int
    dead_lettered: int
    refused: list[tuple[str, str]]
    """(reason, detail) told to the sender; a device of another city reads as an unknown one."""


class StorePool:
    """A few stores (each one database connection) shared by the request threads."""

    def __init__(self, make: Callable[[], ReadingStore], size: int = 4) -> None:
        self._make = make
        self._idle: queue.LifoQueue[ReadingStore] = queue.LifoQueue()
        self._slots = queue.Queue[None](maxsize=size)
        self._all: list[ReadingStore] = []

    def run(self, fn: Callable[[ReadingStore], T]) -> T:
        self._slots.put(None)
        try:
            try:
                store = self._idle.get_nowait()
            except queue.Empty:
                store = self._make()
                self._all.append(store)
            try:
                return fn(store)
            finally:
                self._idle.put(store)
        finally:
            self._slots.get()

    def close(self) -> None:
        for s in self._all:
            s.close()


class WebhookIngest:
    """Parse, resolve, check the city, write and commit one webhook body."""

    def __init__(self, pool: StorePool, limits: IngestLimits) -> None:
        self.pool = pool
        self.limits = limits
        self.directory = SensorDirectory(self._load)
        self.integrations = IntegrationDirectory(self._load_integrations)
        self.resolver = Resolver(self.directory, limits, channel="webhook", integrations=self.integrations)

    def _load(self) -> dict[str, SensorInfo]:
        return self.pool.run(lambda s: s.sensors())

    def _load_integrations(self) -> list[IntegrationInfo]:
        return self.pool.run(lambda s: s.integrations())

    def handle(
        self, kind: WebhookKind, body: bytes, city_id: int, now: datetime | None = None
    ) -> WebhookOutcome:
        """Raises ``StorageUnavailable`` when the database cannot take the write (answer 503)."""
        received = now or datetime.now(UTC)
        topic = f"webhook/{kind}"
        resolved = self.resolver.resolve(
            topic,
            body,
            received,
            lambda: parse_webhook(
                kind,
                body,
                received_at=received,
                now=received,
                limits=self.limits,
                model_hint=self.directory.model_of,
            ),
            caller_city_id=city_id,
        )
        rows: list[ReadingRow] = []
        dead: list[DeadLetterRow] = []
        refused: list[tuple[str, str]] = []
        for r in resolved:
            if isinstance(r, ReadingRow) and r.city_id == city_id:
                rows.append(r)
            elif isinstance(r, ReadingRow):
                dead.append(
                    DeadLetterRow(
                        "webhook",
                        topic,
                        body,
                        "wrong_city",
                        f"sensor {r.sensor_id} is not a sensor of the sending key's city",
                        city_id,
                    )
                )
                refused.append(("unknown_device", "no sensor of your city is registered with this device id"))
            else:
                dead.append(replace(r, city_id=city_id, topic=topic))
                if r.reason in ("unknown_device", "wrong_city"):
                    refused.append(
                        ("unknown_device", "no sensor of your city is registered with this device id")
                    )
                else:
                    refused.append((r.reason, r.detail))
        try:
            out = self.pool.run(lambda s: s.write_and_commit(rows, dead))
        except BatchRejected as exc:
            dead = [
                *dead,
                DeadLetterRow("webhook", topic, body, "refused_by_database", str(exc)[:500], city_id),
            ]
            refused.append(("refused_by_database", "the database refused a value of this message"))
            out = self.pool.run(lambda s: s.write_and_commit([], dead))
            _count(dead, out)
            return WebhookOutcome(0, 0, out.dead_lettered, refused)
        _count(dead, out)
        return WebhookOutcome(out.stored, out.duplicates, out.dead_lettered, refused)


def _count(dead: Sequence[DeadLetterRow], out: BatchOutcome) -> None:
    """The webhook's share of ingest's metrics (after the commit)."""
    metrics.RECEIVED.labels("webhook").inc()
    metrics.STORED.inc(out.stored)
    metrics.DUPLICATES.inc(out.duplicates)
    for d in dead:
        metrics.DEAD_LETTERED.labels(d.reason).inc()


__all__ = ["StorageUnavailable", "StorePool", "WebhookIngest", "WebhookOutcome"]
