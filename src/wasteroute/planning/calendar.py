"""Planning days: on which local days a city collects waste (pure, no I/O).

By default a city collects Monday to Saturday except public holidays of its German state (the
``holidays`` package's calendar, e.g. SH for Lübeck, MV for Rostock, Stralsund and Wismar). Cities
can switch Saturdays off, close extra dates (a depot event, a storm) and open dates that would be
closed (a make-up Saturday after Easter). A fraction with service days of its own (a morning
schedule's ``weekdays``: residual rounds on Sundays too, paper on Monday, Wednesday and Friday) names
them instead. Days are ``datetime.date`` in the city's time zone; shift times are turned into UTC
datetimes with the zone's daylight-saving rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from wasteroute.vocabulary import time_zone

MAX_SEARCH_DAYS = 366
"""``next_planning_day`` gives up after this many consecutive closed days."""

CITY_SUBDIVISIONS: dict[str, str] = {
    "luebeck": "SH",
    "rostock": "MV",
    "stralsund": "MV",
    "wismar": "MV",
}
"""German state (ISO 3166-2 subdivision) of the alliance's cities, by city slug."""

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
"""English weekday names, Monday (0) first, for the reasons a day is closed (not locale dependent)."""


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision, years=year, language="en_US")
    except NotImplementedError as exc:
        raise ValueError(f"no public holiday calendar for country {country!r}") from exc
    return dict(calendar.items())


@dataclass(frozen=True)
class CalendarRules:
    """When a city collects.

    ``country`` and ``subdivision`` pick the public holidays (ISO 3166 codes, e.g. ``"DE"`` and
    ``"SH"``); ``subdivision=None`` uses the nationwide holidays only. ``closed_dates`` are closed in
    addition; ``open_dates`` are collection days even if a weekday rule or a holiday would close them.
    ``weekdays`` (Monday = 0 ... Sunday = 6), when given, are the open weekdays instead of the
    ``saturday`` and ``sunday`` flags (which then keep their defaults).
    """

    timezone: str = "Europe/Berlin"
    country: str = "DE"
    subdivision: str | None = "SH"
    saturday: bool = True
    """Collect on Saturdays."""
    sunday: bool = False
    """Collect on Sundays."""
    public_holidays: bool = True
    """Close on public holidays."""
    closed_dates: frozenset[date] = field(default_factory=frozenset)
    open_dates: frozenset[date] = field(default_factory=frozenset)
    weekdays: frozenset[int] | None = None
    """The open weekdays of a fraction with service days of its own; None: Monday to Friday and the
    ``saturday``/``sunday`` flags."""

    def __post_init__(self) -> None:
        time_zone(self.timezone)
        if self.weekdays is not None:
            try:
                days = frozenset(self.weekdays)
            except TypeError:
                raise ValueError(f"weekdays must be weekday numbers, got {self.weekdays!r}") from None
            if not days or any(type(d) is not int or not 0 <= d <= 6 for d in days):
                got = sorted(days, key=str)
                raise ValueError(f"weekdays must be a non-empty set of 0 (Monday) .. 6 (Sunday), got {got}")
            if not self.saturday or self.sunday:
                # two answers to "is Sunday open?" would leave one of them silently ignored
                raise ValueError("give either weekdays or the saturday/sunday flags, not both")
            object.__setattr__(self, "weekdays", days)
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))
        object.__setattr__(self, "open_dates", frozenset(self.open_dates))
        for d in self.closed_dates | self.open_dates:
            if not isinstance(d, date) or isinstance(d, datetime):
                raise ValueError(f"closed_dates and open_dates must hold datetime.date values, got {d!r}")
        both = self.closed_dates & self.open_dates
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates cannot be both closed and open: {listed}")
        if self.public_holidays:
            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError as exc:
                raise ValueError(
                    f"unknown holiday calendar country={self.country!r} subdivision={self.subdivision!r}"
                ) from exc

    @classmethod
    def for_city(cls, city: str, **overrides: object) -> CalendarRules:
        """Default rules of one of the alliance's cities by slug (``luebeck``, ``rostock``, ...)."""
        try:
            subdivision = CITY_SUBDIVISIONS[city]
        except KeyError:
            known = ", ".join(sorted(CITY_SUBDIVISIONS))
            raise ValueError(f"unknown city {city!r}; known: {known} (or build your own rules)") from None
        return cls(subdivision=subdivision, **overrides)  # type: ignore[arg-type]

    @property
    def zone(self) -> ZoneInfo:
        return time_zone(self.timezone)


