"""Time-of-week profiles: how the fill rate of a container varies over a local week.

A profile splits the local week (in the city's time zone, so Monday 07:00 stays Monday 07:00 across
daylight-saving changes) into ``7 * bins_per_day`` equal bins and holds one rate multiplier per bin.
The multipliers average 1 over a week, so ``rate_per_h * multiplier`` is the rate in that bin and
``rate_per_h`` is the weekly mean rate.

"Effective hours" between two instants are the profile-weighted hours between them: the integral of
the multiplier over time. Fill grows linearly in effective hours, which is what lets a robust straight
line fit a container whose rate differs between a Tuesday and a Saturday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from wasteroute.vocabulary import time_zone

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

HOUR_S = 3600.0
DAY_S = 86400.0
VALID_BINS_PER_DAY = (1, 2, 3, 4, 6, 8, 12, 24)


zone = time_zone
"""The IANA time zone of a name; ``ValueError`` if there is none (see ``wasteroute.vocabulary``)."""


def _utc_offsets_s(hours: IntArray, tz: ZoneInfo) -> IntArray:
    """UTC offset in seconds at the start of each UTC hour (epoch hours)."""
    offsets = np.empty(hours.shape[0], dtype=np.int64)
    if hours.shape[0] == 0:
        return offsets
    # Offsets change rarely: evaluate them once per day and only hour by hour on days that change.
    first, last = int(hours[0]), int(hours[-1])
    day0 = first // 24
    cache: dict[int, int] = {}

    def offset_at(hour: int) -> int:
        cached = cache.get(hour)
        if cached is None:
            delta = datetime.fromtimestamp(hour * HOUR_S, tz=UTC).astimezone(tz).utcoffset()
            cached = int(delta.total_seconds()) if delta is not None else 0
            cache[hour] = cached
        return cached

    for day in range(day0, last // 24 + 1):
        lo, hi = max(first, day * 24), min(last, day * 24 + 23)
        a, b = offset_at(lo), offset_at(hi)
        i0, i1 = lo - first, hi - first + 1
        if a == b:
            offsets[i0:i1] = a
        else:
            offsets[i0:i1] = [offset_at(h) for h in range(lo, hi + 1)]
    return offsets


_MAX_CALENDAR_H = 24 * 400
"""Longest span of hours a cached calendar keeps (a calendar is rebuilt around newer requests)."""


class _Calendar:
    """Local weekday and hour of day of consecutive UTC hours ``first_hour`` .. ``last_hour`` of one
    time zone, with the hours spent in each weekday and each local hour of day before every hour."""

    def __init__(self, first_hour: int, last_hour: int, timezone: str) -> None:
        self.first_hour = first_hour
        self.last_hour = last_hour
        hours = np.arange(first_hour, last_hour + 1, dtype=np.int64)
        local_s = hours * 3600 + _utc_offsets_s(hours, zone(timezone))
        self.weekday: IntArray = ((local_s // 86400 + 3) % 7).astype(np.int64)  # 1970-01-01: a Thursday
        self.hour_of_day: IntArray = ((local_s % 86400) // 3600).astype(np.int64)
        self._bins: dict[int, IntArray] = {}
        self._counts: tuple[FloatArray, FloatArray] | None = None

    def bins(self, bins_per_day: int) -> IntArray:
        """Time-of-week bin of every hour (Monday 00:00 local starts bin 0)."""
        out = self._bins.get(bins_per_day)
        if out is None:
            out = (self.weekday * bins_per_day + self.hour_of_day // (24 // bins_per_day)).astype(np.int64)
            out.setflags(write=False)
            self._bins[bins_per_day] = out
        return out

    def counts(self) -> tuple[FloatArray, FloatArray]:
        """Hours spent in each weekday (columns 0..6) and each local hour of day (0..23) from the
        first hour to the start of each hour; row ``i`` is for hour ``first_hour + i``."""
        if self._counts is None:
            n = self.weekday.shape[0]
            days = np.zeros((n + 1, 7))
            hours = np.zeros((n + 1, 24))
            days[np.arange(1, n + 1), self.weekday] = 1.0
            hours[np.arange(1, n + 1), self.hour_of_day] = 1.0
            self._counts = (np.cumsum(days, axis=0), np.cumsum(hours, axis=0))
        return self._counts


_CALENDARS: dict[str, _Calendar] = {}


def _calendar(timezone: str, first_hour: int, last_hour: int) -> _Calendar:
    """A calendar of ``timezone`` covering the hours asked for, kept for later grids of the zone."""
    cal = _CALENDARS.get(timezone)
    if cal is not None and cal.first_hour <= first_hour and last_hour <= cal.last_hour:
        return cal
    lo, hi = first_hour - 7 * 24, last_hour + 35 * 24
    if cal is not None and max(hi, cal.last_hour) - min(lo, cal.first_hour) <= _MAX_CALENDAR_H:
        lo, hi = min(lo, cal.first_hour), max(hi, cal.last_hour)
    cal = _Calendar(lo, hi, timezone)
    if hi - lo <= _MAX_CALENDAR_H:
        _CALENDARS[timezone] = cal
    return cal


class HourGrid:
    """UTC hours from ``start_s`` to ``end_s`` labelled with their local time-of-week bin.

    Local bins are aligned with local hours; for zones whose offset is a whole number of hours (all of
    Europe) the hour boundaries coincide exactly. Grids of one zone share a cached calendar, so
    building one costs next to nothing.
    """

    def __init__(self, start_s: float, end_s: float, timezone: str, bins_per_day: int) -> None:
        if bins_per_day not in VALID_BINS_PER_DAY:
            raise ValueError(f"bins_per_day must be one of {VALID_BINS_PER_DAY}, got {bins_per_day}")
        if not (np.isfinite(start_s) and np.isfinite(end_s)):
            raise ValueError("grid bounds must be finite epoch seconds")
        self.bins_per_day = bins_per_day
        self.n_bins = 7 * bins_per_day
        self.first_hour = int(np.floor(min(start_s, end_s) / HOUR_S))
        last_hour = int(np.floor(max(start_s, end_s) / HOUR_S)) + 1
        self._cal = _calendar(timezone, self.first_hour, last_hour)
        self._off = self.first_hour - self._cal.first_hour
        n_hours = last_hour - self.first_hour + 1
        self.bins: IntArray = self._cal.bins(bins_per_day)[self._off : self._off + n_hours]
        self._cum_bins: FloatArray | None = None

    def _locate(self, t_s: FloatArray) -> tuple[IntArray, FloatArray]:
        pos = t_s / HOUR_S - self.first_hour
        k = np.floor(pos).astype(np.int64)
        if k.size and (k.min() < 0 or k.max() >= self.bins.shape[0]):
            raise ValueError("time outside the hour grid")
        return k, pos - k

    def exposure(self, t_s: FloatArray) -> FloatArray:
        """Hours spent in each bin from the grid start to each time; shape ``(len(t_s), n_bins)``."""
        if self._cum_bins is None:
            onehot = np.zeros((self.bins.shape[0], self.n_bins))
            onehot[np.arange(self.bins.shape[0]), self.bins] = 1.0
            # hours spent in each bin before the start of each grid hour
            self._cum_bins = np.vstack([np.zeros((1, self.n_bins)), np.cumsum(onehot, axis=0)[:-1]])
        k, frac = self._locate(np.asarray(t_s, dtype=np.float64))
        out = self._cum_bins[k].copy()
        out[np.arange(k.shape[0]), self.bins[k]] += frac
        return out

    def day_and_hour_exposure(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Hours spent in each local weekday and in each local hour of day from the grid start to each
        time: shapes ``(len(t_s), 7)`` and ``(len(t_s), 24)`` (the sums of :meth:`exposure` of a
        24-bins-a-day grid over hours and over days)."""
        k, frac = self._locate(np.asarray(t_s, dtype=np.float64))
        days, hours = self._cal.counts()
        at = k + self._off
        d = days[at] - days[self._off]
        h = hours[at] - hours[self._off]
        rows = np.arange(k.shape[0])
        d[rows, self._cal.weekday[at]] += frac
        h[rows, self._cal.hour_of_day[at]] += frac
        return d, h

    def effective_hours(self, t_s: FloatArray, multipliers: FloatArray) -> FloatArray:
        """Profile-weighted hours from the grid start to each time."""
        k, frac = self._locate(np.asarray(t_s, dtype=np.float64))
        per_hour = multipliers[self.bins]
        cum = np.concatenate([[0.0], np.cumsum(per_hour)[:-1]])
        return np.asarray(cum[k] + frac * per_hour[k], dtype=np.float64)


