"""Repository of plan jobs and their results (routes, stops, the bins considered)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from wasteroute.storage.models import Plan, PlanBin, Route, RouteStop
from wasteroute.vocabulary import PlanStatus


@dataclass(frozen=True, slots=True)
class StopRecord:
    """A ``route_stop`` row to be: one visit of a route (at most one of bin, facility, depot)."""

    seq: int
    kind: str
    eta: datetime
    departure: datetime
    load_volume_l: float
    load_mass_kg: float
    bin_id: int | None = None
    facility_id: int | None = None
    depot_id: int | None = None
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True, slots=True)
class RouteRecord:
    """A ``route`` row to be with its stops; ``trips`` as stored (JSON objects)."""

    vehicle_id: int
    distance_m: int
    duration_s: int
    start_at: datetime
    end_at: datetime
    trips: list[dict[str, Any]]
    stops: tuple[StopRecord, ...]


@dataclass(frozen=True, slots=True)
class PlanBinRecord:
    """A ``plan_bin`` row to be: one container the selection looked at."""

    bin_id: int
    category: str
    forecast_fill: float | None
    routed: bool
    reason: str
    reason_code: str | None
    reason_params: dict[str, Any]
    drop_code: str | None
    drop_params: dict[str, Any] | None


class PlanRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        city_id: int,
        fraction: str,
        service_date: date,
        options: dict[str, Any],
        created_by: int | None = None,
        created_at: datetime | None = None,
    ) -> Plan:
        """A queued plan job; ``created_at`` defaults to the database's clock."""
        plan = Plan(
            city_id=city_id,
            fraction=fraction,
            service_date=service_date,
            options=options,
            created_by=created_by,
            status=PlanStatus.QUEUED,
            progress=0.0,
        )
        if created_at is not None:
            plan.created_at = created_at
        self.session.add(plan)
        self.session.flush()
        return plan

    def claim_next(self) -> int | None:
        """Take the oldest queued job (several workers may call this at once)."""
        row = self.session.execute(
            text(
                "UPDATE plan SET status = 'running', started_at = now(), progress = 0.01 WHERE id = ("
                " SELECT id FROM plan WHERE status = 'queued' ORDER BY created_at, id"
                " FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id"
            )
        ).first()
        return int(row[0]) if row else None

    def claim(self, plan_id: int) -> bool:
        """Take this queued job (the CLI runs it at once); False if it is not queued any more."""
        row = self.session.execute(
            text(
                "UPDATE plan SET status = 'running', started_at = now(), progress = 0.01 "
                "WHERE id = :id AND status = 'queued' RETURNING id"
            ),
            {"id": plan_id},
        ).first()
        return row is not None

    def get(self, plan_id: int, city_id: int | None = None) -> Plan | None:
        plan = self.session.get(Plan, plan_id)
        if plan is None or (city_id is not None and plan.city_id != city_id):
            return None
        return plan

    def page(
        self, city_id: int, fraction: str | None, *, limit: int, offset: int
    ) -> tuple[Sequence[Plan], int]:
        """A city's plan jobs (of one fraction, when given), newest first, and how many there are."""
        q = select(Plan).where(Plan.city_id == city_id)
        if fraction:
            q = q.where(Plan.fraction == fraction)
        total = self.session.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = self.session.scalars(
            q.order_by(Plan.created_at.desc(), Plan.id.desc()).limit(limit).offset(offset)
        ).all()
        return rows, int(total)

    def latest_done(self, city_id: int, fraction: str, service_date: date | None = None) -> Plan | None:
        q = select(Plan).where(
            Plan.city_id == city_id, Plan.fraction == fraction, Plan.status == PlanStatus.DONE
        )
        if service_date is not None:
            q = q.where(Plan.service_date == service_date)
        return self.session.scalars(q.order_by(Plan.finished_at.desc(), Plan.id.desc())).first()

    def set_progress(self, plan_id: int, progress: float) -> None:
        self.session.execute(update(Plan).where(Plan.id == plan_id).values(progress=progress))

    def finish(
        self, plan_id: int, *, summary: dict[str, Any], diagnosis: str | None, finished_at: datetime
    ) -> None:
        self.session.execute(
            update(Plan)
            .where(Plan.id == plan_id)
            .values(
                status=PlanStatus.DONE,
                progress=1.0,
                summary=summary,
                diagnosis=diagnosis,
                finished_at=finished_at,
            )
        )

    def fail(self, plan_id: int, error: str, finished_at: datetime) -> None:
        self.session.execute(
            update(Plan)
            .where(Plan.id == plan_id)
            .values(status=PlanStatus.FAILED, error=error, finished_at=finished_at)
        )

    def add_route(self, route: Route, stops: Sequence[RouteStop]) -> Route:
        self.session.add(route)
        self.session.flush()
        for s in stops:
            s.route_id = route.id
        self.session.add_all(list(stops))
        return route

    def add_plan_bins(self, rows: Sequence[PlanBin]) -> None:
        self.session.add_all(list(rows))

    def add_result(
        self, plan_id: int, city_id: int, routes: Sequence[RouteRecord], bins: Sequence[PlanBinRecord]
    ) -> None:
        """A plan job's routes with their stops, and its ``plan_bin`` rows."""
        for r in routes:
            self.add_route(
                Route(
                    plan_id=plan_id,
                    city_id=city_id,
                    vehicle_id=r.vehicle_id,
                    distance_m=r.distance_m,
                    duration_s=r.duration_s,
                    start_at=r.start_at,
                    end_at=r.end_at,
                    trips=r.trips,
                ),
                [
                    RouteStop(
                        city_id=city_id,
                        seq=s.seq,
                        kind=s.kind,
                        eta=s.eta,
                        departure=s.departure,
                        load_volume_l=s.load_volume_l,
                        load_mass_kg=s.load_mass_kg,
                        bin_id=s.bin_id,
                        facility_id=s.facility_id,
                        depot_id=s.depot_id,
                        lon=s.lon,
                        lat=s.lat,
                    )
                    for s in r.stops
                ],
            )
        self.add_plan_bins(
            [
                PlanBin(
                    plan_id=plan_id,
                    bin_id=b.bin_id,
                    category=b.category,
                    forecast_fill=b.forecast_fill,
                    routed=b.routed,
                    reason=b.reason,
                    reason_code=b.reason_code,
                    reason_params=b.reason_params,
                    drop_code=b.drop_code,
                    drop_params=b.drop_params,
                )
                for b in bins
            ]
        )

    def routes(self, plan_id: int) -> Sequence[Route]:
        return self.session.scalars(select(Route).where(Route.plan_id == plan_id).order_by(Route.id)).all()

    def route(self, route_id: int) -> Route | None:
        return self.session.get(Route, route_id)

    def stops(self, route_id: int) -> Sequence[RouteStop]:
        return self.session.scalars(
            select(RouteStop).where(RouteStop.route_id == route_id).order_by(RouteStop.seq)
        ).all()

    def plan_bins(self, plan_id: int) -> Sequence[PlanBin]:
        return self.session.scalars(select(PlanBin).where(PlanBin.plan_id == plan_id)).all()
