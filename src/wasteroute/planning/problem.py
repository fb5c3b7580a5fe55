"""Engine-neutral description of one routing day: what must be collected, by whom, under which rules.

Everything here is plain, frozen data that checks itself when built; the solver
(:func:`wasteroute.planning.solver.plan_routes`) turns it into an OR-Tools model.

Conventions
-----------
* Locations are integer indices into :attr:`Problem.locations` and into the two matrices
  :attr:`Problem.distance_m` (metres) and :attr:`Problem.duration_s` (seconds), both ``n x n``
  non-negative integers, not necessarily symmetric.
* Times of day are integer seconds since midnight of the planning day (in the city's time zone);
  a day therefore spans ``0 .. 86_400`` but later values are allowed (night shifts).
* Volumes are litres (``_l``), masses kilograms (``_kg``), both non-negative floats. The solver
  works in whole millilitres and grams: demands are rounded up and capacities down, so a plan that
  the solver accepts is also feasible with the exact values.
* Money (``cost_per_km``, ``fixed_cost``, ``cost_per_hour``, ``prize``) is in one currency unit of
  the caller's choice; only ratios matter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from wasteroute.errors import InvalidInput

__all__ = [
    "DEFAULT_ACCESS_CLASS",
    "BreakKind",
    "BreakRule",
    "Depot",
    "Facility",
    "InvalidProblem",
    "Location",
    "Problem",
    "Stop",
    "TimeWindow",
    "Vehicle",
]

TimeWindow = tuple[int, int]
"""``(start_s, end_s)``, seconds since the planning day's midnight, ``start_s <= end_s``."""

DEFAULT_ACCESS_CLASS = "standard"
"""Access class of a stop and of a vehicle when none is given (an ordinary street)."""

_MAX_TIME_S = 7 * 86_400


class InvalidProblem(InvalidInput, ValueError):
    """A routing problem (or a part of it) is malformed; the message says what was expected."""

    code = "invalid_problem"


def _fail(message: str) -> InvalidProblem:
    return InvalidProblem(message)


