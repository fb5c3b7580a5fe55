"""The report of a simulation: Markdown and PNG plots in one directory, one JSON line per policy."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

from wasteroute.config import Settings
from wasteroute.planning.distances import GreatCircleProvider
from wasteroute.planning.schedule import format_weekdays
from wasteroute.simulation.loop import PolicyRun, SimulationConfig, run_policy
from wasteroute.simulation.measures import (
    CO2_KG_PER_L,
    DIESEL_L_PER_KM,
    SMALL_PROBABILITIES,
    TAG_PARTS,
    measures,
    reliability_misses,
    reliability_table,
)
from wasteroute.simulation.rhythm import SERVICE_LEVEL as RHYTHM_SERVICE_LEVEL
from wasteroute.storage.db import migrate
from wasteroute.storage.scratch import create_database, drop_database

log = logging.getLogger(__name__)

RELIABILITY_EDGES = (0.0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0)


def _run_one(
    city_doc: dict[str, Any], cfg: SimulationConfig, server_url: str, settings: Settings, progress: bool
) -> PolicyRun:
    """One policy and seed in a scratch database of its own (dropped afterwards)."""
    if progress and not logging.getLogger().handlers:  # a worker process of its own
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    name = f"wasteroute_sim_{os.getpid()}_{cfg.policy}_s{cfg.seed}"
    url = create_database(server_url, name)
    try:
        migrate(url)
        return run_policy(city_doc, cfg, url, settings, progress=progress)
    finally:
        drop_database(server_url, name)


def run_many(
    tasks: Sequence[tuple[dict[str, Any], SimulationConfig]],
    server_url: str,
    settings: Settings,
    *,
    jobs: int = 1,
    progress: bool = False,
    done: Callable[[int, PolicyRun], None] | None = None,
) -> list[PolicyRun]:
    """Run every (city, config) task, ``jobs`` at a time in processes of their own; results in task
    order. A run depends only on its city and config, so ``jobs`` changes nothing but the time.
    ``done(i, run)`` is called as each task ``i`` ends, in the order they end (to keep a run before
    the others are through)."""
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    runs: dict[int, PolicyRun] = {}

    def finish(i: int, run: PolicyRun) -> None:
        runs[i] = run
        if done is not None:
            done(i, run)

    if jobs == 1 or len(tasks) <= 1:
        for i, (doc, cfg) in enumerate(tasks):
            finish(i, _run_one(doc, cfg, server_url, settings, progress))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx) as pool:
            futures = {
                pool.submit(_run_one, doc, cfg, server_url, settings, progress): i
                for i, (doc, cfg) in enumerate(tasks)
            }
            for f in as_completed(futures):
                finish(futures[f], f.result())
    return [runs[i] for i in range(len(tasks))]


def simulate_policies(
    city_doc: dict[str, Any],
    base: SimulationConfig,
    policies: Sequence[str],
    server_url: str,
    settings: Settings,
    out_dir: Path,
    *,
    progress: bool = False,
    jobs: int = 1,
) -> list[dict[str, Any]]:
    """Run each policy in a database of its own on ``server_url``, write the report into ``out_dir``,
    and return the measures per policy (in ``policies`` order)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(city_doc, replace(base, policy=p)) for p in policies]
    runs = run_many(tasks, server_url, settings, jobs=jobs, progress=progress)
    results = [measures(r) for r in runs]
    write_report(runs, results, city_doc, out_dir)
    return results


def simulate_seeds(
    city_for_seed: Callable[[int], dict[str, Any]],
    base: SimulationConfig,
    policies: Sequence[str],
    seeds: Sequence[int],
    server_url: str,
    settings: Settings,
    out_dir: Path,
    *,
    progress: bool = False,
    jobs: int = 1,
) -> dict[int, list[dict[str, Any]]]:
    """Every policy for every seed (the city of each seed from ``city_for_seed``): a report per seed
    in ``out_dir/seed-N`` and ``summary.md``/``summary.json`` with the medians over the seeds."""
    docs = {seed: city_for_seed(seed) for seed in seeds}
    tasks = [(docs[seed], replace(base, policy=p, seed=seed)) for seed in seeds for p in policies]
    runs = run_many(tasks, server_url, settings, jobs=jobs, progress=progress)
    per_seed: dict[int, list[dict[str, Any]]] = {}
    for i, seed in enumerate(seeds):
        seed_runs = runs[i * len(policies) : (i + 1) * len(policies)]
        results = [measures(r) for r in seed_runs]
        seed_dir = out_dir / f"seed-{seed}"
        seed_dir.mkdir(parents=True, exist_ok=True)
        write_report(seed_runs, results, docs[seed], seed_dir)
        per_seed[seed] = results
    write_summary(per_seed, out_dir)
    return per_seed


