"""Readers for the public routing benchmarks the router is measured against.

Three families, each read into plain frozen dataclasses (no solver types here):

* **VRPLIB / TSPLIB** (CVRPLIB ``.vrp``, LKH-3 ``.vrptw``): :func:`read_vrplib` gives a
  :class:`VrplibInstance`; the reference solutions beside them are read by :func:`read_vrplib_solution`
  (CVRPLIB ``.sol``: ``Route #i: ...`` lines and ``Cost N``) and :func:`read_lkh_tour` (LKH ``.tour``:
  one node sequence, depot copies as route separators, cost in the file name).
* **Kim, Kim & Sahoo (2006)** waste-collection ``*_stop.txt``: :func:`read_kim` gives a
  :class:`KimInstance` (five header numbers, a column header, one line per stop; CRLF, tabs or spaces,
  empty fields tolerated).

Node numbering: every index in these types is the 0-based position of the node in its file (TSPLIB
node id minus one; the row number of a Kim stop). Routes never contain the depot.

Cost conventions (see :func:`vrplib_arc_cost`): each arc of a VRPLIB instance costs an integer number
of *cost units*, ``1 / scale`` of a distance unit, and the benchmark's cost is the sum over arcs divided
by ``scale``:

=============  =================================  =============================================
EUC_2D         ``nint(scale * d)``, scale 1         CVRPLIB convention (Uchoa et al. 2017)
FLOOR_2D       ``floor(scale * d)``                 with ``SCALE : 10`` = DIMACS one-decimal truncation
CEIL_2D        ``ceil(scale * d)``
EXACT_2D       ``nint(scale * d)``, scale 1000      LKH-3's "real distances" (three decimals)
EXPLICIT       ``nint(scale * w)``                  weights from ``EDGE_WEIGHT_SECTION``
=============  =================================  =============================================

Time windows, service times and the VRPTW horizon are in the same unit as one unscaled distance unit
(driving one unit of distance takes one unit of time), as in Solomon's instances.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

__all__ = [
    "KIM_LUNCH_WINDOW_S",
    "KIM_REFERENCES",
    "BenchmarkFormatError",
    "InstanceKind",
    "KimInstance",
    "KimReference",
    "KimStop",
    "KimStopType",
    "ReferenceSolution",
    "VrplibInstance",
    "detect_kind",
    "find_reference",
    "kim_arc_miles",
    "kim_arc_seconds",
    "read_kim",
    "read_lkh_tour",
    "read_vrplib",
    "read_vrplib_solution",
    "vrplib_arc_cost",
]


class BenchmarkFormatError(ValueError):
    """A benchmark file does not follow its format; the message names the file and line."""


class InstanceKind(StrEnum):
    CVRP = "cvrp"
    """Capacity only (CVRPLIB)."""
    VRPTW = "vrptw"
    """Capacity and time windows (Solomon / Gehring-Homberger)."""
    KIM = "wcvrptw"
    """Waste collection with disposal trips, time windows and a lunch break (Kim et al. 2006)."""


# --------------------------------------------------------------------------------------------------
# VRPLIB / TSPLIB


_DEFAULT_SCALE = {"EUC_2D": 1, "FLOOR_2D": 1, "CEIL_2D": 1, "EXACT_2D": 1000, "EXPLICIT": 1}
_EXPLICIT_FORMATS = (
    "FULL_MATRIX",
    "LOWER_ROW",
    "LOWER_DIAG_ROW",
    "UPPER_ROW",
    "UPPER_DIAG_ROW",
    "LOWER_COL",
    "LOWER_DIAG_COL",
    "UPPER_COL",
    "UPPER_DIAG_COL",
)


@dataclass(frozen=True)
class VrplibInstance:
    """A CVRP or VRPTW instance in VRPLIB/TSPLIB form.

    Attributes:
        name: ``NAME`` of the file (the file stem if absent).
        kind: :attr:`InstanceKind.VRPTW` when the file has time windows, else ``CVRP``.
        depot: index of the (single) depot.
        capacity: vehicle capacity, demand units.
        demands: one per node, the depot's is 0.
        coords: ``(x, y)`` per node, or ``None`` for explicit weights.
        edge_weight_type: ``EUC_2D``, ``FLOOR_2D``, ``CEIL_2D``, ``EXACT_2D`` or ``EXPLICIT``.
        scale: integer cost units per distance unit (``SCALE``, or the type's default).
        weights: the full matrix of an ``EXPLICIT`` instance (unscaled), else ``None``.
        time_windows: ``(ready, due)`` per node (service start window; the depot's is the horizon),
            or ``None`` for a CVRP.
        service_times: per node (the depot's is 0), or ``None`` (no service time given).
        vehicles: ``VEHICLES`` (fleet size the reference solution uses), or ``None``.
        max_route_distance: ``DISTANCE`` (route length limit, distance units), or ``None``.
    """

    name: str
    kind: InstanceKind
    depot: int
    capacity: int
    demands: tuple[int, ...]
    coords: tuple[tuple[float, float], ...] | None
    edge_weight_type: str
    scale: int
    weights: tuple[tuple[float, ...], ...] | None = None
    time_windows: tuple[tuple[float, float], ...] | None = None
    service_times: tuple[float, ...] | None = None
    vehicles: int | None = None
    max_route_distance: float | None = None

    def __post_init__(self) -> None:
        n = len(self.demands)
        if n < 2:
            raise ValueError(
                f"instance {self.name!r}: expected a depot and at least one customer, got {n} nodes"
            )
        if not 0 <= self.depot < n:
            raise ValueError(f"instance {self.name!r}: depot index {self.depot} outside 0..{n - 1}")
        if self.capacity <= 0:
            raise ValueError(f"instance {self.name!r}: capacity must be > 0, got {self.capacity}")
        if any(d < 0 for d in self.demands):
            raise ValueError(f"instance {self.name!r}: demands must be >= 0")
        if self.scale <= 0:
            raise ValueError(f"instance {self.name!r}: scale must be a positive integer, got {self.scale}")
        if self.edge_weight_type not in _DEFAULT_SCALE:
            raise ValueError(
                f"instance {self.name!r}: edge weight type {self.edge_weight_type!r} not supported, "
                f"expected one of {sorted(_DEFAULT_SCALE)}"
            )
        if self.edge_weight_type == "EXPLICIT":
            if self.weights is None or len(self.weights) != n or any(len(r) != n for r in self.weights):
                raise ValueError(f"instance {self.name!r}: EXPLICIT needs an {n} x {n} weight matrix")
        elif self.coords is None or len(self.coords) != n:
            raise ValueError(
                f"instance {self.name!r}: {self.edge_weight_type} needs coordinates for all {n} nodes"
            )
        for label, values in (("time_windows", self.time_windows), ("service_times", self.service_times)):
            if values is not None and len(values) != n:
                raise ValueError(f"instance {self.name!r}: {label} has {len(values)} entries, expected {n}")
        if self.time_windows is not None:
            for i, (ready, due) in enumerate(self.time_windows):
                if ready > due:
                    raise ValueError(f"instance {self.name!r}: node {i + 1} has ready {ready} > due {due}")

    @property
    def dimension(self) -> int:
        """Number of nodes, depot included."""
        return len(self.demands)

    @property
    def customers(self) -> tuple[int, ...]:
        """Indices of all nodes except the depot, in file order."""
        return tuple(i for i in range(self.dimension) if i != self.depot)


@dataclass(frozen=True)
class ReferenceSolution:
    """A published or best-known solution: routes of node indices (depot excluded) and its cost.

    ``cost`` is in the benchmark's distance units (e.g. 1637.7 for a DIMACS Solomon tour).
    """

    routes: tuple[tuple[int, ...], ...]
    cost: float
    source: str = ""

    @property
    def vehicles(self) -> int:
        return sum(1 for r in self.routes if r)


def vrplib_arc_cost(instance: VrplibInstance, i: int, j: int) -> int:
    """Cost of the arc ``i -> j`` in integer cost units (``1 / instance.scale`` distance units)."""
    if instance.edge_weight_type == "EXPLICIT":
        assert instance.weights is not None
        return _nint(instance.scale * instance.weights[i][j])
    assert instance.coords is not None
    (xi, yi), (xj, yj) = instance.coords[i], instance.coords[j]
    d = math.hypot(xi - xj, yi - yj) * instance.scale
    if instance.edge_weight_type == "FLOOR_2D":
        return math.floor(d)
    if instance.edge_weight_type == "CEIL_2D":
        return math.ceil(d)
    return _nint(d)


def _nint(value: float) -> int:
    """TSPLIB ``nint``: round half up (``(int)(x + 0.5)`` for the non-negative values used here)."""
    return math.floor(value + 0.5)


_SECTION_RE = re.compile(r"^([A-Z_]+_SECTION|EOF)\s*:?\s*$")


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BenchmarkFormatError(f"{path}: cannot read ({exc.strerror})") from exc
    return text.splitlines()


def _number(path: Path, lineno: int, token: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise BenchmarkFormatError(f"{path}:{lineno}: expected a number, got {token!r}") from None
    if not math.isfinite(value):
        raise BenchmarkFormatError(f"{path}:{lineno}: expected a finite number, got {token!r}")
    return value


def _integer(path: Path, lineno: int, token: str) -> int:
    value = _number(path, lineno, token)
    if value != int(value):
        raise BenchmarkFormatError(f"{path}:{lineno}: expected an integer, got {token!r}")
    return int(value)


def read_vrplib(path: str | Path) -> VrplibInstance:
    """Read a VRPLIB/TSPLIB ``.vrp`` or LKH-3 ``.vrptw`` instance.

    Supports the specification keys ``NAME, TYPE, DIMENSION, CAPACITY, VEHICLES, SERVICE_TIME, SCALE,
    DISTANCE, EDGE_WEIGHT_TYPE, EDGE_WEIGHT_FORMAT`` (others are ignored) and the sections
    ``NODE_COORD_SECTION, DEMAND_SECTION, DEPOT_SECTION, TIME_WINDOW_SECTION, SERVICE_TIME_SECTION,
    EDGE_WEIGHT_SECTION``. Raises :class:`BenchmarkFormatError` with the file and line on bad input.
    """
    path = Path(path)
    spec: dict[str, str] = {}
    sections: dict[str, list[tuple[int, list[str]]]] = {}
    current: str | None = None
    for lineno, raw in enumerate(_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _SECTION_RE.match(line)
        if match:
            current = match.group(1)
            if current == "EOF":
                break
            sections.setdefault(current, [])
            continue
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Z_]+", key.strip()):
            spec[key.strip()] = value.strip().strip('"').strip()
            current = None
            continue
        if current is None:
            raise BenchmarkFormatError(f"{path}:{lineno}: data outside any section: {line[:60]!r}")
        sections[current].append((lineno, line.split()))

    def need(key: str) -> str:
        if key not in spec:
            raise BenchmarkFormatError(f"{path}: missing specification line '{key} : ...'")
        return spec[key]

    name = spec.get("NAME") or path.name.split(".")[0]
    dimension = _integer(path, 0, need("DIMENSION"))
    if dimension < 2:
        raise BenchmarkFormatError(f"{path}: DIMENSION must be >= 2, got {dimension}")
    capacity = _integer(path, 0, need("CAPACITY"))
    weight_type = spec.get("EDGE_WEIGHT_TYPE", "EUC_2D").upper()
    if weight_type not in _DEFAULT_SCALE:
        raise BenchmarkFormatError(
            f"{path}: EDGE_WEIGHT_TYPE {weight_type} not supported, expected one of {sorted(_DEFAULT_SCALE)}"
        )
    scale = _integer(path, 0, spec["SCALE"]) if "SCALE" in spec else _DEFAULT_SCALE[weight_type]

    def node_rows(section: str, width: int) -> dict[int, list[float]]:
        rows: dict[int, list[float]] = {}
        for lineno, tokens in sections.get(section, []):
            if len(tokens) < width + 1:
                raise BenchmarkFormatError(
                    f"{path}:{lineno}: {section} expects a node id and {width} value(s), got {tokens}"
                )
            node = _integer(path, lineno, tokens[0])
            if not 1 <= node <= dimension:
                raise BenchmarkFormatError(f"{path}:{lineno}: node id {node} outside 1..{dimension}")
            if node - 1 in rows:
                raise BenchmarkFormatError(f"{path}:{lineno}: node {node} appears twice in {section}")
            rows[node - 1] = [_number(path, lineno, t) for t in tokens[1 : width + 1]]
        if rows and len(rows) != dimension:
            missing = sorted(set(range(dimension)) - set(rows))[:5]
            raise BenchmarkFormatError(
                f"{path}: {section} lists {len(rows)} of {dimension} nodes "
                f"(missing ids {[m + 1 for m in missing]})"
            )
        return rows

    coords_rows = node_rows("NODE_COORD_SECTION", 2)
    coords = tuple((r[0], r[1]) for _, r in sorted(coords_rows.items())) if coords_rows else None

    demand_rows = node_rows("DEMAND_SECTION", 1)
    if not demand_rows:
        raise BenchmarkFormatError(f"{path}: missing DEMAND_SECTION")
    demands_f = [demand_rows[i][0] for i in range(dimension)]
    if any(d != int(d) for d in demands_f):
        raise BenchmarkFormatError(f"{path}: demands must be integers")

    depot_ids: list[int] = []
    for lineno, tokens in sections.get("DEPOT_SECTION", []):
        for token in tokens:
            depot_id = _integer(path, lineno, token)
            if depot_id == -1:
                break
            depot_ids.append(depot_id)
    if not depot_ids:
        depot_ids = [1]
    if len(depot_ids) != 1:
        raise BenchmarkFormatError(f"{path}: exactly one depot is supported, DEPOT_SECTION lists {depot_ids}")
    depot = depot_ids[0] - 1
    if not 0 <= depot < dimension:
        raise BenchmarkFormatError(f"{path}: depot id {depot + 1} outside 1..{dimension}")
    demands = tuple(0 if i == depot else int(d) for i, d in enumerate(demands_f))

    weights = None
    if weight_type == "EXPLICIT":
        fmt = spec.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX").upper()
        values = [
            _number(path, lineno, t)
            for lineno, tokens in sections.get("EDGE_WEIGHT_SECTION", [])
            for t in tokens
        ]
        weights = _explicit_matrix(path, fmt, values, dimension)
    elif coords is None:
        raise BenchmarkFormatError(f"{path}: {weight_type} needs a NODE_COORD_SECTION")

    tw_rows = node_rows("TIME_WINDOW_SECTION", 2)
    time_windows = tuple((r[0], r[1]) for _, r in sorted(tw_rows.items())) if tw_rows else None
    st_rows = node_rows("SERVICE_TIME_SECTION", 1)
    service_times: tuple[float, ...] | None
    if st_rows:
        service_times = tuple(st_rows[i][0] for i in range(dimension))
    elif "SERVICE_TIME" in spec:
        uniform = _number(path, 0, spec["SERVICE_TIME"])
        service_times = tuple(0.0 if i == depot else uniform for i in range(dimension))
    else:
        service_times = None
    vehicles = _integer(path, 0, spec["VEHICLES"]) if "VEHICLES" in spec else None
    max_distance = _number(path, 0, spec["DISTANCE"]) if "DISTANCE" in spec else None
    try:
        return VrplibInstance(
            name=name,
            kind=InstanceKind.VRPTW if time_windows is not None else InstanceKind.CVRP,
            depot=depot,
            capacity=capacity,
            demands=demands,
            coords=coords,
            edge_weight_type=weight_type,
            scale=scale,
            weights=weights,
            time_windows=time_windows,
            service_times=service_times,
            vehicles=vehicles,
            max_route_distance=max_distance,
        )
    except ValueError as exc:
        raise BenchmarkFormatError(f"{path}: {exc}") from None


def _explicit_matrix(path: Path, fmt: str, values: list[float], n: int) -> tuple[tuple[float, ...], ...]:
    """Expand an ``EDGE_WEIGHT_SECTION`` of the given TSPLIB format into a full symmetric matrix."""
    if fmt not in _EXPLICIT_FORMATS:
        raise BenchmarkFormatError(
            f"{path}: EDGE_WEIGHT_FORMAT {fmt} not supported, expected one of {_EXPLICIT_FORMATS}"
        )
    matrix = [[0.0] * n for _ in range(n)]
    if fmt == "FULL_MATRIX":
        if len(values) != n * n:
            raise BenchmarkFormatError(f"{path}: FULL_MATRIX needs {n * n} weights, got {len(values)}")
        return tuple(tuple(values[r * n : (r + 1) * n]) for r in range(n))
    diag = "DIAG" in fmt
    # A column-wise lower triangle lists the same entries, in the same order, as a row-wise upper
    # triangle (and vice versa); the matrix is symmetric, so only the row-wise pattern matters.
    lower = fmt.startswith("LOWER") != fmt.endswith("_COL")
    pairs: list[tuple[int, int]] = []
    for r in range(n):
        first, last = (0, r + diag) if lower else (r + 1 - diag, n)
        cols = range(first, last)
        pairs.extend((r, c) for c in cols)
    if len(values) != len(pairs):
        raise BenchmarkFormatError(
            f"{path}: {fmt} needs {len(pairs)} weights for {n} nodes, got {len(values)}"
        )
    for (r, c), w in zip(pairs, values, strict=True):
        matrix[r][c] = w
        matrix[c][r] = w
    return tuple(tuple(row) for row in matrix)


def read_vrplib_solution(path: str | Path) -> ReferenceSolution:
    """Read a CVRPLIB/VRPLIB ``.sol``: ``Route #i: c1 c2 ...`` lines (customer numbers = node index,
    the depot being 0) and a ``Cost N`` line. Other lines (``Time``, comments) are ignored."""
    path = Path(path)
    routes: list[tuple[int, ...]] = []
    cost: float | None = None
    for lineno, raw in enumerate(_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        head, _, rest = line.partition(":")
        if head.lower().startswith("route"):
            routes.append(tuple(_integer(path, lineno, t) for t in rest.split()))
        elif line.lower().startswith("cost"):
            token = line[4:].lstrip(" :\t").split()
            if not token:
                raise BenchmarkFormatError(f"{path}:{lineno}: 'Cost' without a value")
            cost = _number(path, lineno, token[0])
    if cost is None:
        raise BenchmarkFormatError(f"{path}: no 'Cost' line")
    if not routes:
        raise BenchmarkFormatError(f"{path}: no 'Route #i:' lines")
    return ReferenceSolution(routes=tuple(routes), cost=cost, source=path.name)


def read_lkh_tour(path: str | Path, instance: VrplibInstance) -> ReferenceSolution:
    """Read an LKH-3 ``.tour`` for ``instance``.

    ``TOUR_SECTION`` is one sequence of node ids; the depot's id and every id above ``DIMENSION``
    (depot copies) separate routes. The cost is the last number in the file name divided by the
    instance's scale (``R101.100.20.16377.tour`` -> 1637.7); when the name has none, the
    ``COMMENT : Cost = penalty_cost`` line is used.
    """
    path = Path(path)
    lines = _lines(path)
    ids: list[int] = []
    comment_cost: int | None = None
    in_tour = False
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if in_tour:
            for token in line.split():
                if token == "EOF":
                    break
                value = _integer(path, lineno, token)
                if value == -1:
                    in_tour = False
                    break
                ids.append(value)
            continue
        if line.startswith("TOUR_SECTION"):
            in_tour = True
            continue
        match = re.search(r"Cost\s*=\s*(\d+)_(\d+)", line)
        if match:
            comment_cost = int(match.group(2))
    if not ids:
        raise BenchmarkFormatError(f"{path}: empty or missing TOUR_SECTION")
    n = instance.dimension
    routes: list[tuple[int, ...]] = []
    current: list[int] = []
    for node_id in ids:
        if node_id < 1:
            raise BenchmarkFormatError(f"{path}: node id {node_id} is not positive")
        index = node_id - 1
        if index == instance.depot or node_id > n:
            if current:
                routes.append(tuple(current))
            current = []
        else:
            current.append(index)
    if current:
        routes.append(tuple(current))
    name_cost = _cost_in_tour_name(path.name)
    if name_cost is not None and comment_cost is not None and name_cost != comment_cost:
        raise BenchmarkFormatError(
            f"{path}: the file name says cost {name_cost} but the comment says {comment_cost}"
        )
    scaled = name_cost if name_cost is not None else comment_cost
    if scaled is None:
        raise BenchmarkFormatError(
            f"{path}: no cost in the file name (<name>.<n>.<vehicles>.<cost>.tour) nor a 'Cost =' comment"
        )
    return ReferenceSolution(routes=tuple(routes), cost=scaled / instance.scale, source=path.name)


def _cost_in_tour_name(name: str) -> int | None:
    """``R101.100.20.16377.tour`` -> 16377: the last of three trailing numbers (n, vehicles, cost)."""
    parts = name.removesuffix(".tour").split(".")
    trailing = 0
    for part in reversed(parts[1:]):
        if not part.isdigit():
            break
        trailing += 1
    return int(parts[-1]) if trailing >= 3 else None


# --------------------------------------------------------------------------------------------------
# Kim, Kim & Sahoo (2006)

KIM_LUNCH_WINDOW_S = (11 * 3600, 12 * 3600)
"""The lunch break must *start* between 11:00 and 12:00 (seconds since midnight)."""

FEET_PER_MILE = 5280.0


class KimStopType(StrEnum):
    DEPOT = "depot"
    CUSTOMER = "customer"
    DISPOSAL = "disposal"


_KIM_TYPES = {0: KimStopType.DEPOT, 1: KimStopType.CUSTOMER, 2: KimStopType.DISPOSAL}


@dataclass(frozen=True)
class KimStop:
    """One line of a ``*_stop.txt``.

    Times are seconds since midnight (``HHMM`` converted; 2400 = 86 400). ``early_s``/``late_s`` bound
    the *start* of service; the depot's window is the vehicles' working day.
    """

    stop_id: int
    x_ft: float
    y_ft: float
    early_s: int
    late_s: int
    service_s: float
    load_yd3: float
    type: KimStopType


@dataclass(frozen=True)
class KimInstance:
    """A Kim et al. (2006) waste-collection instance.

    Attributes:
        vehicle_capacity_yd3: body capacity; the truck must unload at a disposal site before exceeding it.
        route_capacity_yd3: total volume one route may collect in the day, across all disposal trips.
        max_stops: maximum number of customer stops per route.
        lunch_s: lunch duration, seconds; it starts within :data:`KIM_LUNCH_WINDOW_S`.
        speed_mph: driving speed for the Manhattan travel times.
        stops: every line in file order (indices into this tuple are the node indices).
    """

    name: str
    vehicle_capacity_yd3: float
    route_capacity_yd3: float
    max_stops: int
    lunch_s: float
    speed_mph: float
    stops: tuple[KimStop, ...]

    def __post_init__(self) -> None:
        for label, value in (
            ("vehicle capacity", self.vehicle_capacity_yd3),
            ("route capacity", self.route_capacity_yd3),
            ("speed", self.speed_mph),
        ):
            if not value > 0:
                raise ValueError(f"instance {self.name!r}: {label} must be > 0, got {value}")
        if self.max_stops < 1:
            raise ValueError(f"instance {self.name!r}: max stops must be >= 1, got {self.max_stops}")
        if self.lunch_s < 0:
            raise ValueError(f"instance {self.name!r}: lunch duration must be >= 0, got {self.lunch_s}")
        depots = [i for i, s in enumerate(self.stops) if s.type is KimStopType.DEPOT]
        if len(depots) != 1:
            raise ValueError(
                f"instance {self.name!r}: expected exactly one depot (type 0), found {len(depots)}"
            )
        if not any(s.type is KimStopType.DISPOSAL for s in self.stops):
            raise ValueError(f"instance {self.name!r}: expected at least one disposal facility (type 2)")
        if not any(s.type is KimStopType.CUSTOMER for s in self.stops):
            raise ValueError(f"instance {self.name!r}: expected at least one customer (type 1)")

    @property
    def depot(self) -> int:
        return next(i for i, s in enumerate(self.stops) if s.type is KimStopType.DEPOT)

    @property
    def customers(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.stops) if s.type is KimStopType.CUSTOMER)

    @property
    def facilities(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.stops) if s.type is KimStopType.DISPOSAL)


def kim_arc_miles(instance: KimInstance, i: int, j: int) -> float:
    """Manhattan distance from node ``i`` to ``j`` in miles (the benchmark's reported unit)."""
    a, b = instance.stops[i], instance.stops[j]
    return (abs(a.x_ft - b.x_ft) + abs(a.y_ft - b.y_ft)) / FEET_PER_MILE


def kim_arc_seconds(instance: KimInstance, i: int, j: int) -> float:
    """Driving time from ``i`` to ``j``: Manhattan miles at the file's speed, seconds (not rounded)."""
    return kim_arc_miles(instance, i, j) / instance.speed_mph * 3600.0


def _hhmm_to_s(path: Path, lineno: int, token: str) -> int:
    value = _number(path, lineno, token)
    if value < 0 or value != int(value):
        raise BenchmarkFormatError(f"{path}:{lineno}: expected a time HHMM, got {token!r}")
    hours, minutes = divmod(int(value), 100)
    if minutes >= 60 or hours > 48:
        raise BenchmarkFormatError(f"{path}:{lineno}: expected a time HHMM, got {token!r}")
    return hours * 3600 + minutes * 60


def _first_number(path: Path, lineno: int, line: str) -> float:
    tokens = line.split()
    if not tokens:
        raise BenchmarkFormatError(f"{path}:{lineno}: expected a number, got an empty line")
    return _number(path, lineno, tokens[0])


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_kim(path: str | Path) -> KimInstance:
    """Read a Kim et al. (2006) ``*_stop.txt``.

    Lines 1-5: vehicle capacity (yd3), route capacity per day (yd3), max stops per route, lunch
    duration (s), speed (mph), each followed by an optional comment; then an optional column header;
    then ``id x_ft y_ft early_HHMM late_HHMM service_s load_yd3 type`` per stop, separated by any
    whitespace (empty fields between tabs are skipped; extra trailing fields are ignored).
    """
    path = Path(path)
    numbered = [(i, raw.strip()) for i, raw in enumerate(_lines(path), start=1) if raw.strip()]
    if len(numbered) < 7:
        raise BenchmarkFormatError(
            f"{path}: expected 5 header lines and stop lines, got {len(numbered)} lines"
        )
    header = [_first_number(path, lineno, line) for lineno, line in numbered[:5]]
    rest = numbered[5:]
    if not _is_number(rest[0][1].split()[0]):
        rest = rest[1:]
    stops: list[KimStop] = []
    for lineno, line in rest:
        tokens = line.split()
        if len(tokens) < 8:
            raise BenchmarkFormatError(
                f"{path}:{lineno}: expected 8 fields (id x y early late service load type), got {len(tokens)}"
            )
        kind = _integer(path, lineno, tokens[7])
        if kind not in _KIM_TYPES:
            raise BenchmarkFormatError(f"{path}:{lineno}: stop type must be 0, 1 or 2, got {kind}")
        early, late = _hhmm_to_s(path, lineno, tokens[3]), _hhmm_to_s(path, lineno, tokens[4])
        if early > late:
            raise BenchmarkFormatError(
                f"{path}:{lineno}: early time {tokens[3]} is after late time {tokens[4]}"
            )
        service = _number(path, lineno, tokens[5])
        load = _number(path, lineno, tokens[6])
        if service < 0 or load < 0:
            raise BenchmarkFormatError(f"{path}:{lineno}: service time and load must be >= 0")
        stops.append(
            KimStop(
                stop_id=_integer(path, lineno, tokens[0]),
                x_ft=_number(path, lineno, tokens[1]),
                y_ft=_number(path, lineno, tokens[2]),
                early_s=early,
                late_s=late,
                service_s=service,
                load_yd3=load if kind == 1 else 0.0,
                type=_KIM_TYPES[kind],
            )
        )
    max_stops = header[2]
    if max_stops != int(max_stops):
        raise BenchmarkFormatError(
            f"{path}: line 3 (max stops per route) must be an integer, got {max_stops}"
        )
    name = path.name.removesuffix(".txt").removesuffix("_stop")
    try:
        return KimInstance(
            name=name,
            vehicle_capacity_yd3=header[0],
            route_capacity_yd3=header[1],
            max_stops=int(max_stops),
            lunch_s=header[3],
            speed_mph=header[4],
            stops=tuple(stops),
        )
    except ValueError as exc:
        raise BenchmarkFormatError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class KimReference:
    """Published result for one Kim instance: routes and total Manhattan miles."""

    vehicles: int
    miles: float
    source: str


KIM_REFERENCES: dict[str, KimReference] = {
    name: KimReference(vehicles, miles, "Benjamin & Beasley (2010), C&OR 37(12):2270-2280, Table 1")
    for name, vehicles, miles in (
        ("102", 3, 183.5),
        ("277", 3, 464.5),
        ("335", 6, 204.5),
        ("444", 11, 89.1),
        ("804", 6, 755.8),
    )
}
"""Best distance-minimising result per instance in Benjamin & Beasley (2010), Table 1 (miles),
the most cleanly defined objective on this benchmark. Stronger: Buhrkal, Larsen & Ropke (2012) ALNS,
see :data:`KIM_BEST_PUBLISHED`."""

KIM_BEST_PUBLISHED: dict[str, KimReference] = {
    name: KimReference(vehicles, miles, "Buhrkal, Larsen & Ropke (2012), Procedia SBS 39:241-254, Table 1")
    for name, vehicles, miles in (
        ("102", 3, 174.5),
        ("277", 3, 447.6),
        ("335", 6, 182.1),
        ("444", 11, 78.3),
        ("804", 5, 604.1),
    )
}
"""Best of ten ALNS runs per instance (non-clustered variant), miles."""


# --------------------------------------------------------------------------------------------------
# Dispatch


def detect_kind(path: str | Path) -> InstanceKind:
    """The benchmark family of a file: by its name (``*_stop.txt``, ``.vrptw``), else by content."""
    path = Path(path)
    if path.name.endswith("_stop.txt"):
        return InstanceKind.KIM
    if path.suffix == ".vrptw":
        return InstanceKind.VRPTW
    if path.suffix == ".vrp":
        return read_vrplib(path).kind
    if path.suffix == ".txt":
        return InstanceKind.KIM
    raise BenchmarkFormatError(
        f"{path}: unknown benchmark file type, expected a CVRPLIB .vrp, an LKH .vrptw or a Kim *_stop.txt"
    )


def find_reference(path: str | Path, instance: VrplibInstance) -> ReferenceSolution | None:
    """The reference solution stored beside a VRPLIB instance, if any.

    ``X.vrp`` -> ``X.sol``; ``NAME.n.k.vrptw`` -> the one ``NAME.n.k.<cost>.tour`` (or ``NAME.n.k.tour``).
    """
    path = Path(path)
    if path.suffix == ".vrp":
        sol = path.with_suffix(".sol")
        return read_vrplib_solution(sol) if sol.exists() else None
    stem = path.name.removesuffix(path.suffix)
    candidates = sorted(_tours_beside(path.parent, stem))
    if not candidates:
        return None
    if len(candidates) > 1:
        raise BenchmarkFormatError(
            f"{path}: several tours beside it, expected one: {[c.name for c in candidates]}"
        )
    return read_lkh_tour(candidates[0], instance)


def _tours_beside(folder: Path, stem: str) -> Iterator[Path]:
    pattern = re.compile(re.escape(stem) + r"(\.\d+)?\.tour$")
    for candidate in folder.iterdir():
        if pattern.fullmatch(candidate.name):
            yield candidate
