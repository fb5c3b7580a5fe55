"""``wasteroute maintain`` on both backends: it migrates, maintains, prints its report and exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_maintain_exits_zero_and_prints_its_report(backend: str, backend_fresh_url: str) -> None:
    env = {
        **os.environ,
        "WASTEROUTE_DATABASE_URL": backend_fresh_url,
        "WASTEROUTE_RETENTION_DAYS": "45",
    }
    done = subprocess.run(
        [sys.executable, "-m", "wasteroute", "maintain"], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["skipped"] is False
    if backend == "postgres":
        assert report["backend"] == "partitioned" and report["rollup"] == "table"
        assert report["partitions_created"] == [] and report["default_rows"] == 0
    else:
        assert report["backend"] == "timescale" and report["rollup"] == "continuous_aggregate"
        assert report["retention_policy_days"] == 45 and report["retention_policy_changed"] is False
