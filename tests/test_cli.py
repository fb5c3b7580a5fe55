"""The command line lists its subcommands and refuses wrong arguments with a clear message."""

from __future__ import annotations

import subprocess
import sys

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


def test_plan_refuses_an_unknown_fraction(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["plan", "--city", "luebeck", "--fraction", "metal"])
    assert exc.value.code == 2
    assert "invalid choice: 'metal'" in capsys.readouterr().err
