"""Prometheus metrics of ingest (one registry per process; served by the API and ``wasteroute ingest``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("wasteroute_ingest_received_total", "Messages received", ["channel"])
STORED = Counter("wasteroute_ingest_stored_total", "Readings stored (new rows)")
DUPLICATES = Counter("wasteroute_ingest_duplicates_total", "Readings already stored (redelivery, replays)")
DEAD_LETTERED = Counter("wasteroute_ingest_dead_lettered_total", "Messages dead-lettered", ["reason"])
BATCH_SECONDS = Histogram(
    "wasteroute_ingest_batch_seconds", "Batch write and commit latency",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
QUEUE_DEPTH = Gauge("wasteroute_ingest_queue_depth", "Messages waiting for the writer")
QUEUE_FULL = Counter("wasteroute_ingest_queue_full_total", "Times the MQTT edge waited for queue space")
DB_RETRIES = Counter("wasteroute_ingest_db_retries_total", "Batch writes retried after a database error")
CONNECTED = Gauge("wasteroute_ingest_connected", "1 while connected to the broker")
