"""Where stored readings meet the fleet forecast: the plan job and the dispatcher's map both come
through here, so they forecast a bin from the same readings in the same way."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from wasteroute.forecasting.fleet import HISTORY_DAYS, HORIZONS_H, BinForecast, forecast_fleet
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.series import ReadingSeries
from wasteroute.storage.dispatch import DispatchRepository
from wasteroute.storage.history import bin_histories

History = tuple[Sequence[float], Sequence[float], Sequence[float]]
"""A bin's readings (epoch s), fills (0..1.5) and reported emptyings (epoch s)."""


def forecast_bins(
    bins: Iterable[tuple[int, str, str]],
    histories: Mapping[int, History],
    now: datetime,
    *,
    only: Collection[int] | None = None,
    params: ForecastParams | None = None,
    horizons_h: Sequence[float] = HORIZONS_H,
) -> dict[int, BinForecast]:
    """Fleet forecast of ``bins`` (bin id, fraction, container type code) from their histories.

    ``bins`` must be every active bin of the fractions asked for (peers and calibration come from
    them); a bin without history gets an empty series. ``only`` limits the result.
    """
    series: dict[int, ReadingSeries] = {}
    for bin_id, fraction, container_type in bins:
        times, fills, emptied = histories.get(bin_id, ((), (), ()))
        series[bin_id] = ReadingSeries(
            times_s=np.asarray(times, dtype=np.float64),
            fill_levels=np.asarray(fills, dtype=np.float64),
            emptied_at_s=np.asarray(emptied, dtype=np.float64),
            fraction=fraction,
            container_type=container_type,
        )
    return forecast_fleet(series, now=now, params=params, horizons_h=horizons_h, only=only)


def forecast_city_bins(
    session: Session, city_id: int, bin_ids: Collection[int], now: datetime
) -> dict[int, BinForecast]:
    """Forecasts of the given bins of a city, read and computed as the plan job does.

    Loads the last ``HISTORY_DAYS`` days of every active bin of the fractions involved (only the
    (fraction, container type) groups of the asked bins are estimated).
    """
    wanted = set(bin_ids)
    if not wanted:
        return {}
    bins = [b for b in DispatchRepository(session).bins(city_id, None)]
    fractions = sorted({b.fraction for b in bins if b.id in wanted})
    out: dict[int, BinForecast] = {}
    since = now - timedelta(days=HISTORY_DAYS)
    for fraction in fractions:
        hist = bin_histories(session, city_id, fraction, since)
        members = [(b.id, b.fraction, b.container_type) for b in bins if b.fraction == fraction]
        out.update(
            forecast_bins(
                members,
                {k: (v.times_s, v.fills, v.emptied_at_s) for k, v in hist.items()},
                now,
                only=[b for b, _, _ in members if b in wanted],
            )
        )
    return out
