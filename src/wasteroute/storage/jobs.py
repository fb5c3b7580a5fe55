"""The plan job queue: claims with a lease, fair between cities, results guarded by the attempt.

A job is a ``plan`` row. ``claim_next`` takes one queued job, or a running one whose lease has
passed (its worker died), and stamps it with ``attempts + 1``. Every later write of that worker
(lease renewal, result, failure) names the attempt it holds and changes nothing once another worker
has taken the job over, so a job has exactly one stored result however many workers touched it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from wasteroute.storage.models import Plan, PlanSchedule
from wasteroute.vocabulary import PlanStatus, PlanTrigger

ACTIVE = (PlanStatus.QUEUED.value, PlanStatus.RUNNING.value)

# The fair order: first the cities with the fewest jobs running now, then the city served least
# recently (its latest start), then the oldest job. A flood of one city's jobs therefore waits behind
# every other city's first job instead of in front of it.
_CLAIM = text(
    """
UPDATE plan SET status = 'running', attempts = attempts + 1, started_at = now(), progress = 0.01,
       lease_until = now() + make_interval(secs => :lease_s), worker = :worker
WHERE id = (
    SELECT p.id FROM plan p
    WHERE (p.status = 'queued' OR (p.status = 'running' AND p.lease_until < now()))
      AND p.attempts < :max_attempts
      AND (CAST(:plan_id AS bigint) IS NULL OR p.id = :plan_id)
    ORDER BY
      (SELECT count(*) FROM plan r
        WHERE r.city_id = p.city_id AND r.status = 'running' AND r.lease_until >= now()),
      (SELECT max(s.started_at) FROM plan s WHERE s.city_id = p.city_id) NULLS FIRST,
      p.created_at, p.id
    FOR UPDATE OF p SKIP LOCKED LIMIT 1)
RETURNING id, attempts, city_id
"""
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A job held by one worker: its writes are valid while ``attempt`` is the plan's attempt."""

    plan_id: int
    attempt: int
    city_id: int


class JobQueue:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_next(
        self, *, worker: str, lease_s: float, max_attempts: int, plan_id: int | None = None
    ) -> Claim | None:
        """Take the next job in the fair order (several workers may call this at once)."""
        row = self.session.execute(
            _CLAIM, {"worker": worker, "lease_s": lease_s, "max_attempts": max_attempts, "plan_id": plan_id}
        ).first()
        return Claim(int(row[0]), int(row[1]), int(row[2])) if row else None

    def fail_abandoned(self, *, max_attempts: int) -> list[int]:
        """Jobs whose worker died on their last allowed attempt fail, with the reason kept."""
        rows = self.session.execute(
            text(
                "UPDATE plan SET status = 'failed', finished_at = now(), lease_until = NULL, error = "
                "'the worker running it (' || coalesce(worker, '?') || ') stopped without finishing, "
                "attempt ' || attempts || ' of ' || CAST(:max AS text) "
                "|| coalesce('; before: ' || error, '') "
                "WHERE status = 'running' AND lease_until < now() AND attempts >= :max RETURNING id"
            ),
            {"max": max_attempts},
        ).all()
        return [int(r[0]) for r in rows]

    def renew(self, claim: Claim, lease_s: float) -> bool:
        """Extend the lease; False when the job is no longer this attempt's (taken over or ended)."""
        row = self.session.execute(
            text(
                "UPDATE plan SET lease_until = now() + make_interval(secs => :lease_s) "
                "WHERE id = :id AND attempts = :attempt AND status = 'running' RETURNING id"
            ),
            {"id": claim.plan_id, "attempt": claim.attempt, "lease_s": lease_s},
        ).first()
        return row is not None

    def hold(self, claim: Claim) -> bool:
        """Lock the job's row for the rest of the transaction if this attempt still holds it.

        Called first in the transaction that stores the result: a worker that lost its lease stores
        nothing, and no other worker can take the job over until the result is committed."""
        row = self.session.execute(
            text(
                "SELECT id FROM plan WHERE id = :id AND attempts = :attempt AND status = 'running' FOR UPDATE"
            ),
            {"id": claim.plan_id, "attempt": claim.attempt},
        ).first()
        return row is not None

    def requeue(self, claim: Claim, error: str) -> bool:
        """Put the job back for another attempt, keeping the reason of this one."""
        row = self.session.execute(
            text(
                "UPDATE plan SET status = 'queued', progress = 0, lease_until = NULL, worker = NULL, "
                "error = :error WHERE id = :id AND attempts = :attempt AND status = 'running' RETURNING id"
            ),
            {"id": claim.plan_id, "attempt": claim.attempt, "error": error},
        ).first()
        return row is not None

    def fail(self, claim: Claim, error: str) -> bool:
        row = self.session.execute(
            text(
                "UPDATE plan SET status = 'failed', finished_at = now(), lease_until = NULL, error = :error "
                "WHERE id = :id AND attempts = :attempt AND status = 'running' RETURNING id"
            ),
            {"id": claim.plan_id, "attempt": claim.attempt, "error": error},
        ).first()
        return row is not None

    def retry_or_fail(self, claim: Claim, error: str, *, max_attempts: int, retry: bool) -> str:
        """Queue the job again while attempts remain and ``retry`` is True, else fail it; returns
        the new status (``queued``, ``failed``, or ``superseded`` when another attempt holds it)."""
        if retry and claim.attempt < max_attempts:
            ok = self.requeue(claim, f"attempt {claim.attempt} of {max_attempts} failed: {error}")
            return "queued" if ok else "superseded"
        ok = self.fail(claim, f"attempt {claim.attempt} of {max_attempts}: {error}" if retry else error)
        return "failed" if ok else "superseded"

    def active_jobs(self, city_id: int) -> int:
        """Queued and running jobs of a city."""
        row = self.session.execute(
            text("SELECT count(*) FROM plan WHERE city_id = :c AND status IN ('queued', 'running')"),
            {"c": city_id},
        ).one()
        return int(row[0])

    def create_scheduled(
        self, *, city_id: int, fraction: str, service_date: date, options: dict[str, Any]
    ) -> int | None:
        """The scheduled plan of a city, fraction and day; None when it exists already (any worker,
        any machine: the unique index ``plan_scheduled_once`` decides)."""
        stmt = (
            insert(Plan)
            .values(
                city_id=city_id,
                fraction=fraction,
                service_date=service_date,
                options=options,
                status=PlanStatus.QUEUED,
                progress=0.0,
                trigger=PlanTrigger.SCHEDULED,
            )
            .on_conflict_do_nothing(
                index_elements=["city_id", "fraction", "service_date"],
                index_where=text("trigger = 'scheduled'"),
            )
            .returning(Plan.id)
        )
        row = self.session.execute(stmt).first()
        return int(row[0]) if row else None


class ScheduleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enabled(self) -> list[tuple[PlanSchedule, str, str | None, str]]:
        """Every enabled schedule with its city's time zone, holiday region and slug."""
        rows = self.session.execute(
            text(
                "SELECT s.id, c.timezone, c.holiday_region, c.slug FROM plan_schedule s "
                "JOIN city c ON c.id = s.city_id WHERE s.enabled ORDER BY s.id"
            )
        ).all()
        out = []
        for sid, tz, region, slug in rows:
            sched = self.session.get(PlanSchedule, sid)
            if sched is not None:
                out.append((sched, str(tz), region, str(slug)))
        return out

    def enabled_for(self, city_id: int, fraction: str) -> PlanSchedule | None:
        """The enabled schedule of a city's fraction, or None (the city's default days apply)."""
        return (
            self.session.query(PlanSchedule)
            .filter(PlanSchedule.city_id == city_id, PlanSchedule.fraction == fraction, PlanSchedule.enabled)
            .one_or_none()
        )

    def get(self, city_id: int, fraction: str) -> PlanSchedule | None:
        """The schedule of a city's fraction, enabled or not."""
        return (
            self.session.query(PlanSchedule)
            .filter(PlanSchedule.city_id == city_id, PlanSchedule.fraction == fraction)
            .one_or_none()
        )

    def delete(self, city_id: int, fraction: str) -> bool:
        """Remove the schedule of a city's fraction; False when it has none."""
        row = self.get(city_id, fraction)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def of_city(self, city_id: int) -> list[PlanSchedule]:
        return list(
            self.session.query(PlanSchedule)
            .filter(PlanSchedule.city_id == city_id)
            .order_by(PlanSchedule.fraction)
            .all()
        )

    def upsert(
        self,
        *,
        city_id: int,
        fraction: str,
        local_time: time,
        weekdays: list[int],
        on_holidays: bool,
        time_limit_s: float,
        enabled: bool,
        policy: dict[str, Any] | None = None,
    ) -> PlanSchedule:
        """Create or replace the schedule of a city's fraction (``policy``: the plan options every
        plan of the fraction starts from; none: the product's defaults)."""
        values = {
            "local_time": local_time,
            "weekdays": weekdays,
            "on_holidays": on_holidays,
            "time_limit_s": time_limit_s,
            "enabled": enabled,
            "policy": dict(policy or {}),
        }
        stmt = (
            insert(PlanSchedule)
            .values(city_id=city_id, fraction=fraction, **values)
            .on_conflict_do_update(index_elements=["city_id", "fraction"], set_=values)
            .returning(PlanSchedule.id)
        )
        sid = int(self.session.execute(stmt).scalar_one())
        sched = self.session.get(PlanSchedule, sid, populate_existing=True)
        assert sched is not None
        return sched
