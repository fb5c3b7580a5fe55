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

No policy knows its containers' future, so ``--known-model 0.0005,0.002,0.01`` adds a second
yardstick between the ceiling and the product: the dynamic policy's own rule (empty what would reach
full before its next chance with a probability above ``risk``) once a day at the visit hour, on a
perfect model of every container instead of a forecast: its true fill, its true mean rate, weekday
and hour profiles, the calendar and the named events a city can announce. It does not know what the
simulator draws (each day's and hour's noise, the unnamed local events); the simulation's own waste
decides which container-days overflow. No trucks either. What it reaches at a service level is what
the rule could reach if the forecast knew everything that can be known in advance.

The same city, days and fill model as ``wasteroute simulate`` (the measured 28 days after 14 days of
warm-up and 7 of run-in; the containers start empty when the warm-up starts). Prints one JSON line
per seed and, last, the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from benchmarks.frontier import fractions_list
from sensors_sim.outlook import OUTCOMES
from wasteroute.planning.calendar import closed_reason, service_calendar
from wasteroute.simulation.command import fraction_days, seed_list
from wasteroute.simulation.loop import SimulationConfig

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

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


@dataclass(frozen=True)
class Timeline:
    """The hours a yardstick lives through, as ``wasteroute simulate`` does: the warm-up, run-in and
    measured days and one more (so the last measured day's containers have a next chance), from
    local midnight when the warm-up starts; the containers start empty then."""

    city_doc: dict[str, Any]
    zone: ZoneInfo
    start: datetime
    hours: int
    measured: tuple[int, int]
    """First and last hour of the measured days."""

    @classmethod
    def of(cls, city_doc: dict[str, Any], cfg: SimulationConfig) -> Timeline:
        zone = ZoneInfo(city_doc["city"].get("timezone", "Europe/Berlin"))
        day0 = cfg.measured_start
        start = datetime.combine(day0 - timedelta(days=cfg.run_in_days + cfg.warmup_days), time(0), zone)
        end = datetime.combine(day0 + timedelta(days=cfg.days + 1), time(0), zone)
        lo = int((datetime.combine(day0, time(0), zone) - start).total_seconds()) // 3600
        hours = int((end - start).total_seconds()) // 3600
        return cls(city_doc, zone, start, hours, (lo, lo + cfg.days * 24 - 1))

    @property
    def features(self) -> list[dict[str, Any]]:
        feats: list[dict[str, Any]] = self.city_doc["bins"]["features"]
        return feats

    def fractions(self) -> dict[str, list[int]]:
        """The containers (columns) of each fraction."""
        out: dict[str, list[int]] = {}
        for i, f in enumerate(self.features):
            out.setdefault(f["properties"]["fraction"], []).append(i)
        return dict(sorted(out.items()))

    def chances(
        self, fraction: str, service_days: Mapping[str, frozenset[int]], visit_hour: int | None
    ) -> list[int]:
        region = self.city_doc["city"].get("holiday_region")
        rules = service_calendar(str(self.zone), region, service_days.get(fraction))

        def open_day(d: date) -> bool:
            return closed_reason(d, rules) is None

        shift = SHIFTS.get(fraction, DEFAULT_SHIFT)
        return chances(self.start, self.hours, self.zone, open_day, shift, visit_hour)

    def kinds(self) -> list[str]:
        return [f"{f['properties']['fraction']}/{f['properties']['container_type']}" for f in self.features]


def _fill_summary(fills: Sequence[float], kind_of: Sequence[str]) -> dict[str, Any]:
    a = np.asarray(fills)
    return {
        "collections": len(fills),
        "fill_at_emptying_mean": round(float(a.mean()), 4) if a.size else None,
        "fill_at_emptying_p10_p50_p90": [round(float(x), 3) for x in np.percentile(a, [10, 50, 90])]
        if a.size
        else None,
        "by_kind": {
            k: {
                "collections": int(sum(1 for x in kind_of if x == k)),
                "fill_mean": round(float(a[[x == k for x in kind_of]].mean()), 4),
            }
            for k in sorted(set(kind_of))
        },
    }


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

    tl = Timeline.of(city_doc, cfg)
    increments = fill_increments(city_doc, seed, tl.start, tl.hours)
    kinds = tl.kinds()
    fills: list[float] = []
    kind_of: list[str] = []
    unavoidable = 0
    for fraction, cols in tl.fractions().items():
        at = tl.chances(fraction, service_days, visit_hour)
        f, w, u = latest_emptyings(increments[:, cols], at, tl.measured)
        fills += f
        kind_of += [kinds[cols[i]] for i in w]
        unavoidable += u
    summary = _fill_summary(fills, kind_of)
    return {
        "seed": seed,
        "visit_hour": visit_hour,
        "containers": len(kinds),
        "days": cfg.days,
        "collections": summary["collections"],
        "fill_at_emptying_mean": summary["fill_at_emptying_mean"],
        "fill_at_emptying_p10_p50_p90": summary["fill_at_emptying_p10_p50_p90"],
        "unavoidable_overflows": unavoidable,
        "by_kind": summary["by_kind"],
    }


