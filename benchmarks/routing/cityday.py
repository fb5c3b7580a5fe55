"""A synthetic city day for demos, tests and the 1,000-bin benchmark (pure, deterministic by seed).

The city is a square of ``side_m`` metres with containers scattered around a few neighbourhood
centres; distances are Manhattan x a detour factor, driving at ``speed_kmh``. Every side rule is
switched on: two depots, two facilities (one per fraction group, one shared), volume and mass
capacity, shift windows and lunch or statutory breaks, container time windows, narrow streets that
only small trucks can enter, optional containers with prizes, and a daily volume limit.
"""

from __future__ import annotations

import numpy as np

from wasteroute.planning.problem import BreakRule, Depot, Facility, Location, Problem, Stop, Vehicle

__all__ = ["city_day"]


def city_day(
    n_stops: int = 1000,
    *,
    seed: int = 0,
    n_vehicles: int | None = None,
    side_m: float = 12_000.0,
    speed_kmh: float = 25.0,
    optional_share: float = 0.3,
    window_share: float = 0.15,
    narrow_share: float = 0.1,
) -> Problem:
    """A residual-waste day with ``n_stops`` containers (1,100 L bins, 40-100 % full)."""
    rng = np.random.default_rng(seed)
    n_centres = max(3, n_stops // 120)
    centres = rng.uniform(0.1 * side_m, 0.9 * side_m, size=(n_centres, 2))
    which = rng.integers(0, n_centres, size=n_stops)
    points = centres[which] + rng.normal(0.0, side_m / 14, size=(n_stops, 2))
    points = np.clip(points, 0.0, side_m)
    depots_xy = np.array([[0.15 * side_m, 0.2 * side_m], [0.85 * side_m, 0.75 * side_m]])
    fac_xy = np.array([[0.5 * side_m, 0.05 * side_m], [0.95 * side_m, 0.4 * side_m]])
    xy = np.vstack([depots_xy, fac_xy, points])
    manhattan = np.abs(xy[:, None, 0] - xy[None, :, 0]) + np.abs(xy[:, None, 1] - xy[None, :, 1])
    distance_m = np.rint(manhattan * 1.25).astype(np.int64)
    duration_s = np.rint(distance_m / (speed_kmh / 3.6)).astype(np.int64)
    locations = [Location(f"L{i}") for i in range(len(xy))]
    depots = [Depot("north-yard", 0, (5 * 3600, 17 * 3600)), Depot("harbour-yard", 1, (5 * 3600, 17 * 3600))]
    facilities = [
        Facility("incinerator", 2, frozenset({"residual"}), (6 * 3600, 16 * 3600), unload_s=900),
        Facility("transfer-east", 3, frozenset({"residual", "bio"}), (7 * 3600, 15 * 3600), unload_s=600),
    ]
    stops = []
    for i in range(n_stops):
        fill = rng.uniform(0.4, 1.0)
        volume_l = round(1100.0 * fill, 1)
        mass_kg = round(volume_l * rng.uniform(0.12, 0.2), 1)
        optional = rng.random() < optional_share
        windows: tuple[tuple[int, int], ...] = ()
        if rng.random() < window_share:
            start_h = int(rng.integers(6, 12))
            windows = ((start_h * 3600, (start_h + 3) * 3600),)
        stops.append(
            Stop(
                id=f"bin-{i:04d}",
                location=4 + i,
                volume_l=volume_l,
                mass_kg=mass_kg,
                service_s=int(rng.integers(45, 120)),
                time_windows=windows,
                access_class="narrow" if rng.random() < narrow_share else "standard",
                required=not optional,
                prize=float(round(rng.uniform(0.5, 6.0), 2)) if optional else 0.0,
            )
        )
    if n_vehicles is None:
        n_vehicles = max(2, int(np.ceil(n_stops / 90)))
    vehicles = []
    for k in range(n_vehicles):
        small = k % 4 == 1
        vehicles.append(
            Vehicle(
                id=f"truck-{k:02d}",
                start_depot=depots[k % 2].id,
                fraction="residual",
                capacity_volume_l=8_000.0 if small else 22_000.0,
                capacity_mass_kg=3_000.0 if small else 10_000.0,
                shift=(6 * 3600, 15 * 3600 + 1800),
                max_duration_s=9 * 3600,
                access_classes=frozenset({"standard", "narrow"}) if small else frozenset({"standard"}),
                break_rule=(
                    BreakRule.statutory()
                    if k % 2
                    else BreakRule.lunch(
                        earliest_start_s=11 * 3600, latest_start_s=13 * 3600, duration_s=1800
                    )
                ),
                max_collected_volume_l=60_000.0,
                cost_per_km=1.2 if small else 1.8,
                cost_per_hour=45.0,
                fixed_cost=80.0,
            )
        )
    return Problem(
        locations=tuple(locations),
        distance_m=distance_m,
        duration_s=duration_s,
        stops=tuple(stops),
        depots=tuple(depots),
        vehicles=tuple(vehicles),
        facilities=tuple(facilities),
        name=f"city-day-{n_stops}-seed{seed}",
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.routing.cityday [--stops N] [--time-limit S] [--seed K] [--runs R]``.

    Solves the synthetic city day ``runs`` times with the same seed and prints one JSON object as the
    last line: wall-clock seconds (model building included), km, vehicles, dropped stops, and whether
    every run produced the same plan.
    """
    import argparse
    import json
    import time

    from wasteroute.planning.solver import plan_routes

    parser = argparse.ArgumentParser(prog="python -m benchmarks.routing.cityday")
    parser.add_argument(
        "--json", action="store_true", help="accepted like every benchmark; the last line is JSON"
    )
    parser.add_argument("--stops", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=50.0, help="search budget, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    problem = city_day(args.stops, seed=1)
    records: list[dict[str, object]] = []
    seconds_all: list[float] = []
    signatures = []
    for _ in range(args.runs):
        started = time.perf_counter()
        plan = plan_routes(problem, time_limit_s=args.time_limit, seed=args.seed)
        seconds = time.perf_counter() - started
        seconds_all.append(seconds)
        signatures.append(tuple(r.visits for r in plan.routes))
        figures = plan.stats.as_dict()
        records.append(
            {
                "seconds": round(seconds, 2),
                "km": round(plan.km, 3),
                "vehicles": plan.num_vehicles_used,
                "dropped_required": sum(1 for d in plan.dropped if d.required),
                "dropped_optional": sum(1 for d in plan.dropped if not d.required),
                "cost": round(plan.cost, 2),
                "engine": plan.engine,
                "stopped_by_clock": figures.get("stopped_by_clock", 0.0),
                "seed_stops_removed": figures.get("seed_stops_removed", 0.0),
                "pyvrp_iterations": figures.get("pyvrp_iterations", 0.0),
                "pyvrp_s": round(figures.get("pyvrp_s", 0.0), 2),
                "ortools_s": round(figures.get("ortools_s", 0.0), 2),
                "ortools_solutions": figures.get("ortools_solutions", 0.0),
            }
        )
        print(json.dumps(records[-1]))
    summary = {
        "instance": problem.name,
        "stops": args.stops,
        "vehicles_available": len(problem.vehicles),
        "time_limit_s": args.time_limit,
        "max_seconds": round(max(seconds_all), 2),
        "same_plan": all(s == signatures[0] for s in signatures),
        "runs": records,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
