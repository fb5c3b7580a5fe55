"""What the router returns: routes with a timed schedule, dropped stops with reasons, a diagnosis.

All times are seconds since the planning day's midnight, distances metres, volumes litres and
masses kilograms, as in :mod:`wasteroute.planning.problem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "DropReason",
    "DroppedStop",
    "FleetUse",
    "Note",
    "PyvrpStats",
    "Route",
    "RoutePlan",
    "SearchStats",
    "Trip",
    "Visit",
    "VisitKind",
]


class VisitKind(StrEnum):
    START = "start"
    """Leaving the start depot."""
    STOP = "stop"
    """Emptying a container (``ref_id`` = stop id)."""
    FACILITY = "facility"
    """Unloading at a disposal facility (``ref_id`` = facility id); load drops to zero."""
    BREAK = "break"
    """Driver break (``ref_id`` = ``"break"``); ``location`` is where the truck stands, if known."""
    END = "end"
    """Arriving at the end depot."""


class DropReason(StrEnum):
    """Why a stop is not in any route. The values are English sentences for API users and logs;
    :attr:`code` is the stable key the pages translate."""

    OPTIONAL_NOT_WORTH = "optional, not worth the detour"
    NO_COMPATIBLE_VEHICLE = "no compatible vehicle"
    TIME_WINDOW_UNREACHABLE = "time window unreachable"
    CAPACITY = "capacity"
    NO_TIME_LEFT = "does not fit into the shifts"

    @property
    def code(self) -> str:
        """``optional_not_worth``, ``no_compatible_vehicle``, ``time_window_unreachable``, ``capacity``
        or ``no_time_left``."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Note:
    """A sentence for people, as a stable ``code`` with its numbers (``params``, JSON values; units in
    the names: ``_l``, ``_h``, ``_pct``) beside the same sentence in English (``text``)."""

    code: str
    params: Mapping[str, Any]
    text: str


@dataclass(frozen=True, slots=True)
class Visit:
    """One event on a route, in order.

    Attributes:
        kind: what happens.
        ref_id: stop, facility or depot id; ``"break"`` for breaks.
        location: location index, ``None`` for a break taken on the road.
        arrival_s: when the truck arrives (for a break: when it starts).
        start_s: when the service, unload or break starts (after any waiting), ``>= arrival_s``.
        end_s: when it ends (``start_s`` + service / unload / break duration).
        load_volume_l: volume on board after the visit, litres.
        load_mass_kg: mass on board after the visit, kilograms.
    """

    kind: VisitKind
    ref_id: str
    location: int | None
    arrival_s: int
    start_s: int
    end_s: int
    load_volume_l: float
    load_mass_kg: float


@dataclass(frozen=True, slots=True)
class Trip:
    """The stops of a route between two unloads and what they filled the truck with.

    Attributes:
        facility_ref: the facility where this load was unloaded.
        stops: containers emptied on the way.
        volume_l, mass_kg: what those containers added to the load.
    """

    facility_ref: str
    stops: int
    volume_l: float
    mass_kg: float


@dataclass(frozen=True, slots=True)
class Route:
    """The day of one vehicle. Unused vehicles are not listed in :attr:`RoutePlan.routes`.

    Attributes:
        distance_m: metres driven from start to end depot.
        duration_s: end minus start, seconds (waiting and breaks included).
        collected_volume_l, collected_mass_kg: collected over all disposal trips.
        disposal_trips: number of facility visits.
        cost: this route's share of the objective, money units of the problem.
    """

    vehicle_id: str
    visits: tuple[Visit, ...]
    distance_m: int
    duration_s: int
    collected_volume_l: float
    collected_mass_kg: float
    disposal_trips: int
    cost: float

    @property
    def km(self) -> float:
        return self.distance_m / 1000.0

    @property
    def stop_ids(self) -> tuple[str, ...]:
        """Served stops in visiting order."""
        return tuple(v.ref_id for v in self.visits if v.kind is VisitKind.STOP)

    @property
    def trips(self) -> tuple[Trip, ...]:
        """One per facility visit, in order. Stops after the last unload (a vehicle that need not end
        empty) belong to no trip."""
        trips: list[Trip] = []
        stops = 0
        volume_l = mass_kg = 0.0
        before_l = before_kg = 0.0
        for v in self.visits:
            if v.kind is VisitKind.STOP:
                stops += 1
                volume_l += v.load_volume_l - before_l
                mass_kg += v.load_mass_kg - before_kg
            elif v.kind is VisitKind.FACILITY:
                trips.append(Trip(v.ref_id, stops, volume_l, mass_kg))
                stops, volume_l, mass_kg = 0, 0.0, 0.0
            before_l, before_kg = v.load_volume_l, v.load_mass_kg
        return tuple(trips)

    @property
    def start_s(self) -> int:
        """When the truck leaves its depot (a break taken at the depot before that is not counted)."""
        return next(v.start_s for v in self.visits if v.kind is VisitKind.START)

    @property
    def end_s(self) -> int:
        """When the truck is back at its depot (a break taken there afterwards is not counted)."""
        return next(v.arrival_s for v in reversed(self.visits) if v.kind is VisitKind.END)


