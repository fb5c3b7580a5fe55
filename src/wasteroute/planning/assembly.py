"""The one step between stored rows and the router (pure): rows in, a :class:`Problem` out; the
router's :class:`RoutePlan` in, the rows to store out.

Ids: the router knows every row by one encoding, ``"<kind>-<row id>"`` (``bin-12``, ``depot-3``,
``facility-2``, ``vehicle-7``), written by :func:`encode_ref` and read back by :func:`decode_ref`. The
selection knows a container by its row id as text (:func:`selection_key`), the spelling of the
``due`` list in a plan job's options.

Units as in :mod:`wasteroute.planning.problem`: seconds since the service day's local midnight,
metres, litres, kilograms; the rows to store carry aware UTC timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from wasteroute.forecasting.events import AnnouncedEvent
from wasteroute.planning.distances import DistanceProvider
from wasteroute.planning.problem import BreakRule, Depot, Facility, Location, Problem, Stop, Vehicle
from wasteroute.planning.result import RoutePlan, VisitKind
from wasteroute.planning.selection import BinSelection
from wasteroute.storage.plans import PlanBinRecord, RouteRecord, StopRecord
from wasteroute.vocabulary import AccessClass, Category, Fraction, SelectionStatus

__all__ = [
    "ACCESS",
    "COST_PER_HOUR",
    "COST_PER_KM",
    "COST_PER_TOUR",
    "DENSITY_KG_PER_L",
    "BinRow",
    "Chosen",
    "Considered",
    "DepotRow",
    "FacilityRow",
    "PlanInputs",
    "PlanRows",
    "RefKind",
    "VehicleRow",
    "bin_of_selection",
    "build_problem",
    "consider",
    "decode_ref",
    "encode_ref",
    "plan_rows",
    "seconds_of_day",
    "selection_key",
]

# A vehicle's volume is the loose container volume one load holds (body volume x compaction), so a
# stop's volume is its container volume x fill. Mass per loose litre: rough German municipal figures;
# a city overrides them with its own weighbridge data.
DENSITY_KG_PER_L: dict[str, float] = {
    Fraction.RESIDUAL: 0.13,
    Fraction.PAPER: 0.09,
    Fraction.PACKAGING: 0.04,
    Fraction.BIO: 0.40,
    Fraction.GLASS: 0.30,
}
DEFAULT_DENSITY_KG_PER_L = 0.15
ACCESS = {a.value: frozenset(c.value for c in a.empties) for a in AccessClass}
"""Container access classes a vehicle of each access class can empty."""
# Routing costs (euro-like units): a truck kilometre and a crew hour.
COST_PER_KM = 2.0
COST_PER_HOUR = 60.0
COST_PER_TOUR = 60.0
"""What sending a truck out at all costs beyond its km and hours (crew call-out, checks, tipping
fees): a tour for a handful of may-go containers has to be worth it."""
MAX_FILL = 1.25
"""Fill above which a container's forecast is not believed when sizing its load."""


# --------------------------------------------------------------------------------------------------
# ids


class RefKind(StrEnum):
    """The kinds of row the router knows, as the prefix of their ids."""

    BIN = "bin"
    DEPOT = "depot"
    FACILITY = "facility"
    VEHICLE = "vehicle"


def encode_ref(kind: RefKind, row_id: int) -> str:
    """The router's id of a row: ``encode_ref(RefKind.BIN, 12) == "bin-12"``."""
    return f"{kind.value}-{row_id}"


def decode_ref(kind: RefKind, ref: str) -> int:
    """The row id in a router id of ``kind``; ``ValueError`` for an id of another kind or shape."""
    prefix = f"{kind.value}-"
    number = ref.removeprefix(prefix)
    if number == ref or not number.isdigit():
        raise ValueError(f"expected a {kind.value} id like '{prefix}12', got {ref!r}")
    return int(number)


