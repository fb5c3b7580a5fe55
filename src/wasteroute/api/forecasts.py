"""Cheap forecasts for the dispatcher's map and alerts: ``estimate_fill`` on each bin's latest readings
(at most ``READINGS_PER_BIN`` of the last ``HISTORY_DAYS`` days), only for the bins that need one.

A bin's map state, in this order: ``alert`` (an open fire/tilt/battery alert), ``stale`` (its sensor
has not reported for ``STALE_AFTER_H`` hours, or never), ``must_go_soon`` (at least half the city's
threshold now and expected at the threshold within ``HORIZON_H`` hours), ``ok``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from wasteroute.forecasting.estimators import FillEstimate, estimate_fill, time_to_threshold
from wasteroute.forecasting.series import ReadingSeries
from wasteroute.storage.dispatch import DispatchRepository, MapBin

HISTORY_DAYS = 7
READINGS_PER_BIN = 12
STALE_AFTER_H = 36.0
HORIZON_H = 24.0


@dataclass(frozen=True, slots=True)
class BinOutlook:
    fill_in_horizon: float | None
    hours_to_threshold: float | None
    health: tuple[str, ...]


def cheap_state(b: MapBin, now: datetime) -> str | None:
    """``alert`` or ``stale`` when they follow from the stored state alone, else None (needs a forecast)."""
    if b.alerts:
        return "alert"
    if b.measured_at is None or (now - b.measured_at).total_seconds() > STALE_AFTER_H * 3600:
        return "stale"
    return None


def needs_forecast(b: MapBin, threshold: float) -> bool:
    return b.fill_level is not None and b.fill_level >= threshold / 2


def outlooks(
    session: Session, city_id: int, bins: list[MapBin], now: datetime, threshold: float
) -> dict[int, BinOutlook]:
    """Forecasts of the given bins (each ~3 ms: call it for a page or a pre-filtered set)."""
    if not bins:
        return {}
    repo = DispatchRepository(session)
    ids = [b.id for b in bins]
    since = now - timedelta(days=HISTORY_DAYS)
    fills = repo.recent_fills(city_id, ids, since, READINGS_PER_BIN)
    emptied = repo.emptied_since(city_id, ids, since)
    out: dict[int, BinOutlook] = {}
    for b in bins:
        times, values = fills.get(b.id, ([], []))
        series = ReadingSeries(
            times_s=np.asarray(times, dtype=np.float64),
            fill_levels=np.asarray(values, dtype=np.float64),
            emptied_at_s=np.asarray(emptied.get(b.id, []), dtype=np.float64),
            fraction=b.fraction,
            container_type=b.container_type,
        )
        e: FillEstimate = estimate_fill(series, now=now)
        mean, _ = e.at(now + timedelta(hours=HORIZON_H))
        ttt = time_to_threshold(e, threshold)
        out[b.id] = BinOutlook(
            fill_in_horizon=round(mean, 3) if times else None,
            hours_to_threshold=round(ttt, 1) if times and math.isfinite(ttt) else None,
            health=tuple(sorted(f.value for f in e.flags)),
        )
    return out


def state_of(b: MapBin, outlook: BinOutlook | None, now: datetime, threshold: float) -> str:
    cheap = cheap_state(b, now)
    if cheap is not None:
        return cheap
    if (
        outlook is not None
        and needs_forecast(b, threshold)
        and outlook.hours_to_threshold is not None
        and outlook.hours_to_threshold <= HORIZON_H
    ):
        return "must_go_soon"
    return "ok"
