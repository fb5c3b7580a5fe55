"""Every folder of code says what lives there: each package under ``src/wasteroute``, ``benchmarks`` and
``sensors_sim`` has an ``__init__.py`` whose docstring opens with one line about it; the README's
architecture tree names every one of them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = (ROOT / "src" / "wasteroute", ROOT / "benchmarks", ROOT / "sensors_sim")


def code_folders() -> list[Path]:
    return sorted(
        {
            path.parent
            for root in PACKAGE_ROOTS
            for path in root.rglob("*.py")
            if "__pycache__" not in path.parts
        }
    )


def test_every_code_folder_is_a_package_with_a_one_line_summary() -> None:
    missing = []
    for folder in code_folders():
        init = folder / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text())) if init.exists() else None
        if not doc or not doc.splitlines()[0].strip():
            missing.append(str(folder.relative_to(ROOT)))
    assert missing == [], "give these packages an __init__.py with a docstring that says what lives there"


def test_the_readme_tree_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text()
    tree = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    absent = [
        str(folder.relative_to(ROOT))
        for folder in code_folders()
        if f"{folder.name}/" not in tree and folder.name != "wasteroute"
    ]
    assert absent == [], "add these packages to the tree in the README's architecture section"
