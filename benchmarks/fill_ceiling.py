"""How full can containers be when they are emptied? A ceiling from the simulation's own future.

``python -m benchmarks.fill_ceiling --seeds 1,2,3 [--service-days residual=mon-sun]`` empties every
container of the simulated city at the last moment it can, knowing exactly what waste it will
receive: at each full hour of its fraction's shift on a service day, a container waits if it would
still be below full at the next such hour, and is emptied now otherwise. No truck, route or load
limits it: every container can be emptied at any of those hours, each on its own. Waiting longer
than it does makes a container overflow before the next chance, and emptying earlier only adds
collections, so its mean fill at emptying is (up to the edges of the measured days, where a policy
starts and ends in other states) the most a policy without overflows can reach in this city, and
its collections about the fewest it needs: a yardstick for the policies ``wasteroute simulate``
compares, which plan one visit a day and route trucks. With ``--visit-hour 10`` a container gets
one chance a day, at that hour (the plan's visit time), which is closer to what a daily route gives.

The same city, days and fill model as ``wasteroute simulate`` (the measured 28 days after 14 days of
warm-up and 7 of run-in; the containers start empty when the warm-up starts). Prints one JSON line
per seed and, last, the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from wasteroute.planning.calendar import closed_reason, service_calendar
from wasteroute.simulation.command import fraction_days, seed_list
from wasteroute.simulation.loop import SimulationConfig

FloatArray = npt.NDArray[np.float64]

SHIFTS = {"glass": (time(7), time(15, 30))}
"""Shift of each fraction's trucks in the generated cities (others 06:00 to 14:30)."""
DEFAULT_SHIFT = (time(6), time(14, 30))


def chances(
    start: datetime,
    hours: int,
    zone: ZoneInfo,
    service_day: Any,
    shift: tuple[time, time],
    visit_hour: int | None = None,
) -> list[int]:
    """The hour boundaries (0 = ``start``) at which a container may be emptied: every full hour of
    the shift on a day ``service_day(date)`` accepts, or only ``visit_hour`` on those days."""
    out = []
    for h in range(hours + 1):
        local = (start + timedelta(hours=h)).astimezone(zone)
        if local.minute or not service_day(local.date()):
            continue
        at = local.time()
        if visit_hour is not None:
            if local.hour == visit_hour:
                out.append(h)
        elif shift[0] <= at <= shift[1]:
            out.append(h)
    return out


def latest_emptyings(
    increments: FloatArray, at: Sequence[int], measured: tuple[int, int]
) -> tuple[list[float], list[int], int]:
    """Empty each container (column of ``increments``, the waste of each hour) at the last of the
    hour boundaries ``at`` before it would reach full; the containers start empty at boundary 0.

    Returns the fills at the emptyings at boundaries within ``measured`` (first, last), the
    container of each, and the overflows no emptying could prevent (a container full again by the
    next boundary although emptied at this one), counted within ``measured``."""
    cum = np.vstack([np.zeros((1, increments.shape[1])), np.cumsum(increments, axis=0)])
    base = np.zeros(increments.shape[1])
    fills: list[float] = []
    which: list[int] = []
    unavoidable = 0
    lo, hi = measured
    for k, t in enumerate(at):
        nxt = at[k + 1] if k + 1 < len(at) else len(cum) - 1
        if nxt <= t:
            continue
        full_by_next = cum[nxt] - base >= 1.0
        idx = np.flatnonzero(full_by_next)
        if lo <= t <= hi:
            fills.extend(np.minimum(cum[t, idx] - base[idx], 1.0).tolist())
            which.extend(idx.tolist())
            unavoidable += int(np.count_nonzero(cum[nxt, idx] - cum[t, idx] >= 1.0))
        base[idx] = cum[t, idx]
    return fills, which, unavoidable