def closed_reason(day: date, rules: CalendarRules) -> str | None:
    """Why ``day`` is not a planning day, or ``None`` when it is one."""
    if day in rules.open_dates:
        return None
    if day in rules.closed_dates:
        return "closed by the city"
    if rules.public_holidays:
        name = _public_holidays(rules.country, rules.subdivision, day.year).get(day)
        if name is not None:
            return f"public holiday ({name})"
    weekday = day.weekday()
    if rules.weekdays is not None:
        return None if weekday in rules.weekdays else f"{DAY_NAMES[weekday]} is not a service day"
    if weekday == 6 and not rules.sunday:
        return "Sunday"
    if weekday == 5 and not rules.saturday:
        return "Saturday"
    return None


def is_planning_day(day: date, rules: CalendarRules) -> bool:
    """True when the city collects on ``day`` (a local date)."""
    return closed_reason(day, rules) is None


def next_planning_day(day: date, rules: CalendarRules) -> date:
    """The first planning day strictly after ``day``.

    Raises ``ValueError`` when there is none within a year (every day closed).
    """
    candidate = day
    for _ in range(MAX_SEARCH_DAYS):
        candidate = candidate + timedelta(days=1)
        if is_planning_day(candidate, rules):
            return candidate
    raise ValueError(f"no planning day within {MAX_SEARCH_DAYS} days after {day.isoformat()}")


def planning_days(start: date, end: date, rules: CalendarRules) -> Iterator[date]:
    """Planning days from ``start`` to ``end``, both included."""
    day = start
    while day <= end:
        if is_planning_day(day, rules):
            yield day
        day = day + timedelta(days=1)


def local_day(t: datetime, rules: CalendarRules) -> date:
    """The city's local date at instant ``t`` (a timezone-aware datetime)."""
    if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
        raise ValueError(f"t must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(rules.zone).date()


def local_time(day: date, at: time, rules: CalendarRules) -> datetime:
    """The UTC instant of local wall-clock time ``at`` on ``day`` (e.g. a shift start).

    A wall-clock time skipped by the spring daylight-saving change is taken one hour later; an
    ambiguous one in autumn is the first (summer time) occurrence.
    """
    if at.tzinfo is not None:
        raise ValueError("at must be a local wall-clock time without tzinfo")
    # fold=0 resolves both cases as documented (zoneinfo semantics, PEP 495)
    return datetime.combine(day, at, tzinfo=rules.zone).astimezone(UTC)


def next_visit_time(t: datetime, rules: CalendarRules) -> datetime:
    """The same local wall-clock time as ``t`` on the next planning day after ``t``'s local day (UTC).

    This is when a container skipped today is visited next at the earliest.
    """
    local = t.astimezone(rules.zone) if t.tzinfo is not None else None
    if local is None:
        raise ValueError(f"t must be timezone-aware, got naive {t.isoformat()}")
    day = next_planning_day(local.date(), rules)
    return local_time(day, local.time().replace(tzinfo=None, fold=0), rules)


def service_calendar(
    timezone: str, holiday_region: str | None, weekdays: Iterable[int] | None, on_holidays: bool = False
) -> CalendarRules:
    """The days a city collects a fraction on: the ``weekdays`` of the fraction's morning schedule
    (public holidays closed unless it plans ``on_holidays``) when it has one, else the city's default,
    Monday to Saturday without public holidays."""
    region = holiday_region or "SH"
    if weekdays is None:
        return CalendarRules(timezone=timezone, subdivision=region)
    return CalendarRules(
        timezone=timezone, subdivision=region, weekdays=frozenset(weekdays), public_holidays=not on_holidays
    )