@dataclass(frozen=True, slots=True)
class DroppedStop:
    """A stop not served, why, and a sentence with the numbers behind it (``detail``, English; the
    same numbers in ``params`` for the pages)."""

    stop_id: str
    required: bool
    reason: DropReason
    detail: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FleetUse:
    """How tightly the day's must-go stops fitted the fleet.

    Attributes:
        available: vehicles the day had.
        used: vehicles the plan uses.
        needed_at_least: a lower bound on the vehicles the must-go load needs (capacity times the
            disposal trips a vehicle may make), per load dimension, the larger one.
        must_go_dropped: must-go stops the plan leaves out.
        first_plan_share: share of the search it took to find a plan serving every must-go stop
            (None when none was found: the search then dropped the fewest it could).
    """

    available: int
    used: int
    needed_at_least: int
    must_go_dropped: int
    first_plan_share: float | None

    @property
    def tight(self) -> bool:
        """Every vehicle in use, the load bound within 10 % of the fleet, or must-go stops left out."""
        return (
            self.used >= self.available
            or self.needed_at_least >= 0.9 * self.available
            or self.must_go_dropped > 0
            or self.first_plan_share is None
        )

    def describe(self) -> str:
        """One sentence for the dispatcher."""
        head = (
            f"{self.used} of {self.available} vehicles used; the must-go load needs at least "
            f"{self.needed_at_least}"
        )
        if self.must_go_dropped:
            return f"{head}; {self.must_go_dropped} must-go stops did not fit (fewest left out first)"
        if self.first_plan_share is None:
            return f"{head}; no plan serving every must-go stop was found"
        if self.tight:
            found = f"found after {self.first_plan_share:.0%} of the search"
            return f"{head}; tight: every must-go stop served ({found})"
        return f"{head}; every must-go stop served"

    def as_dict(self) -> dict[str, object]:
        return {
            "available": self.available,
            "used": self.used,
            "needed_at_least": self.needed_at_least,
            "must_go_dropped": self.must_go_dropped,
            "first_plan_share": None if self.first_plan_share is None else round(self.first_plan_share, 3),
            "tight": self.tight,
            "note": self.describe(),
        }


@dataclass(slots=True)
class PyvrpStats:
    """What the PyVRP search did (:mod:`.seeding`).

    Attributes:
        encode_s: seconds to turn the problem into PyVRP's data.
        seconds: seconds of the whole PyVRP phase, encoding included.
        iterations: iterations searched, over every stage.
        iteration_limit: the iteration budget (None when searching on the clock alone); passed back
            as ``plan_routes(iterations=)`` it replays the search exactly.
        first_feasible_iteration: when a plan serving every must-go stop was first found (None:
            never).
        stopped_by_clock: a reproducible search hit the wall clock before its budget.
        feasible: the best plan serves every must-go stop.
        all_required: every stop of the day was must-go.
        fleet_lower_bound: vehicles the must-go load needs at least.
        fleet_tried: vehicles of the smaller fleet tried after a plan was found (None: not tried).
        fleet_reduced: that smaller fleet gave the better plan.
        must_go_droppable: no plan served every must-go stop in time, so the rest of the search
            could drop them (at a prize far above any detour).
    """

    encode_s: float
    seconds: float = 0.0
    iterations: int = 0
    iteration_limit: int | None = None
    first_feasible_iteration: int | None = None
    stopped_by_clock: bool = False
    feasible: bool = False
    all_required: bool = False
    fleet_lower_bound: int = 0
    fleet_tried: int | None = None
    fleet_reduced: bool = False
    must_go_droppable: bool = False


