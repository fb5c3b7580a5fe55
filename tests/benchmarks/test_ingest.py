"""``wasteroute bench ingest`` end to end on a small N (its own mosquitto, the fixtures' PostgreSQL).

Not a timed test: it checks that the benchmark measures what it says and loses nothing.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from benchmarks.ingest import BenchOptions, main
from wasteroute.storage.db import migrate

KEYS = {
    "messages",
    "stored",
    "lost",
    "duplicates",
    "seconds",
    "msgs_per_s",
    "broker_only_msgs_per_s",
    "p99_latency_ms",
}


def test_bench_ingest_prints_a_json_result_line_with_nothing_lost(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate(fresh_database_url)
    monkeypatch.setenv("WASTEROUTE_DATABASE_URL", fresh_database_url)
    code = main(
        ["--messages", "3000", "--sensors", "50", "--latency-rate", "500", "--latency-seconds", "1", "--json"]
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert code == 0
    assert set(result) >= KEYS
    assert result["messages"] == result["stored"] == 3000 and result["lost"] == 0
    assert result["latency_messages"] == result["latency_stored"] == 500
    assert result["msgs_per_s"] > 0 and result["broker_only_msgs_per_s"] > 0
    assert 0 < result["p99_latency_ms"] < 60_000
    # the bench city is removed afterwards
    with psycopg.connect(fresh_database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        assert conn.execute("SELECT count(*) FROM city").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM sensor_reading").fetchone() == (0,)


def test_bench_options_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="messages"):
        BenchOptions(messages=0)
    with pytest.raises(ValueError, match="latency_rate"):
        BenchOptions(latency_rate=0)
