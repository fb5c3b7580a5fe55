"""Fill dynamics: how much waste goes into each container in each simulated hour.

A container's fill rate is its own long-tailed mean daily rate (lognormal around the median of its
fraction and type), times a weekday profile and a time-of-day profile of its kind (household
container, public litter bin, glass bank), times holiday and season effects, times local events
near it, times noise (day-to-day lognormal, hour-to-hour gamma). Pure numpy; the caller supplies
the generator, so one seed gives one trajectory.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from sensors_sim.city import (
    MAX_FILL_PER_DAY,
    MEDIAN_FILL_PER_DAY,
    RATE_SIGMA,
    WEEKEND_FILL_LIMIT,
    centre_factor,
)
from sensors_sim.geography import CitySpec, distance_m
from sensors_sim.holidays_de import public_holidays

FloatArray = npt.NDArray[np.float64]

OVERFILL_CAP = 1.5
"""Largest fill level a container reaches; past 1.0 the waste piles up beside it."""

_WEEKDAY = {
    # Monday .. Sunday; normalised to mean 1 below
    "household": (1.08, 0.96, 0.95, 0.95, 1.0, 1.04, 1.02),
    "litter": (0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.25),
    "glass": (1.15, 1.05, 1.0, 1.0, 1.1, 1.35, 0.15),  # German quiet rules: no glass on Sundays
}
_DIURNAL = {
    # local hours 0..23
    "household": ".2 .1 .1 .1 .1 .3 .9 1.4 1.5 1.3 1.2 1.2 1.3 1.3 1.2 1.2 1.3 1.5 1.7 1.6 1.3 1 .6 .3",
    "litter": "0.3 0.2 0.1 0.1 0.1 0.2 0.5 0.9 1.1 1.1 1.3 1.6 1.9 1.8 1.6 1.5 1.5 1.6 1.6 1.4 1.2 1 .7 .5",
    # German quiet rules: glass banks are not used 20:00-07:00
    "glass": "0 0 0 0 0 0 0 0.8 1.4 1.6 1.7 1.7 1.5 1.5 1.6 1.7 1.8 1.8 1.6 1.3 0 0 0 0",
}


def _normalised(profile: Sequence[float]) -> FloatArray:
    a = np.asarray(profile, dtype=np.float64)
    out: FloatArray = a / float(a.mean())
    return out


WEEKDAY_PROFILE = {k: _normalised(v) for k, v in _WEEKDAY.items()}
"""Relative fill rate by weekday (Monday first), mean 1, per container kind."""
DIURNAL_PROFILE = {k: _normalised([float(x) for x in v.split()]) for k, v in _DIURNAL.items()}
"""Relative fill rate by local hour, mean 1, per container kind."""

DAY_NOISE_SIGMA = 0.25
"""Day-to-day noise of a container's waste: lognormal with this sigma, mean 1, independent from
container to container and day to day."""
DAY_NOISE_MU = -(DAY_NOISE_SIGMA**2) / 2
HOUR_NOISE_SHAPE = 2.0
"""Hour-to-hour noise: gamma with this shape and mean 1 (coefficient of variation 0.7)."""

UNNAMED_EVENT = "local event"
"""Name of the events the city does not know of in advance (a flea market, a concert)."""

CHRISTMAS_FACTOR = {"packaging": 1.6, "paper": 1.5, "glass": 1.8, "residual": 1.2, "bio": 1.0}
"""Multiplier from 24 December to 6 January (gift wrapping, bottles, visitors)."""


def container_kind(container_type: str) -> str:
    """``litter``, ``glass`` or ``household``: which weekday and time-of-day profile applies."""
    if container_type == "litter-100":
        return "litter"
    if container_type == "glass-bank-2500":
        return "glass"
    return "household"


def weekend_cap(kind: str) -> float:
    """Largest mean daily rate of a container of ``kind``: its Saturday and Sunday (weekday profile)
    bring at most ``WEEKEND_FILL_LIMIT`` of its volume, so it lasts from Saturday's round to Monday's."""
    profile = WEEKDAY_PROFILE[kind]
    return min(MAX_FILL_PER_DAY, WEEKEND_FILL_LIMIT / float(profile[5] + profile[6]))


@dataclass(frozen=True, slots=True)
class LocalEvent:
    """One occurrence of an event: its local days, and the rate factor of every container."""

    name: str
    days: frozenset[date]
    factor: FloatArray


@dataclass(frozen=True, slots=True)
class BinSite:
    """What the fill model needs to know of a container."""

    fraction: str
    container_type: str
    lon: float
    lat: float


class FillModel:
    """Hourly fill increments of ``len(bins)`` containers, starting at ``start`` (UTC).

    Args:
        bins: the containers, in a fixed order.
        spec: the city (time zone, holidays, events); ``None`` for an unknown city: no events,
            Schleswig-Holstein holidays, Europe/Berlin.
        start: first simulated instant, timezone-aware.
        rng: numpy generator owned by this model (draw order is fixed by the hour sequence).
        random_events_per_day: expected number of unnamed local events (flea markets, concerts)
            per day in the whole city.
    """

    def __init__(
        self,
        bins: Sequence[BinSite],
        spec: CitySpec | None,
        start: datetime,
        rng: np.random.Generator,
        *,
        random_events_per_day: float = 1.0 / 14.0,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self._rng = rng
        self._start = start.astimezone(UTC)
        self._tz = ZoneInfo(spec.timezone if spec else "Europe/Berlin")
        self._state = spec.state if spec else "SH"
        self._n = len(bins)
        medians = np.array([MEDIAN_FILL_PER_DAY.get((b.fraction, b.container_type), 0.15) for b in bins])
        centre = np.array(
            [
                centre_factor(spec, b.lon, b.lat) if spec and b.container_type == "litter-100" else 1.0
                for b in bins
            ]
        )
        drawn = medians * centre * np.exp(rng.normal(0.0, RATE_SIGMA, self._n))
        self._kinds = [container_kind(b.container_type) for b in bins]
        cap = np.array([weekend_cap(k) for k in self._kinds])
        self.mean_rate_per_day: FloatArray = np.minimum(drawn, cap)
        """Each container's own rate before profiles and noise, fraction of its volume per day (at
        most ``weekend_cap`` of its kind: a site is sized to its load, see ``WEEKEND_FILL_LIMIT``)."""
        self._kind_names = sorted(set(self._kinds))
        self._kind_idx = np.array([self._kind_names.index(k) for k in self._kinds], dtype=np.intp)
        self._fractions = sorted({b.fraction for b in bins})
        self._fraction_idx = np.array([self._fractions.index(b.fraction) for b in bins], dtype=np.intp)
        self._is_litter = np.array([k == "litter" for k in self._kinds])
        self._lonlat = [(b.lon, b.lat) for b in bins]
        self._named_events = list(spec.events) if spec else []
        self._spec = spec
        self._random_events_per_day = random_events_per_day
        self._event_rng = random.Random(int(rng.integers(0, 2**63)))
        self._holidays: dict[int, dict[date, str]] = {}
        self._day: date | None = None
        self._day_factor: FloatArray = np.ones(self._n)
        self.events: list[LocalEvent] = []
        """Events that happened so far (named and random), for reports."""
        self._event_years: set[int] = set()
        self._random_event_days: set[date] = set()

    def _holiday(self, d: date) -> bool:
        if d.year not in self._holidays:
            self._holidays[d.year] = public_holidays(d.year, self._state)
        return d in self._holidays[d.year]

    def _factor_near(
        self, lon: float, lat: float, radius_m: float, litter: float, other: float
    ) -> FloatArray:
        f = np.ones(self._n)
        for i, (blon, blat) in enumerate(self._lonlat):
            if distance_m(lon, lat, blon, blat) <= radius_m:
                f[i] = litter if self._is_litter[i] else other
        return f

    def _add_named_events(self, year: int) -> None:
        if year in self._event_years or self._spec is None:
            return
        self._event_years.add(year)
        for ev in self._named_events:
            d = self._spec.district(ev.district)
            f = self._factor_near(d.lon, d.lat, ev.radius_m, ev.litter_factor, ev.other_factor)
            self.events.append(LocalEvent(ev.name, frozenset(ev.days(year)), f))

    def _maybe_random_event(self, d: date) -> None:
        if d in self._random_event_days or self._n == 0:
            return
        self._random_event_days.add(d)
        if self._event_rng.random() >= self._random_events_per_day:
            return
        lon, lat = self._lonlat[self._event_rng.randrange(self._n)]
        n_days = self._event_rng.choice((1, 1, 2, 3))
        f = self._factor_near(lon, lat, 600.0, self._event_rng.uniform(2.0, 4.0), 1.25)
        days = frozenset(d + timedelta(days=i) for i in range(n_days))
        self.events.append(LocalEvent(UNNAMED_EVENT, days, f))

    def calendar_factor(self, d: date) -> FloatArray:
        """Each container's rate factor on local day ``d`` that the calendar fixes: public holidays,
        season and Christmas (known in advance, unlike events and the day's noise)."""
        kind_f = np.ones(len(self._kind_names))
        if self._holiday(d):
            for i, k in enumerate(self._kind_names):
                kind_f[i] = {"litter": 1.4, "glass": 0.15, "household": 1.1}[k]
        frac_f = np.ones(len(self._fractions))
        xmas = (d.month == 12 and d.day >= 24) or (d.month == 1 and d.day <= 6)
        season = math.sin(2 * math.pi * (d.timetuple().tm_yday - 100) / 365.25)  # peaks in July
        for i, fr in enumerate(self._fractions):
            if xmas:
                frac_f[i] *= CHRISTMAS_FACTOR.get(fr, 1.0)
            if fr == "bio":
                frac_f[i] *= 1.0 + 0.3 * season
        litter_season = np.where(self._is_litter, 1.0 + 0.25 * season, 1.0)
        calendar: FloatArray = kind_f[self._kind_idx] * frac_f[self._fraction_idx] * litter_season
        return calendar

    def named_event_factor(self, d: date) -> FloatArray:
        """Each container's rate factor from the city's named events on local day ``d`` (a Christmas
        market: known in advance, as a city can announce it; the unnamed ones are not)."""
        self._add_named_events(d.year)
        factor = np.ones(self._n)
        for ev in self.events:
            if ev.name != UNNAMED_EVENT and d in ev.days:
                factor = np.maximum(factor, ev.factor)
        return factor

    def known_factor(self, d: date) -> FloatArray:
        """Each container's rate factor on local day ``d`` that is known in advance: the calendar's
        times the named events' (what a perfect model of the container knows, not the day's noise)."""
        known: FloatArray = self.calendar_factor(d) * self.named_event_factor(d)
        return known

    def _new_day(self, d: date) -> None:
        """Per-day factors: the calendar's, events, day-to-day noise."""
        self._add_named_events(d.year)
        self._maybe_random_event(d)
        calendar = self.calendar_factor(d)
        events = np.ones(self._n)
        for ev in self.events:
            if d in ev.days:
                events = np.maximum(events, ev.factor)
        noise = np.exp(self._rng.normal(DAY_NOISE_MU, DAY_NOISE_SIGMA, self._n))  # mean 1
        self._day_factor = calendar * events * noise
        self._day = d

    def hour_increment(self, hour: int) -> FloatArray:
        """Fill fraction each container gains during simulated hour ``hour`` (0 = the start hour).

        Call with consecutive hours; each call draws the hour's noise from the generator.
        """
        local = (self._start + timedelta(hours=hour)).astimezone(self._tz)
        d = local.date()
        if d != self._day:
            self._new_day(d)
        wd, hr = local.weekday(), local.hour
        profile = np.array([WEEKDAY_PROFILE[k][wd] * DIURNAL_PROFILE[k][hr] for k in self._kind_names])
        noise = self._rng.gamma(HOUR_NOISE_SHAPE, 1.0 / HOUR_NOISE_SHAPE, self._n)  # mean 1, cv 0.7
        inc: FloatArray = self.mean_rate_per_day / 24.0 * profile[self._kind_idx] * self._day_factor * noise
        return inc

    def local_day(self, hour: int) -> date:
        """The city's local date at the start of simulated hour ``hour``."""
        return (self._start + timedelta(hours=hour)).astimezone(self._tz).date()

    def is_holiday(self, d: date) -> bool:
        """Whether ``d`` is a public holiday in the city's state."""
        return self._holiday(d)
