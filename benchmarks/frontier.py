"""What each policy's km buy in service: km against service level for the threshold policy at
several thresholds, the dynamic policy at several risks, and fixed rounds, in the same simulated
city, seed and days.

``python -m benchmarks.frontier --seeds 1,2,3 --thresholds 0.2,0.3,0.4,0.6,0.8 --risks 0.005,0.02
--out DIR`` runs ``wasteroute simulate``'s loop once per seed and variant and keeps each run's
measures in ``DIR/seed-N/<variant>.json``; a run already there is read instead of run again, so an
interrupted sweep goes on where it stopped. A threshold applies to every fraction.

A policy that empties containers earlier buys service with km, so a comparison of two policies at
different service levels says little. The threshold policy's km *at the dynamic policy's service
level* are read off the line through its runs, linearly between the two thresholds whose service
levels lie on either side; where no threshold reached that level, there is no such figure and the
summary says how far the best one got. As a bound that needs no line, the saving against the
threshold run closest below the dynamic policy's service level
(``saving_vs_threshold_at_same_service_at_least``): more service takes a lower threshold, and a lower
threshold drives more.
The dynamic policy's ``risk`` is a dial too: against fixed rounds and the threshold policy at 80 %,
the summary also gives the cheapest dynamic run (any risk of the sweep) whose service level is at
least theirs (``saving_vs_fixed_as_good``, ``saving_vs_threshold_80_as_good``), and the cheapest one
that keeps 99.9 % of container-days free of overflow (``dynamic_risk_at_target``, its km and its
saving against fixed rounds at the service level they reached, ``saving_vs_fixed_at_target``).
Draws ``DIR/frontier.png``; prints one JSON line per run and, last, the summary (medians over the
seeds of the per-seed figures).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from wasteroute.config import Settings
from wasteroute.planning.schedule import format_weekdays
from wasteroute.planning.selection import PolicyOptions
from wasteroute.simulation.command import fraction_days, seed_list
from wasteroute.simulation.loop import PolicyRun, SimulationConfig
from wasteroute.simulation.measures import measures
from wasteroute.simulation.report import run_many
from wasteroute.vocabulary import Fraction

TARGET_SERVICE = 0.999
"""The promise's service level: 99.9 % of container-days without overflow."""
DEFAULT_RISK = PolicyOptions().risk
"""The dynamic policy's own risk: the variant the summary compares."""
KEPT = ("policy", "km", "service_level", "collections", "tours", "fill_at_emptying_mean", "overflows")
"""The measures each JSON line carries (the stored file keeps all of them)."""


def variant_name(policy: str, level: float | None = None) -> str:
    """``fixed``, ``threshold-0.70`` or ``dynamic-risk-0.005``."""
    if policy == "fixed":
        return "fixed"
    if level is None:
        raise ValueError(f"a {policy} variant needs its level")
    return f"threshold-{level:.2f}" if policy == "threshold" else f"dynamic-risk-{level:g}"


def variants(thresholds: Iterable[float], risks: Iterable[float]) -> list[tuple[str, float | None]]:
    """(policy, level) of every run of one seed: fixed rounds, each threshold, each risk."""
    out: list[tuple[str, float | None]] = [("fixed", None)]
    out += [("threshold", float(t)) for t in thresholds]
    out += [("dynamic", float(r)) for r in risks]
    return out


def config_for(base: SimulationConfig, policy: str, level: float | None, seed: int) -> SimulationConfig:
    """``base`` for one variant: a threshold on every fraction, or the dynamic policy's ``risk``."""
    cfg = replace(base, policy=policy, seed=seed)
    if policy == "threshold" and level is not None:
        return replace(cfg, thresholds={str(f): level for f in Fraction})
    if policy == "dynamic" and level is not None:
        return replace(cfg, policy_options={**base.policy_options, "risk": level})
    return cfg


def km_at_service(points: Iterable[tuple[float, float]], level: float) -> float | None:
    """The km of a policy at service ``level``, linear between the two runs (service level, km) on
    either side of it; ``None`` when no run reached the level or all are above it."""
    pts = sorted(points)
    if not pts or not pts[0][0] <= level <= pts[-1][0]:
        return None
    for (s0, k0), (s1, k1) in itertools.pairwise(pts):
        if s0 <= level <= s1:
            return k0 if s1 == s0 else k0 + (k1 - k0) * (level - s0) / (s1 - s0)
    return pts[-1][1]  # a single run exactly at the level