def known_model(
    city_doc: dict[str, Any],
    seed: int,
    cfg: SimulationConfig,
    service_days: Mapping[str, frozenset[int]],
    risks: Sequence[float],
    *,
    visit_hour: int = 10,
    samples: int = OUTCOMES,
) -> list[dict[str, Any]]:
    """The dynamic policy's rule with a perfect model and no trucks: at ``visit_hour`` of every
    service day, each container whose true fill would reach full before its next chance with a
    probability above ``risk`` is emptied, the probability computed from what the simulator knows in
    advance (the container's mean rate, its weekday and hour profiles, the calendar, the named
    events a city can announce) and not from what it draws (each day's and hour's noise, the
    unnamed local events). The simulation's own waste then
    decides how full containers were at emptying and which container-days overflowed (a local day
    on which a container's fill reached full). One result per risk."""
    from sensors_sim.dynamics import container_kind
    from sensors_sim.engine import fill_increments, seeded_fill_model
    from sensors_sim.outlook import overflow_probability, waste_outcomes

    tl = Timeline.of(city_doc, cfg)
    increments = fill_increments(city_doc, seed, tl.start, tl.hours)
    model = seeded_fill_model(city_doc, seed, tl.start)
    rates = model.mean_rate_per_day
    kinds = tl.kinds()
    profile_of = [container_kind(f["properties"]["container_type"]) for f in tl.features]
    local_day = [(tl.start + timedelta(hours=h)).astimezone(tl.zone).date() for h in range(tl.hours)]
    measured_days = sorted({local_day[h] for h in range(tl.measured[0], tl.measured[1] + 1)})
    day_index = {d: k for k, d in enumerate(measured_days)}
    known = {d: model.known_factor(d) for d in sorted(set(local_day))}
    # per fraction: its containers, its chances, and which of them fill by which kind's profiles
    plan: list[tuple[list[int], list[int], list[tuple[str, BoolArray]]]] = []
    for fraction, cols in tl.fractions().items():
        profiles = [profile_of[i] for i in cols]
        masks = [(k, np.array([p == k for p in profiles])) for k in sorted(set(profiles))]
        plan.append((cols, tl.chances(fraction, service_days, visit_hour), masks))
    results = []
    for risk in risks:
        fills: list[float] = []
        kind_of: list[str] = []
        over = np.zeros((len(kinds), len(measured_days)), dtype=bool)
        residue = np.random.default_rng([seed, 0x0E5])
        for cols, at, masks in plan:
            c = np.asarray(cols)
            nxt = {t: (at[k + 1] if k + 1 < len(at) else tl.hours) for k, t in enumerate(at)}
            fill = np.zeros(c.shape[0])
            for h in range(tl.hours):
                if h in nxt:
                    scale = rates[c] * known[local_day[h]][c]
                    p = np.zeros(c.shape[0])
                    for kind, sub in masks:
                        unit = waste_outcomes(
                            kind, tl.start + timedelta(hours=h), nxt[h] - h, str(tl.zone), samples
                        )
                        p[sub] = overflow_probability(fill[sub], scale[sub], unit)
                    empty = (p > risk) | (fill >= 1.0)
                    if tl.measured[0] <= h <= tl.measured[1]:
                        idx = np.flatnonzero(empty)
                        fills.extend(np.minimum(fill[idx], 1.0).tolist())
                        kind_of.extend(kinds[cols[i]] for i in idx)
                    fill[empty] = residue.uniform(0.0, 0.03, int(empty.sum()))
                fill += increments[h, c]
                d = day_index.get(local_day[h])
                if d is not None:
                    over[c, d] |= fill >= 1.0
        summary = _fill_summary(fills, kind_of)
        results.append(
            {
                "seed": seed,
                "risk": risk,
                "visit_hour": visit_hour,
                "containers": len(kinds),
                "days": cfg.days,
                "collections": summary["collections"],
                "service_level": round(1.0 - float(over.mean()), 5),
                "overflow_container_days": int(over.sum()),
                "fill_at_emptying_mean": summary["fill_at_emptying_mean"],
                "fill_at_emptying_p10_p50_p90": summary["fill_at_emptying_p10_p50_p90"],
                "by_kind": summary["by_kind"],
            }
        )
    return results


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
    known: Sequence[tuple[float, float, str]] = (),
) -> None:
    """Fill at emptying against collections: the yardsticks (``ceilings``), the perfect model's
    points (``known``: collections, fill, label) and the simulated policies (``measured``, with their
    service level in the label), with the 75 % line."""
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
    if known:
        ax.plot([k[0] for k in known], [100 * k[1] for k in known], color="black", marker="o", ms=3, lw=0.8)
        for n, fill, label in known:
            ax.annotate(label, (n, 100 * fill), textcoords="offset points", xytext=(5, -9), fontsize=6)
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
        "the black line: the dynamic policy's rule on a perfect model of each container, no trucks;\n"
        "the points: simulated policies; each with its share of container-days without overflow)",
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
    ap.add_argument(
        "--known-model",
        type=fractions_list,
        default=[],
        metavar="RISKS",
        help="also the dynamic policy's rule on a perfect model, no trucks, at these risks (e.g. "
        "0.0005,0.002,0.01), once a day at --visit-hour (default 10)",
    )
    ap.add_argument(
        "--service-level",
        type=float,
        default=0.999,
        help="the share of container-days without overflow the perfect model's summary aims at",
    )
    args = ap.parse_args(argv)
    from sensors_sim.city import generate_city

    cfg = SimulationConfig(days=args.days, warmup_days=args.warmup_days, run_in_days=args.run_in_days)
    cities = {seed: generate_city(args.city, args.bins, seed) for seed in args.seeds}
    rows = [ceiling(cities[seed], seed, cfg, args.service_days, args.visit_hour) for seed in args.seeds]
    for r in rows:
        print(json.dumps(r))
    known: list[dict[str, Any]] = []
    for seed in args.seeds:
        hour = 10 if args.visit_hour is None else args.visit_hour
        if args.known_model:
            known += known_model(
                cities[seed], seed, cfg, args.service_days, args.known_model, visit_hour=hour
            )
    for r in known:
        print(json.dumps(r))
    summary: dict[str, Any] = {
        "seeds": args.seeds,
        "visit_hour": args.visit_hour,
        "collections": statistics.median(r["collections"] for r in rows),
        "fill_at_emptying_mean": statistics.median(r["fill_at_emptying_mean"] for r in rows),
        "unavoidable_overflows": statistics.median(r["unavoidable_overflows"] for r in rows),
    }
    if known:
        summary["known_model"] = known_medians(known)
        summary["known_model_at_target"] = at_target(known, args.service_level)
    print(json.dumps(summary))
    if args.plot is not None:
        measured: dict[str, tuple[float, float, float]] = {}
        for path in args.compare:
            measured |= compared(path)
        daily = "once a day" if args.visit_hour is not None else "any hour of the shift"
        ceilings = {f"last chance, {daily}": (summary["collections"], summary["fill_at_emptying_mean"])}
        line = [
            (
                m["collections"],
                m["fill_at_emptying_mean"],
                f"risk {100 * float(r):g} %: {100 * m['service_level']:.2f} %",
            )
            for r, m in summary.get("known_model", {}).items()
        ]
        draw(ceilings, measured, args.plot, line)
    return 0


