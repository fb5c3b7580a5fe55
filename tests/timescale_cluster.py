"""A throw-away PostgreSQL 15 cluster with TimescaleDB preloaded, on a free loopback port.

The extension comes from the build folder named by ``WASTEROUTE_TEST_TIMESCALEDB`` (a folder with an
``install`` script, ``lib/`` and ``extension/``) unless PostgreSQL already has it. Installing writes
into PostgreSQL's own folders and so needs root; the cluster itself is initdb'd and run by a non-root
user (``postgres`` when the tests run as root, PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wasteroute.runtime.ports import free_port, wait_for_port

PG_BIN = Path(os.environ.get("WASTEROUTE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_LIB = Path("/usr/lib/postgresql/15/lib")
PG_EXT = Path("/usr/share/postgresql/15/extension")
RUN_AS = "postgres"
"""The system user that owns and runs the cluster when the tests run as root."""


class TimescaleUnavailable(RuntimeError):
    """The TimescaleDB build or PostgreSQL 15's server binaries cannot be found or installed."""


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def extension_installed() -> bool:
    return (PG_LIB / "timescaledb.so").exists() and (PG_EXT / "timescaledb.control").exists()


def ensure_extension() -> str:
    """Make sure PostgreSQL 15 can load TimescaleDB; returns how (``"present"`` or ``"installed"``).

    Raises :class:`TimescaleUnavailable` with the reason when it cannot."""
    if not (PG_BIN / "initdb").exists():
        raise TimescaleUnavailable(f"PostgreSQL 15 server binaries not found in {PG_BIN}")
    if extension_installed():
        return "present"
    build = os.environ.get("WASTEROUTE_TEST_TIMESCALEDB")
    if not build:
        raise TimescaleUnavailable(
            "TimescaleDB is not installed for PostgreSQL 15 and WASTEROUTE_TEST_TIMESCALEDB "
            "(a build folder with an install script) is not set"
        )
    script = Path(build) / "install"
    if not script.exists():
        raise TimescaleUnavailable(f"expected an install script in {build}, found none")
    if not _is_root():
        raise TimescaleUnavailable(f"TimescaleDB is not installed; run {script} as root")
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not extension_installed():
        raise TimescaleUnavailable(f"{script} failed: {done.stderr.strip() or done.stdout.strip()}")
    return "installed"


@dataclass
class TimescaleCluster:
    """A running cluster; ``url`` is its superuser DSN (trust authentication on 127.0.0.1)."""

    root: Path
    port: int
    user: str | None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def stop(self) -> None:
        subprocess.run(
            self._cmd(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> TimescaleCluster:
    """initdb a new cluster in a temporary folder and start it with ``timescaledb`` preloaded."""
    ensure_extension()
    root = Path(tempfile.mkdtemp(prefix="wasteroute-tsdb-"))
    user = RUN_AS if _is_root() else None
    if user:
        shutil.chown(root, user)
    cluster = TimescaleCluster(root, free_port(), user)
    data, log = root / "data", root / "server.log"
    try:
        subprocess.run(
            cluster._cmd(
                str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = " ".join(
            (
                f"-p {cluster.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={root}",
                "-c shared_preload_libraries=timescaledb",
                "-c timescaledb.telemetry_level=off",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            )
        )
        subprocess.run(
            cluster._cmd(
                str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = log.read_text() if log.exists() else ""
        out = getattr(exc, "stderr", b"") or b""
        cluster.stop()
        raise TimescaleUnavailable(f"the TimescaleDB cluster did not start: {out.decode()} {detail}") from exc
    if not wait_for_port("127.0.0.1", cluster.port, 30):
        cluster.stop()
        raise TimescaleUnavailable(f"the TimescaleDB cluster is not listening on port {cluster.port}")
    return cluster
