"""Forecast accuracy benchmark on seeded synthetic containers (``wasteroute bench forecast``).

Scores the 24-hour-ahead fill of healthy sensors (mean absolute error and its 90th percentile; the
target is a mean error of at most 0.05). Forecasts made after an emptying that no reading or report
had shown yet are scored apart (``mae_24h_all`` includes them): no estimator can know those. At 6,
24, 48 and 72 hours it scores how often the true fill lies inside the calibrated 95 % band (and
inside the plain normal band), and how reliable the probability of overflowing is (predicted
probability against observed frequency). It also scores how well the health flags find the faulty
sensors (precision and recall), and counts how often a forecast rests on an emptying that did not
happen or misses one that did. The last line printed is JSON. ``--speed`` times the fleet forecast
of 1,000 containers instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.forecast.synthetic import SyntheticContainer, generate_containers
from wasteroute.forecasting.calibration import ReliabilityBin, reliability
from wasteroute.forecasting.fleet import OVERFLOW_LEVEL, forecast_fleet
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import DAY_S, HOUR_S

HORIZON_H = 24.0
SCORED_HORIZONS_H = (6.0, 24.0, 48.0, 72.0)
"""Horizons at which bands and overflow probabilities are scored."""
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class HorizonScore:
    """Forecasts ``horizon_h`` hours ahead of healthy sensors not emptied in between."""

    horizon_h: float
    forecasts: int
    mae: float
    band_coverage_95: float
    """Share whose calibrated 95 % band holds the true fill."""
    band_coverage_95_model: float
    """The same for the plain normal band (mean +- 1.96 model sd)."""
    reliability: tuple[ReliabilityBin, ...]
    """Overflow probability (true fill >= 1 then) against the observed frequency."""


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
    """Replayed errors the calibration drew on (summed over the forecast times)."""
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
    horizons: tuple[HorizonScore, ...] = field(default=())
    """Band coverage, error and reliability per scored horizon (``SCORED_HORIZONS_H``)."""
    reliability_all: tuple[ReliabilityBin, ...] = field(default=())
    """Overflow probability against frequency over all scored horizons together."""

    def horizon(self, hours: float) -> HorizonScore:
        for h in self.horizons:
            if h.horizon_h == hours:
                return h
        raise KeyError(f"no score at {hours} h; scored are {[h.horizon_h for h in self.horizons]}")


def score_forecasts(
    containers: Sequence[SyntheticContainer],
    *,
    params: ForecastParams | None = None,
    points_per_series: int = 4,
    min_history_days: float = 14.0,
    seed: int = 0,
    horizons_h: Sequence[float] = SCORED_HORIZONS_H,
) -> ForecastScore:
    """Score the fleet forecast (:func:`forecast_fleet`, as the plan job runs it) against the truth.

    ``points_per_series`` forecast times are drawn (seeded) after ``min_history_days`` of history;
    at each the whole fleet is forecast at once. A healthy container is scored at a horizon when it
    was not emptied in between (the forecast assumes it is not), and left out altogether when it was
    emptied after its last reading with no report since (nothing could have told). The 24-hour error
    is scored as before (``mae_24h``); bands and overflow probabilities (``fill >= 1``) at every
    horizon of ``horizons_h``. Flags are judged at the end of the series: any flag on a faulty
    container is a hit, any flag on a healthy one a false alarm.
    """
    p = params if params is not None else ForecastParams()
    scored = tuple(sorted({float(h) for h in (*horizons_h, HORIZON_H, 48.0)}))
    rng = np.random.default_rng(seed)
    errors: list[float] = []
    errors_all: list[float] = []
    abs_err: dict[float, list[float]] = {h: [] for h in scored}
    inside: dict[float, list[bool]] = {h: [] for h in scored}
    inside_model: dict[float, list[bool]] = {h: [] for h in scored}
    probs: dict[float, list[float]] = {h: [] for h in scored}
    hits: dict[float, list[bool]] = {h: [] for h in scored}
    n_cal = 0
    tp = fp = fn = 0
    false_empty = missed_empty = 0
    series = {i: c.series for i, c in enumerate(containers)}
    if containers and points_per_series > 0:
        start_s = min(float(c.truth_t_s[0]) for c in containers) + min_history_days * DAY_S
        end_s = min(c.end_s for c in containers) - 48.0 * HOUR_S
        nows: Any = np.sort(rng.uniform(start_s, end_s, points_per_series)) if end_s > start_s else []
        for now_s in (float(v) for v in nows):
            fleet = forecast_fleet(series, now=now_s, params=p, horizons_h=scored)
            n_cal += next(iter(fleet.values())).estimate.calibration.n if fleet else 0
            for i, c in enumerate(containers):
                f = fleet[i]
                est = f.estimate
                if c.fault != "none" or not est.healthy:
                    continue
                # emptied after the last reading with no report since: nothing could have told
                last_info = max(
                    float(est.last_reading_at_s or -np.inf), float(est.last_emptied_at_s or -np.inf)
                )
                reported = c.series.emptied_at_s
                unseen = c.emptied_between(last_info, now_s) and not np.any(
                    (reported > last_info) & (reported <= now_s)
                )
                target_s = now_s + HORIZON_H * HOUR_S
                if not c.emptied_between(now_s, target_s):
                    error = abs(f.horizon(HORIZON_H).fill - c.true_fill_at(target_s))
                    errors_all.append(error)
                    if not unseen:
                        errors.append(error)
                        real = c.emptied_at_s[c.emptied_at_s <= now_s]
                        if est.last_emptied_at_s is not None and (
                            real.shape[0] == 0 or np.abs(real - est.last_emptied_at_s).min() > 12 * HOUR_S
                        ):
                            false_empty += 1
                        seen = est.last_emptied_at_s if est.last_emptied_at_s is not None else -np.inf
                        if real.shape[0] and seen < real[-1] - 12 * HOUR_S:
                            missed_empty += 1
                if unseen:
                    continue
                for h in scored:
                    at_s = now_s + h * HOUR_S
                    if at_s >= c.end_s or c.emptied_between(now_s, at_s):
                        continue
                    fh = f.horizon(h)
                    truth = c.true_fill_at(at_s)
                    abs_err[h].append(abs(fh.fill - truth))
                    inside[h].append(fh.low <= truth <= fh.high)
                    inside_model[h].append(abs(fh.fill - truth) <= 1.96 * fh.fill_sd)
                    probs[h].append(fh.overflow_probability)
                    hits[h].append(truth >= OVERFLOW_LEVEL)
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

    def table(values: list[float], outcomes: list[bool]) -> tuple[ReliabilityBin, ...]:
        return tuple(reliability(np.array(values, dtype=np.float64), np.array(outcomes, dtype=bool)))

    def share(flags: list[bool]) -> float:
        return float(np.mean(flags)) if flags else 0.0

    per_h = tuple(
        HorizonScore(
            horizon_h=h,
            forecasts=len(inside[h]),
            mae=float(np.mean(abs_err[h])) if abs_err[h] else 0.0,
            band_coverage_95=share(inside[h]),
            band_coverage_95_model=share(inside_model[h]),
            reliability=table(probs[h], hits[h]),
        )
        for h in scored
    )
    wanted = {float(h) for h in horizons_h}
    return ForecastScore(
        series=len(containers),
        forecasts=len(errors),
        mae_24h=float(err.mean()),
        mae_24h_p90=float(np.quantile(err, 0.9)),
        mae_24h_all=float(np.mean(errors_all)) if errors_all else 0.0,
        unseen_emptying_share=1.0 - len(errors) / len(errors_all) if errors_all else 0.0,
        band_coverage_95=share(inside[HORIZON_H]),
        band_coverage_95_model=share(inside_model[HORIZON_H]),
        band_coverage_95_48h=share(inside[48.0]),
        calibration_errors=n_cal,
        reliability_24h=table(probs[HORIZON_H], hits[HORIZON_H]),
        reliability_48h=table(probs[48.0], hits[48.0]),
        flag_precision=tp / (tp + fp) if tp + fp else 1.0,
        flag_recall=tp / (tp + fn) if tp + fn else 1.0,
        false_emptying_share=false_empty / len(errors) if errors else 0.0,
        missed_emptying_share=missed_empty / len(errors) if errors else 0.0,
        horizons=tuple(h for h in per_h if h.horizon_h in wanted),
        reliability_all=table(
            [v for h in scored if h in wanted for v in probs[h]],
            [v for h in scored if h in wanted for v in hits[h]],
        ),
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
        "horizons": {
            f"{h.horizon_h:g}h": {
                "forecasts": h.forecasts,
                "mae": round(h.mae, 4),
                "band_coverage_95": round(h.band_coverage_95, 3),
                "band_coverage_95_model": round(h.band_coverage_95_model, 3),
                "reliability_overflow": _table_json(h.reliability),
            }
            for h in score.horizons
        },
        "reliability_overflow_all": _table_json(score.reliability_all),
        "flag_precision": round(score.flag_precision, 3),
        "flag_recall": round(score.flag_recall, 3),
        "false_emptying_share": round(score.false_emptying_share, 4),
        "missed_emptying_share": round(score.missed_emptying_share, 4),
        "seconds": round(seconds, 2),
    }
    print(
        f"{score.series} containers, {score.forecasts} forecasts: 24 h MAE {score.mae_24h:.3f} "
        f"(p90 {score.mae_24h_p90:.3f}; {score.mae_24h_all:.3f} counting emptyings not yet seen), "
        f"flags precision {score.flag_precision:.2f} recall {score.flag_recall:.2f}"
    )
    for h in score.horizons:
        print(
            f"{h.horizon_h:g} h ahead ({h.forecasts} forecasts): MAE {h.mae:.3f}, 95% band holds "
            f"{100 * h.band_coverage_95:.1f}% (plain normal band {100 * h.band_coverage_95_model:.1f}%)"
        )
    print("overflow, all horizons: predicted probability vs observed frequency")
    for r in score.reliability_all:
        print(
            f"  p in [{r.low:.2f}, {r.high:.2f}): {r.count:5d} forecasts, "
            f"mean p {r.mean_probability:.3f}, observed {r.observed_frequency:.3f}"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
