"""The report of a simulation: Markdown and PNG plots in one directory, one JSON line per policy."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from wasteroute.config import Settings
from wasteroute.simulation.loop import PolicyRun, SimulationConfig, run_policy
from wasteroute.simulation.measures import (
    CO2_KG_PER_L,
    DIESEL_L_PER_KM,
    measures,
    reliability_table,
)
from wasteroute.storage.db import migrate
from wasteroute.storage.scratch import create_database, drop_database

log = logging.getLogger(__name__)

RELIABILITY_EDGES = (0.0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0)


def simulate_policies(
    city_doc: dict[str, Any],
    base: SimulationConfig,
    policies: Sequence[str],
    server_url: str,
    settings: Settings,
    out_dir: Path,
    *,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Run each policy in a database of its own on ``server_url``, write the report into ``out_dir``,
    and return the measures per policy (in ``policies`` order)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs: list[PolicyRun] = []
    for policy in policies:
        cfg = replace(base, policy=policy)
        name = f"wasteroute_sim_{policy}_s{cfg.seed}"
        url = create_database(server_url, name)
        try:
            migrate(url)
            runs.append(run_policy(city_doc, cfg, url, settings, progress=progress))
        finally:
            drop_database(server_url, name)
    results = [measures(r) for r in runs]
    write_report(runs, results, city_doc, out_dir)
    return results


def _plots(runs: Sequence[PolicyRun], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(8, 4))
    for r in runs:
        ax.plot([d.day for d in r.days], [d.km for d in r.days], marker="o", ms=3, label=r.config.policy)  # type: ignore[arg-type]
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
    return files


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
        f"on the city's old fixed rounds; seed {cfg.seed}; sensor coverage {cfg.sensor_coverage:.0%}; "
        f"readings every {cfg.report_interval_h:g} h with faults '{cfg.faults}'; plan time limit "
        f"{cfg.plan_time_limit_s:g} s per fraction; {cfg.not_reachable:.0%} of stops not reachable.",
        "",
        "Measured from the simulation's truth (true fill levels), not from the planner's forecasts.",
        f"Diesel: {DIESEL_L_PER_KM} L/km (refuse truck in collection duty, typical published value); "
        f"CO2: {CO2_KG_PER_L} kg/L (tank-to-wheel, German Federal Environment Agency).",
        "",
        "| measure | " + " | ".join(str(r["policy"]) for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    keys = [k for k in results[0] if k not in ("policy", "fixed_rhythms")]
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(str(r[k]) for r in results) + " |")
    for r in results:
        if r.get("fixed_rhythms"):
            lines += ["", f"Fixed rhythms chosen from the warm-up: {r['fixed_rhythms']}"]
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
    lines += [f"![{f}]({f})" for f in files]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    (out_dir / "results.json").write_text(json.dumps(list(results), indent=2, default=str) + "\n")
    return path
