"""The dispatcher's daily questions, between the routes and the storage: why a container is not on a
tour, and hand edits of stored tours (move a stop to another tour, lock it), checked again against
capacity, windows and shift before anything is written."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from wasteroute.api.forecasts import cheap_state, needs_forecast, outlooks, state_of
from wasteroute.api.schemas.dispatch import UnplannedRead
from wasteroute.errors import Conflict, InvalidInput, NotFound
from wasteroute.planning.amend import (
    Item,
    Refusal,
    Schedule,
    TruckLimits,
    best_insertion,
    check,
    reschedule,
    without,
)
from wasteroute.planning.assembly import ACCESS
from wasteroute.planning.distances import GreatCircleProvider
from wasteroute.planning.result import DropReason
from wasteroute.storage.dispatch import DispatchRepository
from wasteroute.storage.dispatch_edits import DispatchEditRepository, EditRoute, EditStop
from wasteroute.storage.models import City, Plan
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.tours import TourRepository
from wasteroute.vocabulary import BinState, Category, PlanStatus, StopKind, StopStatus, UnplannedReason

DROP_CODES = {
    DropReason.OPTIONAL_NOT_WORTH.code: UnplannedReason.CAN_WAIT,
    DropReason.NO_COMPATIBLE_VEHICLE.code: UnplannedReason.NO_ACCESS,
    DropReason.TIME_WINDOW_UNREACHABLE.code: UnplannedReason.TIME_WINDOW,
    DropReason.CAPACITY.code: UnplannedReason.CAPACITY,
    DropReason.NO_TIME_LEFT.code: UnplannedReason.SHIFT,
}
"""The unplanned list's code for each reason the router gives (``DropReason.code``, stored in
``plan_bin.drop_code``)."""


class EditRefused(Conflict):
    """A hand edit of a tour that breaks a rule (409); ``code`` names the rule, ``details.params`` the
    numbers."""

    def __init__(self, code: str, message: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"params": params or {}})
        self.code = code


class EditInvalid(InvalidInput):
    """A hand edit that makes no sense (422), e.g. moving a depot visit or to a tour of another plan."""

    def __init__(self, code: str, message: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"params": params or {}})
        self.code = code


# ---------------------------------------------------------------------------------------------------
# why not planned


def explain_unplanned(session: Session, city: City, plan: Plan, now: datetime) -> list[UnplannedRead]:
    """Every container of the plan's fraction that is full soon now or that the plan left out, and is
    on none of the plan's tours, with a reason code: in this order must-go containers the router
    dropped, then the rest by fill."""
    threshold = float(city.fill_threshold)
    bins = DispatchRepository(session).bins(city.id, plan.fraction)
    open_ = [b for b in bins if cheap_state(b, now) is None and needs_forecast(b, threshold)]
    looks = outlooks(session, city.id, open_, now, threshold)
    soon = {b.id for b in open_ if state_of(b, looks.get(b.id), now, threshold) == BinState.MUST_GO_SOON}
    routes = [r.id for r in PlanRepository(session).routes(plan.id)]
    on_route = {
        s.bin_id for stops in TourRepository(session).stops(routes).values() for s in stops if s.bin_id
    }
    rows = {pb.bin_id: pb for pb in PlanRepository(session).plan_bins(plan.id)}
    summary = plan.summary or {}
    base: dict[str, Any] = {
        "threshold_pct": round(threshold * 100),
        "next_day": summary.get("next_planning_day"),
        "planned_at": plan.finished_at.astimezone(UTC).isoformat() if plan.finished_at else None,
    }
    out: list[tuple[int, float, UnplannedRead]] = []
    for b in bins:
        pb = rows.get(b.id)
        left_out = pb is not None and pb.category != Category.SKIP and b.id not in on_route
        if b.id in on_route or not (b.id in soon or left_out):
            continue
        params = dict(base)
        if pb is None:
            code = UnplannedReason.NOT_IN_PLAN
        else:
            params["category"] = pb.category
            params["forecast_pct"] = round(100 * pb.forecast_fill) if pb.forecast_fill is not None else None
            code = (
                UnplannedReason.NOT_DUE
                if pb.category == Category.SKIP
                else DROP_CODES.get(pb.drop_code or "", UnplannedReason.DROPPED)
            )
        order = 0 if pb is not None and pb.category == Category.MUST else 1
        out.append(
            (
                order,
                -(b.fill_level or 0.0),
                UnplannedRead(
                    bin_id=b.id,
                    bin_external_id=b.external_id,
                    must_go_soon=b.id in soon,
                    code=code,
                    params=params,
                    lon=b.lon,
                    lat=b.lat,
                ),
            )
        )
    out.sort(key=lambda x: (x[0], x[1], x[2].bin_id))
    return [x[2] for x in out]


# ---------------------------------------------------------------------------------------------------
# hand edits of tours


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _day_seconds(at: datetime, day: date, tz: ZoneInfo) -> int:
    return int((at - datetime.combine(day, time(0), tz)).total_seconds())


def _at(day: date, tz: ZoneInfo, seconds: int) -> datetime:
    return (datetime.combine(day, time(0), tz) + timedelta(seconds=seconds)).astimezone(UTC)


def _items(stops: list[EditStop]) -> list[Item]:
    """The stored stops as items; a stop's load is what the truck had after it minus before it."""
    out: list[Item] = []
    prev_v = prev_m = 0.0
    for s in stops:
        point = (s.lat, s.lon) if s.lat is not None and s.lon is not None else None
        vol = mass = 0.0
        if s.kind == "stop":
            vol, mass = max(0.0, s.load_volume_l - prev_v), max(0.0, s.load_mass_kg - prev_m)
        if s.kind in ("stop", "facility") and s.service_s is not None:
            busy = int(s.service_s)
        else:
            busy = max(0, int((s.departure - s.eta).total_seconds()))
        window = None
        if s.window_start is not None and s.window_end is not None:
            window = (_seconds(s.window_start), _seconds(s.window_end))
        kind = s.kind if point is not None or s.kind == "break" else "break"
        out.append(Item(s.id, kind, point, busy, vol, mass, window))
        prev_v, prev_m = s.load_volume_l, s.load_mass_kg
    return out


