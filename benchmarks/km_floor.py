"""Where the km of simulated policies go: the drives between depot and facility, and the rest.

``python -m benchmarks.km_floor DIR [DIR ...] --city luebeck --bins 1000 --out FILE.png`` reads the
per-seed results (``DIR/seed-N/results.json``) of ``wasteroute simulate --seeds`` runs and splits each
policy's km into the round trips between each truck's depot and its facility (every tour drives one,
whatever it collects: tours times the truck's round trip) and the km within the city. A run made with
``--perfect-forecast`` is named with `` (perfect forecast)``, from its report. Prints one JSON line per
seed and policy, the last line a list of all, and draws them as stacked bars beside a line at 60 % of
the fixed rounds' km.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sensors_sim.city import generate_city
from wasteroute.simulation.report import round_trips_km


def split(result: dict[str, Any], trips: dict[str, float]) -> dict[str, float]:
    """One policy run's km: ``floor`` (tours times each truck's depot-facility round trip) and
    ``city`` (the rest)."""
    floor = sum(t["tours"] * trips[name] for name, t in result["by_truck"].items() if name in trips)
    return {"km": round(result["km"], 1), "floor": round(floor, 1), "city": round(result["km"] - floor, 1)}


def read_runs(dirs: Sequence[Path], city: str, bins: int) -> list[dict[str, Any]]:
    """Every seed and policy of the run directories, split (see :func:`split`)."""
    rows: list[dict[str, Any]] = []
    for d in dirs:
        perfect = any("Perfect foresight" in p.read_text() for p in sorted(d.glob("seed-*/report.md"))[:1])
        for seed_dir in sorted(d.glob("seed-*")):
            seed = int(seed_dir.name.removeprefix("seed-"))
            trips = round_trips_km(generate_city(city, bins, seed))
            for r in json.loads((seed_dir / "results.json").read_text()):
                name = str(r["policy"]) + (" (perfect forecast)" if perfect else "")
                rows.append({"seed": seed, "policy": name, **split(r, trips)})
    return rows


def draw(rows: Sequence[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = sorted({r["seed"] for r in rows})
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    fig, ax = plt.subplots(figsize=(9, 5))
    width = 0.8 / len(policies)
    for j, policy in enumerate(policies):
        xs, floors, cities = [], [], []
        for i, seed in enumerate(seeds):
            row = next((r for r in rows if r["seed"] == seed and r["policy"] == policy), None)
            if row is not None:
                xs.append(i + (j - (len(policies) - 1) / 2) * width)
                floors.append(row["floor"])
                cities.append(row["city"])
        ax.bar(xs, floors, width * 0.95, color="0.75", edgecolor="0.3")
        ax.bar(xs, cities, width * 0.95, bottom=floors, label=policy, color=f"C{j}")
    for i, seed in enumerate(seeds):
        fixed = next((r["km"] for r in rows if r["seed"] == seed and r["policy"] == "fixed"), None)
        if fixed is not None:
            ax.hlines(0.6 * fixed, i - 0.45, i + 0.45, colors="k", linestyles="dashed")
    ax.set_xticks(range(len(seeds)), [f"seed {s}" for s in seeds])
    ax.set_ylabel("km in 28 days")
    ax.set_title(
        "km per policy: grey, the depot-facility round trips every tour drives; dashed, 40 % below fixed"
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(policies))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.km_floor", description=__doc__)
    ap.add_argument("dirs", type=Path, nargs="+", help="directories of `wasteroute simulate --seeds` runs")
    ap.add_argument("--city", default="luebeck")
    ap.add_argument("--bins", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("km_floor.png"))
    args = ap.parse_args(argv)
    missing = [str(d) for d in args.dirs if not list(d.glob("seed-*/results.json"))]
    if missing:
        raise SystemExit(
            f"no seed-N/results.json in {', '.join(missing)} (runs of `wasteroute simulate --seeds`)"
        )
    rows = read_runs(args.dirs, args.city, args.bins)
    draw(rows, args.out)
    for r in rows:
        print(json.dumps(r))
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
