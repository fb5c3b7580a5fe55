"""Seeded synthetic containers with a known true fill, for accuracy tests and the forecast benchmark.

Each container fills in bags (a compound Poisson process) at a long-tailed daily rate that drifts
slowly, follows its own weekday pattern and a day/night rhythm, is emptied on collection days when
it is full enough, and is read by a sensor with noise, lost packets and occasional outliers. A share
of containers gets a sensor fault near the end (stale, stuck or implausible), so health flags can
be scored against the truth. Same seed, same containers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.profile import DAY_S, HOUR_S, HourGrid
from wasteroute.forecasting.series import ReadingSeries

FloatArray = NDArray[np.float64]
Fault = Literal["none", "stale", "stuck", "implausible"]

STEP_S = 600.0
"""Resolution of the simulated truth (10 minutes)."""
_DIURNAL = np.array(
    [
        *(0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.0, 1.2, 1.2, 1.2, 1.3),
        *(1.4, 1.3, 1.3, 1.4, 1.6, 1.8, 1.9, 1.7, 1.3, 0.9, 0.5, 0.2),
    ]
)
_DIURNAL = _DIURNAL / _DIURNAL.mean()


@dataclass(frozen=True, eq=False)
class SyntheticContainer:
    """A simulated container: what the sensor and drivers reported, and what really happened."""

    series: ReadingSeries
    truth_t_s: FloatArray
    """Start of each simulation step (epoch seconds)."""
    truth_fill: FloatArray
    """True fill during each step (after that step's deposits and emptying)."""
    emptied_at_s: FloatArray
    """True emptying times."""
    expected_step_fill: FloatArray
    """Expected deposits (fill) during each step: the true rate, drift and rhythms included."""
    base_rate_per_h: float
    """Mean fill rate (fraction per hour) before drift."""
    fault: Fault
    fault_start_s: float | None

    @property
    def end_s(self) -> float:
        return float(self.truth_t_s[-1] + STEP_S)

    def true_fill_at(self, t_s: float) -> float:
        k = int(np.searchsorted(self.truth_t_s, t_s, side="right")) - 1
        return float(self.truth_fill[max(k, 0)])

    def expected_growth(self, start_s: float, end_s: float) -> float:
        """Expected deposits (fill) from ``start_s`` to ``end_s``: what a perfect rate model predicts."""
        a = int(np.searchsorted(self.truth_t_s, start_s, side="right"))
        b = int(np.searchsorted(self.truth_t_s, end_s, side="right"))
        return float(self.expected_step_fill[a:b].sum())

    def emptied_between(self, start_s: float, end_s: float) -> bool:
        """True if the container was emptied in ``(start_s, end_s]``."""
        return bool(np.any((self.emptied_at_s > start_s) & (self.emptied_at_s <= end_s)))


def generate_containers(
    seed: int,
    n: int,
    *,
    days: float = 42.0,
    start: datetime = datetime(2026, 9, 7, tzinfo=UTC),
    fault_share: float = 0.0,
    timezone: str = "Europe/Berlin",
) -> list[SyntheticContainer]:
    """``n`` containers over ``days`` days from ``start``; ``fault_share`` of them get a sensor fault.

    Deterministic in ``seed``: container ``i`` depends only on ``(seed, i)``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if days < 2:
        raise ValueError(f"days must be at least 2, got {days}")
    if not 0 <= fault_share <= 1:
        raise ValueError(f"fault_share must be in [0, 1], got {fault_share}")
    start_s = start.timestamp()
    steps = int(days * DAY_S / STEP_S)
    t: FloatArray = start_s + STEP_S * np.arange(steps, dtype=np.float64)
    grid = HourGrid(start_s, start_s + steps * STEP_S, timezone, 24)
    bins = grid.bins[np.floor(t / HOUR_S).astype(np.int64) - grid.first_hour]
    weekday, hour = bins // 24, bins % 24
    n_faulty = round(fault_share * n)
    faults: list[Fault] = ["stale", "stuck", "implausible"]
    return [
        _one(
            np.random.default_rng([seed, i]),
            t,
            weekday,
            hour,
            faults[i % 3] if i < n_faulty else "none",
        )
        for i in range(n)
    ]


def _one(
    rng: np.random.Generator,
    t: FloatArray,
    weekday: NDArray[np.int64],
    hour: NDArray[np.int64],
    fault: Fault,
) -> SyntheticContainer:
    steps = t.shape[0]
    daily = float(np.clip(rng.lognormal(np.log(0.12), 0.6), 0.02, 0.9))
    week = np.exp(rng.normal(0.0, 0.2, 7))
    week[5:] *= rng.uniform(0.8, 1.5)  # weekends differ by place (housing vs offices)
    week /= week.mean()
    day_idx = ((t - t[0]) // DAY_S).astype(np.int64)
    drift = np.exp(np.cumsum(rng.normal(0.0, 0.05, int(day_idx[-1]) + 1)))
    expected = daily / 24.0 * (STEP_S / HOUR_S) * week[weekday] * _DIURNAL[hour] * drift[day_idx]
    bag = float(rng.uniform(0.004, 0.012))
    deposits = rng.poisson(expected / bag)
    sizes = np.where(deposits > 0, rng.gamma(np.maximum(2.0 * deposits, 1e-9), bag / 2.0), 0.0)

    # collection: a visit between 08:00 and 12:00 local on Monday to Saturday empties it when >= 0.7
    visit_hour = rng.uniform(8.0, 12.0)
    fill = float(rng.uniform(0.0, 0.5))
    truth = np.empty(steps)
    emptied: list[float] = []
    threshold = float(rng.uniform(0.65, 0.8))
    last_day = -1
    for k in range(steps):
        fill = min(fill + float(sizes[k]), 1.2)
        local_h = float(hour[k]) + ((t[k] % HOUR_S) / HOUR_S)
        if weekday[k] < 6 and day_idx[k] != last_day and local_h >= visit_hour:
            last_day = int(day_idx[k])
            if fill >= threshold and rng.random() < 0.95:
                fill = float(rng.uniform(0.0, 0.03))
                emptied.append(float(t[k]))
        truth[k] = fill

    # sensor
    interval_h = float(rng.choice([1.0, 2.0, 4.0, 6.0], p=[0.4, 0.2, 0.2, 0.2]))
    reads = np.arange(t[0] + rng.uniform(0, interval_h * HOUR_S), t[-1], interval_h * HOUR_S)
    reads = reads + rng.uniform(-180.0, 180.0, reads.shape[0])
    reads = np.sort(reads[(reads >= t[0]) & (reads < t[-1] + STEP_S)])
    reads = reads[rng.random(reads.shape[0]) >= 0.05]  # lost packets
    idx = np.searchsorted(t, reads, side="right") - 1
    noise_sd = float(rng.uniform(0.008, 0.03))
    level = np.clip(truth[idx] + rng.normal(0.0, noise_sd, reads.shape[0]), 0.0, 1.1)
    out = rng.random(reads.shape[0]) < 0.02
    kind = rng.random(reads.shape[0])
    level = np.where(out & (kind < 0.5), 0.0, level)  # lost echo reads as empty
    level = np.where(out & (kind >= 0.5) & (kind < 0.8), rng.uniform(0.9, 1.0, reads.shape[0]), level)
    level = np.where(out & (kind >= 0.8), rng.uniform(0.0, 1.0, reads.shape[0]), level)

    fault_start: float | None = None
    if fault != "none":
        fault_start = float(t[-1] - rng.uniform(3.5, 6.0) * DAY_S)
        after = reads >= fault_start
        if fault == "stale":
            reads, level = reads[~after], level[~after]
        elif fault == "stuck":
            first = int(np.argmax(after))
            level = np.where(after, level[first], level)
        else:
            if rng.random() < 0.5:  # erratic: large scatter and out-of-range values
                bad = np.where(rng.random(reads.shape[0]) < 0.3, rng.choice([-0.3, 1.6]), 0.0)
                noisy = np.clip(level + rng.normal(0.0, 0.2, reads.shape[0]), 0.0, 1.1) + bad
                level = np.where(after, noisy, level)
            else:  # drifting: the reading sinks while the container fills
                sink = 0.35 * (reads - fault_start) / DAY_S
                level = np.where(after, np.clip(level - sink, 0.0, 1.1), level)

    emptied_arr = np.array(emptied)
    reported = emptied_arr[rng.random(emptied_arr.shape[0]) < 0.7]
    reported = reported + rng.uniform(0.0, 900.0, reported.shape[0])
    series = ReadingSeries(
        times_s=reads,
        fill_levels=level,
        emptied_at_s=reported,
        fraction="residual",
        container_type="depot_3m3",
    )
    return SyntheticContainer(
        series=series,
        truth_t_s=t,
        truth_fill=truth,
        emptied_at_s=emptied_arr,
        expected_step_fill=expected,
        base_rate_per_h=daily / 24.0,
        fault=fault,
        fault_start_s=fault_start,
    )
