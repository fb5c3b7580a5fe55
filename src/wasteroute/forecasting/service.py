"""Where stored readings meet the fleet forecast: the plan job and the dispatcher's map both come
through here, so they forecast a bin from the same readings in the same way."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from wasteroute.forecasting.events import AHEAD_DAYS, PAST_DAYS, AnnouncedEvent, with_events
from wasteroute.forecasting.fleet import HISTORY_DAYS, HORIZONS_H, BinForecast, bin_forecast, forecast_fleet
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.series import ReadingSeries
from wasteroute.storage.dispatch import DispatchRepository
from wasteroute.storage.events import AnnouncedEventRepository
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
    events: Sequence[AnnouncedEvent] = (),
    places: Mapping[int, tuple[float, float]] | None = None,
) -> dict[int, BinForecast]:
    """Fleet forecast of ``bins`` (bin id, fraction, container type code) from their histories.

    ``bins`` must be every active bin of the fractions asked for (peers and calibration come from
    them); a bin without history gets an empty series. ``only`` limits the result. The city's
    announced ``events`` change the forecasts of the bins they cover (``places``: bin id -> lon, lat;
    see ``forecasting.events``).
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
    out = forecast_fleet(series, now=now, params=params, horizons_h=horizons_h, only=only)
    if not events or not places:
        return out
    p = params if params is not None else ForecastParams()
    now_s = now.timestamp()
    for bin_id, f in out.items():
        if bin_id not in places:
            continue
        lon, lat = places[bin_id]
        e = with_events(
            f.estimate,
            events,
            lon=lon,
            lat=lat,
            container_type=series[bin_id].container_type,
            timezone=p.timezone,
            half_life_days=p.rate_half_life_days,
        )
        if e is not f.estimate:
            out[bin_id] = bin_forecast(e, now_s, [h.horizon_h for h in f.horizons])
    return out


def announced_events(session: Session, city_id: int, now: datetime) -> list[AnnouncedEvent]:
    """The city's announced events near ``now`` (the days a forecast looks back and ahead)."""
    rows = AnnouncedEventRepository(session).around(
        city_id, now.date(), past_days=PAST_DAYS + 1, ahead_days=AHEAD_DAYS + 1
    )
    return [
        AnnouncedEvent(
            name=r.name,
            first_day=r.first_day,
            last_day=r.last_day,
            lon=r.lon,
            lat=r.lat,
            radius_m=r.radius_m,
            factors={str(k): float(v) for k, v in dict(r.factors or {}).items()},
        )
        for r in rows
    ]


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
    events = announced_events(session, city_id, now)
    places = {b.id: (b.lon, b.lat) for b in bins}
    for fraction in fractions:
        hist = bin_histories(session, city_id, fraction, since)
        members = [(b.id, b.fraction, b.container_type) for b in bins if b.fraction == fraction]
        out.update(
            forecast_bins(
                members,
                {k: (v.times_s, v.fills, v.emptied_at_s) for k, v in hist.items()},
                now,
                only=[b for b, _, _ in members if b in wanted],
                events=events,
                places=places,
            )
        )
    return out
