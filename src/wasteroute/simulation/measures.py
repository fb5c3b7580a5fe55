"""Measures of one policy run, computed from the simulation's truth and the routes driven (pure)."""

from __future__ import annotations

import itertools
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from wasteroute.simulation.loop import PolicyRun

DIESEL_L_PER_KM = 0.55
"""Diesel of a refuse collection truck in collection duty, litres per km (stop-and-go; typical
published figures for 26 t rear loaders lie between 0.45 and 0.65 L/km)."""
CO2_KG_PER_L = 2.65
"""Tank-to-wheel CO2 of diesel, kg per litre (German Federal Environment Agency, about 2.65)."""
OVERFLOW_LOG_MAX = 200
"""Overflow events listed one by one in the results (the first ones)."""
JSON_KEYS = (
    "policy",
    "days",
    "containers",
    "km",
    "vehicle_hours",
    "tours",
    "collections",
    "service_level",
    "overflows",
    "fill_at_emptying_mean",
    "co2_kg",
    "seconds",
)


def measures(run: PolicyRun) -> dict[str, Any]:
    """Every measure of the report; the first keys are the JSON line's (``JSON_KEYS``)."""
    t = run.truth
    days = run.measured_days
    km = sum(d.km for d in days)
    fills = np.asarray(t.fill_at_emptying, dtype=np.float64)
    diesel = km * DIESEL_L_PER_KM
    stops = sum(d.stops for d in days)
    return {
        "policy": run.config.policy,
        "days": run.config.days,
        "containers": run.containers,
        "km": round(km, 1),
        "vehicle_hours": round(sum(d.hours for d in days), 1),
        "tours": sum(d.tours for d in days),
        "collections": t.collections,
        "service_level": round(t.service_level, 5),
        "overflows": t.overflow_events,
        "fill_at_emptying_mean": round(float(np.minimum(fills, 1.0).mean()), 4) if fills.size else None,
        "co2_kg": round(diesel * CO2_KG_PER_L, 1),
        "seconds": round(run.seconds, 1),
        "diesel_l": round(diesel, 1),
        "fill_at_emptying_p10_p50_p90": (
            [round(float(x), 3) for x in np.percentile(np.minimum(fills, 1.0), [10, 50, 90])]
            if fills.size
            else None
        ),
        "emptied_before_overflow": round(float((fills < 1.0).mean()), 5) if fills.size else None,
        "overflow_container_days": t.overflow_container_days,
        "overflows_after_last_service": run.overflows_after_last_service[0],
        "service_level_ceiling": (
            round(1.0 - run.overflows_after_last_service[1] / t.container_days, 5)
            if t.container_days
            else None
        ),
        "container_days": t.container_days,
        "stops_reported": stops,
        "loads": sum(d.loads for d in days),
        "load_utilisation": (
            round(sum(d.load_share for d in days) / sum(d.loads for d in days), 3)
            if any(d.loads for d in days)
            else None
        ),
        "not_reachable": sum(d.not_reachable for d in days),
        "planning_seconds": round(sum(d.planning_s for d in days), 1),
        "failed_plans": sum(d.failed_plans for d in days),
        "band_95_coverage": round(float(np.mean(t.band)), 4) if t.band else None,
        "readings_stored": run.readings_stored,
        "dead_letters": run.dead_letters,
        "fixed_rhythms": run.rhythms or None,
        "by_kind": by_kind(run),
        "by_truck": by_truck(run),
        "plan_digests": {d.day.isoformat(): dict(d.plans) for d in run.days},
        "overflow_log": [
            [run.kinds[i], when.astimezone(ZoneInfo(t.timezone)).strftime("%a %Y-%m-%d %H:%M")]
            for i, when in t.overflow_log[:OVERFLOW_LOG_MAX]
        ],
    }


