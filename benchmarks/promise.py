"""Where the promise stands: km against fixed rounds and fill at emptying, every policy in one picture.

``python -m benchmarks.promise --fixed DIR LABEL=DIR[:POLICY] ...`` reads the per-seed results
(``DIR/seed-N/results.json``) of ``wasteroute simulate --seeds`` runs and puts each run (a label, a run
directory and the policy in it, ``dynamic`` unless named) beside the fixed rounds of ``--fixed`` of the
same seed: its km as a change against theirs, its mean fill at emptying and its share of container-days
without overflow. The promise is the corner of 40 % fewer km and 75 % full at 99.9 %; ``--ceiling``
draws a fill no run with trucks is expected to pass (the product's rule on a perfect model without
trucks, from ``benchmarks.fill_ceiling --known-model``). Prints one JSON line per label and seed, the
last line the medians per label, and draws them (``--out``, PNG).

Fixed rounds whose rhythms were chosen for 99.9 % of gaps keep fewer container-days free of overflow
than that, so a run at 99.9 % is safer than they are. ``--fixed-safer DIR`` (repeatable) adds runs of
fixed rounds asked for more (``wasteroute simulate --policy fixed --fixed-service-level 0.9999``);
each run is then also compared with fixed rounds *as safe as it is* (``km_vs_fixed_as_safe``): their
km at its service level, read off the line through the fixed runs of its seed, linearly between the
two on either side. A run safer than every fixed run is compared with the safest one
(``fixed_as_safe_at_least``: the saving is then a lower bound, as more service takes more rounds); a
run less safe than every fixed run has no such figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.frontier import km_at_service

TARGET_KM = -0.40
TARGET_FILL = 0.75
TARGET_SERVICE = 0.999


def _run(text: str) -> tuple[str, Path, str]:
    """``dynamic, round days=.bench/x:dynamic`` -> ("dynamic, round days", Path(".bench/x"), "dynamic")."""
    label, sep, rest = text.partition("=")
    where, colon, policy = rest.rpartition(":") if ":" in rest else (rest, "", "dynamic")
    if not sep or not label.strip() or not where.strip() or (colon and not policy.strip()):
        raise argparse.ArgumentTypeError(f"expected LABEL=DIR or LABEL=DIR:POLICY, got {text!r}")
    return label.strip(), Path(where.strip()), policy.strip()


def _results(d: Path) -> dict[int, dict[str, dict[str, Any]]]:
    """Per seed, per policy: the results of a ``wasteroute simulate --seeds`` run directory."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for path in sorted(d.glob("seed-*/results.json")):
        seed = int(path.parent.name.removeprefix("seed-"))
        out[seed] = {str(r["policy"]): r for r in json.loads(path.read_text())}
    if not out:
        raise SystemExit(f"no seed-N/results.json in {d} (a run of `wasteroute simulate --seeds`)")
    return out


def fixed_as_safe(points: Sequence[tuple[float, float]], level: float) -> tuple[float | None, bool]:
    """Fixed rounds' km at service ``level`` from their runs (service level, km): linear between the
    two on either side, or the safest run's when ``level`` is above them all (then ``True``: a bound);
    ``None`` below them all."""
    safest = max(points, default=None)
    if safest is not None and level > safest[0]:
        return safest[1], True
    return km_at_service(points, level), False


