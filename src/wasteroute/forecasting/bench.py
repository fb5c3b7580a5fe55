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
import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wasteroute.forecasting.calibration import ReliabilityBin, reliability
from wasteroute.forecasting.fleet import OVERFLOW_LEVEL, forecast_fleet
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import DAY_S, HOUR_S
from wasteroute.forecasting.synthetic import SyntheticContainer, generate_containers

HORIZON_H = 24.0
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ForecastScore:
    """Accuracy of the fleet forecast on a set of synthetic containers."""

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
    """Share of 24-hour forecasts whose calibrated 95 % band holds the true fill."""
    band_coverage_95_model: float
    """The same for the uncalibrated normal band (mean +- 1.96 model sd)."""
    band_coverage_95_48h: float
    """Calibrated 95 % band at 48 hours (forecasts with no emptying in the 48 hours)."""
    calibration_errors: int
    """Standardized errors the calibration drew on (summed over the forecast times)."""
    reliability_24h: tuple[ReliabilityBin, ...]
    """Overflow probability (fill >= 1 in 24 h) against the observed frequency."""
    reliability_48h: tuple[ReliabilityBin, ...]
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
    """Score the fleet forecast (:func:`forecast_fleet`, as the plan job runs it) against the truth.

    ``points_per_series`` forecast times are drawn (seeded) after ``min_history_days`` of history;
    at each the whole fleet is forecast at once and every healthy container with no emptying in the
    next 24 hours (the forecast assumes none) is scored. Overflow probabilities are judged at 24 and
    48 hours (``fill >= 1``). Flags are judged at the end of the series: any flag on a faulty
    container is a hit, any flag on a healthy one a false alarm.
    """
    p = params if params is not None else ForecastParams()
    rng = np.random.default_rng(seed)
    errors: list[float] = []
    errors_all: list[float] = []
    inside: list[bool] = []
    inside_model: list[bool] = []
    inside_48: list[bool] = []
    probs: dict[float, list[float]] = {24.0: [], 48.0: []}
    hits: dict[float, list[bool]] = {24.0: [], 48.0: []}
    n_cal = 0
    tp = fp = fn = 0
    false_empty = missed_empty = 0
    series = {i: c.series for i, c in enumerate(containers)}
    if containers and points_per_series > 0:
        start_s = min(float(c.truth_t_s[0]) for c in containers) + min_history_days * DAY_S
        end_s = min(c.end_s for c in containers) - 48.0 * HOUR_S
        nows: Any = np.sort(rng.uniform(start_s, end_s, points_per_series)) if end_s > start_s else []
        for now_s in (float(v) for v in nows):
            fleet = forecast_fleet(series, now=now_s, params=p, horizons_h=(HORIZON_H, 48.0))
            n_cal += next(iter(fleet.values())).estimate.calibration.n if fleet else 0
            for i, c in enumerate(containers):
                f = fleet[i]
                est = f.estimate
                if c.fault != "none" or not est.healthy:
                    continue
                target_s = now_s + HORIZON_H * HOUR_S
                if c.emptied_between(now_s, target_s):
                    continue
                h24 = f.horizon(HORIZON_H)
                truth = c.true_fill_at(target_s)
                error = abs(h24.fill - truth)
                errors_all.append(error)
                # emptied after the last reading with no report since: nothing could have told
                last_info = max(
                    float(est.last_reading_at_s or -np.inf), float(est.last_emptied_at_s or -np.inf)
                )
                reported = c.series.emptied_at_s
                if c.emptied_between(last_info, now_s) and not np.any(
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
                inside.append(h24.low <= truth <= h24.high)
                inside_model.append(error <= 1.96 * h24.fill_sd)
                probs[24.0].append(h24.overflow_probability)
                hits[24.0].append(truth >= OVERFLOW_LEVEL)
                target48_s = now_s + 48.0 * HOUR_S
                if not c.emptied_between(now_s, target48_s):
                    h48 = f.horizon(48.0)
                    truth48 = c.true_fill_at(target48_s)
                    inside_48.append(h48.low <= truth48 <= h48.high)
                    probs[48.0].append(h48.overflow_probability)
                    hits[48.0].append(truth48 >= OVERFLOW_LEVEL)
    if containers:
        end = min(c.end_s for c in containers)
        final = forecast_fleet(series, now=end, params=p, horizons_h=(), calibrate=False)
        for i, c in enumerate(containers):
            flagged = bool(final[i].estimate.flags)
            if c.fault != "none":
                tp += flagged
                fn += not flagged
            else:
                fp += flagged
    err: FloatArray = np.array(errors) if errors else np.zeros(1)

    def table(h: float) -> tuple[ReliabilityBin, ...]:
        return tuple(reliability(np.array(probs[h]), np.array(hits[h], dtype=bool)))

    return ForecastScore(
        series=len(containers),
        forecasts=len(errors),
        mae_24h=float(err.mean()),
        mae_24h_p90=float(np.quantile(err, 0.9)),
        mae_24h_all=float(np.mean(errors_all)) if errors_all else 0.0,
        unseen_emptying_share=1.0 - len(errors) / len(errors_all) if errors_all else 0.0,
        band_coverage_95=float(np.mean(inside)) if inside else 0.0,
        band_coverage_95_model=float(np.mean(inside_model)) if inside_model else 0.0,
        band_coverage_95_48h=float(np.mean(inside_48)) if inside_48 else 0.0,
        calibration_errors=n_cal,
        reliability_24h=table(24.0),
        reliability_48h=table(48.0),
        flag_precision=tp / (tp + fp) if tp + fp else 1.0,
        flag_recall=tp / (tp + fn) if tp + fn else 1.0,
        false_emptying_share=false_empty / len(errors) if errors else 0.0,
        missed_emptying_share=missed_empty / len(errors) if errors else 0.0,
    )


FRACTIONS = ("residual", "paper", "packaging", "organic", "glass")


def time_fleet_forecast(
    seed: int, containers: int, *, days: float = 28.0, repeats: int = 3, fault_share: float = 0.1
) -> dict[str, Any]:
    """CPU time of one fleet forecast (:func:`forecast_fleet` as the plan job runs it) of
    ``containers`` synthetic containers spread over five fractions, with ``days`` of readings, at the
    end of their readings. The median of ``repeats`` runs."""
    generated = generate_containers(seed, containers, days=days, fault_share=fault_share)
    series = {
        i: dataclasses.replace(c.series, fraction=FRACTIONS[i % len(FRACTIONS)])
        for i, c in enumerate(generated)
    }
    now_s = min(c.end_s for c in generated)
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(max(repeats, 1)):
        c0, w0 = time.process_time(), time.perf_counter()
        forecast_fleet(series, now=now_s)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    cpu_s = float(np.median(cpu))
    return {
        "containers": containers,
        "fractions": len(FRACTIONS),
        "days": days,
        "readings": int(sum(len(s) for s in series.values())),
        "cpu_s": round(cpu_s, 3),
        "cpu_s_runs": [round(v, 3) for v in cpu],
        "wall_s": round(float(np.median(wall)), 3),
        "ms_per_container": round(1000.0 * cpu_s / max(containers, 1), 3),
    }


def _table_json(rows: Sequence[ReliabilityBin]) -> list[dict[str, float]]:
    return [
        {
            "p_low": r.low,
            "p_high": r.high,
            "count": r.count,
            "mean_p": round(r.mean_probability, 4),
            "observed": round(r.observed_frequency, 4),
        }
        for r in rows
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a short summary and, as the last line, the JSON result."""
    ap = argparse.ArgumentParser(prog="wasteroute bench forecast", description=__doc__)
    ap.add_argument("--json", action="store_true", help="the last line is JSON in any case")
    ap.add_argument("--series", type=int, default=300, help="number of synthetic containers (default 300)")
    ap.add_argument(
        "--days",
        type=float,
        default=None,
        help="days of history per container (default 42; 28 with --speed, as the plan job loads)",
    )
    ap.add_argument("--fault-share", type=float, default=0.15, help="share of faulty sensors (default 0.15)")
    ap.add_argument("--points", type=int, default=4, help="forecast points per healthy container (default 4)")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ap.add_argument(
        "--no-single-reading-emptying",
        action="store_true",
        help="wait for a second reading or a report before taking a drop for an emptying",
    )
    ap.add_argument(
        "--speed",
        action="store_true",
        help="time the fleet forecast of --containers containers (five fractions, --days of readings) "
        "instead of scoring accuracy",
    )
    ap.add_argument("--containers", type=int, default=1000, help="containers for --speed (default 1000)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs for --speed, median (default 3)")
    args = ap.parse_args(argv)
    if args.speed:
        days = args.days if args.days is not None else 28.0
        timing = time_fleet_forecast(args.seed, args.containers, days=days, repeats=args.repeats)
        print(
            f"fleet forecast of {timing['containers']} containers ({timing['readings']} readings over "
            f"{timing['days']:g} days): {timing['cpu_s']:.2f} s of CPU (runs {timing['cpu_s_runs']})"
        )
        print(json.dumps(timing))
        return 0
    t0 = time.perf_counter()
    days = args.days if args.days is not None else 42.0
    containers = generate_containers(args.seed, args.series, days=days, fault_share=args.fault_share)
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
        "band_coverage_95_model": round(score.band_coverage_95_model, 3),
        "band_coverage_95_48h": round(score.band_coverage_95_48h, 3),
        "calibration_errors": score.calibration_errors,
        "reliability_overflow_24h": _table_json(score.reliability_24h),
        "reliability_overflow_48h": _table_json(score.reliability_48h),
        "flag_precision": round(score.flag_precision, 3),
        "flag_recall": round(score.flag_recall, 3),
        "false_emptying_share": round(score.false_emptying_share, 4),
        "missed_emptying_share": round(score.missed_emptying_share, 4),
        "seconds": round(seconds, 2),
    }
    print(
        f"{score.series} containers, {score.forecasts} forecasts: 24 h MAE {score.mae_24h:.3f} "
        f"(p90 {score.mae_24h_p90:.3f}; {score.mae_24h_all:.3f} counting emptyings not yet seen), "
        f"95% band holds {100 * score.band_coverage_95:.1f}% "
        f"(uncalibrated normal band {100 * score.band_coverage_95_model:.1f}%), "
        f"flags precision {score.flag_precision:.2f} recall {score.flag_recall:.2f}"
    )
    for h, rows in ((24, score.reliability_24h), (48, score.reliability_48h)):
        print(f"overflow within {h} h: predicted probability vs observed frequency")
        for r in rows:
            print(
                f"  p in [{r.low:.2f}, {r.high:.2f}): {r.count:5d} forecasts, "
                f"mean p {r.mean_probability:.3f}, observed {r.observed_frequency:.3f}"
            )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
