"""Seeded generators of benchmark-like instances, for sizes the stored benchmark set lacks.

    wasteroute bench generate --out DIR [--set large|small] [--json]

Two families, written in the formats :mod:`.readers` reads, so ``bench routing --all DIR``
(and its ``--against-pyvrp`` comparison, which needs no best-known value) runs on them:

* **X-like CVRP** (:func:`x_like`), from the published design of the CVRPLIB X set (Uchoa, Pecin,
  Pessoa, Poggi, Vidal & Subramanian, EJOR 257(3), 2017, section 3): integer points on a
  1000 x 1000 grid; the depot central (500, 500), eccentric (0, 0) or random; customers random,
  clustered (3-8 seeds, each point accepted with probability ``sum_s exp(-d(p, s) / 40)``) or half
  and half; demands unitary, 1-10, 5-10, 1-100, 50-100, by quadrant (1-50 / 51-100) or many small
  and few large (70-95 % in 1-10, the rest 50-100); capacity ``ceil(r * sum(d) / n)`` for an average
  route size ``r`` drawn from one of the paper's ranges (3-5 up to 16-25 customers). Arc costs are
  rounded Euclidean distances (``EUC_2D``), as in CVRPLIB.
* **Gehring-Homberger-like VRPTW** (:func:`gh_like`), after Solomon's (1987) construction that
  Gehring and Homberger (1999) scaled up: types R1 (random points, every window 10 units wide,
  service 10, a short horizon), RC1 (half clustered, windows 30 wide) and C1 (clusters, service
  90, windows 60 wide laid around the arrival times of a known cluster-by-cluster plan, as Solomon
  built his C instances); capacity 200, the grid ``10 sqrt(n)`` wide with the depot in the middle.
  Files are LKH-3 ``.vrptw`` with ``EXACT_2D`` distances and ``VEHICLES`` = the instance's own
  fleet, which ``bench routing`` gives the router exactly (the hierarchical convention: every
  customer served with that fleet first, then distance). A C1 fleet is the known plan's route
  count; R1 and RC1 fleets are the fewest vehicles a long fleet-minimising run found
  (:data:`LARGE_SET` says which), so the fleet is tight but known to suffice.

Everything is deterministic by seed: the same recipe writes byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "LARGE_SET",
    "SMALL_SET",
    "GhRecipe",
    "XRecipe",
    "generate",
    "gh_like",
    "main",
    "x_like",
]

DepotPosition = Literal["central", "eccentric", "random"]
Positioning = Literal["random", "clustered", "mixed"]
DemandKind = Literal["unitary", "1-10", "5-10", "1-100", "50-100", "quadrant", "small-large"]
GhType = Literal["R1", "C1", "RC1"]

_ROUTE_SIZES: dict[str, tuple[float, float]] = {
    "very-short": (3, 5),
    "short": (5, 8),
    "medium": (8, 12),
    "long": (12, 16),
    "very-long": (16, 25),
}
"""Average customers per route, the ranges of Uchoa et al. (2017)."""


@dataclass(frozen=True)
class XRecipe:
    """One X-like instance: ``customers`` with the given attributes, deterministic by ``seed``."""

    customers: int
    depot: DepotPosition
    positioning: Positioning
    demand: DemandKind
    route_size: str
    seed: int

    def __post_init__(self) -> None:
        if self.customers < 2:
            raise ValueError(f"customers must be >= 2, got {self.customers}")
        if self.route_size not in _ROUTE_SIZES:
            raise ValueError(f"route_size must be one of {sorted(_ROUTE_SIZES)}, got {self.route_size!r}")


@dataclass(frozen=True)
class GhRecipe:
    """One Gehring-Homberger-like instance; ``vehicles`` is its own fleet (None: the known plan's)."""

    kind: GhType
    customers: int
    seed: int
    vehicles: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("R1", "C1", "RC1"):
            raise ValueError(f"kind must be R1, C1 or RC1, got {self.kind!r}")
        if self.customers < 10:
            raise ValueError(f"customers must be >= 10, got {self.customers}")
        if self.kind != "C1" and self.vehicles is None:
            raise ValueError(f"{self.kind} needs its fleet (vehicles): only C1 builds a known plan")


LARGE_SET: tuple[XRecipe | GhRecipe, ...] = (
    XRecipe(400, "random", "mixed", "1-100", "medium", seed=401),
    XRecipe(600, "central", "clustered", "50-100", "short", seed=601),
    XRecipe(800, "eccentric", "random", "small-large", "long", seed=801),
    XRecipe(1000, "random", "mixed", "quadrant", "medium", seed=1001),
    GhRecipe("C1", 400, seed=41),
    # Fleets: R1 the fewest vehicles plain PyVRP 0.14.1's fleet minimisation found in 180 s (seed 1);
    # RC1 the same gave 42, and 120 s of plain PyVRP with 41 found no feasible plan.
    GhRecipe("R1", 400, seed=42, vehicles=41),
    GhRecipe("RC1", 400, seed=43, vehicles=42),
)
"""The instances the stored benchmark set lacks: X with 400-1,000 customers, GH-like with 400."""

SMALL_SET: tuple[XRecipe | GhRecipe, ...] = (
    XRecipe(30, "central", "clustered", "1-10", "short", seed=31),
    GhRecipe("C1", 30, seed=32),
)
"""Tiny instances for the tests."""


def _uniform_points(rng: np.random.Generator, count: int, side: int) -> npt.NDArray[np.int64]:
    return rng.integers(0, side + 1, size=(count, 2)).astype(np.int64)


def _clustered_points(
    rng: np.random.Generator, count: int, side: int, seeds: npt.NDArray[np.int64], decay: float
) -> npt.NDArray[np.int64]:
    """Rejection sampling: a random point is kept with probability ``sum_s exp(-d(p, s) / decay)``."""
    out: list[tuple[int, int]] = []
    while len(out) < count:
        batch = _uniform_points(rng, 4 * (count - len(out)) + 16, side)
        d = np.sqrt(((batch[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2))
        accept = np.minimum(1.0, np.exp(-d / decay).sum(axis=1))
        keep = rng.random(len(batch)) < accept
        out.extend((int(x), int(y)) for x, y in batch[keep][: count - len(out)])
    return np.asarray(out, dtype=np.int64)


def _x_points(rng: np.random.Generator, recipe: XRecipe) -> npt.NDArray[np.int64]:
    side = 1000
    n = recipe.customers
    if recipe.positioning == "random":
        return _uniform_points(rng, n, side)
    n_seeds = int(rng.integers(3, 9))
    seeds = _uniform_points(rng, n_seeds, side)
    if recipe.positioning == "clustered":
        return _clustered_points(rng, n, side, seeds, 40.0)
    half = n // 2
    return np.vstack([_clustered_points(rng, half, side, seeds, 40.0), _uniform_points(rng, n - half, side)])


def _x_demands(rng: np.random.Generator, kind: DemandKind, points: npt.NDArray[np.int64]) -> list[int]:
    n = len(points)
    if kind == "unitary":
        values = np.ones(n, dtype=np.int64)
    elif kind in ("1-10", "5-10", "1-100", "50-100"):
        lo, hi = (int(x) for x in kind.split("-"))
        values = rng.integers(lo, hi + 1, size=n)
    elif kind == "quadrant":
        odd = ((points[:, 0] >= 500).astype(int) + (points[:, 1] >= 500).astype(int)) % 2 == 1
        values = np.where(odd, rng.integers(51, 101, size=n), rng.integers(1, 51, size=n))
    else:  # small-large
        small_share = rng.uniform(0.7, 0.95)
        small = rng.random(n) < small_share
        values = np.where(small, rng.integers(1, 11, size=n), rng.integers(50, 101, size=n))
    return [int(v) for v in values]


def x_like(recipe: XRecipe) -> str:
    """The VRPLIB text (``EUC_2D``) of an X-like instance."""
    rng = np.random.default_rng(recipe.seed)
    if recipe.depot == "central":
        depot = np.array([500, 500], dtype=np.int64)
    elif recipe.depot == "eccentric":
        depot = np.array([0, 0], dtype=np.int64)
    else:
        depot = _uniform_points(rng, 1, 1000)[0]
    points = _x_points(rng, recipe)
    demands = _x_demands(rng, recipe.demand, points)
    lo, hi = _ROUTE_SIZES[recipe.route_size]
    r = rng.uniform(lo, hi)
    capacity = max(max(demands), math.ceil(r * sum(demands) / len(demands)))
    k_min = math.ceil(sum(demands) / capacity)
    name = f"XG-n{recipe.customers + 1}-k{k_min}"
    lines = [
        f"NAME : {name}",
        f"COMMENT : X-like (Uchoa et al. 2017 design), depot {recipe.depot}, customers "
        f"{recipe.positioning}, demand {recipe.demand}, route size {recipe.route_size} "
        f"(r = {r:.2f}), seed {recipe.seed}",
        "TYPE : CVRP",
        f"DIMENSION : {recipe.customers + 1}",
        "EDGE_WEIGHT_TYPE : EUC_2D",
        f"CAPACITY : {capacity}",
        "NODE_COORD_SECTION",
        f"1\t{depot[0]}\t{depot[1]}",
        *(f"{i + 2}\t{x}\t{y}" for i, (x, y) in enumerate(points.tolist())),
        "DEMAND_SECTION",
        "1\t0",
        *(f"{i + 2}\t{d}" for i, d in enumerate(demands)),
        "DEPOT_SECTION",
        "1",
        "-1",
        "EOF",
        "",
    ]
    return "\n".join(lines)


def _gh_points(rng: np.random.Generator, kind: GhType, n: int, side: int) -> npt.NDArray[np.int64]:
    if kind == "R1":
        return _uniform_points(rng, n, side)
    n_clusters = max(1, n // 10)
    centres = _uniform_points(rng, n_clusters, side)
    if kind == "C1":
        which = np.repeat(np.arange(n_clusters), math.ceil(n / n_clusters))[:n]
        offsets = rng.normal(0.0, side / 60.0, size=(n, 2))
        return np.clip(np.rint(centres[which] + offsets), 0, side).astype(np.int64)
    half = n // 2
    clustered = _clustered_points(rng, half, side, centres[: max(3, n_clusters // 4)], side / 40.0)
    return np.vstack([clustered, _uniform_points(rng, n - half, side)])


def _c1_plan_windows(
    points: npt.NDArray[np.int64], depot: npt.NDArray[np.int64], demands: list[int], service: int, width: int
) -> tuple[list[tuple[int, int]], int, int]:
    """Windows around a known plan: clusters in angular order, packed into routes of capacity 200,
    each visited nearest-first. Returns the windows, the horizon and the plan's route count."""
    n = len(points)
    angle = np.arctan2(points[:, 1] - depot[1], points[:, 0] - depot[0])
    order = [int(i) for i in np.argsort(angle, kind="stable")]
    routes: list[list[int]] = [[]]
    load = 0
    for i in order:
        if load + demands[i] > 200:
            routes.append([])
            load = 0
        routes[-1].append(i)
        load += demands[i]
    windows: list[tuple[int, int]] = [(0, 0)] * n
    latest_end = 0.0
    for route in routes:
        here = depot.astype(np.float64)
        t = 0.0
        left = list(route)
        while left:
            nxt = min(left, key=lambda j: float(np.hypot(*(points[j] - here))))
            left.remove(nxt)
            t += float(np.hypot(*(points[nxt] - here)))
            arrive = math.ceil(t)
            windows[nxt] = (max(0, arrive - width // 2), arrive + width // 2)
            t = arrive + service
            here = points[nxt].astype(np.float64)
        latest_end = max(latest_end, t + float(np.hypot(*(depot - here))))
    horizon = math.ceil(latest_end * 1.1) + width
    return windows, horizon, len(routes)


def gh_like(recipe: GhRecipe) -> str:
    """The LKH-3 ``.vrptw`` text (``EXACT_2D``, ``VEHICLES`` = the instance's fleet)."""
    rng = np.random.default_rng(recipe.seed)
    n = recipe.customers
    side = round(10 * math.sqrt(n))
    depot = np.array([side // 2, side // 2], dtype=np.int64)
    points = _gh_points(rng, recipe.kind, n, side)
    service = 90 if recipe.kind == "C1" else 10
    if recipe.kind == "C1":
        demands = [int(d) for d in rng.choice([10, 20, 30], size=n, p=[0.5, 0.3, 0.2])]
        windows, horizon, plan_routes = _c1_plan_windows(points, depot, demands, service, 60)
        vehicles = recipe.vehicles or plan_routes
    else:
        demands = [int(d) for d in rng.integers(1, 41, size=n)]
        horizon = round(4.5 * side)
        width = 10 if recipe.kind == "R1" else 30
        windows = []
        for x, y in points.tolist():
            d0 = math.hypot(x - depot[0], y - depot[1])
            lo, hi = math.ceil(d0), math.floor(horizon - d0 - service)
            centre = int(rng.integers(lo, max(lo, hi - width) + 1)) + width // 2
            windows.append((max(lo, centre - width // 2), centre + width // 2))
        assert recipe.vehicles is not None
        vehicles = recipe.vehicles
    name = f"{recipe.kind}G_{n}_{recipe.seed}"
    lines = [
        f"NAME : {name}",
        f"COMMENT : {recipe.kind}-like (Solomon 1987 / Gehring-Homberger 1999), seed {recipe.seed}",
        "TYPE : CVRPTW",
        f"DIMENSION : {n + 1}",
        f"VEHICLES : {vehicles}",
        "CAPACITY : 200",
        f"SERVICE_TIME : {service}",
        "EDGE_WEIGHT_TYPE : EXACT_2D",
        "NODE_COORD_SECTION",
        f"1 {depot[0]} {depot[1]}",
        *(f"{i + 2} {x} {y}" for i, (x, y) in enumerate(points.tolist())),
        "DEMAND_SECTION",
        "1 0",
        *(f"{i + 2} {d}" for i, d in enumerate(demands)),
        "TIME_WINDOW_SECTION",
        f"1 0 {horizon}",
        *(f"{i + 2} {a} {b}" for i, (a, b) in enumerate(windows)),
        "DEPOT_SECTION",
        "1",
        "-1",
        "EOF",
        "",
    ]
    return "\n".join(lines)


def file_name(recipe: XRecipe | GhRecipe, text: str) -> str:
    """``<NAME>.vrp`` for X-like, ``<NAME>.<n>.<vehicles>.vrptw`` for GH-like (LKH-3's naming)."""
    name = text.split("\n", 1)[0].split(":", 1)[1].strip()
    if isinstance(recipe, XRecipe):
        return f"{name}.vrp"
    vehicles = next(line for line in text.splitlines() if line.startswith("VEHICLES")).split(":")[1].strip()
    return f"{name}.{recipe.customers}.{vehicles}.vrptw"


def generate(recipes: tuple[XRecipe | GhRecipe, ...], out: Path) -> list[Path]:
    """Write every recipe's instance into ``out`` (created if missing); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for recipe in recipes:
        text = x_like(recipe) if isinstance(recipe, XRecipe) else gh_like(recipe)
        path = out / file_name(recipe, text)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``wasteroute bench generate --out DIR [--set large|small] [--json]``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    while args_list and args_list[0] in ("bench", "generate"):
        args_list.pop(0)
    parser = argparse.ArgumentParser(
        prog="wasteroute bench generate",
        description="Write seeded X-like and Gehring-Homberger-like instances for bench routing.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write into")
    parser.add_argument("--set", choices=("large", "small"), default="large", help="which recipes (large)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(args_list)
    recipes = LARGE_SET if args.set == "large" else SMALL_SET
    paths = generate(recipes, args.out)
    record = {"generated": [p.name for p in paths], "out": str(args.out)}
    print(json.dumps(record) if args.json else "\n".join(str(p) for p in paths), flush=True)
    return 0