def seed_summary(rows: Sequence[dict[str, Any]], risk: float = DEFAULT_RISK) -> dict[str, Any]:
    """One seed's comparison: the dynamic policy at ``risk`` against fixed rounds, against the
    threshold policy at 80 % and against the threshold policy at the same service level."""
    by = {r["variant"]: r for r in rows}
    dyn = by.get(variant_name("dynamic", risk))
    if dyn is None:
        raise ValueError(f"no run of the dynamic policy at risk {risk:g}")
    thresholds = [r for r in rows if r["policy"] == "threshold"]
    same = km_at_service([(r["service_level"], r["km"]) for r in thresholds], dyn["service_level"])
    best = max(thresholds, key=lambda r: r["service_level"], default=None)
    # the threshold run closest below the dynamic policy's service: reaching that service takes a
    # lower threshold, which drives at least as much (the line between two runs, over a curve that
    # steepens towards full service, may overstate the km in between)
    below = max(
        (r for r in thresholds if r["service_level"] <= dyn["service_level"]),
        key=lambda r: r["service_level"],
        default=None,
    )
    at_least = None if below is None else 1 - dyn["km"] / below["km"]
    out: dict[str, Any] = {
        "seed": dyn["seed"],
        "dynamic_km": dyn["km"],
        "dynamic_service_level": dyn["service_level"],
        "threshold_km_at_same_service": None if same is None else round(same, 1),
        "saving_vs_threshold_at_same_service": None if same is None else round(1 - dyn["km"] / same, 4),
        "saving_vs_threshold_at_same_service_at_least": None if at_least is None else round(at_least, 4),
        "best_threshold_service_level": None if best is None else best["service_level"],
    }
    dynamic = [r for r in rows if r["policy"] == "dynamic"]
    # the promise's service level: the cheapest risk that keeps 99.9 % of container-days free of
    # overflow, against fixed rounds at whatever service they reached (below it, they would need more)
    top = min(
        (r for r in dynamic if r["service_level"] >= TARGET_SERVICE), key=lambda r: r["km"], default=None
    )
    out["dynamic_risk_at_target"] = None if top is None else top["level"]
    out["dynamic_km_at_target"] = None if top is None else top["km"]
    if "fixed" in by:
        out["saving_vs_fixed_at_target"] = (
            None if top is None else round(1 - top["km"] / by["fixed"]["km"], 4)
        )
    for name, key in (("threshold-0.80", "threshold_80"), ("fixed", "fixed")):
        if name in by:
            out[f"{key}_km"] = by[name]["km"]
            out[f"{key}_service_level"] = by[name]["service_level"]
            out[f"saving_vs_{key}"] = round(1 - dyn["km"] / by[name]["km"], 4)
            out |= cheapest_as_good(dynamic, by[name], key)
    return out


def cheapest_as_good(dynamic: Sequence[dict[str, Any]], base: dict[str, Any], key: str) -> dict[str, Any]:
    """The dynamic run (any risk) with the fewest km among those whose service level is at least
    ``base``'s, and its saving against ``base``: what a city gets that turns the policy's dial to
    match a baseline's service rather than to its own default. ``None`` when no dynamic run is as good.
    """
    good = [r for r in dynamic if r["service_level"] >= base["service_level"]]
    best = min(good, key=lambda r: r["km"], default=None)
    return {
        f"dynamic_risk_as_good_as_{key}": None if best is None else best["level"],
        f"saving_vs_{key}_as_good": None if best is None else round(1 - best["km"] / base["km"], 4),
    }


def summarise(per_seed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the seeds of every number of :func:`seed_summary` (``None`` where a seed has
    none), and the seeds."""
    out: dict[str, Any] = {"seeds": [s["seed"] for s in per_seed]}
    for key in per_seed[0]:
        if key == "seed":
            continue
        values = [s[key] for s in per_seed if isinstance(s.get(key), int | float)]
        out[key] = round(float(statistics.median(values)), 5) if len(values) == len(per_seed) else None
    return out


def _stored(out_dir: Path, seed: int, policy: str, level: float | None) -> Path:
    """Where one seed's run of one variant is kept."""
    return out_dir / f"seed-{seed}" / f"{variant_name(policy, level)}.json"


def pending(
    runs: Sequence[tuple[str, float | None]], seeds: Sequence[int], out_dir: Path
) -> list[tuple[int, str, float | None]]:
    """(seed, policy, level) of the runs not yet stored in ``out_dir``."""
    return [
        (seed, policy, level)
        for seed in seeds
        for policy, level in runs
        if not _stored(out_dir, seed, policy, level).exists()
    ]


def sweep(
    city_for_seed: Callable[[int], dict[str, Any]],
    base: SimulationConfig,
    runs: Sequence[tuple[str, float | None]],
    seeds: Sequence[int],
    server_url: str,
    settings: Settings,
    out_dir: Path,
    *,
    jobs: int = 1,
) -> list[dict[str, Any]]:
    """Every variant for every seed, each stored in ``out_dir/seed-N/<variant>.json`` as it ends (and
    read from there when it is already); rows ``{seed, variant, level, **measures}`` in order."""
    todo = pending(runs, seeds, out_dir)
    if todo:
        docs = {seed: city_for_seed(seed) for seed in {seed for seed, _, _ in todo}}

        def keep(i: int, run: PolicyRun) -> None:
            path = _stored(out_dir, *todo[i])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(measures(run), indent=1) + "\n")

        tasks = [(docs[seed], config_for(base, policy, level, seed)) for seed, policy, level in todo]
        run_many(tasks, server_url, settings, jobs=max(jobs, 1), done=keep)
    rows = []
    for seed in seeds:
        for policy, level in runs:
            result = json.loads(_stored(out_dir, seed, policy, level).read_text())
            rows.append({"seed": seed, "variant": variant_name(policy, level), "level": level, **result})
    return rows