@dataclass(slots=True)
class SearchStats:
    """What one :func:`~wasteroute.planning.solver.plan_routes` call did, for diagnostics. Seconds
    in ``*_s``; None where a phase did not run.

    Attributes:
        compile_s: compiling the problem to nodes.
        stopped_by_clock: a reproducible solve hit the wall clock (its plan may not replay).
        pyvrp: the PyVRP search, when it ran.
        validation_reserve_s: time kept back from PyVRP for loading its routes into OR-Tools.
        validate_s: loading the routes into OR-Tools (one model per route, or the full model).
        seed_stops_removed: stops of PyVRP's routes the OR-Tools rules rejected (cut out).
        ortools_skipped: PyVRP's routes stood as they were, no OR-Tools search ran.
        build_s: building the full OR-Tools model; ``nodes``: its nodes.
        seed_objective: OR-Tools objective of PyVRP's routes; ``objective``: of the final routes.
        ortools_s, ortools_status, ortools_solutions: the OR-Tools search.
        schedule_idle_removed_s: waiting removed by the compact timing of the routes.
    """

    compile_s: float = 0.0
    stopped_by_clock: bool = False
    pyvrp: PyvrpStats | None = None
    validation_reserve_s: float | None = None
    validate_s: float | None = None
    seed_stops_removed: int | None = None
    ortools_skipped: bool = False
    build_s: float | None = None
    nodes: int | None = None
    seed_objective: int | None = None
    ortools_s: float | None = None
    ortools_status: int | None = None
    ortools_solutions: int | None = None
    objective: int | None = None
    schedule_idle_removed_s: float | None = None

    def add_idle_removed(self, seconds: float) -> None:
        self.schedule_idle_removed_s = (self.schedule_idle_removed_s or 0.0) + seconds

    def as_dict(self) -> dict[str, float]:
        """The figures that were measured as one flat mapping of numbers (flags as 1.0), the form of
        benchmark JSON lines: ``pyvrp_``-prefixed for the PyVRP search, phases that did not run and
        flags that are not set left out."""
        out: dict[str, float] = {"compile_s": self.compile_s}
        p = self.pyvrp
        if p is not None:
            out["pyvrp_encode_s"] = p.encode_s
            out["pyvrp_first_feasible_iteration"] = float(
                -1 if p.first_feasible_iteration is None else p.first_feasible_iteration
            )
            if p.fleet_tried is not None:
                out["pyvrp_fleet_tried"] = float(p.fleet_tried)
            if p.fleet_reduced:
                out["pyvrp_fleet_reduced"] = 1.0
            if p.must_go_droppable:
                out["pyvrp_must_go_droppable"] = 1.0
            out["pyvrp_s"] = p.seconds
            out["pyvrp_iterations"] = float(p.iterations)
            if p.iteration_limit is not None:
                out["pyvrp_iteration_limit"] = float(p.iteration_limit)
            out["pyvrp_stopped_by_clock"] = float(p.stopped_by_clock)
            out["pyvrp_feasible"] = float(p.feasible)
            out["pyvrp_all_required"] = float(p.all_required)
            out["pyvrp_fleet_lower_bound"] = float(p.fleet_lower_bound)
        optional = {
            "validation_reserve_s": self.validation_reserve_s,
            "validate_s": self.validate_s,
            "seed_stops_removed": self.seed_stops_removed,
            "build_s": self.build_s,
            "nodes": self.nodes,
            "seed_objective": self.seed_objective,
            "ortools_s": self.ortools_s,
            "ortools_status": self.ortools_status,
            "ortools_solutions": self.ortools_solutions,
            "objective": self.objective,
            "schedule_idle_removed_s": self.schedule_idle_removed_s,
        }
        out.update({k: float(v) for k, v in optional.items() if v is not None})
        if self.ortools_skipped:
            out["ortools_skipped"] = 1.0
        out["stopped_by_clock"] = float(self.stopped_by_clock)
        return out


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The router's answer.

    Attributes:
        routes: one per used vehicle, in the order of :attr:`Problem.vehicles`.
        dropped: stops not served (optional ones the plan chose to skip, and required ones it
            could not serve, each with a reason).
        diagnosis: sentences explaining why required stops could not all be served; empty when
            :attr:`feasible`.
        notes: the same sentences as codes with their numbers (:class:`Note`), in the same order.
        cost: in the problem's money units: km cost + hour cost + fixed cost of the used
            vehicles, plus the prizes of skipped optional stops. Unserved required stops carry no
            cost here; they are in :attr:`dropped` and :attr:`diagnosis`.
        stats: what the search did (phase seconds, iterations, ``stopped_by_clock``).
        engine: which search produced the final routes (``"ortools"``, ``"pyvrp+ortools"``).
        solve_time_s: wall-clock seconds spent in the solver.
        seed: the seed the plan was computed with.
        fleet: how tightly the must-go stops fitted the fleet (None when no search ran).
    """

    routes: tuple[Route, ...]
    dropped: tuple[DroppedStop, ...]
    diagnosis: tuple[str, ...]
    cost: float
    engine: str
    solve_time_s: float
    seed: int
    stats: SearchStats = field(default_factory=SearchStats)
    notes: tuple[Note, ...] = ()
    fleet: FleetUse | None = None

    @property
    def feasible(self) -> bool:
        """Every required stop is served."""
        return not any(d.required for d in self.dropped)

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)

    @property
    def km(self) -> float:
        return self.distance_m / 1000.0

    @property
    def num_vehicles_used(self) -> int:
        return len(self.routes)

    def route_of(self, vehicle_id: str) -> Route | None:
        for r in self.routes:
            if r.vehicle_id == vehicle_id:
                return r
        return None
