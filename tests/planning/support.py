"""Helpers of the plan-job tests: a committed database with two cities, real worker processes, and waiting
for what they do. The fixtures that hand them out are in conftest.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class TwoCities:
    url: str
    engine: Engine
    a: int
    """testhafen"""
    b: int
    """nordhafen"""

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())


@dataclass
class Workers:
    """``wasteroute worker`` processes, each as started by its service unit, stopped after the test."""

    url: str
    logs: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, **settings: object) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "WASTEROUTE_DATABASE_URL": self.url,
            "WASTEROUTE_WORKER_POLL_S": "0.2",
            "WASTEROUTE_MAINTENANCE_INTERVAL_S": "3600",
            **self.env,
            **{f"WASTEROUTE_{k.upper()}": str(v) for k, v in settings.items()},
        }
        log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "wasteroute", "worker"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def log_text(self) -> str:
        return "\n".join(
            f.read_text(errors="replace")[-3000:] for f in sorted(self.logs.glob("worker-*.log"))
        )


def wait_for(what: str, check: Callable[[], Any], timeout_s: float, workers: Workers | None = None) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the workers' logs otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    logs = workers.log_text() if workers else ""
    pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}\n{logs}")