@dataclass(frozen=True)
class WeekProfile:
    """Rate multipliers per local time-of-week bin, averaging 1 over a week.

    Bin ``i`` covers weekday ``i // bins_per_day`` (Monday is 0) and local hours
    ``[(i % bins_per_day) * 24 / bins_per_day, ...)``.
    """

    multipliers: tuple[float, ...]
    timezone: str = "Europe/Berlin"

    def __post_init__(self) -> None:
        n = len(self.multipliers)
        if n % 7 != 0 or n // 7 not in VALID_BINS_PER_DAY:
            raise ValueError(
                f"multipliers must have 7 * bins_per_day entries with bins_per_day in {VALID_BINS_PER_DAY}, "
                f"got {n}"
            )
        arr = np.asarray(self.multipliers, dtype=np.float64)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError("multipliers must be finite and non-negative")
        if abs(float(arr.mean()) - 1.0) > 1e-6:
            raise ValueError(f"multipliers must average 1 over the week, got mean {arr.mean():.6f}")
        zone(self.timezone)

    @classmethod
    def flat(cls, timezone: str = "Europe/Berlin") -> WeekProfile:
        """The profile of a container that fills at the same rate at all times."""
        return cls(multipliers=(1.0,) * 7, timezone=timezone)

    @property
    def bins_per_day(self) -> int:
        return len(self.multipliers) // 7

    @cached_property
    def is_flat(self) -> bool:
        return all(abs(m - 1.0) < 1e-12 for m in self.multipliers)

    @cached_property
    def _array(self) -> FloatArray:
        arr = np.asarray(self.multipliers, dtype=np.float64)
        arr.setflags(write=False)
        return arr

    def array(self) -> FloatArray:
        """The multipliers as a read-only array."""
        return self._array

    def grid(self, start_s: float, end_s: float) -> HourGrid:
        return HourGrid(start_s, end_s, self.timezone, self.bins_per_day)

    def effective_hours_between(self, start_s: float, end_s: float) -> float:
        """Profile-weighted hours from ``start_s`` to ``end_s`` (negative when ``end_s < start_s``)."""
        if self.is_flat:
            return (end_s - start_s) / HOUR_S
        grid = self.grid(start_s, end_s)
        eff = grid.effective_hours(np.array([start_s, end_s]), self.array())
        return float(eff[1] - eff[0])

    def multiplier_at(self, t_s: float) -> float:
        """The multiplier in force at ``t_s`` (epoch seconds)."""
        grid = self.grid(t_s, t_s)
        k, _ = grid._locate(np.array([t_s]))
        return float(self.multipliers[int(grid.bins[k[0]])])


def to_epoch_s(t: datetime | float) -> float:
    """Epoch seconds of ``t``: a timezone-aware datetime or epoch seconds already."""
    if isinstance(t, datetime):
        if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
            raise ValueError(f"datetimes must be timezone-aware (UTC), got naive {t.isoformat()}")
        return t.timestamp()
    value = float(t)
    if not np.isfinite(value):
        raise ValueError(f"time must be finite epoch seconds, got {t!r}")
    return value


def from_epoch_s(t_s: float) -> datetime:
    """Timezone-aware UTC datetime of epoch seconds ``t_s``."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t_s)
