"""Forecast accuracy benchmark on seeded synthetic containers (``wasteroute bench forecast``).

Scores the 24-hour-ahead fill of healthy sensors (mean absolute error and its 90th percentile; the
target is a mean error of at most 0.05). Forecasts made after an emptying that no reading or report
had shown yet are scored apart (``mae_24h_all`` includes them): no estimator can know those. It also
scores how often the truth lies inside the 95 % band, and how well
the health flags find the faulty sensors (precision and recall). It also counts how often a
forecast rests on an emptying that did not happen or misses one that did. The last line printed is
JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.estimators import estimate_fill
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import DAY_S, HOUR_S
from wasteroute.forecasting.synthetic import SyntheticContainer, generate_containers

HORIZON_H = 24.0
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ForecastScore:
    """Accuracy of the estimators on a set of synthetic containers."""

    series: int
    forecasts: int
    mae_24h: float
    """Mean absolute error of the 24-hour-ahead fill, over forecasts whose inputs could know the
    container's state (see ``mae_24h_all``)."""
    mae_24h_p90: float
    mae_24h_all: float
    """The same including forecasts made after an emptying that neither a reading nor a report had
    shown yet (the forecast cannot know; with readings every 6 hours and no driver reports these
    cost several hundredths)."""
    unseen_emptying_share: float
    band_coverage_95: float
    flag_precision: float
    flag_recall: float
    false_emptying_share: float
    """Share of forecasts whose last emptying did not happen (within 12 h): a full container taken
    for empty."""
    missed_emptying_share: float
    """Share of forecasts that missed the latest real emptying (by more than 12 h)."""


def score_forecasts(
    containers: Sequence[SyntheticContainer],
    *,
    params: ForecastParams | None = None,
    points_per_series: int = 4,
    min_history_days: float = 14.0,
    seed: int = 0,
) -> ForecastScore:
    """Score 24-hour-ahead forecasts and health flags against the synthetic truth.

    Forecast points are drawn (seeded) after ``min_history_days`` of history on healthy containers,
    where no emptying happens in the next 24 hours (the forecast assumes none). Flags are judged at
    the end of every series: any flag on a faulty container is a hit, any flag on a healthy one a
    false alarm.
    """
    rng = np.random.default_rng(seed)
    errors: list[float] = []
    errors_all: list[float] = []
    inside: list[bool] = []
    tp = fp = fn = 0
    false_empty = missed_empty = 0
    for c in containers:
        end_s = c.end_s
        if c.fault == "none":
            lo, hi = float(c.truth_t_s[0]) + min_history_days * DAY_S, end_s - HORIZON_H * HOUR_S
            picked = 0
            for now_s in rng.uniform(lo, hi, 4 * points_per_series):
                if picked >= points_per_series:
                    break
                target_s = float(now_s) + HORIZON_H * HOUR_S
                if c.emptied_between(float(now_s), target_s):
                    continue
                est = estimate_fill(c.series, now=float(now_s), params=params)
                mean, sd = est.at(target_s)
                error = abs(mean - c.true_fill_at(target_s))
                errors_all.append(error)
                # emptied after the last reading with no report since: nothing could have told
                last_info = max(
                    float(est.last_reading_at_s or -np.inf), float(est.last_emptied_at_s or -np.inf)
                )
                reported = c.series.emptied_at_s
                if c.emptied_between(last_info, float(now_s)) and not np.any(
                    (reported > last_info) & (reported <= now_s)
                ):
                    continue
                real = c.emptied_at_s[c.emptied_at_s <= now_s]
                if est.last_emptied_at_s is not None and (
                    real.shape[0] == 0 or np.abs(real - est.last_emptied_at_s).min() > 12 * HOUR_S
                ):
                    false_empty += 1
                seen = est.last_emptied_at_s if est.last_emptied_at_s is not None else -np.inf
                if real.shape[0] and seen < real[-1] - 12 * HOUR_S:
                    missed_empty += 1
                errors.append(error)
                inside.append(error <= 1.96 * sd)
                picked += 1
        flagged = bool(estimate_fill(c.series, now=end_s, params=params).flags)
        if c.fault != "none":
            tp += flagged
            fn += not flagged
        else:
            fp += flagged
    err: FloatArray = np.array(errors) if errors else np.zeros(1)
    return ForecastScore(
        series=len(containers),
        forecasts=len(errors),
        mae_24h=float(err.mean()),
        mae_24h_p90=float(np.quantile(err, 0.9)),
        mae_24h_all=float(np.mean(errors_all)) if errors_all else 0.0,
        unseen_emptying_share=1.0 - len(errors) / len(errors_all) if errors_all else 0.0,
        band_coverage_95=float(np.mean(inside)) if inside else 0.0,
        flag_precision=tp / (tp + fp) if tp + fp else 1.0,
        flag_recall=tp / (tp + fn) if tp + fn else 1.0,
        false_emptying_share=false_empty / len(errors) if errors else 0.0,
        missed_emptying_share=missed_empty / len(errors) if errors else 0.0,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a short summary and, as the last line, the JSON result."""
    ap = argparse.ArgumentParser(prog="wasteroute bench forecast", description=__doc__)
    ap.add_argument("--json", action="store_true", help="the last line is JSON in any case")
    ap.add_argument("--series", type=int, default=300, help="number of synthetic containers (default 300)")
    ap.add_argument("--days", type=float, default=42.0, help="days of history per container (default 42)")
    ap.add_argument("--fault-share", type=float, default=0.15, help="share of faulty sensors (default 0.15)")
    ap.add_argument("--points", type=int, default=4, help="forecast points per healthy container (default 4)")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ap.add_argument(
        "--no-single-reading-emptying",
        action="store_true",
        help="wait for a second reading or a report before taking a drop for an emptying",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    containers = generate_containers(args.seed, args.series, days=args.days, fault_share=args.fault_share)
    params = ForecastParams(single_reading_emptying=not args.no_single_reading_emptying)
    score = score_forecasts(containers, params=params, points_per_series=args.points, seed=args.seed)
    seconds = time.perf_counter() - t0
    result = {
        "series": score.series,
        "forecasts": score.forecasts,
        "mae_24h": round(score.mae_24h, 4),
        "mae_24h_p90": round(score.mae_24h_p90, 4),
        "mae_24h_all": round(score.mae_24h_all, 4),
        "unseen_emptying_share": round(score.unseen_emptying_share, 4),
        "band_coverage_95": round(score.band_coverage_95, 3),
        "flag_precision": round(score.flag_precision, 3),
        "flag_recall": round(score.flag_recall, 3),
        "false_emptying_share": round(score.false_emptying_share, 4),
        "missed_emptying_share": round(score.missed_emptying_share, 4),
        "seconds": round(seconds, 2),
    }
    print(
        f"{score.series} containers, {score.forecasts} forecasts: 24 h MAE {score.mae_24h:.3f} "
        f"(p90 {score.mae_24h_p90:.3f}; {score.mae_24h_all:.3f} counting emptyings not yet seen), "
        f"95% band holds {100 * score.band_coverage_95:.0f}%, "
        f"flags precision {score.flag_precision:.2f} recall {score.flag_recall:.2f}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