def against_fixed(
    runs: Sequence[tuple[str, Path, str]], fixed: Path, safer: Sequence[Path] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per label and seed that has fixed rounds to compare with, and the medians per label."""
    usual = _results(fixed)
    reference = {seed: by["fixed"]["km"] for seed, by in usual.items() if "fixed" in by}
    fixed_line: dict[int, list[tuple[float, float]]] = {}
    for results in (usual, *map(_results, safer)):
        for seed, by in results.items():
            if "fixed" in by:
                fixed_line.setdefault(seed, []).append((by["fixed"]["service_level"], by["fixed"]["km"]))
    rows: list[dict[str, Any]] = []
    for label, d, policy in runs:
        for seed, by in _results(d).items():
            r = by.get(policy)
            if r is None:
                raise SystemExit(f"no {policy!r} policy in {d}/seed-{seed}/results.json")
            if seed not in reference:
                continue
            row = {
                "label": label,
                "seed": seed,
                "km": r["km"],
                "km_vs_fixed": round(r["km"] / reference[seed] - 1.0, 4),
                "fill_at_emptying_mean": r["fill_at_emptying_mean"],
                "service_level": r["service_level"],
                "tours": r["tours"],
            }
            if safer:
                km, bound = fixed_as_safe(fixed_line[seed], r["service_level"])
                row["km_vs_fixed_as_safe"] = None if km is None else round(r["km"] / km - 1.0, 4)
                row["fixed_as_safe_at_least"] = bound
            rows.append(row)
    medians = []
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = [r for r in rows if r["label"] == label]
        median = {
            "label": label,
            "seeds": [r["seed"] for r in mine],
            **{
                k: round(statistics.median(r[k] for r in mine), 5)
                for k in ("km", "km_vs_fixed", "fill_at_emptying_mean", "service_level", "tours")
            },
        }
        if safer:
            # a median only where every seed has fixed rounds as safe to compare with
            as_safe = [r["km_vs_fixed_as_safe"] for r in mine]
            median["km_vs_fixed_as_safe"] = None if None in as_safe else round(statistics.median(as_safe), 5)
        medians.append(median)
    return rows, medians


def draw(
    rows: Sequence[dict[str, Any]], medians: Sequence[dict[str, Any]], out: Path, ceiling: float | None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    ax.fill_between(
        [-60, 100 * TARGET_KM], 100 * TARGET_FILL, 100, color="tab:green", alpha=0.12, label="the promise"
    )
    if ceiling is not None:
        ax.axhline(
            100 * ceiling,
            color="0.4",
            linestyle="dashed",
            label="the product's rule on a perfect model, no trucks, 99.9 %",
        )
    for j, m in enumerate(medians):
        mine = [r for r in rows if r["label"] == m["label"]]
        colour = f"C{j % 10}"
        ax.scatter(
            [100 * r["km_vs_fixed"] for r in mine],
            [100 * r["fill_at_emptying_mean"] for r in mine],
            s=14,
            color=colour,
            alpha=0.5,
        )
        kept = m["service_level"] >= TARGET_SERVICE
        as_safe = m.get("km_vs_fixed_as_safe")
        ax.scatter(
            [100 * m["km_vs_fixed"]],
            [100 * m["fill_at_emptying_mean"]],
            s=80,
            facecolors=colour if kept else "none",
            edgecolors=colour,
            label=f"{m['label']}: {100 * m['km_vs_fixed']:+.0f} % km"
            + ("" if as_safe is None else f" ({100 * as_safe:+.0f} % against fixed rounds as safe)")
            + f", {100 * m['fill_at_emptying_mean']:.0f} % full, {100 * m['service_level']:.3f} %",
        )
        if as_safe is not None and as_safe != m["km_vs_fixed"]:
            # the same run against fixed rounds that keep as many container-days free of overflow
            ax.annotate(
                "",
                (100 * as_safe, 100 * m["fill_at_emptying_mean"]),
                (100 * m["km_vs_fixed"], 100 * m["fill_at_emptying_mean"]),
                arrowprops={"arrowstyle": "->", "color": colour, "lw": 1},
            )
    ax.set_xlim(-60, 10)
    ax.set_ylim(20, 100)
    ax.set_xlabel(
        "km against fixed rounds of the same seed (%); arrows: against fixed rounds as safe as the run"
    )
    ax.set_ylabel("mean fill at emptying (%)")
    ax.set_title(
        "Medians of the seeds (large; hollow: below 99.9 % of container-days without overflow), "
        "each seed small"
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.promise", description=__doc__)
    ap.add_argument("runs", type=_run, nargs="+", metavar="LABEL=DIR[:POLICY]")
    ap.add_argument(
        "--fixed", type=Path, required=True, help="a run directory whose fixed rounds are the reference"
    )
    ap.add_argument(
        "--fixed-safer",
        type=Path,
        action="append",
        default=[],
        help="a run directory of fixed rounds asked for more service (--fixed-service-level); repeatable",
    )
    ap.add_argument("--ceiling", type=float, default=None, help="a fill (0..1) to draw as the ceiling")
    ap.add_argument("--out", type=Path, default=Path("promise.png"))
    args = ap.parse_args(argv)
    rows, medians = against_fixed(args.runs, args.fixed, args.fixed_safer)
    if not rows:
        raise SystemExit(f"no seed of the runs has fixed rounds in {args.fixed} to compare with")
    draw(rows, medians, args.out, args.ceiling)
    for r in rows:
        print(json.dumps(r))
    print(json.dumps(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
