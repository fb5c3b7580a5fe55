"""The batch writer and the inbox without a broker or a database: batching, acks after commit in
arrival order, retry while the database is down, isolation of rows the database refuses."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from wasteroute.ingest.edge import InboundMessage, Inbox
from wasteroute.ingest.writer import BatchWriter, Resolved, take_batch
from wasteroute.storage.readings import (
    BatchOutcome,
    BatchRejected,
    DeadLetterRow,
    ReadingRow,
    StorageUnavailable,
)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _msg(i: int) -> InboundMessage:
    return InboundMessage(
        mid=i + 1,
        qos=1,
        topic=f"wasteroute/x/sensors/d{i}/up",
        payload=str(i).encode(),
        received_at=T0,
        generation=1,
    )


def _row(m: InboundMessage) -> list[Resolved]:
    i = int(m.payload)
    return [ReadingRow(i, T0, 1, i, 0.5, None, None, None, None, None, None, None, "native", m.payload)]


class FakeStore:
    """Commits into ``rows``; fails ``down`` times first; refuses readings of the sensors in ``poison``."""

    def __init__(self, down: int = 0, poison: frozenset[int] = frozenset()) -> None:
        self.down = down
        self.poison = poison
        self.rows: list[int] = []
        self.dead: list[DeadLetterRow] = []
        self.calls = 0
        self.log: list[str] = []

    def write_and_commit(self, readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]) -> BatchOutcome:
        self.calls += 1
        if self.down > 0:
            self.down -= 1
            raise StorageUnavailable("connection refused")
        if any(r.sensor_id in self.poison for r in readings):
            raise BatchRejected("value out of range")
        self.rows += [r.sensor_id for r in readings]
        self.dead += dead
        self.log.append("commit")
        return BatchOutcome(len(readings), 0, len(dead))


def _run(store: FakeStore, n: int, **kw: float) -> tuple[BatchWriter, list[int]]:
    inbox = Inbox(10_000)
    acked: list[int] = []

    def ack(batch: Sequence[InboundMessage]) -> None:
        store.log.append("ack")
        acked.extend(m.mid for m in batch)

    writer = BatchWriter(
        inbox,
        store,
        _row,
        ack,
        batch_size=int(kw.get("batch_size", 100)),
        batch_age_s=kw.get("batch_age_s", 0.01),
        max_backoff_s=0.05,
    )
    for i in range(n):
        inbox.put(_msg(i))
    writer.start()
    deadline = time.monotonic() + 10
    while writer.stats.acked < n and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop()
    writer.join(5)
    return writer, acked


def test_every_message_is_acked_once_in_arrival_order_and_only_after_its_commit() -> None:
    store = FakeStore()
    writer, acked = _run(store, 450, batch_size=100)
    assert acked == [i + 1 for i in range(450)]
    assert sorted(store.rows) == list(range(450))
    assert writer.stats.batches == 5 and writer.stats.stored == 450
    assert store.log == ["commit", "ack"] * 5


def test_database_down_is_retried_with_nothing_acked_until_the_commit() -> None:
    store = FakeStore(down=4)
    writer, acked = _run(store, 50, batch_size=100)
    assert writer.stats.retries == 4 and store.calls == 5
    assert acked == [i + 1 for i in range(50)] and sorted(store.rows) == list(range(50))
    assert store.log == ["commit", "ack"]


def test_rows_the_database_refuses_become_dead_letters_and_the_rest_is_stored() -> None:
    store = FakeStore(poison=frozenset({7, 61}))
    writer, acked = _run(store, 100, batch_size=100)
    assert sorted(store.rows) == [i for i in range(100) if i not in (7, 61)]
    assert sorted(d.payload for d in store.dead) == [b"61", b"7"]
    assert {d.reason for d in store.dead} == {"storage_rejected"}
    assert acked == [i + 1 for i in range(100)]
    assert writer.stats.dead_lettered == 2


def test_a_database_that_refuses_even_dead_letters_is_retried_not_crashed_on() -> None:
    class ReadOnly(FakeStore):
        def __init__(self) -> None:
            super().__init__()
            self.read_only = 3

        def write_and_commit(
            self, readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]
        ) -> BatchOutcome:
            if self.read_only > 0 and (readings or dead):  # a failover left the server read-only
                self.calls += 1
                if not readings:
                    self.read_only -= 1
                raise BatchRejected(
                    "ReadOnlySqlTransaction: cannot execute INSERT in a read-only transaction"
                )
            return super().write_and_commit(readings, dead)

    store = ReadOnly()
    writer, acked = _run(store, 20, batch_size=100)
    assert writer.failure is None and writer.stats.retries == 3
    assert sorted(store.rows) == list(range(20)) and store.dead == []
    assert acked == [i + 1 for i in range(20)]


def test_a_resolver_bug_dead_letters_the_message_instead_of_stopping_ingest() -> None:
    store = FakeStore()
    inbox = Inbox(10)

    def broken(m: InboundMessage) -> list[Resolved]:
        if m.payload == b"3":
            raise KeyError("boom")
        return _row(m)

    writer = BatchWriter(inbox, store, broken, lambda batch: None, batch_size=10, batch_age_s=0.01)
    for i in range(6):
        inbox.put(_msg(i))
    writer.start()
    writer.stop()
    writer.join(5)
    assert writer.failure is None
    assert sorted(store.rows) == [0, 1, 2, 4, 5]
    assert [(d.reason, d.payload) for d in store.dead] == [("internal_error", b"3")]


def test_take_batch_closes_on_size_on_age_and_at_once_on_stop() -> None:
    inbox = Inbox(100)
    stop = threading.Event()
    for i in range(25):
        inbox.put(_msg(i))
    assert len(take_batch(inbox, 10, 5.0, stop)) == 10  # size
    t0 = time.monotonic()
    assert len(take_batch(inbox, 100, 0.2, stop)) == 15  # age
    assert time.monotonic() - t0 >= 0.2
    inbox.put(_msg(99))
    stop.set()
    t0 = time.monotonic()
    assert len(take_batch(inbox, 100, 30.0, stop)) == 1  # stop: no waiting out the 30 s age
    assert time.monotonic() - t0 < 1.0
    assert take_batch(inbox, 100, 30.0, stop) == []


def test_inbox_blocks_the_producer_while_full_and_resumes_when_space_frees() -> None:
    inbox = Inbox(3)
    for i in range(3):
        assert inbox.put(_msg(i))
    result: list[bool] = []
    producer = threading.Thread(target=lambda: result.append(inbox.put(_msg(3))))
    producer.start()
    time.sleep(0.2)
    assert producer.is_alive() and inbox.qsize() == 3  # waiting: the network loop is held
    assert inbox.get(timeout=1).mid == 1
    producer.join(2)
    assert result == [False] and inbox.qsize() == 3
    assert [inbox.get_nowait().mid for _ in range(3)] == [2, 3, 4]
    with pytest.raises(queue.Empty):
        inbox.get_nowait()
    with pytest.raises(ValueError, match="capacity"):
        Inbox(0)


def test_a_blocked_producer_resumes_only_once_a_quarter_of_the_inbox_is_free() -> None:
    inbox = Inbox(100)
    for i in range(100):
        assert inbox.put(_msg(i))
    result: list[bool] = []
    producer = threading.Thread(target=lambda: result.append(inbox.put(_msg(100))))
    producer.start()
    for _ in range(24):
        inbox.get_nowait()
    time.sleep(0.2)  # four of its 50 ms polls: still above the low watermark of 75
    assert producer.is_alive() and inbox.qsize() == 76
    inbox.get(timeout=1)
    producer.join(2)
    assert result == [False] and inbox.qsize() == 76
    assert [inbox.get_nowait().mid for _ in range(76)] == list(range(26, 102))


class SlowStore(FakeStore):
    """Each commit takes ``seconds`` (a database round trip); records when each one ran."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.spans: list[tuple[float, float]] = []

    def write_and_commit(self, readings: Sequence[ReadingRow], dead: Sequence[DeadLetterRow]) -> BatchOutcome:
        t0 = time.monotonic()
        time.sleep(self.seconds)
        out = super().write_and_commit(readings, dead)
        self.spans.append((t0, time.monotonic()))
        return out


