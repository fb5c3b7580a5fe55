"""Reads for forecasting: each bin's recent readings and collection events, as plain arrays."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass
class BinHistory:
    """Readings (epoch seconds, fill 0..1.5) in time order and collection events of one bin."""

    times_s: list[float] = field(default_factory=list)
    fills: list[float] = field(default_factory=list)
    emptied_at_s: list[float] = field(default_factory=list)


_BINS = "ARRAY(SELECT id FROM bin WHERE city_id = :city AND fraction = :fraction AND active)"
"""The bins of one fraction as an array the readings are filtered by, not joined with: a join is
planned from table statistics, and where those are missing (a new city, a database without
autovacuum) the planner compared every reading with every bin, 11 s instead of 1 s for 200,000
readings of 1,000 bins."""


def bin_histories(session: Session, city_id: int, fraction: str, since: datetime) -> dict[int, BinHistory]:
    """Histories of the city's active bins of one fraction since ``since`` (readings with a fill only)."""
    out: dict[int, BinHistory] = defaultdict(BinHistory)
    rows = session.execute(
        text(
            "SELECT r.bin_id, extract(epoch FROM r.measured_at) AS t, r.fill_level FROM sensor_reading r "
            f"WHERE r.city_id = :city AND r.bin_id = ANY({_BINS}) "
            "AND r.measured_at >= :since AND r.fill_level IS NOT NULL ORDER BY r.bin_id, r.measured_at"
        ),
        {"city": city_id, "fraction": fraction, "since": since},
    )
    for bin_id, t, fill in rows:
        h = out[int(bin_id)]
        h.times_s.append(float(t))
        h.fills.append(float(fill))
    events = session.execute(
        text(
            "SELECT e.bin_id, extract(epoch FROM e.occurred_at) FROM collection_event e "
            f"WHERE e.city_id = :city AND e.bin_id = ANY({_BINS}) "
            "AND e.kind IN ('emptied', 'overfilled', 'detected_drop') AND e.withdrawn_at IS NULL "
            "AND e.occurred_at >= :since ORDER BY e.occurred_at"
        ),
        {"city": city_id, "fraction": fraction, "since": since},
    )
    for bin_id, t in events:
        out[int(bin_id)].emptied_at_s.append(float(t))
    return dict(out)