def selection_key(bin_id: int) -> str:
    """A container's key in the selection (and in a plan job's ``due`` option): its row id as text."""
    return str(bin_id)


def bin_of_selection(key: str) -> int:
    """The row id of a selection key (see :func:`selection_key`)."""
    return int(key)


def seconds_of_day(t: time) -> int:
    """Seconds since midnight of a wall-clock time."""
    return t.hour * 3600 + t.minute * 60 + t.second


def _at(day: date, tz: ZoneInfo, seconds: int) -> datetime:
    return (datetime.combine(day, time(0), tz) + timedelta(seconds=seconds)).astimezone(UTC)


# --------------------------------------------------------------------------------------------------
# rows in


@dataclass(frozen=True, slots=True)
class BinRow:
    """An active container of the planned fraction with its container type."""

    id: int
    lon: float
    lat: float
    fraction: str
    access_class: str
    window_s: tuple[int, int]
    """When it may be emptied, seconds since local midnight."""
    container_code: str
    container_volume_l: float
    service_s: int


@dataclass(frozen=True, slots=True)
class DepotRow:
    id: int
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class FacilityRow:
    """A disposal facility that takes the planned fraction."""

    id: int
    lon: float
    lat: float
    window_s: tuple[int, int]
    """Opening hours, seconds since local midnight."""
    unload_s: int


@dataclass(frozen=True, slots=True)
class VehicleRow:
    """An active vehicle of the planned fraction."""

    id: int
    depot_id: int
    volume_l: float
    mass_kg: float
    shift_s: tuple[int, int]
    """Shift start and end, seconds since local midnight."""
    max_duration_s: int
    access_class: str


@dataclass(frozen=True)
class PlanInputs:
    """Everything the pure stages of a plan job need, read from the database in one go."""

    city_id: int
    slug: str
    timezone: str
    threshold: float
    holiday_region: str | None
    service_date: date
    fraction: str
    bins: tuple[BinRow, ...]
    histories: dict[int, tuple[list[float], list[float], list[float]]]
    """Per bin id: reading times (s), fills, emptying times (s), as the forecast takes them."""
    vehicles: tuple[VehicleRow, ...]
    depots: tuple[DepotRow, ...]
    facilities: tuple[FacilityRow, ...]
    service_weekdays: frozenset[int] | None = None
    """The weekdays (Monday = 0) of the fraction's enabled morning schedule in this city; None when it
    has none and the city's default days apply (Monday to Saturday)."""
    open_on_holidays: bool = False
    """The schedule plans on public holidays too (only with ``service_weekdays``)."""
    events: tuple[AnnouncedEvent, ...] = ()
    """The city's announced local events around the plan's day (the forecast counts them)."""
    policy: Mapping[str, Any] = field(default_factory=dict)
    """The city's collection policy for the fraction (plan options kept with its schedule, enabled
    or not); a plan job's own options win over it."""


@dataclass(frozen=True, slots=True)
class Chosen:
    """A container the selection sends to the router."""

    bin: BinRow
    fill: float
    """Forecast fill at the visit, 0..1 (may pass 1)."""
    required: bool
    prize: float
    """Skip penalty of an optional stop, routing cost units."""


@dataclass(frozen=True, slots=True)
class Considered:
    """The selection's decision on one container, as ``plan_bin`` keeps it."""

    bin_id: int
    category: Category
    forecast_fill: float
    reason: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


def consider(inputs: PlanInputs, decisions: Sequence[BinSelection]) -> tuple[list[Considered], list[Chosen]]:
    """Every decision as a ``plan_bin`` row to be, and the containers to route (must-go: required,
    may-go: optional with the selection's prize), both in the selection's order."""
    by_id = {b.id: b for b in inputs.bins}
    considered: list[Considered] = []
    chosen: list[Chosen] = []
    for d in decisions:
        b = by_id[bin_of_selection(d.bin_id)]
        considered.append(
            Considered(
                bin_id=b.id,
                category=d.status.category,
                forecast_fill=round(d.fill_at_visit, 3),
                reason=d.reason,
                code=d.code,
                params=dict(d.params),
            )
        )
        if d.status is not SelectionStatus.SKIP:
            chosen.append(Chosen(b, d.fill_at_visit, d.status is SelectionStatus.MUST_GO, d.prize))
    return considered, chosen


