"""Reads for the dispatcher's map: bins with their state, sensor and open alerts, and the most recent
readings of a few bins (input of a cheap forecast)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class MapBin:
    """A bin with its latest state. ``fill_level`` 0..1.5, ``volume_l`` litres, times UTC."""

    id: int
    external_id: str
    lon: float
    lat: float
    fraction: str
    container_type: str
    volume_l: float
    site_id: str | None
    device_id: str | None
    fill_level: float | None
    measured_at: datetime | None
    battery_pct: float | None
    last_emptied_at: datetime | None
    alerts: tuple[str, ...]


_BINS = """
SELECT b.id, b.external_id, b.lon, b.lat, b.fraction, t.code, t.volume_l, b.site_id,
       (SELECT s.device_id FROM sensor s WHERE s.bin_id = b.id ORDER BY s.id LIMIT 1),
       CASE WHEN st.last_emptied_at > coalesce(st.measured_at, '-infinity') THEN 0.0 ELSE st.fill_level END,
       CASE WHEN st.sensor_id IS NULL THEN NULL ELSE st.measured_at END,
       st.battery_pct, st.last_emptied_at,
       coalesce((SELECT array_agg(a.kind ORDER BY a.kind) FROM alert a
                 WHERE a.bin_id = b.id AND a.cleared_at IS NULL), '{}')
FROM bin b JOIN container_type t ON t.id = b.container_type_id
LEFT JOIN bin_state st ON st.bin_id = b.id
WHERE b.city_id = :city AND b.active AND (CAST(:fraction AS text) IS NULL OR b.fraction = :fraction)
ORDER BY b.id
"""


class DispatchRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def bins(self, city_id: int, fraction: str | None) -> list[MapBin]:
        """The city's active bins for the map. A container emptied (a driver's report) after its last
        reading shows fill 0 at once, without waiting for the sensor's next reading."""
        rows = self.session.execute(text(_BINS), {"city": city_id, "fraction": fraction})
        return [MapBin(*[*r[:13], tuple(r[13])]) for r in rows]

    def recent_fills(
        self, city_id: int, bin_ids: list[int], since: datetime, per_bin: int
    ) -> dict[int, tuple[list[float], list[float]]]:
        """Up to ``per_bin`` latest readings with a fill per bin since ``since``: (epoch s, fill), oldest "
        "first."""
        out: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        if not bin_ids:
            return {}
        rows = self.session.execute(
            text(
                "SELECT bin_id, t, fill FROM (SELECT r.bin_id, extract(epoch FROM r.measured_at) AS t, "
                "r.fill_level AS fill, row_number() OVER (PARTITION BY r.bin_id ORDER BY r.measured_at "
                "DESC) AS k "
                "FROM sensor_reading r WHERE r.city_id = :city AND r.bin_id = ANY(:ids) AND r.measured_at "
                ">= :since "
                "AND r.fill_level IS NOT NULL) x WHERE k <= :n ORDER BY bin_id, t"
            ),
            {"city": city_id, "ids": bin_ids, "since": since, "n": per_bin},
        )
        for bin_id, t, fill in rows:
            times, fills = out[int(bin_id)]
            times.append(float(t))
            fills.append(float(fill))
        return dict(out)

    def emptied_since(self, city_id: int, bin_ids: list[int], since: datetime) -> dict[int, list[float]]:
        """Reported emptyings (epoch s) per bin since ``since``."""
        out: dict[int, list[float]] = defaultdict(list)
        if not bin_ids:
            return {}
        rows = self.session.execute(
            text(
                "SELECT bin_id, extract(epoch FROM occurred_at) FROM collection_event WHERE city_id = :city "
                "AND bin_id = ANY(:ids) AND kind IN ('emptied', 'overfilled', 'detected_drop') "
                "AND withdrawn_at IS NULL AND occurred_at >= :since"
            ),
            {"city": city_id, "ids": bin_ids, "since": since},
        )
        for bin_id, t in rows:
            out[int(bin_id)].append(float(t))
        return dict(out)
