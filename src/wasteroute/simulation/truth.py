"""What really happened in a simulated city: fill at every emptying, overflows per container-day, and
the outcomes the forecast is checked against (pure bookkeeping, fed by the simulator's hooks).

A container-day *overflows* when the container's true fill reaches 1.0 at any time of that local
day (checked at every hour's end and at every emptying). An *overflow event* is one container going
from not overflowing to overflowing. Only days of the measured period count; the warm-up only
records how much waste each container received per day (the history a fixed rhythm is chosen from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from sensors_sim.dynamics import OVERFILL_CAP

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

OVERFLOW_LEVEL = 1.0


@dataclass(slots=True)
class _Pending:
    index: int
    due_s: float
    since_s: float
    low: float
    high: float
    probability: float
    level: float = 0.0
    """The true fill when the forecast was made."""
    gained: float = 0.0
    """The container's waste received until then (``Truth._gained``)."""
    tag: str = ""
    """What kind of forecast it was (the report groups the reliability by it)."""


@dataclass
class Truth:
    """Bookkeeping of one run over ``n`` containers; times are UTC, days local to ``timezone``."""

    n: int
    timezone: str
    measure_from: datetime
    measure_to: datetime
    warmup_days: int
    run_in_days: int = 0
    """Days between the warm-up and the measured period (a policy's run-in: neither recorded)."""
    collections: int = 0
    fill_at_emptying: list[float] = field(default_factory=list)
    overflow_events: int = 0
    overflow_container_days: int = 0
    container_days: int = 0
    daily_overflow_events: dict[date, int] = field(default_factory=dict)
    daily_collections: dict[date, int] = field(default_factory=dict)
    reliability: list[tuple[float, bool]] = field(default_factory=list)
    """(forecast probability of overflowing before the deadline, whether it would have had nobody
    emptied it): every container planned, not only those left alone."""
    reliability_tags: list[str] = field(default_factory=list)
    """The ``tag`` given with each entry of ``reliability`` (e.g. the container's kind and whether its
    sensor was flagged), so the report can say where the forecast misses."""
    emptied_index: list[int] = field(default_factory=list)
    """The container of each entry of ``fill_at_emptying``."""
    overflow_log: list[tuple[int, datetime]] = field(default_factory=list)
    """(container index, when) of every measured overflow event."""
    overflow_emptied_before: list[datetime | None] = field(default_factory=list)
    """For each entry of ``overflow_log``: when that container had last been emptied before it."""
    band: list[bool] = field(default_factory=list)
    """Whether the fill it would have had at the visit without an emptying lay inside the forecast's
    95 % band (every container planned)."""

    def __post_init__(self) -> None:
        if self.measure_to <= self.measure_from:
            raise ValueError("measure_to must be after measure_from")
        self._zone = ZoneInfo(self.timezone)
        self._over: BoolArray = np.zeros(self.n, dtype=bool)
        self._day_over: BoolArray = np.zeros(self.n, dtype=bool)
        self._prev: FloatArray = np.zeros(self.n)
        self._day: date | None = None
        self._last_emptied_s: FloatArray = np.full(self.n, -np.inf)
        self._gained: FloatArray = np.zeros(self.n)
        """Waste each container has received since the start (fill units), emptyings or not."""
        self.warm_gain: FloatArray = np.zeros((self.n, max(1, self.warmup_days)))
        self._warm_start = (
            (self.measure_from - timedelta(days=self.warmup_days + self.run_in_days))
            .astimezone(self._zone)
            .date()
        )
        self._pending: list[_Pending] = []
        self._day_counts = False
        self._started = False

    def _local_day(self, t: datetime) -> date:
        return (t - timedelta(seconds=1)).astimezone(self._zone).date()

    def _measured(self, t: datetime) -> bool:
        return self.measure_from < t <= self.measure_to

    def _warm_day(self, t: datetime) -> int | None:
        """The day of the warm-up (column of ``warm_gain``) that ``t`` falls on, None outside it."""
        if t > self.measure_from:
            return None
        k = (self._local_day(t) - self._warm_start).days
        return k if 0 <= k < self.warm_gain.shape[1] else None

    def _close_day(self) -> None:
        if self._day is not None and self._day_counts:
            self.overflow_container_days += int(self._day_over.sum())
            self.container_days += self.n
        self._day_over[:] = False

    def hour(self, t: datetime, fills: FloatArray) -> None:
        """The simulator's hourly hook: ``fills`` are the true levels at ``t`` (the hour's end)."""
        day = self._local_day(t)
        if day != self._day:
            self._close_day()
            self._day = day
            self._day_counts = self._measured(t)
        over = fills >= OVERFLOW_LEVEL
        # the waste received in this hour (an emptying set the level before it to the residue); the
        # first hour has no level before it: the starting fill is nobody's waste
        gain = np.maximum(0.0, fills - self._prev) if self._started else np.zeros(self.n)
        self._gained += gain
        if self._measured(t):
            started = np.flatnonzero(over & ~self._over)
            new = int(started.size)
            self.overflow_log.extend((int(i), t) for i in started)
            self.overflow_emptied_before.extend(self.last_emptied(int(i)) for i in started)
            self.overflow_events += new
            self.daily_overflow_events[day] = self.daily_overflow_events.get(day, 0) + new
            self._day_over |= over
        elif (k := self._warm_day(t)) is not None:
            self.warm_gain[:, k] += gain
        self._started = True
        self._over = over
        self._prev = fills.copy()
        self._resolve(t.timestamp(), fills)

    def collected(self, index: int, t: datetime, fill: float, residue: float = 0.0) -> None:
        """The simulator's emptying hook: container ``index`` emptied at ``t`` with true ``fill``,
        ``residue`` left in it (what sticks to the walls is nobody's new waste)."""
        if self._started:
            # the waste it received since the last hour's end, up to the emptying
            gain = max(0.0, min(fill, OVERFILL_CAP) - float(self._prev[index]))
            self._gained[index] += gain
            if (k := self._warm_day(t)) is not None:
                self.warm_gain[index, k] += gain
        if self._measured(t):
            self.collections += 1
            self.fill_at_emptying.append(float(fill))
            self.emptied_index.append(index)
            day = self._local_day(t)
            self.daily_collections[day] = self.daily_collections.get(day, 0) + 1
            if fill >= OVERFLOW_LEVEL:
                self._day_over[index] = True
                if not self._over[index]:
                    self.overflow_log.append((index, t))
                    self.overflow_emptied_before.append(self.last_emptied(index))
                    self.overflow_events += 1
                    self.daily_overflow_events[day] = self.daily_overflow_events.get(day, 0) + 1
        self._over[index] = False
        self._prev[index] = residue
        self._last_emptied_s[index] = t.timestamp()

    def levels(self) -> FloatArray:
        """Every container's true fill now (at the last hour's end, after any emptying since)."""
        return self._prev.copy()

    def last_emptied(self, index: int) -> datetime | None:
        """When container ``index`` was last emptied (by the old rounds or a policy), if ever."""
        t = float(self._last_emptied_s[index])
        return None if not np.isfinite(t) else datetime.fromtimestamp(t, self._zone)

    def expect(
        self, index: int, made_at: datetime, deadline: datetime, probability: float, tag: str = ""
    ) -> None:
        """Check at ``deadline`` whether the container would have overflowed had nobody emptied it,
        as forecast with ``probability`` at ``made_at`` (its fill then plus the waste it received);
        ``tag`` says what kind of forecast it was."""
        self._expect(index, made_at, deadline, 0.0, 0.0, probability, tag)

    def expect_band(self, index: int, made_at: datetime, visit: datetime, low: float, high: float) -> None:
        """Check at ``visit`` whether the fill it would have had without an emptying lies in the
        forecast's band [``low``, ``high``]."""
        self._expect(index, made_at, visit, low, high, -1.0, "")

    def _expect(
        self,
        index: int,
        made_at: datetime,
        due: datetime,
        low: float,
        high: float,
        probability: float,
        tag: str,
    ) -> None:
        """A check due at ``due``, with the container's true fill and waste received so far."""
        self._pending.append(
            _Pending(
                index,
                due.timestamp(),
                made_at.timestamp(),
                low,
                high,
                probability,
                float(self._prev[index]),
                float(self._gained[index]),
                tag,
            )
        )

    def _resolve(self, t_s: float, fills: FloatArray) -> None:
        if not self._pending:
            return
        keep: list[_Pending] = []
        for p in self._pending:
            if p.due_s > t_s:
                keep.append(p)
                continue
            # had nobody emptied it in between: its fill then plus what it received since (an
            # emptying would otherwise hide exactly the containers that filled fastest)
            truth = min(p.level + float(self._gained[p.index]) - p.gained, OVERFILL_CAP)
            if p.probability < 0:
                self.band.append(p.low <= truth <= p.high)
            else:
                self.reliability.append((p.probability, truth >= OVERFLOW_LEVEL))
                self.reliability_tags.append(p.tag)
        self._pending = keep

    def finish(self) -> None:
        """Close the last day."""
        self._close_day()
        self._day = None

    @property
    def service_level(self) -> float:
        """Share of measured container-days without overflow."""
        if self.container_days == 0:
            return 1.0
        return 1.0 - self.overflow_container_days / self.container_days
