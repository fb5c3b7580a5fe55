"""Where the promise stands: km against fixed rounds and fill at emptying, every policy in one picture.

``python -m benchmarks.promise --fixed DIR LABEL=DIR[:POLICY] ...`` reads the per-seed results
(``DIR/seed-N/results.json``) of ``wasteroute simulate --seeds`` runs and puts each run (a label, a run
directory and the policy in it, ``dynamic`` unless named) beside the fixed rounds of ``--fixed`` of the
same seed: its km as a change against theirs, its mean fill at emptying and its share of container-days
without overflow. The promise is the corner of 40 % fewer km and 75 % full at 99.9 %; ``--ceiling``
draws a fill no run with trucks is expected to pass (the product's rule on a perfect model without
trucks, from ``benchmarks.fill_ceiling --known-model``). Prints one JSON line per label and seed, the
last line the medians per label, and draws them (``--out``, PNG).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def against_fixed(
    runs: Sequence[tuple[str, Path, str]], fixed: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per label and seed that has fixed rounds to compare with, and the medians per label."""
    reference = {seed: by["fixed"]["km"] for seed, by in _results(fixed).items() if "fixed" in by}
    rows: list[dict[str, Any]] = []
    for label, d, policy in runs:
        for seed, by in _results(d).items():
            r = by.get(policy)
            if r is None:
                raise SystemExit(f"no {policy!r} policy in {d}/seed-{seed}/results.json")
            if seed not in reference:
                continue
            rows.append(
                {
                    "label": label,
                    "seed": seed,
                    "km": r["km"],
                    "km_vs_fixed": round(r["km"] / reference[seed] - 1.0, 4),
                    "fill_at_emptying_mean": r["fill_at_emptying_mean"],
                    "service_level": r["service_level"],
                    "tours": r["tours"],
                }
            )
    medians = []
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = [r for r in rows if r["label"] == label]
        medians.append(
            {
                "label": label,
                "seeds": [r["seed"] for r in mine],
                **{
                    k: round(statistics.median(r[k] for r in mine), 5)
                    for k in ("km", "km_vs_fixed", "fill_at_emptying_mean", "service_level", "tours")
                },
            }
        )
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
        ax.scatter(
            [100 * m["km_vs_fixed"]],
            [100 * m["fill_at_emptying_mean"]],
            s=80,
            facecolors=colour if kept else "none",
            edgecolors=colour,
            label=f"{m['label']}: {100 * m['km_vs_fixed']:+.0f} % km, "
            f"{100 * m['fill_at_emptying_mean']:.0f} % full, {100 * m['service_level']:.3f} %",
        )
    ax.set_xlim(-60, 10)
    ax.set_ylim(20, 100)
    ax.set_xlabel("km against fixed rounds of the same seed (%)")
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
    ap.add_argument("--ceiling", type=float, default=None, help="a fill (0..1) to draw as the ceiling")
    ap.add_argument("--out", type=Path, default=Path("promise.png"))
    args = ap.parse_args(argv)
    rows, medians = against_fixed(args.runs, args.fixed)
    if not rows:
        raise SystemExit(f"no seed of the runs has fixed rounds in {args.fixed} to compare with")
    draw(rows, medians, args.out, args.ceiling)
    for r in rows:
        print(json.dumps(r))
    print(json.dumps(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
