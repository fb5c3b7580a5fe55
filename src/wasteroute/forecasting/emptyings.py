"""Emptyings of a container found in its readings (falls of the robust level) and in drivers'
reports (pure numpy): when, how they were seen, and falls that no emptying explains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import HOUR_S, from_epoch_s, zone
from wasteroute.forecasting.robust import nanmedian_rows

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class EmptyingSource(StrEnum):
    DROP = "drop"
    REPORT = "report"
    DROP_AND_REPORT = "drop+report"


@dataclass(frozen=True)
class Emptying:
    """One emptying found in the history: when, how it was seen, and the fall of the level."""

    at_s: float
    source: EmptyingSource
    drop: float | None = None

    @property
    def at(self) -> datetime:
        return from_epoch_s(self.at_s)


@dataclass
class Event:
    at_s: float
    split: int  # index of the first reading after the emptying
    source: EmptyingSource
    drop: float | None


def level_steps(
    y: FloatArray, k: int, *, before: bool = True
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """For every gap i|i+1: median of up to k readings before it (NaN when ``before`` is False),
    after it, how many after, their max."""
    n = y.shape[0]
    gap = np.full(k - 1, np.nan)
    after = sliding_window_view(np.concatenate([y, gap]), k)[1:n]
    pre = nanmedian_rows(sliding_window_view(np.concatenate([gap, y]), k)[: n - 1]) if before else None
    post = nanmedian_rows(after)
    n_post = np.minimum(k, n - 1 - np.arange(n - 1)).astype(np.int64)
    return (np.full(n - 1, np.nan) if pre is None else pre), post, n_post, np.nanmax(after, axis=1)


def runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def confirmed_drops(
    y: FloatArray, min_drop: float, k: int, empty_level: float | None = None
) -> list[tuple[int, float, bool, float]]:
    """Gaps where the robust level falls by at least ``min_drop``: (index i of the reading before the
    gap, the fall, whether it still needs more evidence to count, the level before).

    A drop needs ``k`` readings after it, or at least two that are all low; a drop followed by a
    single reading could be an outlier and counts only with a report. Where twice ``k`` readings
    follow, their median must show the fall too (a cluster of outliers does not last), unless the
    first reading after the gap is at most ``empty_level`` and none of the ``k`` after it is back
    within half ``min_drop`` of the level before (a busy container emptied is full again within a
    day; lost echoes that read empty come between readings of the old level).
    """
    if y.shape[0] < 2:
        return []
    pre, post, n_post, after_max = level_steps(y, k)
    _, post_long, n_post_long, _ = level_steps(y, 2 * k, before=False)
    fall = pre - post
    lasting = (n_post_long < 2 * k) | (pre - post_long >= min_drop)
    if empty_level is not None:
        lasting |= (y[1:] <= empty_level) & (n_post >= k) & (after_max <= pre - 0.5 * min_drop)
    confirmed = lasting & ((n_post >= k) | ((n_post >= 2) & (after_max <= pre - min_drop)))
    ok = (fall >= min_drop) & lasting & (confirmed | (n_post == 1))
    raw = y[:-1] - y[1:]
    drops: list[tuple[int, float, bool, float]] = []
    for a, b in runs(ok):
        score = fall[a:b] + raw[a:b]
        best = a + int(np.argmax(score))
        drops.append((best, float(fall[best]), not bool(confirmed[best]), float(pre[best])))
    return drops


def looks_like_collection(
    lo_s: float, hi_s: float, before: float, after: float, params: ForecastParams
) -> bool:
    """Whether a drop seen by one reading only is taken for an emptying without a driver report.

    Only when ``params.single_reading_emptying`` is on, the container was worth emptying, the reading
    is low (at least twice ``emptying_drop`` below), and the gap overlaps collection hours (Monday to
    Saturday, local ``collection_hours``); a lost echo at night stays an outlier.
    """
    if not params.single_reading_emptying:
        return False
    if before < params.single_reading_min_before or after > params.single_reading_max_after:
        return False
    if before - after < 2.0 * params.emptying_drop:
        return False
    tz = zone(params.timezone)
    first, last = params.collection_hours
    for s in np.arange(lo_s, hi_s + 1.0, 1800.0).tolist():
        local = from_epoch_s(s).astimezone(tz)
        if local.weekday() < 6 and first <= local.hour < last:
            return True
    return False


def detect_emptyings(
    t: FloatArray, y: FloatArray, reports: FloatArray, params: ForecastParams
) -> tuple[list[Event], list[tuple[int, float]]]:
    """Emptyings (from drops and reports, sorted) and partial drops that no report explains."""
    k = params.confirm_readings
    match_s = params.report_match_h * HOUR_S
    drops = confirmed_drops(y, min(params.partial_drop, params.small_emptying_drop), k, params.emptied_level)
    events: list[Event] = []
    partial: list[tuple[int, float]] = []
    used = np.zeros(reports.shape[0], dtype=bool)
    for i, fall, unconfirmed, before in drops:
        # a confirmed fall whose first reading after is near empty is an emptying however small
        # (the readings after it may already have risen again); other small falls are noise
        to_empty = not unconfirmed and float(y[i + 1]) <= params.emptied_level
        if fall < params.partial_drop and not to_empty:
            continue
        lo, hi = t[i], t[i + 1]
        near = np.flatnonzero(~used & (reports >= lo - match_s) & (reports <= hi + match_s))
        if unconfirmed and near.shape[0] == 0 and not looks_like_collection(lo, hi, before, y[i + 1], params):
            continue
        if fall < params.emptying_drop and near.shape[0] == 0 and not to_empty:
            partial.append((i, fall))
            continue
        if near.shape[0]:
            r = int(near[np.argmin(np.abs(reports[near] - 0.5 * (lo + hi)))])
            used[r] = True
            at = float(min(max(reports[r], lo), hi))
            events.append(Event(at, i + 1, EmptyingSource.DROP_AND_REPORT, fall))
        else:
            events.append(Event(float(0.5 * (lo + hi)), i + 1, EmptyingSource.DROP, fall))
    for unused in np.flatnonzero(~used).tolist():
        at = float(reports[unused])
        events.append(Event(at, int(np.searchsorted(t, at, side="right")), EmptyingSource.REPORT, None))
    events.sort(key=lambda e: (e.at_s, e.split))
    # several reports for one emptying (or a report on top of a drop): keep one event per split, the
    # drop if there is one, else the latest report (after the last reading, e.g. of a silent sensor,
    # every report is a new emptying and the latest starts the current cycle)
    merged: list[Event] = []
    for e in events:
        if merged and merged[-1].split == e.split:
            if merged[-1].source is EmptyingSource.REPORT:
                merged[-1] = e
            continue
        merged.append(e)
    return merged, partial
