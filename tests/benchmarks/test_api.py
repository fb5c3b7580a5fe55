"""`wasteroute bench api` keeps its contract: the JSON line with every figure, every answer checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import DatabaseServer


def test_bench_api_prints_its_figures_and_counts_no_errors(db_server: DatabaseServer) -> None:
    url = db_server.create("wasteroute_bench_api")
    env = {**os.environ, "WASTEROUTE_DATABASE_URL": url}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasteroute",
            "bench",
            "api",
            "--json",
            "--clients",
            "5",
            "--duration-s",
            "2",
            "--warmup-s",
            "0.5",
            "--rate",
            "50",
            "--workers",
            "1",
            "--bins",
            "60",
            "--routes",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"requests", "rps", "p50_ms", "p99_ms", "errors"} <= result.keys()
    assert result["errors"] == 0
    assert result["requests"] >= 50  # 50 req/s paced for 2 s
    assert 0 < result["p50_ms"] <= result["p99_ms"]
