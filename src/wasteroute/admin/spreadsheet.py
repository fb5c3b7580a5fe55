"""Cells a spreadsheet would run as a formula ("CSV injection"), refused on import and neutralised on
export.

Spreadsheet programs treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
one that starts with a tab or a carriage return after they strip it), so an id such as
``=cmd|' /C calc'!A0`` in an imported file would run when a colleague opens an export of it. A CSV
import refuses such a text cell with a message that says what was expected; a number (``-3.5`` in a
coordinate column) is a number, not a formula. Every CSV export passes its text cells through
:func:`neutralise`, which puts a ``'`` in front (the spreadsheet convention for "this is text"), so
values that came in another way (API, GeoJSON, older data) are shown, never run.
"""

from __future__ import annotations

import math

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def formula_problem(column: str, value: str, *, numeric: bool = False) -> str | None:
    """Why the raw CSV cell ``value`` of ``column`` is refused, or None when it is safe.

    ``numeric``: the column holds a number; a cell that parses as a finite number is accepted
    whatever its sign.
    """
    text = value.lstrip(" ")
    if not text.startswith(FORMULA_START):
        return None
    if numeric:
        try:
            if math.isfinite(float(text)):
                return None
        except ValueError:
            pass
    first = {"\t": "a tab", "\r": "a carriage return"}.get(text[0], repr(text[0]))
    expected = "a number" if numeric else "text that starts with a letter or a digit"
    return (
        f"{column}: {value[:40]!r} starts with {first}, which spreadsheets run as a formula; "
        f"expected {expected}"
    )


def neutralise(value: object) -> str:
    """A cell for a CSV export: numbers as they are, text that a spreadsheet would run as a formula
    with a leading ``'``; ``None`` as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_START) else text
