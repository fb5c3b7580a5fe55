"""The writer: batch by size and age, write idempotently, commit, then ack in arrival order.

Two threads in a pipeline: the writer thread takes a batch and resolves it (parsing, CPU) while its
committer thread writes and commits the previous one (mostly waiting on the database, which
releases the GIL). At most one resolved batch waits between them; batches are committed and acked
in the order they were taken.

Database down: retry the same batch with backoff and ack nothing (the broker keeps the messages).
A batch the database refuses for its content is split until the offending messages are isolated;
those become dead letters (with their raw bytes) and everything else is stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from wasteroute.ingest import metrics
from wasteroute.ingest.edge import InboundMessage, Inbox
from wasteroute.storage.readings import (
    BatchOutcome,
    BatchRejected,
    DeadLetterRow,
    ReadingRow,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

Resolved = ReadingRow | DeadLetterRow
_Handover = tuple[list[InboundMessage], list[Resolved]]


class BatchSink(Protocol):
    """Where batches go: one transaction per call, committed on return (``BatchStore`` in production).

    Raises ``StorageUnavailable`` (retry later, nothing was stored) or ``BatchRejected`` (the content
    was refused; nothing was stored)."""

    def write_and_commit(
        self, readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]
    ) -> BatchOutcome: ...


@dataclass
class WriterStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    retries: int = 0
    acked: int = 0
    last_commit_monotonic: float = 0.0


def take_batch(inbox: Inbox, max_size: int, max_age_s: float, stop: threading.Event) -> list[InboundMessage]:
    """Block until one message arrives (or ``stop`` with an empty inbox: returns ``[]``), then collect
    until ``max_size`` messages or until the first one is ``max_age_s`` seconds old.

    Once ``stop`` is set the batch is closed with what is already queued, without waiting out the age.
    """
    batch: list[InboundMessage] = []
    while not batch:
        if stop.is_set() and inbox.empty():
            return batch
        try:
            batch.append(inbox.get(timeout=0.05))
        except queue.Empty:
            continue
    deadline = time.monotonic() + max_age_s
    while len(batch) < max_size:
        try:  # take what is there without waiting: one lock round trip per message, no timers
            batch.append(inbox.get_nowait())
            continue
        except queue.Empty:
            pass
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stop.is_set():
            break
        try:
            batch.append(inbox.get(timeout=min(remaining, 0.05)))
        except queue.Empty:
            continue
    return batch


class BatchWriter(threading.Thread):
    """Consumes ``inbox``; ``resolve`` turns a message into reading rows and/or dead letters.

    The thread resolves; a committer thread it owns writes, commits and acks (see the module
    docstring). ``join`` returns once both are done; ``failure`` holds an error of either.

    ``ack`` is called once per batch with its messages in arrival order, after the batch is committed.
    ``batch_size`` (messages, default 1000) and ``batch_age_s`` (default 0.1 s) close a batch,
    whichever comes first; ``max_backoff_s`` caps the wait between retries while the database is down.
    """

    def __init__(
        self,
        inbox: Inbox,
        store: BatchSink,
        resolve: Callable[[InboundMessage], list[Resolved]],
        ack: Callable[[Sequence[InboundMessage]], object],
        *,
        batch_size: int = 1000,
        batch_age_s: float = 0.1,
        max_backoff_s: float = 10.0,
        on_commit: Callable[[Sequence[InboundMessage], BatchOutcome], None] | None = None,
    ) -> None:
        super().__init__(name="ingest-writer", daemon=True)
        self.inbox = inbox
        self.store = store
        self.resolve = resolve
        self.ack = ack
        self.batch_size = batch_size
        self.batch_age_s = batch_age_s
        self.max_backoff_s = max_backoff_s
        self.on_commit = on_commit
        self.stop_event = threading.Event()
        self.stats = WriterStats()
        self.failure: BaseException | None = None
        self._handover: queue.Queue[_Handover | None] = queue.Queue(maxsize=1)

    def stop(self) -> None:
        """Finish the batch in flight (write, commit, ack) and everything already queued, then exit."""
        self.stop_event.set()

    def run(self) -> None:
        committer = threading.Thread(target=self._commit_loop, name="ingest-committer", daemon=True)
        committer.start()
        try:
            while self.failure is None:
                batch = take_batch(self.inbox, self.batch_size, self.batch_age_s, self.stop_event)
                metrics.QUEUE_DEPTH.set(self.inbox.qsize())
                if not batch:
                    break
                self.stats.received += len(batch)
                metrics.RECEIVED.labels("mqtt").inc(len(batch))
                resolved = [r for m in batch for r in self._safe_resolve(m)]
                if not self._hand_over((batch, resolved), committer):
                    break
        except BaseException as exc:  # pragma: no cover - logged, surfaced through .failure
            self.failure = exc
            log.exception("ingest writer stopped by an unexpected error")
        finally:
            self._hand_over(None, committer)  # the committer finishes what it holds, then leaves
            committer.join()

    def _hand_over(self, item: _Handover | None, committer: threading.Thread) -> bool:
        """Queue ``item`` for the committer (waits while it is busy); False once it has stopped."""
        while committer.is_alive():
            try:
                self._handover.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _commit_loop(self) -> None:
        try:
            while True:
                item = self._handover.get()
                if item is None:
                    return
                self._commit(*item)
        except BaseException as exc:  # pragma: no cover - logged, surfaced through .failure
            self.failure = exc
            log.exception("ingest committer stopped by an unexpected error")

    def _commit(self, batch: list[InboundMessage], resolved: list[Resolved]) -> None:
        outcome = self._write_with_retry(resolved)
        metrics.COMMIT_DELAY_SECONDS.observe((datetime.now(UTC) - batch[0].received_at).total_seconds())
        self.ack(batch)  # arrival order, only after the commit
        self.stats.acked += len(batch)
        self.stats.batches += 1
        self.stats.stored += outcome.stored
        self.stats.duplicates += outcome.duplicates
        self.stats.dead_lettered += outcome.dead_lettered
        self.stats.last_commit_monotonic = time.monotonic()
        metrics.STORED.inc(outcome.stored)
        metrics.DUPLICATES.inc(outcome.duplicates)
        if self.on_commit is not None:
            self.on_commit(batch, outcome)

    def _safe_resolve(self, m: InboundMessage) -> list[Resolved]:
        try:
            return self.resolve(m)
        except Exception as exc:  # a bug in an adapter must not stop ingest: keep the message
            log.exception("resolver failed on a message from %s", m.topic)
            return [
                DeadLetterRow("mqtt", m.topic, m.payload, "internal_error", f"{type(exc).__name__}: {exc}")
            ]

    def _write_with_retry(self, resolved: list[Resolved]) -> BatchOutcome:
        backoff = 0.2
        while True:
            try:
                return self._write(resolved)
            except StorageUnavailable as exc:
                self.stats.retries += 1
                metrics.DB_RETRIES.inc()
                log.warning("database unavailable (%s); retrying in %.1f s, nothing acked", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _write(self, resolved: list[Resolved]) -> BatchOutcome:
        readings = [r for r in resolved if isinstance(r, ReadingRow)]
        dead = [r for r in resolved if isinstance(r, DeadLetterRow)]
        t0 = time.perf_counter()
        try:
            outcome = self.store.write_and_commit(readings, dead)
        except BatchRejected as exc:
            try:
                outcome = self._isolate(readings, dead, str(exc))
            except BatchRejected as refused:
                # even the dead letters were refused: the database itself is the problem (read-only
                # after a failover, permissions), not the messages. Retry later; nothing is acked.
                raise StorageUnavailable(f"the database refuses dead letters too: {refused}") from refused
        elapsed = time.perf_counter() - t0
        metrics.BATCH_SECONDS.observe(elapsed)
        for d in dead:
            metrics.DEAD_LETTERED.labels(d.reason).inc()
        if outcome.dead_lettered > len(dead):  # rows the database refused, isolated above
            metrics.DEAD_LETTERED.labels("storage_rejected").inc(outcome.dead_lettered - len(dead))
        return outcome

    def _isolate(self, readings: list[ReadingRow], dead: list[DeadLetterRow], why: str) -> BatchOutcome:
        """Write halves until single refused readings remain; those become dead letters."""
        log.warning("database refused a batch (%s); isolating the offending readings", why)
        total = BatchOutcome(0, 0, 0)
        pending: list[list[ReadingRow]] = [readings]
        refused: list[DeadLetterRow] = []
        while pending:
            part = pending.pop()
            try:
                out = self.store.write_and_commit(part, [])
                total = BatchOutcome(total.stored + out.stored, total.duplicates + out.duplicates, 0)
            except BatchRejected as exc:
                if len(part) == 1:
                    r = part[0]
                    refused.append(
                        DeadLetterRow("mqtt", None, r.raw or b"", "storage_rejected", str(exc), r.city_id)
                    )
                else:
                    mid = len(part) // 2
                    pending.extend([part[:mid], part[mid:]])
        out = self.store.write_and_commit([], [*dead, *refused])
        return BatchOutcome(total.stored, total.duplicates, out.dead_lettered)