def by_kind(run: PolicyRun) -> dict[str, dict[str, Any]]:
    """Per ``fraction/container type``: containers, collections, mean fill at emptying, overflows."""
    t = run.truth
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted(set(run.kinds)):
        out[kind] = {"containers": 0, "collections": 0, "fill_at_emptying_mean": None, "overflows": 0}
    for kind in run.kinds:
        out[kind]["containers"] += 1
    fills: dict[str, list[float]] = {}
    for i, fill in zip(t.emptied_index, t.fill_at_emptying, strict=True):
        fills.setdefault(run.kinds[i], []).append(min(fill, 1.0))
    for kind, values in fills.items():
        out[kind]["collections"] = len(values)
        out[kind]["fill_at_emptying_mean"] = round(float(np.mean(values)), 3)
    for i, _ in t.overflow_log:
        out[run.kinds[i]]["overflows"] += 1
    return out


def by_truck(run: PolicyRun) -> dict[str, dict[str, Any]]:
    """Per truck: tours, km, stops, loads (trips to a facility) and how full they were on average."""
    return {
        name: {
            "fraction": t.fraction,
            "access_class": t.access_class,
            "tours": t.tours,
            "km": round(t.km, 1),
            "stops": t.stops,
            "loads": t.loads,
            "load_utilisation": round(t.load_share / t.loads, 3) if t.loads else None,
        }
        for name, t in sorted(run.trucks.items())
    }


def json_line(m: dict[str, Any]) -> dict[str, Any]:
    """Exactly the keys of the JSON line, in order."""
    return {k: m[k] for k in JSON_KEYS}


def reliability_table(pairs: list[tuple[float, bool]], edges: tuple[float, ...]) -> list[dict[str, Any]]:
    """Forecast probability bins: count, mean forecast probability, observed overflow share."""
    out = []
    p = np.asarray([x for x, _ in pairs], dtype=np.float64)
    y = np.asarray([o for _, o in pairs], dtype=np.float64)
    for lo, hi in itertools.pairwise(edges):
        m = (p >= lo) & ((p < hi) if hi < 1.0 else (p <= hi))
        if m.any():
            out.append(
                {
                    "from": lo,
                    "to": hi,
                    "n": int(m.sum()),
                    "forecast": float(p[m].mean()),
                    "observed": float(y[m].mean()),
                }
            )
    return out


SMALL_PROBABILITIES = (0.001, 0.05)
"""The overflow probabilities the policy's choices turn on (its ``risk`` lies among them)."""


TAG_PARTS = ("kind", "sensor", "weekday", "event")
"""What each ``;``-separated part of a forecast's reliability tag names, in order."""


def reliability_misses(
    pairs: list[tuple[float, bool]],
    tags: list[str],
    span: tuple[float, float] = SMALL_PROBABILITIES,
) -> dict[str, list[dict[str, Any]]]:
    """Where small overflow probabilities miss: the forecasts with a probability in ``span``, grouped
    by each part of their tag (``kind;health;weekday;event``), with count, expected overflows (the sum of
    the probabilities), observed overflows and observed over expected; groups sorted by the
    overflows they have beyond what was forecast."""
    if len(pairs) != len(tags):
        raise ValueError(f"{len(pairs)} forecasts but {len(tags)} tags")
    lo, hi = span
    groups: dict[str, dict[str, list[float]]] = {}
    for (p, over), tag in zip(pairs, tags, strict=True):
        if not lo <= p < hi:
            continue
        for name, part in zip(TAG_PARTS, tag.split(";"), strict=False):
            g = groups.setdefault(name, {}).setdefault(part, [0.0, 0.0, 0.0])
            g[0] += 1
            g[1] += p
            g[2] += float(over)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, by_part in groups.items():
        rows = [
            {
                "group": part,
                "n": int(n),
                "expected": round(expected, 1),
                "observed": int(observed),
                "ratio": round(observed / expected, 2) if expected > 0 else None,
            }
            for part, (n, expected, observed) in by_part.items()
        ]
        out[name] = sorted(rows, key=lambda r: (r["expected"] - r["observed"], r["group"]))
    return out
