"""The command line lists its subcommands and refuses wrong arguments with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wasteroute.cli import BENCHMARKS, build_parser

SUBCOMMANDS = [
    "run",
    "smoke",
    "migrate",
    "import-city",
    "ingest",
    "serve",
    "worker",
    "plan",
    "create-key",
    "bench",
]


def test_help_lists_every_subcommand() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wasteroute", "--help"], capture_output=True, text=True, check=True
    )
    for name in SUBCOMMANDS:
        assert name in out.stdout


def test_every_benchmark_entry_point_exists() -> None:
    import importlib

    for module, func in BENCHMARKS.values():
        assert callable(getattr(importlib.import_module(module), func))


def test_bench_says_where_the_benchmarks_come_from_when_they_are_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from wasteroute import cli

    monkeypatch.setitem(cli.BENCHMARKS, "routing", ("benchmarks.not_there", "main"))
    assert cli.main(["bench", "routing", "--json"]) == 2
    err = capsys.readouterr().err
    assert "the benchmarks are not installed here" in err and "make install" in err


def test_plan_refuses_an_unknown_fraction(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["plan", "--city", "luebeck", "--fraction", "metal"])
    assert exc.value.code == 2
    assert "invalid choice: 'metal'" in capsys.readouterr().err


def test_import_plan_and_key_through_the_command_line(fresh_database_url: str, tmp_path: Path) -> None:
    import json
    import os

    from tests.support import DATA

    env = {**os.environ, "WASTEROUTE_DATABASE_URL": fresh_database_url, "WASTEROUTE_DATA_DIR": str(tmp_path)}

    def run(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "wasteroute", *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout.strip().splitlines()[-1]

    imported = json.loads(run("import-city", str(DATA / "city-mini.json")))
    assert (imported["slug"], imported["bins"], imported["sensors"]) == ("testhafen", 24, 24)
    plan = json.loads(run("plan", "--city", "testhafen", "--fraction", "residual", "--time-limit", "2"))
    assert plan["status"] == "done"
    assert plan["bins_considered"] == 18  # the residual bins of the mini city
    key = run("create-key", "--city", "testhafen", "--role", "driver", "--vehicle", "TH-101")
    assert key.startswith("wr_") and len(key) > 30