def draw(rows: Sequence[dict[str, Any]], out: Path, note: str = "") -> None:
    """km against service level, a panel per seed: a line per policy through its variants; ``note``
    goes under the title (e.g. the service days)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = sorted({r["seed"] for r in rows})
    fig, axes = plt.subplots(1, len(seeds), figsize=(5.5 * len(seeds), 4.5), squeeze=False, sharey=True)
    styles = {"threshold": ("C1", "s"), "dynamic": ("C0", "o"), "fixed": ("C2", "*")}
    for ax, seed in zip(axes[0], seeds, strict=True):
        for policy, (colour, marker) in styles.items():
            pts = sorted(
                (100 * r["service_level"], r["km"], r["level"])
                for r in rows
                if r["seed"] == seed and r["policy"] == policy
            )
            if not pts:
                continue
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                color=colour,
                marker=marker,
                ms=9 if policy == "fixed" else 5,
                label=policy,
            )
            # the dynamic runs lie close together: their labels stand in a column to the left, each
            # joined to its point by a thin line
            by_km = sorted(pts, key=lambda p: p[1])
            for x, y, level in pts:
                if level is None:
                    continue
                if policy == "threshold":
                    ax.annotate(
                        f"at {level:.0%}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7
                    )
                    continue
                k = by_km.index((x, y, level))
                ax.annotate(
                    f"risk {level:.1%}",
                    (x, y),
                    textcoords="offset points",
                    xytext=(-75, 12 * k - 4),
                    fontsize=7,
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": colour},
                )
        ax.axvline(99.9, color="grey", ls=":", lw=1)
        ax.annotate(
            "99.9 %",
            (99.9, 0),
            xycoords=("data", "axes fraction"),
            xytext=(-30, 4),
            textcoords="offset points",
            fontsize=7,
            color="grey",
        )
        ax.set_xlim(right=max(99.95, ax.get_xlim()[1]))
        ax.set_title(f"seed {seed}", fontsize=9)
        ax.set_xlabel("service level: container-days without overflow (%)")
    axes[0][0].set_ylabel("km in the measured days")
    axes[0][0].legend(fontsize=8)
    title = "What the km buy: each policy at several settings (up and left is worse)"
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def fractions_list(text: str) -> list[float]:
    """``0.2,0.8``: numbers between 0 and 1 (thresholds, risks), for an argument's ``type``."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or not all(0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected fractions between 0 and 1, got {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.frontier", description=__doc__)
    ap.add_argument("--city", default="luebeck")
    ap.add_argument("--bins", type=int, default=1000)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--warmup-days", type=int, default=14)
    ap.add_argument("--run-in-days", type=int, default=7)
    ap.add_argument("--plan-iterations", type=int, default=500)
    ap.add_argument("--seeds", type=seed_list, default=[1], help="comma-separated, e.g. 1,2,3")
    ap.add_argument("--thresholds", type=fractions_list, default=[0.2, 0.3, 0.4, 0.6, 0.8])
    ap.add_argument("--risks", type=fractions_list, default=[DEFAULT_RISK, 0.02])
    ap.add_argument(
        "--service-days",
        type=fraction_days("service days", "residual=mon-sun"),
        default={},
        help="the days a fraction is collected on under every policy, as `wasteroute simulate`'s flag "
        "(e.g. 'residual=mon-sun' for Sunday rounds)",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(".bench/frontier"))
    args = ap.parse_args(argv)
    seeds: list[int] = args.seeds
    if DEFAULT_RISK not in args.risks:
        raise SystemExit(f"--risks must include the dynamic policy's own risk, {DEFAULT_RISK:g}")

    from sensors_sim.city import generate_city
    from wasteroute.runtime.services import start_services

    base = SimulationConfig(
        days=args.days,
        warmup_days=args.warmup_days,
        run_in_days=args.run_in_days,
        plan_iterations=args.plan_iterations,
        service_days=args.service_days,
    )
    runs = variants(args.thresholds, args.risks)
    settings = Settings()
    # every run already stored: nothing to start
    services = (
        start_services(settings, need_broker=False, migrate_db=False)
        if pending(runs, seeds, args.out)
        else None
    )
    try:
        rows = sweep(
            lambda seed: generate_city(args.city, args.bins, seed),
            base,
            runs,
            seeds,
            services.database_url if services is not None else "",
            settings,
            args.out,
            jobs=args.jobs,
        )
    finally:
        if services is not None:
            services.stop()
    days = "; ".join(f"{f} {format_weekdays(ds)}" for f, ds in args.service_days.items())
    draw(rows, args.out / "frontier.png", f"service days: {days} (others Monday to Saturday)" if days else "")
    per_seed = [seed_summary([r for r in rows if r["seed"] == s]) for s in seeds]
    for r in rows:
        print(json.dumps({"seed": r["seed"], "variant": r["variant"]} | {k: r[k] for k in KEPT}))
    for s in per_seed:
        print(json.dumps(s))
    print(json.dumps(summarise(per_seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
