"""``wasteroute bench soak`` at a tiny size: its JSON contract on real processes (mosquitto, the ingest
process, the API, two plan workers) on the test PostgreSQL server: every reading sent is stored, every
fraction of every city is planned, the tablets are served their tours, nothing fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import DatabaseServer

FIRST_KEYS = ["readings_sent", "readings_stored", "lost", "plans", "plan_wait_p99_s", "tour_p99_ms", "errors"]


@pytest.mark.slow
def test_a_tiny_soak_stores_every_reading_plans_every_fraction_and_serves_every_tablet(
    db_server: DatabaseServer,
) -> None:
    env = {**os.environ, "WASTEROUTE_DATABASE_URL": db_server.admin_url}
    args = [
        *("--sensors", "60", "--speed", "600", "--duration-s", "30"),
        *("--plan-time-limit", "1", "--tablets", "8", "--min-tablet-s", "5", "--json"),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "wasteroute", "bench", "soak", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(result)[:7] == FIRST_KEYS
    assert proc.returncode == 0, (result, proc.stderr[-3000:])
    assert result["cities"] == 4 and result["workers"] == 2
    assert result["readings_sent"] > 200  # 60 sensors, hourly, 5 simulated hours
    assert result["readings_stored"] == result["readings_sent"] and result["lost"] == 0
    assert result["errors"] == 0 and result["dead_lettered"] == 0 and result["dead_processes"] == []
    # every fraction with trucks in every city: planned, none failed or missing
    assert result["plans"] >= 4 and result["plans_failed"] == 0 and result["plans_missing"] == 0
    assert result["plan_wait_p99_s"] is not None and result["plan_wait_p99_s"] >= 0
    assert result["tablets"] == 8 and result["tour_requests"] >= 8 and result["tour_errors"] == 0
    assert result["tour_p99_ms"] > 0