def _check_id(kind: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise _fail(f"{kind} id must be a non-empty string, got {value!r}")


def _check_nonneg(kind: str, ident: str, name: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _fail(f"{kind} {ident!r}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise _fail(f"{kind} {ident!r}: {name} must be a finite number >= 0, got {value!r}")


def _check_int(kind: str, ident: str, name: str, value: object, *, minimum: int = 0) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool):
        raise _fail(f"{kind} {ident!r}: {name} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise _fail(f"{kind} {ident!r}: {name} must be >= {minimum}, got {value!r}")


def _check_window(kind: str, ident: str, name: str, window: object) -> TimeWindow:
    if not isinstance(window, tuple | list) or len(window) != 2:
        raise _fail(f"{kind} {ident!r}: {name} must be a pair (start_s, end_s), got {window!r}")
    start_s, end_s = window
    for part in (start_s, end_s):
        if not isinstance(part, int | np.integer) or isinstance(part, bool):
            raise _fail(f"{kind} {ident!r}: {name} must hold integer seconds, got {window!r}")
    if not 0 <= int(start_s) <= int(end_s) <= _MAX_TIME_S:
        raise _fail(
            f"{kind} {ident!r}: {name} must satisfy 0 <= start_s <= end_s <= {_MAX_TIME_S}, got {window!r}"
        )
    return (int(start_s), int(end_s))


@dataclass(frozen=True, slots=True)
class Location:
    """A place in the matrix index space.

    ``lat``/``lon`` (WGS84 degrees) are optional and only carried through for display; the solver
    uses the matrices.
    """

    id: str
    lat: float | None = None
    lon: float | None = None

    def __post_init__(self) -> None:
        _check_id("location", self.id)
        if (self.lat is None) != (self.lon is None):
            raise _fail(f"location {self.id!r}: give both lat and lon or neither")
        if self.lat is not None and not -90 <= self.lat <= 90:
            raise _fail(f"location {self.id!r}: lat must be within -90..90 degrees, got {self.lat}")
        if self.lon is not None and not -180 <= self.lon <= 180:
            raise _fail(f"location {self.id!r}: lon must be within -180..180 degrees, got {self.lon}")


@dataclass(frozen=True, slots=True)
class Stop:
    """A container (or a cluster of containers at one place) to empty.

    Attributes:
        id: unique among stops.
        location: index into :attr:`Problem.locations`.
        volume_l: volume collected here, litres (fill level x container volume).
        mass_kg: mass collected here, kilograms.
        service_s: time to empty the container(s), seconds.
        time_windows: allowed *service start* windows; empty means "any time in the vehicle's
            shift". Several windows must be sorted and must not overlap.
        access_class: the street / container type; only vehicles listing it may serve the stop.
        fraction: waste fraction (``residual``, ``paper``, ...); a vehicle collects one fraction.
        required: must-go when true. A required stop that cannot be served is reported with a
            diagnosis, never silently dropped.
        prize: for optional stops (``required=False``), what skipping it costs, in the same money
            unit as the vehicles' costs. Ignored for required stops.
    """

    id: str
    location: int
    volume_l: float = 0.0
    mass_kg: float = 0.0
    service_s: int = 0
    time_windows: tuple[TimeWindow, ...] = ()
    access_class: str = DEFAULT_ACCESS_CLASS
    fraction: str = "residual"
    required: bool = True
    prize: float = 0.0

    def __post_init__(self) -> None:
        _check_id("stop", self.id)
        _check_int("stop", self.id, "location", self.location)
        _check_nonneg("stop", self.id, "volume_l", self.volume_l)
        _check_nonneg("stop", self.id, "mass_kg", self.mass_kg)
        _check_int("stop", self.id, "service_s", self.service_s)
        _check_nonneg("stop", self.id, "prize", self.prize)
        windows = tuple(_check_window("stop", self.id, "time window", w) for w in self.time_windows)
        for (_, end_a), (start_b, _) in pairwise(windows):
            if start_b <= end_a:
                raise _fail(
                    f"stop {self.id!r}: time windows must be sorted and disjoint, got {list(windows)}"
                )
        object.__setattr__(self, "time_windows", windows)
        if not self.access_class or not self.fraction:
            raise _fail(f"stop {self.id!r}: access_class and fraction must be non-empty strings")


@dataclass(frozen=True, slots=True)
class Depot:
    """Where vehicles start and end. ``window`` is when the yard is open (seconds since midnight)."""

    id: str
    location: int
    window: TimeWindow = (0, 86_400)

    def __post_init__(self) -> None:
        _check_id("depot", self.id)
        _check_int("depot", self.id, "location", self.location)
        object.__setattr__(self, "window", _check_window("depot", self.id, "window", self.window))


@dataclass(frozen=True, slots=True)
class Facility:
    """A disposal site (landfill, transfer station, recycling plant) where a vehicle unloads.

    Attributes:
        fractions: the waste fractions it accepts.
        window: opening hours; an unload must *start* inside it.
        unload_s: time one unload takes, seconds.
    """

    id: str
    location: int
    fractions: frozenset[str]
    window: TimeWindow = (0, 86_400)
    unload_s: int = 0

    def __post_init__(self) -> None:
        _check_id("facility", self.id)
        _check_int("facility", self.id, "location", self.location)
        _check_int("facility", self.id, "unload_s", self.unload_s)
        object.__setattr__(self, "window", _check_window("facility", self.id, "window", self.window))
        if isinstance(self.fractions, str):
            raise _fail(f"facility {self.id!r}: fractions must be a set of strings, got the string")
        fractions = frozenset(self.fractions)
        if not fractions or not all(isinstance(f, str) and f for f in fractions):
            raise _fail(f"facility {self.id!r}: fractions must be a non-empty set of fraction names")
        object.__setattr__(self, "fractions", fractions)


class BreakKind(StrEnum):
    STATUTORY = "statutory"
    """A break of ``duration_s`` after at most ``max_work_s`` of work (EU 561/2006 style)."""
    LUNCH = "lunch"
    """One break of ``duration_s`` starting within ``[earliest_start_s, latest_start_s]``."""


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A driver break a vehicle's route must contain.

    Build with :meth:`statutory` or :meth:`lunch`. Breaks are never placed inside a service or an
    unload. A lunch break whose window lies after the end of a short route is taken at the depot
    (it does not lengthen the route), the convention of Benjamin & Beasley (2010).

    The statutory rule counts *working* time (driving, service and unloading) between breaks,
    which is stricter than EU 561/2006's driving time, so a plan that satisfies it also satisfies
    the regulation.
    """

    kind: BreakKind
    duration_s: int
    max_work_s: int | None = None
    earliest_start_s: int | None = None
    latest_start_s: int | None = None

    @classmethod
    def statutory(cls, *, duration_s: int = 2_700, max_work_s: int = 16_200) -> BreakRule:
        """45 min (2 700 s) after at most 4.5 h (16 200 s) of work by default."""
        return cls(BreakKind.STATUTORY, duration_s, max_work_s=max_work_s)

    @classmethod
    def lunch(cls, *, earliest_start_s: int, latest_start_s: int, duration_s: int = 3_600) -> BreakRule:
        """A lunch break of ``duration_s`` (default 1 h) starting in the given window."""
        return cls(
            BreakKind.LUNCH, duration_s, earliest_start_s=earliest_start_s, latest_start_s=latest_start_s
        )

    def __post_init__(self) -> None:
        try:
            kind = BreakKind(self.kind)
        except ValueError:
            raise _fail(f"break rule: kind must be 'statutory' or 'lunch', got {self.kind!r}") from None
        object.__setattr__(self, "kind", kind)
        _check_int("break rule", kind.value, "duration_s", self.duration_s, minimum=1)
        if kind is BreakKind.STATUTORY:
            if self.max_work_s is None:
                raise _fail("statutory break rule: max_work_s (seconds of work between breaks) is required")
            _check_int("break rule", kind.value, "max_work_s", self.max_work_s, minimum=1)
            if self.earliest_start_s is not None or self.latest_start_s is not None:
                raise _fail("statutory break rule: earliest_start_s/latest_start_s belong to lunch breaks")
        else:
            if self.earliest_start_s is None or self.latest_start_s is None:
                raise _fail("lunch break rule: earliest_start_s and latest_start_s are required")
            _check_window(
                "break rule", kind.value, "start window", (self.earliest_start_s, self.latest_start_s)
            )
            if self.max_work_s is not None:
                raise _fail("lunch break rule: max_work_s belongs to statutory breaks")


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One truck and its crew for the day.

    Attributes:
        id: unique among vehicles.
        start_depot, end_depot: depot ids; ``end_depot`` defaults to ``start_depot``.
        fraction: the waste fraction it collects today (one fraction per tour).
        capacity_volume_l: body volume, litres (after compaction).
        capacity_mass_kg: payload, kilograms; ``None`` = not limiting.
        shift: ``(start_s, end_s)``; the route leaves the depot and returns within it.
        max_duration_s: maximum time from leaving to returning (breaks included); ``None`` = the
            shift length.
        access_classes: the stop access classes it can serve.
        break_rule: the driver break, if any.
        max_collected_volume_l: total volume it may collect over the whole day across all disposal
            trips (a daily route limit); ``None`` = unlimited.
        max_stops: maximum number of stops served in the day; ``None`` = unlimited.
        max_disposal_trips: maximum facility visits in the day, the final one included; ``None``
            lets the solver choose a bound from the demand.
        must_end_empty: visit a facility after the last stop, before returning (waste trucks do);
            set false for benchmark problems where the depot itself unloads.
        cost_per_km: money per km driven, > 0.
        cost_per_hour: money per hour of route duration (start to end), >= 0.
        fixed_cost: money for using the vehicle at all, >= 0.
    """

    id: str
    start_depot: str
    capacity_volume_l: float
    fraction: str = "residual"
    end_depot: str | None = None
    capacity_mass_kg: float | None = None
    shift: TimeWindow = (0, 86_400)
    max_duration_s: int | None = None
    access_classes: frozenset[str] = frozenset({DEFAULT_ACCESS_CLASS})
    break_rule: BreakRule | None = None
    max_collected_volume_l: float | None = None
    max_stops: int | None = None
    max_disposal_trips: int | None = None
    must_end_empty: bool = True
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    fixed_cost: float = 0.0

    def __post_init__(self) -> None:
        _check_id("vehicle", self.id)
        _check_id(f"vehicle {self.id!r} start depot", self.start_depot)
        if self.end_depot is None:
            object.__setattr__(self, "end_depot", self.start_depot)
        _check_id(f"vehicle {self.id!r} end depot", self.end_depot)
        _check_nonneg("vehicle", self.id, "capacity_volume_l", self.capacity_volume_l)
        if self.capacity_volume_l <= 0:
            raise _fail(f"vehicle {self.id!r}: capacity_volume_l must be > 0, got {self.capacity_volume_l}")
        if self.capacity_mass_kg is not None:
            _check_nonneg("vehicle", self.id, "capacity_mass_kg", self.capacity_mass_kg)
        object.__setattr__(self, "shift", _check_window("vehicle", self.id, "shift", self.shift))
        if self.max_duration_s is not None:
            _check_int("vehicle", self.id, "max_duration_s", self.max_duration_s, minimum=1)
        if isinstance(self.access_classes, str):
            raise _fail(f"vehicle {self.id!r}: access_classes must be a set of strings, got the string")
        classes = frozenset(self.access_classes)
        if not classes:
            raise _fail(f"vehicle {self.id!r}: access_classes must name at least one access class")
        object.__setattr__(self, "access_classes", classes)
        if self.break_rule is not None and not isinstance(self.break_rule, BreakRule):
            raise _fail(f"vehicle {self.id!r}: break_rule must be a BreakRule, got {self.break_rule!r}")
        if self.max_collected_volume_l is not None:
            _check_nonneg("vehicle", self.id, "max_collected_volume_l", self.max_collected_volume_l)
        if self.max_stops is not None:
            _check_int("vehicle", self.id, "max_stops", self.max_stops, minimum=1)
        if self.max_disposal_trips is not None:
            _check_int("vehicle", self.id, "max_disposal_trips", self.max_disposal_trips, minimum=0)
            if self.must_end_empty and self.max_disposal_trips < 1:
                raise _fail(
                    f"vehicle {self.id!r}: must_end_empty needs max_disposal_trips >= 1, "
                    f"got {self.max_disposal_trips}"
                )
        _check_nonneg("vehicle", self.id, "cost_per_km", self.cost_per_km)
        if self.cost_per_km <= 0:
            raise _fail(f"vehicle {self.id!r}: cost_per_km must be > 0, got {self.cost_per_km}")
        _check_nonneg("vehicle", self.id, "cost_per_hour", self.cost_per_hour)
        _check_nonneg("vehicle", self.id, "fixed_cost", self.fixed_cost)

    def can_serve(self, stop: Stop) -> bool:
        """Same fraction and an access class the vehicle can reach."""
        return stop.fraction == self.fraction and stop.access_class in self.access_classes


def _as_matrix(name: str, value: object, n: int) -> npt.NDArray[np.int64]:
    array = np.asarray(value)
    if array.shape != (n, n):
        raise _fail(f"{name} must be an {n} x {n} matrix (one row per location), got shape {array.shape}")
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        else:
            raise _fail(f"{name} must hold integers (round before building the problem), got {array.dtype}")
    if n and int(array.min()) < 0:
        raise _fail(f"{name} must be non-negative, found {int(array.min())}")
    out = np.array(array, dtype=np.int64, copy=True)
    out.setflags(write=False)
    return out


def _unique(kind: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise _fail(f"{kind} ids must be unique, {ident!r} appears twice")
        seen.add(ident)


@dataclass(frozen=True, eq=False)
class Problem:
    """One routing day.

    ``distance_m[i, j]`` and ``duration_s[i, j]`` are the road distance (metres) and driving time
    (seconds) from location ``i`` to ``j``. Matrices are copied and made read-only.
    """

    locations: tuple[Location, ...]
    distance_m: npt.NDArray[np.int64]
    duration_s: npt.NDArray[np.int64]
    stops: tuple[Stop, ...]
    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    facilities: tuple[Facility, ...] = ()
    name: str = field(default="")

    def __post_init__(self) -> None:
        for attr in ("locations", "stops", "depots", "vehicles", "facilities"):
            value = getattr(self, attr)
            if isinstance(value, str | bytes) or not isinstance(value, Sequence | tuple | list):
                raise _fail(f"problem: {attr} must be a sequence, got {type(value).__name__}")
            object.__setattr__(self, attr, tuple(value))
        n = len(self.locations)
        if n == 0:
            raise _fail("problem: locations must not be empty")
        for kind, items, cls in (
            ("location", self.locations, Location),
            ("stop", self.stops, Stop),
            ("depot", self.depots, Depot),
            ("vehicle", self.vehicles, Vehicle),
            ("facility", self.facilities, Facility),
        ):
            for item in items:
                if not isinstance(item, cls):
                    raise _fail(f"problem: every {kind} must be a {cls.__name__}, got {type(item).__name__}")
        object.__setattr__(self, "distance_m", _as_matrix("distance_m", self.distance_m, n))
        object.__setattr__(self, "duration_s", _as_matrix("duration_s", self.duration_s, n))
        _unique("location", (loc.id for loc in self.locations))
        _unique("stop", (s.id for s in self.stops))
        _unique("depot", (d.id for d in self.depots))
        _unique("vehicle", (v.id for v in self.vehicles))
        _unique("facility", (f.id for f in self.facilities))
        if not self.depots:
            raise _fail("problem: at least one depot is required")
        if not self.vehicles:
            raise _fail("problem: at least one vehicle is required")
        for kind, items in (("stop", self.stops), ("depot", self.depots), ("facility", self.facilities)):
            for item in items:
                if not 0 <= item.location < n:
                    raise _fail(
                        f"{kind} {item.id!r}: location must be an index in 0..{n - 1}, got {item.location}"
                    )
        depot_ids = {d.id for d in self.depots}
        for v in self.vehicles:
            for which, ref in (("start_depot", v.start_depot), ("end_depot", v.end_depot)):
                if ref not in depot_ids:
                    raise _fail(
                        f"vehicle {v.id!r}: {which} {ref!r} is not a depot of the problem "
                        f"(known: {sorted(depot_ids)})"
                    )
            if v.must_end_empty and not any(v.fraction in f.fractions for f in self.facilities):
                raise _fail(
                    f"vehicle {v.id!r}: must_end_empty needs a facility accepting {v.fraction!r}, "
                    "but none does (add one, or set must_end_empty=False)"
                )

    @property
    def num_locations(self) -> int:
        return len(self.locations)

    def depot(self, depot_id: str) -> Depot:
        """The depot with this id (KeyError if unknown)."""
        for d in self.depots:
            if d.id == depot_id:
                return d
        raise KeyError(depot_id)