def ceiling(
    city_doc: dict[str, Any],
    seed: int,
    cfg: SimulationConfig,
    service_days: Mapping[str, frozenset[int]],
    visit_hour: int | None = None,
) -> dict[str, Any]:
    """The latest-emptying yardstick for one seed: collections, mean and percentiles of the fill at
    emptying, by container kind, and the overflows no emptying could prevent."""
    from sensors_sim.engine import fill_increments

    zone = ZoneInfo(city_doc["city"].get("timezone", "Europe/Berlin"))
    region = city_doc["city"].get("holiday_region")
    day0 = cfg.measured_start
    first = day0 - timedelta(days=cfg.run_in_days + cfg.warmup_days)
    start = datetime.combine(first, time(0), zone)
    # a day more than measured, so the last day's containers have a next chance to wait for
    hours = (
        int((datetime.combine(day0 + timedelta(days=cfg.days + 1), time(0), zone) - start).total_seconds())
        // 3600
    )
    increments = fill_increments(city_doc, seed, start, hours)
    measure_lo = int((datetime.combine(day0, time(0), zone) - start).total_seconds()) // 3600
    measure_hi = measure_lo + cfg.days * 24 - 1
    feats = city_doc["bins"]["features"]
    fractions = sorted({f["properties"]["fraction"] for f in feats})
    kinds = [f"{f['properties']['fraction']}/{f['properties']['container_type']}" for f in feats]
    fills: list[float] = []
    kind_of: list[str] = []
    unavoidable = 0
    for fraction in fractions:
        cols = [i for i, f in enumerate(feats) if f["properties"]["fraction"] == fraction]
        rules = service_calendar(str(zone), region, service_days.get(fraction))

        def open_day(d: date, rules: Any = rules) -> bool:
            return closed_reason(d, rules) is None

        at = chances(start, hours, zone, open_day, SHIFTS.get(fraction, DEFAULT_SHIFT), visit_hour)
        f, w, u = latest_emptyings(increments[:, cols], at, (measure_lo, measure_hi))
        fills += f
        kind_of += [kinds[cols[i]] for i in w]
        unavoidable += u
    a = np.asarray(fills)
    by_kind = {
        k: {
            "collections": int(sum(1 for x in kind_of if x == k)),
            "fill_mean": round(float(a[[x == k for x in kind_of]].mean()), 4),
        }
        for k in sorted(set(kind_of))
    }
    return {
        "seed": seed,
        "visit_hour": visit_hour,
        "containers": len(feats),
        "days": cfg.days,
        "collections": len(fills),
        "fill_at_emptying_mean": round(float(a.mean()), 4) if a.size else None,
        "fill_at_emptying_p10_p50_p90": [round(float(x), 3) for x in np.percentile(a, [10, 50, 90])]
        if a.size
        else None,
        "unavoidable_overflows": unavoidable,
        "by_kind": by_kind,
    }