def test_the_next_batch_is_resolved_while_the_previous_one_is_committed() -> None:
    store = SlowStore(0.2)
    resolved_at: dict[int, float] = {}

    def resolve(m: InboundMessage) -> list[Resolved]:
        resolved_at[m.mid] = time.monotonic()
        return _row(m)

    inbox = Inbox(1_000)
    acked: list[int] = []
    writer = BatchWriter(
        inbox, store, resolve, lambda b: acked.extend(m.mid for m in b), batch_size=10, batch_age_s=0.01
    )
    for i in range(40):
        inbox.put(_msg(i))
    writer.start()
    deadline = time.monotonic() + 10
    while writer.stats.acked < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop()
    writer.join(5)
    assert not writer.is_alive() and writer.failure is None
    assert acked == list(range(1, 41)) and store.rows == list(range(40))
    first_end = store.spans[0][1]
    # batches 2 and 3 are resolved while the first is being committed, not after it
    assert max(resolved_at[mid] for mid in range(11, 31)) < first_end
    # and no further: batch 3 waits for the committer, so batch 4 is taken only after commit 1
    assert min(resolved_at[mid] for mid in range(31, 41)) >= first_end
    assert writer.stats.batches == 4


def test_a_committer_failure_stops_the_writer_and_is_reported() -> None:
    inbox = Inbox(100)

    def broken_ack(batch: Sequence[InboundMessage]) -> None:
        raise RuntimeError("ack channel broken")

    writer = BatchWriter(inbox, FakeStore(), _row, broken_ack, batch_size=5, batch_age_s=0.01)
    for i in range(20):
        inbox.put(_msg(i))
    writer.start()
    writer.join(5)
    assert not writer.is_alive()
    assert isinstance(writer.failure, RuntimeError) and writer.stats.acked == 0
