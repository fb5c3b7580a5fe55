"""Fixtures of the plan-job tests: a committed database with two cities, and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.api.conftest import seed_document
from wasteroute.admin.service import import_city_seed
from wasteroute.storage.db import make_engine, make_session_factory, transaction

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


@pytest.fixture
def two_cities(mini_city_url: str) -> Iterator[TwoCities]:
    engine = make_engine(mini_city_url, pool_size=2)
    with transaction(make_session_factory(engine)) as s:
        b = import_city_seed(s, seed_document("nordhafen", "NH", "70b3d57ee1", "Nordhafen")).city_id
    with engine.connect() as conn:
        a = int(conn.execute(text("SELECT id FROM city WHERE slug = 'testhafen'")).scalar_one())
    yield TwoCities(mini_city_url, engine, a, b)
    engine.dispose()


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


@pytest.fixture
def workers(two_cities: TwoCities, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(two_cities.url, tmp_path)
    yield w
    w.stop()


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
