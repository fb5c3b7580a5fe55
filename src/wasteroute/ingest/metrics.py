"""Prometheus metrics of ingest (one registry per process), served on a port of their own by
``wasteroute ingest`` (MQTT) and ``wasteroute serve`` (webhooks), never on the API's port.

Counters are process-wide: several ingestors in one process (tests) add up.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RECEIVED = Counter("wasteroute_ingest_received_total", "Messages received", ["channel"])
STORED = Counter("wasteroute_ingest_stored_total", "Readings stored (new rows)")
DUPLICATES = Counter("wasteroute_ingest_duplicates_total", "Readings already stored (redelivery, replays)")
DEAD_LETTERED = Counter("wasteroute_ingest_dead_lettered_total", "Messages dead-lettered", ["reason"])
BATCH_SECONDS = Histogram(
    "wasteroute_ingest_batch_seconds",
    "Batch write and commit latency, s",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
COMMIT_DELAY_SECONDS = Histogram(
    "wasteroute_ingest_commit_delay_seconds",
    "From the arrival of a batch's first message to its commit, s",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
QUEUE_DEPTH = Gauge("wasteroute_ingest_queue_depth", "Messages waiting for the writer")
QUEUE_FULL = Counter("wasteroute_ingest_queue_full_total", "Times the MQTT edge waited for queue space")
DB_RETRIES = Counter("wasteroute_ingest_db_retries_total", "Batch writes retried after a database error")
CONNECTED = Gauge("wasteroute_ingest_connected", "1 while connected to the broker")
RECONNECTS = Counter("wasteroute_ingest_reconnects_total", "Connections to the broker after the first")
STALE_ACKS = Counter(
    "wasteroute_ingest_stale_acks_total",
    "Acks skipped because the message came on an earlier connection (it is redelivered)",
)


def serve_metrics(port: int, addr: str = "0.0.0.0") -> WSGIServer:
    """Serve ``/metrics`` on ``addr:port`` from a daemon thread (Prometheus text format).

    Returns the server; ``.shutdown()`` stops it.
    """
    if not 0 <= port <= 65_535:
        raise ValueError(f"the metrics port must lie in 0..65535, got {port}")
    server, _thread = start_http_server(port, addr=addr)
    return server