def build_problem(inputs: PlanInputs, chosen: Sequence[Chosen], provider: DistanceProvider) -> Problem:
    """The routing problem over the depots, the facilities and the chosen containers, in this order
    of locations; distances and durations from ``provider``."""
    locations: list[Location] = []
    points: list[tuple[float, float]] = []

    def add(ident: str, lon: float, lat: float) -> int:
        locations.append(Location(ident, lat=lat, lon=lon))
        points.append((lat, lon))
        return len(locations) - 1

    depots = []
    for d in inputs.depots:
        ref = encode_ref(RefKind.DEPOT, d.id)
        depots.append(Depot(ref, add(ref, d.lon, d.lat)))
    facilities = []
    for f in inputs.facilities:
        ref = encode_ref(RefKind.FACILITY, f.id)
        facilities.append(
            Facility(
                ref,
                add(ref, f.lon, f.lat),
                frozenset({inputs.fraction}),
                window=f.window_s,
                unload_s=f.unload_s,
            )
        )
    density = DENSITY_KG_PER_L.get(inputs.fraction, DEFAULT_DENSITY_KG_PER_L)
    stops = []
    for c in chosen:
        b = c.bin
        loose_l = max(0.0, min(c.fill, MAX_FILL)) * b.container_volume_l
        ref = encode_ref(RefKind.BIN, b.id)
        stops.append(
            Stop(
                id=ref,
                location=add(ref, b.lon, b.lat),
                volume_l=round(loose_l, 1),
                mass_kg=round(loose_l * density, 1),
                service_s=b.service_s,
                time_windows=(b.window_s,),
                access_class=b.access_class,
                fraction=b.fraction,
                required=c.required,
                prize=max(0.0, c.prize),
            )
        )
    vehicles = [
        Vehicle(
            id=encode_ref(RefKind.VEHICLE, v.id),
            start_depot=encode_ref(RefKind.DEPOT, v.depot_id),
            capacity_volume_l=v.volume_l,
            capacity_mass_kg=v.mass_kg,
            fraction=inputs.fraction,
            shift=v.shift_s,
            max_duration_s=v.max_duration_s,
            access_classes=ACCESS.get(v.access_class, frozenset({v.access_class})),
            break_rule=BreakRule.statutory(),
            must_end_empty=bool(facilities),
            cost_per_km=COST_PER_KM,
            cost_per_hour=COST_PER_HOUR,
            fixed_cost=COST_PER_TOUR,
        )
        for v in inputs.vehicles
    ]
    distance_m, duration_s = provider.matrices(points)
    return Problem(
        locations=tuple(locations),
        distance_m=distance_m,
        duration_s=duration_s,
        stops=tuple(stops),
        depots=tuple(depots),
        vehicles=tuple(vehicles),
        facilities=tuple(facilities),
        name=f"{inputs.slug}-{inputs.fraction}-{inputs.service_date}",
    )


# --------------------------------------------------------------------------------------------------
# rows out


@dataclass(frozen=True, slots=True)
class PlanRows:
    """What a finished plan job stores: its routes with their stops, a ``plan_bin`` row per
    considered container, the plan's summary and its diagnosis."""

    routes: tuple[RouteRecord, ...]
    bins: tuple[PlanBinRecord, ...]
    summary: dict[str, Any]
    diagnosis: str | None