def summarise(per_seed: Mapping[int, Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per policy: the median over the seeds of every numeric measure, and for ``dynamic`` the median
    relative km saving against each other policy (``km_saving_vs_<policy>``, a fraction)."""
    policies = [r["policy"] for r in next(iter(per_seed.values()))]
    by_policy = {p: [next(r for r in rs if r["policy"] == p) for rs in per_seed.values()] for p in policies}
    out = []
    for p in policies:
        rows = by_policy[p]
        row: dict[str, Any] = {"policy": p, "seeds": list(per_seed)}
        for k, v in rows[0].items():
            if k != "policy" and isinstance(v, int | float) and not isinstance(v, bool):
                values = [r[k] for r in rows if isinstance(r.get(k), int | float)]
                row[k] = round(float(statistics.median(values)), 5)
        if p == "dynamic":
            for other in policies:
                if other != p:
                    savings = [
                        1.0 - d["km"] / o["km"]
                        for d, o in zip(rows, by_policy[other], strict=True)
                        if o["km"]
                    ]
                    if savings:
                        row[f"km_saving_vs_{other}"] = round(float(statistics.median(savings)), 4)
        out.append(row)
    return out


def write_summary(per_seed: Mapping[int, Sequence[dict[str, Any]]], out_dir: Path) -> Path:
    """``summary.md`` and ``summary.json`` in ``out_dir``: medians over seeds (see :func:`summarise`)."""
    rows = summarise(per_seed)
    keys = [k for k in rows[0] if k not in ("policy", "seeds")]
    keys += [k for r in rows for k in r if k.startswith("km_saving_vs_") and k not in keys]
    lines = [
        f"# Policy simulation: medians over seeds {', '.join(str(s) for s in per_seed)}",
        "",
        "Each seed's own report is in `seed-N/report.md`.",
        "",
        "| measure | " + " | ".join(str(r["policy"]) for r in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(str(r.get(k, "")) for r in rows) + " |")
    path = out_dir / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    (out_dir / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    return path


def _plots(runs: Sequence[PolicyRun], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(8, 4))
    for r in runs:
        measured = r.measured_days
        ax.plot([d.day for d in measured], [d.km for d in measured], marker="o", ms=3, label=r.config.policy)  # type: ignore[arg-type]
    ax.set_ylabel("km per planning day")
    ax.set_title("Daily km per policy")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out_dir / "daily_km.png", dpi=100)
    plt.close(fig)
    files.append("daily_km.png")

    fig, ax = plt.subplots(figsize=(8, 4))
    bins = [i / 20 for i in range(0, 31)]
    for r in runs:
        ax.hist(
            [min(x, 1.5) for x in r.truth.fill_at_emptying], bins=bins, histtype="step", label=r.config.policy
        )
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_xlabel("true fill at emptying (1.0 = full)")
    ax.set_ylabel("collections")
    ax.set_title("Fill at emptying")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "fill_at_emptying.png", dpi=100)
    plt.close(fig)
    files.append("fill_at_emptying.png")

    fig, ax = plt.subplots(figsize=(8, 4))
    for r in runs:
        days = sorted(r.truth.daily_overflow_events)
        total = 0
        ys = []
        for d in days:
            total += r.truth.daily_overflow_events[d]
            ys.append(total)
        ax.step(days, ys, where="post", label=r.config.policy)  # type: ignore[arg-type]
    ax.set_ylabel("overflow events, cumulative")
    ax.set_title("Overflows over time")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out_dir / "overflows.png", dpi=100)
    plt.close(fig)
    files.append("overflows.png")

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    for r in runs:
        table = reliability_table(r.truth.reliability, RELIABILITY_EDGES)
        ax.plot(
            [t["forecast"] for t in table], [t["observed"] for t in table], marker="o", label=r.config.policy
        )
    ax.set_xlabel("forecast probability of overflow before the next planning day")
    ax.set_ylabel("observed share that overflowed")
    ax.set_title("Reliability of the overflow forecast")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "reliability.png", dpi=100)
    plt.close(fig)
    files.append("reliability.png")

    names = sorted({name for r in runs for name in r.trucks})
    if names:
        fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) * max(1, len(runs)) / 2 + 1.5))
        height = 0.8 / max(1, len(runs))
        for k, r in enumerate(runs):
            bar_y = [float(i) + k * height for i in range(len(names))]
            km = [r.trucks[n].km if n in r.trucks else 0.0 for n in names]
            ax.barh(bar_y, km, height=height, label=r.config.policy)
        first = {n: next(r.trucks[n] for r in runs if n in r.trucks) for n in names}
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(names))])
        ax.set_yticklabels([f"{n} ({first[n].fraction}, {first[n].access_class})" for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("km over the measured days")
        ax.set_title("Where the km go: km per truck")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "km_by_truck.png", dpi=100)
        plt.close(fig)
        files.append("km_by_truck.png")
    return files


def _days_clause(title: str, days: Mapping[str, str]) -> str:
    """`` Title: fraction days; fraction days.`` for the report's header, or nothing without days."""
    if not days:
        return ""
    return f" {title}: " + "; ".join(f"{f} {d}" for f, d in sorted(days.items())) + "."


def _policy_table(
    results: Sequence[dict[str, Any]],
    key: str,
    columns: Sequence[str],
    head: Callable[[str, dict[str, Any]], Sequence[object]],
    cell: Callable[[dict[str, Any]], str],
) -> list[str]:
    """A Markdown table of ``results[*][key]``: a row per name (its ``columns`` from ``head``), a cell
    per policy."""
    names = sorted({k for r in results for k in r.get(key) or {}})
    lines = ["| " + " | ".join([*columns, *(str(r["policy"]) for r in results)]) + " |"]
    lines.append("|" + "---|" * (len(columns) + len(results)))
    for name in names:
        first = next(r[key][name] for r in results if name in (r.get(key) or {}))
        cells = [cell((r.get(key) or {}).get(name, {})) for r in results]
        lines.append("| " + " | ".join([str(x) for x in head(name, first)] + cells) + " |")
    return lines


def _pct_or_dash(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _kind_table(results: Sequence[dict[str, Any]]) -> list[str]:
    """Per fraction and container type: collections / mean fill at emptying / overflow events."""
    return [
        "",
        "## By fraction and container type",
        "",
        "collections / mean fill at emptying / overflow events, per policy",
        "",
        *_policy_table(
            results,
            "by_kind",
            ["kind", "containers"],
            lambda name, k: [name, k["containers"]],
            lambda k: (
                f"{k.get('collections', 0)} / {_pct_or_dash(k.get('fill_at_emptying_mean'))} / "
                f"{k.get('overflows', 0)}"
            ),
        ),
    ]


def round_trips_km(city_doc: dict[str, Any]) -> dict[str, float]:
    """Per truck: road km from its depot to the nearest facility taking its fraction and back (the
    product's default distances: great circle times the detour factor). Every tour drives at least
    this (it starts at the depot, unloads at a facility and ends at the depot), whatever it collects."""
    depots = {d["external_id"]: (d["lat"], d["lon"]) for d in city_doc.get("depots", [])}
    out: dict[str, float] = {}
    for v in city_doc.get("vehicles", []):
        depot = depots.get(v.get("depot", ""))
        places = [
            (f["lat"], f["lon"]) for f in city_doc.get("facilities", []) if v["fraction"] in f["fractions"]
        ]
        if depot is None or not places:
            continue
        metres, _ = GreatCircleProvider().matrices([depot, *places])
        out[v["external_id"]] = 2.0 * float(metres[0, 1:].min()) / 1000.0
    return out


def _truck_table(results: Sequence[dict[str, Any]], city_doc: dict[str, Any]) -> list[str]:
    """Per truck and policy: tours / km / loads and how full the loads were, beside the round trip
    between depot and facility that every tour makes. A load is a trip to the facility; the waste to
    haul is the same under every policy, so full loads bound what a policy can save."""
    if not any(r.get("by_truck") for r in results):
        return []
    trips = round_trips_km(city_doc)
    return [
        "",
        "## By truck",
        "",
        "tours / km / loads at their mean fill of the truck, per policy; every tour drives at least the "
        "round trip between its depot and the facility (road km, in the fourth column), whatever it collects",
        "",
        *_policy_table(
            results,
            "by_truck",
            ["truck", "fraction", "access", "depot-facility-depot km"],
            lambda name, t: [
                name,
                t["fraction"],
                t["access_class"],
                f"{trips[name]:.1f}" if name in trips else "-",
            ],
            lambda t: (
                f"{t.get('tours', 0)} / {t.get('km', 0):.0f} / {t.get('loads', 0)} at "
                f"{_pct_or_dash(t.get('load_utilisation'))}"
            ),
        ),
    ]


def write_report(
    runs: Sequence[PolicyRun], results: Sequence[dict[str, Any]], city_doc: dict[str, Any], out_dir: Path
) -> Path:
    """``report.md`` (+ the PNGs and ``results.json``) in ``out_dir``; returns the Markdown's path."""
    files = _plots(runs, out_dir)
    cfg = runs[0].config
    lines = [
        f"# Policy simulation: {city_doc['city']['name']}",
        "",
        f"{results[0]['containers']} containers, {len(city_doc['vehicles'])} trucks in the city file"
        + (" (one truck fewer per fraction in this run)" if cfg.one_truck_fewer else "")
        + f"; {cfg.days} days measured from {cfg.measured_start} after {cfg.warmup_days} days of warm-up "
        f"on the city's old fixed rounds and {cfg.run_in_days} days of run-in on the policy; seed "
        f"{cfg.seed}; sensor coverage {cfg.sensor_coverage:.0%}; readings every {cfg.report_interval_h:g} h "
        f"with faults '{cfg.faults}'; routing "
        + (f"{cfg.plan_iterations} PyVRP iterations (at most " if cfg.plan_iterations else "")
        + f"{cfg.plan_time_limit_s:g} s"
        + (")" if cfg.plan_iterations else "")
        + f" per fraction and day; {cfg.not_reachable:.0%} of stops not reachable."
        + (
            f" Fixed rounds' rhythms survive {cfg.fixed_service_level:.3%} of their gaps by the warm-up."
            if cfg.fixed_service_level != RHYTHM_SERVICE_LEVEL
            else ""
        )
        + (f" Dynamic policy options: {dict(cfg.policy_options)}." if cfg.policy_options else "")
        + "".join(
            f" Dynamic policy options for {f}: {dict(o)}." for f, o in sorted(cfg.fraction_options.items())
        )
        + _days_clause(
            "Dynamic collection days", {f: format_weekdays(d) for f, d in cfg.collection_days.items()}
        )
        + _days_clause(
            "Service days (every policy; other fractions Monday to Saturday)",
            {f: format_weekdays(d) for f, d in cfg.service_days.items()},
        ),
        "",
        *(
            [
                "**Perfect foresight (a what-if, not the product):** the dynamic and threshold policies "
                "planned from each container's true fill and the waste it was going to receive, not from "
                "the forecast. The forecast measures below (band, reliability) are therefore trivial.",
                "",
            ]
            if cfg.perfect_forecast
            else []
        ),
        *(
            [
                "**Perfect model (a what-if, not the product):** the dynamic and threshold policies planned "
                "from each container's true fill and a perfect model of its waste (its true mean rate, "
                "profiles, the calendar and named events; not each day's noise nor the unnamed events), "
                "not from the forecast.",
                "",
            ]
            if cfg.known_model
            else []
        ),
        *(
            [
                "**Announced events (a what-if):** the city announced its named local events (their days, "
                "place and waste factors) and the forecast counted them; unnamed ones stayed unannounced.",
                "",
            ]
            if cfg.announce_events
            else []
        ),
        "Measured from the simulation's truth (true fill levels), not from the planner's forecasts.",
        f"Diesel: {DIESEL_L_PER_KM} L/km (refuse truck in collection duty, typical published value); "
        f"CO2: {CO2_KG_PER_L} kg/L (tank-to-wheel, German Federal Environment Agency).",
        "",
        "| measure | " + " | ".join(str(r["policy"]) for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    keys = [
        k for k in results[0] if k not in ("policy", "fixed_rhythms", "by_kind", "by_truck", "overflow_log")
    ]
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(str(r[k]) for r in results) + " |")
    for r in results:
        if r.get("fixed_rhythms"):
            lines += ["", f"Fixed rhythms chosen from the warm-up: {r['fixed_rhythms']}"]
    lines += _kind_table(results)
    lines += _truck_table(results, city_doc)
    lines += ["", "## Reliability of the overflow forecast", ""]
    for run in runs:
        lines.append(f"**{run.config.policy}**: forecast bin → observed overflow share (n)")
        lines.append("")
        for t in reliability_table(run.truth.reliability, RELIABILITY_EDGES):
            lines.append(
                f"- {t['from']:.3f}–{t['to']:.3f}: forecast {t['forecast']:.3f}, "
                f"observed {t['observed']:.3f} (n={t['n']})"
            )
        lines.append("")
        lines += _misses_lines(run)
    lines += [f"![{f}]({f})" for f in files]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    (out_dir / "results.json").write_text(json.dumps(list(results), indent=2, default=str) + "\n")
    return path


def _misses_lines(run: PolicyRun) -> list[str]:
    """Where the small overflow probabilities miss, by container kind, sensor health, weekday and the
    local event (if any) near the container in the forecast's days."""
    misses = reliability_misses(run.truth.reliability, run.truth.reliability_tags)
    if not misses:
        return []
    lo, hi = SMALL_PROBABILITIES
    out = [
        f"Forecasts of {lo:.1%} to {hi:.0%}: overflows expected (sum of the probabilities) and observed,"
        " by group, most beyond the forecast first",
        "",
        "| by | group | forecasts | expected | observed | observed / expected |",
        "|---|---|---|---|---|---|",
    ]
    for name in TAG_PARTS:
        for r in misses.get(name, [])[:6]:
            out.append(
                f"| {name} | {r['group']} | {r['n']} | {r['expected']} | {r['observed']} | {r['ratio']} |"
            )
    return [*out, ""]