class _Travel:
    """Great-circle travel between two points, as the plan's default provider computes it."""

    def __init__(self, detour_factor: float) -> None:
        self.provider = GreatCircleProvider(detour_factor=detour_factor)
        self.cache: dict[tuple[tuple[float, float], tuple[float, float]], tuple[float, float]] = {}

    def __call__(self, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        key = (a, b)
        if key not in self.cache:
            d, t = self.provider.matrices([a, b])
            self.cache[key] = (float(d[0][1]), float(t[0][1]))
        return self.cache[key]


def _limits(r: EditRoute) -> TruckLimits:
    return TruckLimits(
        capacity_volume_l=float(r.volume_l),
        capacity_mass_kg=float(r.mass_kg),
        shift_start_s=_seconds(r.shift_start),
        shift_end_s=_seconds(r.shift_end),
        max_duration_s=int(r.max_duration_s),
    )


def _refuse(r: Refusal, route: EditRoute, tz: ZoneInfo) -> EditRefused:
    p = dict(r.params)
    p["vehicle"] = route.vehicle_name
    p["vehicle_id"] = route.vehicle_id
    for k in ("end_s", "shift_end_s", "arrival_s", "closes_s"):
        if k in p:
            p[k.removesuffix("_s")] = _at(route.service_date, tz, int(p.pop(k))).isoformat()
    messages = {
        "capacity_volume": "trip {trip} of {vehicle} would carry {load_l} l, above its {capacity_l} l",
        "capacity_mass": "trip {trip} of {vehicle} would carry {load_kg} kg, above its {capacity_kg} kg",
        "time_window": "{vehicle} would reach the container after its collection window closes",
        "shift_end": "{vehicle} would be back after its shift ends",
        "max_duration": "{vehicle} would work {duration_s} s, above its {max_duration_s} s",
    }
    return EditRefused(r.code, messages[r.code].format(**p), p)


def _editable(route: EditRoute, stops: list[EditStop], today: date) -> None:
    if route.plan_status != PlanStatus.DONE:
        raise EditRefused(
            "plan_not_done", f"plan {route.plan_id} is not finished", {"plan_id": route.plan_id}
        )
    if route.service_date < today:
        raise EditRefused(
            "plan_past",
            f"plan {route.plan_id} is for {route.service_date}, a past day",
            {"service_date": route.service_date.isoformat()},
        )
    reported = [s for s in stops if s.kind == StopKind.STOP and s.status != StopStatus.PLANNED]
    if reported:
        raise EditRefused(
            "tour_started",
            f"{route.vehicle_name} has started: stop {reported[0].seq} is already reported",
            {"vehicle": route.vehicle_name, "vehicle_id": route.vehicle_id, "seq": reported[0].seq},
        )


def _store(
    repo: DispatchEditRepository,
    route: EditRoute,
    sched: Schedule,
    tz: ZoneInfo,
    facilities: dict[int, int | None],
) -> None:
    """Write a timed tour back: stops in order with times and loads, trips per facility visit."""
    day = route.service_date
    trips: list[dict[str, Any]] = []
    trip: dict[str, Any] = {"stops": 0, "volume_l": 0.0, "mass_kg": 0.0}
    rows = []
    for seq, it in enumerate(sched.items):
        rows.append(
            (
                it.ref,
                seq,
                _at(day, tz, sched.arrival_s[seq]),
                _at(day, tz, sched.departure_s[seq]),
                sched.load_volume_l[seq],
                sched.load_mass_kg[seq],
            )
        )
        if it.kind == "stop":
            trip["stops"] += 1
            trip["volume_l"] += it.volume_l
            trip["mass_kg"] += it.mass_kg
        elif it.kind == "facility":
            trips.append({**trip, "facility_id": facilities.get(it.ref)})
            trip = {"stops": 0, "volume_l": 0.0, "mass_kg": 0.0}
    repo.write_route(
        route.id,
        rows,
        distance_m=sched.distance_m,
        duration_s=sched.duration_s,
        start_at=_at(day, tz, sched.start_s),
        end_at=_at(day, tz, sched.end_s),
        trips=[{**t, "volume_l": round(t["volume_l"], 1), "mass_kg": round(t["mass_kg"], 1)} for t in trips],
    )


def _route_and_stop(repo: DispatchEditRepository, city_id: int, stop_id: int) -> tuple[EditRoute, EditStop]:
    route_id = repo.route_of_stop(stop_id, city_id)
    route = repo.route(route_id, city_id) if route_id is not None else None
    if route is None:
        raise NotFound(f"stop {stop_id} not found")
    stop = next(s for s in repo.stops(route.id) if s.id == stop_id)
    if stop.kind != "stop" or stop.bin_id is None:
        raise EditInvalid(
            "not_a_container", f"stop {stop_id} is a {stop.kind}, not a container", {"kind": stop.kind}
        )
    return route, stop


def move_stop(
    session: Session, city_id: int, stop_id: int, target_id: int, detour_factor: float, today: date
) -> int:
    """Move a container stop to tour ``target_id`` of the same plan at its cheapest position, time both
    tours again and store them if the taking tour still fits its truck; returns the plan id."""
    repo = DispatchEditRepository(session)
    source, stop = _route_and_stop(repo, city_id, stop_id)
    target = repo.route(target_id, city_id)
    if target is None:
        raise NotFound(f"route {target_id} not found")
    if target.plan_id != source.plan_id:
        raise EditInvalid(
            "other_plan",
            f"route {target_id} belongs to plan {target.plan_id}, the stop to plan {source.plan_id}",
            {"plan_id": source.plan_id},
        )
    if target.id == source.id:
        raise EditInvalid("same_route", f"stop {stop_id} is already on route {target_id}", {})
    for r in sorted((source, target), key=lambda r: r.id):
        repo.lock_route(r.id)
    src_stops, dst_stops = repo.stops(source.id), repo.stops(target.id)
    _editable(source, src_stops, today)
    _editable(target, dst_stops, today)
    if stop.locked:
        raise EditRefused(
            "stop_locked",
            f"stop {stop_id} is locked to {source.vehicle_name}",
            {"vehicle": source.vehicle_name, "vehicle_id": source.vehicle_id},
        )
    if stop.bin_fraction != target.vehicle_fraction:
        raise EditRefused(
            "wrong_fraction",
            f"{target.vehicle_name} collects {target.vehicle_fraction}, the container is {stop.bin_fraction}",
            {
                "vehicle": target.vehicle_name,
                "vehicle_id": target.vehicle_id,
                "fraction": target.vehicle_fraction,
            },
        )
    if stop.access_class not in ACCESS.get(target.access_class, {target.access_class}):
        raise EditRefused(
            "no_access",
            f"{target.vehicle_name} ({target.access_class}) cannot serve a {stop.access_class} container",
            {
                "vehicle": target.vehicle_name,
                "vehicle_id": target.vehicle_id,
                "access_class": stop.access_class,
            },
        )
    tz = ZoneInfo(source.timezone)
    travel = _Travel(detour_factor)
    src_items = _items(src_stops)
    moving = next(it for it in src_items if it.ref == stop_id)
    dst_items = _items(dst_stops)
    new_dst = best_insertion(dst_items, moving, travel)
    dst_sched = reschedule(new_dst, _day_seconds(dst_stops[0].eta, target.service_date, tz), travel)
    refusal = check(dst_sched, _limits(target))
    if refusal is not None:
        raise _refuse(refusal, target, tz)
    src_sched = reschedule(
        without(src_items, stop_id), _day_seconds(src_stops[0].eta, source.service_date, tz), travel
    )
    facilities = {s.id: s.facility_id for s in (*src_stops, *dst_stops) if s.kind == "facility"}
    # the taking tour first: the moving stop must leave the giving tour's numbering before it is redone
    _store(repo, target, dst_sched, tz, facilities)
    _store(repo, source, src_sched, tz, facilities)
    return source.plan_id


def lock_stop(session: Session, city_id: int, stop_id: int, locked: bool, today: date) -> int:
    """Lock (or unlock) a container stop on its tour; returns the plan id."""
    repo = DispatchEditRepository(session)
    route, _ = _route_and_stop(repo, city_id, stop_id)
    repo.lock_route(route.id)
    _editable(route, repo.stops(route.id), today)
    repo.set_locked(stop_id, locked)
    return route.plan_id
