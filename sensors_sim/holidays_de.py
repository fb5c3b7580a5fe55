"""German public holidays for the states the simulator's cities lie in (SH, MV)."""

from __future__ import annotations

from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    """Easter Sunday of ``year`` in the Gregorian calendar (anonymous Gregorian computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def public_holidays(year: int, state: str) -> dict[date, str]:
    """Statutory public holidays of ``year`` in German state ``state`` ("SH" or "MV").

    Both states: New Year, Good Friday, Easter Monday, Labour Day, Ascension, Whit Monday, German
    Unity Day, Reformation Day (SH since 2018), Christmas Day and Boxing Day. MV adds International
    Women's Day from 2023.
    """
    if state not in ("SH", "MV"):
        raise ValueError(f"state must be 'SH' or 'MV', got {state!r}")
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Neujahr",
        easter - timedelta(days=2): "Karfreitag",
        easter + timedelta(days=1): "Ostermontag",
        date(year, 5, 1): "Tag der Arbeit",
        easter + timedelta(days=39): "Christi Himmelfahrt",
        easter + timedelta(days=50): "Pfingstmontag",
        date(year, 10, 3): "Tag der Deutschen Einheit",
        date(year, 12, 25): "1. Weihnachtstag",
        date(year, 12, 26): "2. Weihnachtstag",
    }
    if state == "MV" or year >= 2018:
        days[date(year, 10, 31)] = "Reformationstag"
    if state == "MV" and year >= 2023:
        days[date(year, 3, 8)] = "Internationaler Frauentag"
    return days
