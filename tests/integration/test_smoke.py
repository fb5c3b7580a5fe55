"""The main loop end to end through the command line: `wasteroute smoke` on a small city."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import DatabaseServer


def test_smoke_runs_the_whole_loop_and_prints_its_summary(db_server: DatabaseServer, tmp_path: Path) -> None:
    url = db_server.create("wasteroute_smoke")
    env = {**os.environ, "WASTEROUTE_DATABASE_URL": url, "WASTEROUTE_DATA_DIR": str(tmp_path / "data")}
    env.pop("WASTEROUTE_MQTT_URL", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasteroute",
            "smoke",
            "--city",
            "wismar",
            "--bins",
            "120",
            "--days",
            "6",
            "--time-limit",
            "3",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["bins"] == 120
    assert summary["readings"] > 120 * 6 * 8  # every 2 h for 6 days, minus faults
    assert summary["routes"] >= 1
    assert summary["km"] > 0
    assert "plan" in proc.stdout and "ingest:" in proc.stdout


def test_smoke_falls_back_to_the_python_broker_without_mosquitto(
    db_server: DatabaseServer, tmp_path: Path
) -> None:
    url = db_server.create("wasteroute_smoke_amqtt")
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.endswith("sbin"))
    env = {
        **os.environ,
        "WASTEROUTE_DATABASE_URL": url,
        "WASTEROUTE_DATA_DIR": str(tmp_path / "data"),
        "PATH": path,
    }
    env.pop("WASTEROUTE_MQTT_URL", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasteroute",
            "smoke",
            "--city",
            "stralsund",
            "--bins",
            "60",
            "--days",
            "3",
            "--time-limit",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "embedded Python broker" in proc.stdout
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["readings"] > 60 * 3 * 8