def plan_rows(
    inputs: PlanInputs, result: RoutePlan, considered: Sequence[Considered], extra: Mapping[str, Any]
) -> PlanRows:
    """The rows of ``result`` (a plan of :func:`build_problem`'s problem); ``extra`` joins the
    summary as it is."""
    tz = ZoneInfo(inputs.timezone)
    day = inputs.service_date
    bins = {encode_ref(RefKind.BIN, b.id): b for b in inputs.bins}
    facilities = {encode_ref(RefKind.FACILITY, f.id): f for f in inputs.facilities}
    depots = {encode_ref(RefKind.DEPOT, d.id): d for d in inputs.depots}
    routed: set[int] = set()
    routes = []
    total_hours = 0.0
    for r in result.routes:
        stops = []
        for seq, v in enumerate(r.visits):
            bin_id = facility_id = depot_id = None
            lon = lat = None
            if v.kind is VisitKind.STOP:
                b = bins[v.ref_id]
                bin_id, lon, lat = b.id, b.lon, b.lat
                routed.add(b.id)
            elif v.kind is VisitKind.FACILITY:
                f = facilities[v.ref_id]
                facility_id, lon, lat = f.id, f.lon, f.lat
            elif v.kind in (VisitKind.START, VisitKind.END):
                d = depots.get(v.ref_id)
                if d is not None:
                    depot_id, lon, lat = d.id, d.lon, d.lat
            stops.append(
                StopRecord(
                    seq=seq,
                    kind=v.kind.value,
                    eta=_at(day, tz, v.arrival_s),
                    departure=_at(day, tz, v.end_s),
                    load_volume_l=v.load_volume_l,
                    load_mass_kg=v.load_mass_kg,
                    bin_id=bin_id,
                    facility_id=facility_id,
                    depot_id=depot_id,
                    lon=lon,
                    lat=lat,
                )
            )
        total_hours += r.duration_s / 3600
        routes.append(
            RouteRecord(
                vehicle_id=decode_ref(RefKind.VEHICLE, r.vehicle_id),
                distance_m=int(r.distance_m),
                duration_s=int(r.duration_s),
                start_at=_at(day, tz, r.start_s),
                end_at=_at(day, tz, r.end_s),
                trips=[
                    {
                        "facility_id": facilities[t.facility_ref].id,
                        "stops": t.stops,
                        "volume_l": round(t.volume_l, 1),
                        "mass_kg": round(t.mass_kg, 1),
                    }
                    for t in r.trips
                ],
                stops=tuple(stops),
            )
        )
    dropped = {decode_ref(RefKind.BIN, x.stop_id): x for x in result.dropped}
    rows = []
    for s in considered:
        reason = s.reason
        why = dropped.get(s.bin_id)
        if why is not None:
            reason = f"{reason}; left out: {why.reason.value}" + (f" ({why.detail})" if why.detail else "")
        rows.append(
            PlanBinRecord(
                bin_id=s.bin_id,
                category=s.category,
                forecast_fill=s.forecast_fill,
                routed=s.bin_id in routed,
                reason=reason,
                reason_code=s.code or None,
                reason_params=dict(s.params),
                drop_code=why.reason.code if why is not None else None,
                drop_params=dict(why.params) if why is not None else None,
            )
        )
    pyvrp = result.stats.pyvrp
    summary = {
        "bins_considered": len(considered),
        "must_go": sum(1 for s in considered if s.category == Category.MUST),
        "may_go": sum(1 for s in considered if s.category == Category.MAY),
        "routed": len(routed),
        "routes": len(result.routes),
        "km": round(result.km, 2),
        "hours": round(total_hours, 2),
        "feasible": result.feasible,
        "engine": result.engine,
        "solve_time_s": round(result.solve_time_s, 2),
        "iterations": (pyvrp.iteration_limit if pyvrp is not None else None) or None,
        "stopped_by_clock": result.stats.stopped_by_clock,
        "notes": [{"code": n.code, "params": dict(n.params)} for n in result.notes],
        "fleet": result.fleet.as_dict() if result.fleet is not None else None,
        **extra,
    }
    return PlanRows(tuple(routes), tuple(rows), summary, " ".join(result.diagnosis) or None)