def known_medians(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per risk of ``known_model``'s rows, the medians over the seeds."""
    by: dict[float, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(float(r["risk"]), []).append(r)
    return {
        f"{risk:g}": {
            q: float(statistics.median(r[q] for r in rs))
            for q in ("collections", "service_level", "fill_at_emptying_mean", "overflow_container_days")
        }
        for risk, rs in sorted(by.items())
    }


def at_target(rows: Sequence[dict[str, Any]], service_level: float) -> dict[str, Any]:
    """Per seed, the fullest emptying among the risks that kept ``service_level``, and the median."""
    seeds = sorted({int(r["seed"]) for r in rows})
    best: list[dict[str, Any] | None] = []
    for seed in seeds:
        ok = [r for r in rows if r["seed"] == seed and r["service_level"] >= service_level]
        best.append(max(ok, key=lambda r: r["fill_at_emptying_mean"]) if ok else None)
    fills = [b["fill_at_emptying_mean"] for b in best if b is not None]
    return {
        "service_level": service_level,
        "per_seed": [
            None
            if b is None
            else {k: b[k] for k in ("seed", "risk", "service_level", "fill_at_emptying_mean", "collections")}
            for b in best
        ],
        "fill_at_emptying_mean": statistics.median(fills) if len(fills) == len(seeds) else None,
    }


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
