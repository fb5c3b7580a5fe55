"""Imports run one way: from the edges (API, pages, runtime, command line) down to the domain packages,
from those down to storage, and from everything down to the foundations. Read from the source with
``ast`` (imports inside functions and under ``TYPE_CHECKING`` count too), so a new import that runs
upwards fails here with the line that does it.

The benchmarks (``benchmarks/``) and the tests sit beside the product: nothing in ``src/`` imports
them; the command line reaches the benchmarks only by their module names, through ``importlib``, in
``wasteroute bench``. The simulator (``sensors_sim/``) is used by the edges only (the demo and
``wasteroute simulate``), and itself uses nothing of wasteroute but the public message schemas.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "wasteroute"

FOUNDATIONS, STORAGE, DOMAIN, EDGES = 0, 1, 2, 3
LAYER_NAMES = {FOUNDATIONS: "foundations", STORAGE: "storage", DOMAIN: "domain", EDGES: "edges"}
LAYERS = {
    # settings, errors, the clock and the vocabulary: imported by every layer, import nothing of wasteroute
    "__init__": FOUNDATIONS,
    "config": FOUNDATIONS,
    "errors": FOUNDATIONS,
    "clock": FOUNDATIONS,
    "vocabulary": FOUNDATIONS,
    # the only package that speaks SQL
    "storage": STORAGE,
    # the domain: pure cores and the services that run them against storage
    "forecasting": DOMAIN,
    "planning": DOMAIN,
    "ingest": DOMAIN,
    "admin": DOMAIN,
    # the edges: HTTP, pages, embedded services and the demo, the closed-loop simulation, the shell
    "api": EDGES,
    "web": EDGES,
    "runtime": EDGES,
    "simulation": EDGES,
    "cli": EDGES,
    "__main__": EDGES,
}
NEVER_FROM_SRC = ("benchmarks", "tests")
SENSORS_SIM_MAY_USE = ("wasteroute.ingest.schemas",)


def imported_modules(path: Path, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                assert node.module is not None
                yield node.lineno, node.module
                continue
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            yield node.lineno, ".".join([*base, node.module] if node.module else base)


def _package_of(path: Path, root: Path, top: str) -> str:
    """The package a file's relative imports start from (its own, for an ``__init__.py``)."""
    return ".".join((top, *path.relative_to(root).parts[:-1]))


def _layer_of_file(path: Path) -> str:
    return path.relative_to(SRC).with_suffix("").parts[0]


def test_every_package_of_src_has_a_layer() -> None:
    found = {_layer_of_file(p) for p in SRC.rglob("*.py")}
    assert found - LAYERS.keys() == set(), "give the new package a layer in LAYERS"


def test_no_import_runs_from_a_lower_layer_to_a_higher_one() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        here = _layer_of_file(path)
        for line, module in imported_modules(path, _package_of(path, SRC, "wasteroute")):
            parts = module.split(".")
            where = f"{path.relative_to(ROOT)}:{line}: imports {module}"
            if parts[0] in NEVER_FROM_SRC:
                wrong.append(f"{where} (the product never imports {parts[0]})")
            elif parts[0] == "sensors_sim" and LAYERS[here] != EDGES:
                wrong.append(f"{where} (the simulator is for the edges only)")
            elif parts[0] == "wasteroute" and len(parts) > 1:
                there = parts[1]
                assert there in LAYERS, f"{where}: no package {there!r} in LAYERS"
                if LAYERS[there] > LAYERS[here]:
                    low, high = LAYER_NAMES[LAYERS[here]], LAYER_NAMES[LAYERS[there]]
                    wrong.append(f"{where} ({low} {here} -> {high} {there})")
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


def test_the_simulator_uses_only_the_public_message_schemas() -> None:
    root = ROOT / "sensors_sim"
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in sorted(root.rglob("*.py"))
        for line, module in imported_modules(path, _package_of(path, root, "sensors_sim"))
        if module.split(".")[0] in ("wasteroute", *NEVER_FROM_SRC) and module not in SENSORS_SIM_MAY_USE
    ]
    assert wrong == []


def test_relative_imports_resolve_to_their_package(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from . import a\nfrom .b import c\nfrom ..d import e\nimport numpy\n")
    assert [m for _, m in imported_modules(probe, "wasteroute.planning.sub")] == [
        "wasteroute.planning.sub",
        "wasteroute.planning.sub.b",
        "wasteroute.planning.d",
        "numpy",
    ]
