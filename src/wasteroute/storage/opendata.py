"""Anonymous, aggregated figures of a city for the public, and its bins for smart-city platforms.

Nothing here names a person, a vehicle or a key: only counts, averages and the containers (public
street furniture) with their fill level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One ISO week (starting Monday, UTC): emptyings, average fill at emptying, km planned, overflows."""

    week_start: str
    collections: int
    avg_fill_at_emptying: float | None
    km_driven: float
    overflows: int
    fills_reported: int = 0
    """How many of the week's emptyings came with a fill (the weight of its average)."""


@dataclass(frozen=True, slots=True)
class PublicBin:
    external_id: str
    lon: float
    lat: float
    fraction: str
    fill_level: float | None
    measured_at: datetime | None
    last_emptied_at: datetime | None
    volume_l: float
    container_type: str
    alerts: tuple[str, ...]


class OpenDataRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def city_by_slug(self, slug: str) -> tuple[int, str, str] | None:
        """(id, slug, name) of a city."""
        row = self.session.execute(
            text("SELECT id, slug, name FROM city WHERE slug = :s"), {"s": slug}
        ).first()
        return (int(row[0]), str(row[1]), str(row[2])) if row else None

    def cities(self) -> list[tuple[str, str, int]]:
        """(slug, name, active bins) of every city."""
        rows = self.session.execute(
            text(
                "SELECT c.slug, c.name, (SELECT count(*) FROM bin b WHERE b.city_id = c.id AND b.active) "
                "FROM city c ORDER BY c.slug"
            )
        )
        return [(str(s), str(n), int(k)) for s, n, k in rows]

    def weekly(self, city_id: int, since: datetime) -> list[WeekFigures]:
        """Weekly figures since ``since``. ``km_driven`` sums the planned km of the routes that were
        driven (a finished plan's route with at least one stop reported; plans that no truck drove,
        such as a plan for a later day or one replaced before the shift, count nothing). Emptyings are
        the reports ``emptied`` and ``overfilled`` (an overfilled container is emptied too);
        ``overflows`` counts overfilled reports and emptyings observed above 100 %. Reports the
        driver took back count nothing."""
        rows = self.session.execute(
            text(
                """
                WITH ev AS (
                    SELECT date_trunc('week', occurred_at AT TIME ZONE 'UTC') AS wk, kind, observed_fill
                    FROM collection_event
                    WHERE city_id = :city AND occurred_at >= :since AND withdrawn_at IS NULL
                ), km AS (
                    SELECT date_trunc('week', p.service_date::timestamp) AS wk,
                           sum(r.distance_m) / 1000.0 AS km
                    FROM route r JOIN plan p ON p.id = r.plan_id
                    WHERE p.city_id = :city AND p.status = 'done' AND p.service_date >= CAST(:since AS date)
                      AND EXISTS (SELECT 1 FROM route_stop s
                                  WHERE s.route_id = r.id AND s.status <> 'planned')
                    GROUP BY 1
                ), e AS (
                    SELECT wk, count(*) FILTER (WHERE kind IN ('emptied', 'overfilled')) AS n,
                           avg(observed_fill) FILTER (WHERE kind IN ('emptied', 'overfilled')) AS avg_fill,
                           count(*) FILTER (WHERE kind = 'overfilled'
                                            OR (kind = 'emptied' AND observed_fill > 1.0)) AS overflows,
                           count(observed_fill) FILTER (WHERE kind IN ('emptied', 'overfilled')) AS fills
                    FROM ev GROUP BY wk
                )
                SELECT to_char(coalesce(e.wk, km.wk), 'YYYY-MM-DD'), coalesce(e.n, 0), e.avg_fill,
                       coalesce(km.km, 0), coalesce(e.overflows, 0), coalesce(e.fills, 0)
                FROM e FULL JOIN km ON km.wk = e.wk ORDER BY 1
                """
            ),
            {"city": city_id, "since": since},
        )
        return [
            WeekFigures(
                str(w),
                int(n),
                round(float(a), 3) if a is not None else None,
                round(float(k), 1),
                int(o),
                int(f),
            )
            for w, n, a, k, o, f in rows
        ]

    def bins(self, city_id: int, *, limit: int, offset: int) -> tuple[list[PublicBin], int]:
        total = int(
            self.session.execute(
                text("SELECT count(*) FROM bin WHERE city_id = :city AND active"), {"city": city_id}
            ).scalar_one()
        )
        rows = self.session.execute(
            text(
                "SELECT b.external_id, b.lon, b.lat, b.fraction, st.fill_level, st.measured_at, "
                "st.last_emptied_at, "
                "t.volume_l, t.code, coalesce((SELECT array_agg(a.kind ORDER BY a.kind) FROM alert a "
                "WHERE a.bin_id = b.id AND a.cleared_at IS NULL), '{}') "
                "FROM bin b JOIN container_type t ON t.id = b.container_type_id "
                "LEFT JOIN bin_state st ON st.bin_id = b.id WHERE b.city_id = :city AND b.active "
                "ORDER BY b.id LIMIT :limit OFFSET :offset"
            ),
            {"city": city_id, "limit": limit, "offset": offset},
        )
        return [PublicBin(*[*r[:9], tuple(r[9])]) for r in rows], total
