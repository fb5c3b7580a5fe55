"""Forecasts for the dispatcher's map and alerts: the plan job's own fleet forecast
(:func:`~wasteroute.forecasting.service.forecast_city_bins`), only for the bins that need one.

A bin's map state, in this order: ``alert`` (an open fire/tilt/battery alert), ``stale`` (its sensor
has not reported for ``STALE_AFTER_H`` hours, or never), ``must_go_soon`` (at least half the city's
threshold now and expected at the threshold within ``HORIZON_H`` hours), ``ok``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from wasteroute.forecasting.estimators import time_to_threshold
from wasteroute.forecasting.fleet import HISTORY_DAYS
from wasteroute.forecasting.service import forecast_city_bins
from wasteroute.storage.dispatch import MapBin
from wasteroute.vocabulary import BinState

__all__ = ["HISTORY_DAYS", "HORIZON_H", "STALE_AFTER_H", "BinOutlook", "outlooks", "state_of"]

STALE_AFTER_H = 36.0
HORIZON_H = 24.0


@dataclass(frozen=True, slots=True)
class BinOutlook:
    fill_in_horizon: float | None
    hours_to_threshold: float | None
    health: tuple[str, ...]
    overflow_probability: float | None = None
    """Probability of overflowing within ``HORIZON_H`` hours."""


def cheap_state(b: MapBin, now: datetime) -> BinState | None:
    """``alert`` or ``stale`` when they follow from the stored state alone, else None (needs a forecast)."""
    if b.alerts:
        return BinState.ALERT
    if b.measured_at is None or (now - b.measured_at).total_seconds() > STALE_AFTER_H * 3600:
        return BinState.STALE
    return None


def needs_forecast(b: MapBin, threshold: float) -> bool:
    return b.fill_level is not None and b.fill_level >= threshold / 2


def outlooks(
    session: Session, city_id: int, bins: list[MapBin], now: datetime, threshold: float
) -> dict[int, BinOutlook]:
    """Forecasts of the given bins: the plan job's fleet forecast (its history window, similar
    containers and calibration), computed only for the (fraction, container type) groups involved."""
    if not bins:
        return {}
    fleet = forecast_city_bins(session, city_id, [b.id for b in bins], now)
    out: dict[int, BinOutlook] = {}
    for b in bins:
        f = fleet[b.id]
        e = f.estimate
        seen = e.last_reading_at_s is not None
        ttt = time_to_threshold(e, threshold)
        out[b.id] = BinOutlook(
            fill_in_horizon=round(f.horizon(HORIZON_H).fill, 3) if seen else None,
            hours_to_threshold=round(ttt, 1) if seen and math.isfinite(ttt) else None,
            health=tuple(sorted(fl.value for fl in e.flags)),
            overflow_probability=round(f.horizon(HORIZON_H).overflow_probability, 4) if seen else None,
        )
    return out


def state_of(b: MapBin, outlook: BinOutlook | None, now: datetime, threshold: float) -> BinState:
    cheap = cheap_state(b, now)
    if cheap is not None:
        return cheap
    if (
        outlook is not None
        and needs_forecast(b, threshold)
        and outlook.hours_to_threshold is not None
        and outlook.hours_to_threshold <= HORIZON_H
    ):
        return BinState.MUST_GO_SOON
    return BinState.OK