def medians(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[float, float, float]]:
    """(collections, fill at emptying, service level) per variant of ``benchmarks.frontier``'s JSON
    lines, medians over the seeds (the per-seed and summary lines are skipped)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if "variant" in r and "collections" in r and "fill_at_emptying_mean" in r:
            by.setdefault(str(r["variant"]), []).append(r)
    return {
        v: (
            float(statistics.median(r["collections"] for r in rs)),
            float(statistics.median(r["fill_at_emptying_mean"] for r in rs)),
            float(statistics.median(r["service_level"] for r in rs)),
        )
        for v, rs in by.items()
    }


def draw(
    ceilings: Mapping[str, tuple[float, float]],
    measured: Mapping[str, tuple[float, float, float]],
    out: Path,
) -> None:
    """Fill at emptying against collections: the yardsticks (``ceilings``) and the simulated
    policies (``measured``, with their service level in the label), with the 75 % line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    colours = {"dynamic": "C0", "threshold": "C1", "fixed": "C2"}
    for name, (n, fill, service) in measured.items():
        colour = next((c for k, c in colours.items() if name.startswith(k)), "C4")
        ax.scatter([n], [100 * fill], color=colour, s=25)
        label = f"{name}: {100 * service:.2f} %"
        ax.annotate(label, (n, 100 * fill), textcoords="offset points", xytext=(4, 3), fontsize=7)
    for name, (n, fill) in ceilings.items():
        ax.scatter([n], [100 * fill], color="black", marker="*", s=90)
        ax.annotate(name, (n, 100 * fill), textcoords="offset points", xytext=(8, 6), fontsize=7)
    ax.axhline(75, color="grey", ls=":", lw=1)
    ax.annotate(
        "75 %",
        (0, 75),
        xycoords=("axes fraction", "data"),
        xytext=(4, 3),
        textcoords="offset points",
        fontsize=7,
        color="grey",
    )
    ax.set_xlabel("collections in the measured days (median of the seeds)")
    ax.set_ylabel("mean fill at emptying (%)")
    ax.set_title(
        "How full containers are when emptied, and what the waste would allow\n"
        "(the star: every container emptied at its last chance, knowing its future, no trucks;\n"
        "the points: simulated policies, with their share of container-days without overflow)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fill_ceiling", description=__doc__)
    ap.add_argument("--city", default="luebeck")
    ap.add_argument("--bins", type=int, default=1000)
    ap.add_argument("--seeds", type=seed_list, default=[1, 2, 3], help="comma-separated, e.g. 1,2,3")
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--warmup-days", type=int, default=14)
    ap.add_argument("--run-in-days", type=int, default=7)
    ap.add_argument(
        "--service-days",
        type=fraction_days("service days", "residual=mon-sun"),
        default={},
        help="the days a fraction is collected on, as `wasteroute simulate`'s flag",
    )
    ap.add_argument(
        "--visit-hour",
        type=int,
        choices=range(24),
        default=None,
        metavar="H",
        help="one chance a day, at this local hour (default: every full hour of the shift)",
    )
    ap.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="draw fill at emptying against collections here (PNG), with the runs of --compare",
    )
    ap.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        metavar="JSONL",
        help="`benchmarks.frontier` output (JSON lines) or a `wasteroute simulate` summary.json to put "
        "beside the yardstick in the plot (repeatable; a summary's policies are named after its folder)",
    )
    args = ap.parse_args(argv)
    from sensors_sim.city import generate_city

    cfg = SimulationConfig(days=args.days, warmup_days=args.warmup_days, run_in_days=args.run_in_days)
    rows = [
        ceiling(generate_city(args.city, args.bins, seed), seed, cfg, args.service_days, args.visit_hour)
        for seed in args.seeds
    ]
    for r in rows:
        print(json.dumps(r))
    summary = {
        "seeds": args.seeds,
        "visit_hour": args.visit_hour,
        "collections": statistics.median(r["collections"] for r in rows),
        "fill_at_emptying_mean": statistics.median(r["fill_at_emptying_mean"] for r in rows),
        "unavoidable_overflows": statistics.median(r["unavoidable_overflows"] for r in rows),
    }
    print(json.dumps(summary))
    if args.plot is not None:
        measured: dict[str, tuple[float, float, float]] = {}
        for path in args.compare:
            measured |= compared(path)
        daily = "once a day" if args.visit_hour is not None else "any hour of the shift"
        ceilings = {f"last chance, {daily}": (summary["collections"], summary["fill_at_emptying_mean"])}
        draw(ceilings, measured, args.plot)
    return 0


def compared(path: Path) -> dict[str, tuple[float, float, float]]:
    """(collections, fill at emptying, service level) of the runs in ``path``: a frontier's JSON
    lines (medians per variant) or a simulate summary.json (a list of per-policy medians)."""
    text = path.read_text()
    if path.suffix == ".json":
        tag = path.parent.name
        return {
            f"{r['policy']} ({tag})": (
                float(r["collections"]),
                float(r["fill_at_emptying_mean"]),
                float(r["service_level"]),
            )
            for r in json.loads(text)
        }
    return medians([json.loads(line) for line in text.splitlines() if line.strip()])


if __name__ == "__main__":
    raise SystemExit(main())
