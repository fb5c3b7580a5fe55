"""``wasteroute simulate``: parse the flags, run the policies, print one JSON line per policy."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasteroute.config import Settings
from wasteroute.planning.schedule import parse_weekdays
from wasteroute.planning.selection import POLICIES
from wasteroute.simulation.rhythm import SERVICE_LEVEL as RHYTHM_SERVICE_LEVEL
from wasteroute.vocabulary import Fraction


def whole(least: int) -> Callable[[str], int]:
    """A parser of a whole number of at least ``least`` (argparse names the flag in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected at least {least}, got {value}")
        return value

    return parse


def number(
    low: float, high: float | None = None, *, low_open: bool = True, high_open: bool = False
) -> Callable[[str], float]:
    """A parser of a number in the interval from ``low`` to ``high`` (open or closed at each end;
    no upper end when ``high`` is None), written in the error as mathematicians write intervals."""
    upper = "∞)" if high is None else f"{high:g}{')' if high_open else ']'}"
    shown = f"{'(' if low_open else '['}{low:g}, {upper}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number in {shown}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a number in {shown}, got {text}")
        above = value > low if low_open else value >= low
        below = high is None or (value < high if high_open else value <= high)
        if not (above and below):
            raise argparse.ArgumentTypeError(f"expected a number in {shown}, got {text}")
        return value

    return parse


def _thresholds(text: str) -> dict[str, float]:
    """``residual=0.7,glass=0.85`` -> {"residual": 0.7, "glass": 0.85}."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected fraction=threshold pairs like residual=0.7, got {part!r}"
            ) from None
        if not sep or not 0 < out[name.strip()] <= 1:
            raise argparse.ArgumentTypeError(
                f"expected fraction=threshold with 0 < threshold <= 1, got {part!r}"
            )
    return out


def fraction_days(what: str, example: str) -> Callable[[str], dict[str, frozenset[int]]]:
    """A parser of ``residual=mon-sun;paper=mon,wed,fri`` -> {"residual": {0, ..., 6}, "paper": {0, 2, 4}}
    for the flag of ``what`` (service days, collection days)."""

    def parse(text: str) -> dict[str, frozenset[int]]:
        out: dict[str, frozenset[int]] = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            name, sep, value = (x.strip() for x in part.partition("="))
            if not sep or not name or not value:
                raise argparse.ArgumentTypeError(f"expected fraction=days pairs like {example}, got {part!r}")
            _known_fraction(name)
            if name in out:
                raise argparse.ArgumentTypeError(f"{what} of {name} given twice in {text!r}")
            try:
                out[name] = parse_weekdays(value)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(f"{what} of {name}: {exc}") from None
        if not out:
            raise argparse.ArgumentTypeError(f"expected fraction=days pairs like {example}, got {text!r}")
        return out

    return parse


def seed_list(text: str) -> list[int]:
    """``1,2,3`` -> [1, 2, 3]: distinct whole numbers (the ``--seeds`` flag)."""
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 1,2,3, got {text!r}"
        ) from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct seeds like 1,2,3, got {text!r}")
    return seeds


def _known_fraction(name: str) -> str:
    """``name`` if it is a fraction, else an argparse error that lists them."""
    if name not in set(Fraction):
        hint = " (public litter bins are residual containers)" if name == "litter" else ""
        raise argparse.ArgumentTypeError(f"unknown fraction {name!r}{hint}; fractions: {', '.join(Fraction)}")
    return name


def _option(text: str) -> tuple[str | None, str, float]:
    """``risk=0.02`` -> (None, "risk", 0.02): a numeric option of the dynamic policy for every
    fraction; ``residual:emergency_risk=0.005`` -> ("residual", "emergency_risk", 0.005): for one."""
    key, sep, value = text.partition("=")
    fraction, colon, name = key.rpartition(":")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or not name.strip() or number != number or (colon and not fraction.strip()):
        raise argparse.ArgumentTypeError(
            f"expected name=number like risk=0.02, or fraction:name=number like "
            f"residual:emergency_risk=0.005, got {text!r}"
        )
    return (_known_fraction(fraction.strip()) if colon else None), name.strip(), number


def _split_options(
    options: list[tuple[str | None, str, float]],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """The ``--policy-option`` values: those for every fraction, and those for one, by fraction."""
    every: dict[str, float] = {}
    one: dict[str, dict[str, float]] = {}
    for fraction, name, value in options:
        (every if fraction is None else one.setdefault(fraction, {}))[name] = value
    return every, one


def _policies(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in names if p not in POLICIES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"expected policies from {', '.join(POLICIES)}, got {text!r}")
    return names


def register(sub: Any) -> None:
    """Add the ``simulate`` subcommand to the CLI's subparsers."""
    sp = sub.add_parser(
        "simulate",
        help="closed-loop simulation of collection policies over many days; a report and JSON lines",
        description="Simulated sensors and drivers around the real plan job, one database per policy.",
    )
    sp.set_defaults(fn=cmd_simulate)
    sp.add_argument("--city", default="luebeck", help="generated city (luebeck, rostock, stralsund, wismar)")
    sp.add_argument("--city-file", type=Path, default=None, help="a city seed document instead")
    sp.add_argument("--bins", type=whole(1), default=None, help="containers of the generated city")
    sp.add_argument("--days", type=whole(1), default=28)
    sp.add_argument("--warmup-days", type=whole(1), default=14)
    sp.add_argument("--policy", type=_policies, default=list(POLICIES), help="comma-separated, default all")
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument(
        "--seeds",
        type=seed_list,
        default=None,
        help="several seeds, e.g. 1,2,3: a report each and their medians",
    )
    sp.add_argument(
        "--jobs", type=whole(1), default=2, help="runs in parallel (processes); results do not change"
    )
    sp.add_argument(
        "--plan-time-limit",
        type=number(0.0),
        default=30.0,
        help="upper bound of routing time per fraction and day, s",
    )
    sp.add_argument(
        "--plan-iterations",
        type=whole(0),
        default=500,
        help="PyVRP iterations per plan (reproducible on any machine); 0: as many as the time limit allows",
    )
    sp.add_argument(
        "--run-in-days", type=whole(0), default=7, help="unmeasured days of the policy before measuring"
    )
    sp.add_argument(
        "--policy-option",
        type=_option,
        action="append",
        default=[],
        help="an option of the dynamic policy, e.g. risk=0.02, or of one fraction's, e.g. "
        "residual:emergency_risk=0.005 (repeatable; see PolicyOptions)",
    )
    sp.add_argument(
        "--collection-days",
        type=fraction_days("collection days", "paper=mon,wed,fri;glass=tue,fri"),
        default={},
        help="dynamic policy: the weekdays each fraction's trucks go on their round, "
        "e.g. 'paper=mon,wed,fri;glass=tue,fri' (others: every planning day)",
    )
    sp.add_argument(
        "--service-days",
        type=fraction_days("service days", "residual=mon-sun;paper=mon,wed,fri"),
        default={},
        help="the days a fraction is collected on under every policy, e.g. 'residual=mon-sun' for "
        "Sunday rounds (public litter bins are residual) or 'paper=mon,wed,fri' "
        "(others: Monday to Saturday; public holidays closed)",
    )
    sp.add_argument(
        "--fixed-service-level",
        type=number(0.5, 1.0, high_open=True),
        default=RHYTHM_SERVICE_LEVEL,
        help="fixed rounds: the share of gaps each container's rhythm must survive by its warm-up "
        "history (default 0.999); e.g. 0.9999 for safer rounds",
    )
    sp.add_argument(
        "--sensor-coverage", type=number(0.0, 1.0), default=1.0, help="share of containers with a sensor"
    )
    sp.add_argument(
        "--threshold", type=_thresholds, default={}, help="per fraction, e.g. residual=0.7,glass=0.85"
    )
    sp.add_argument("--one-truck-fewer", action="store_true", help="one truck fewer in every fraction")
    sp.add_argument("--holiday-week", action="store_true", help="measure over Christmas and New Year")
    sp.add_argument(
        "--report-interval",
        type=number(0.0),
        default=4.0,
        help="sensor report interval, hours (fill sensors: 1-6 h)",
    )
    what_if = sp.add_mutually_exclusive_group()  # two yardsticks; a run plans from one of them
    what_if.add_argument(
        "--perfect-forecast",
        action="store_true",
        help="what-if: the dynamic and threshold policies plan from the simulation's own future (true "
        "fills, the waste to come) instead of the forecast: what a perfect forecast would buy",
    )
    what_if.add_argument(
        "--known-model",
        action="store_true",
        help="what-if: the dynamic and threshold policies plan from a perfect model of each container (true "
        "fill, mean rate, profiles, calendar, named events; not the day's noise) instead of the forecast",
    )
    sp.add_argument(
        "--announce-events",
        action="store_true",
        help="what-if: the city announces its named local events (a Christmas market, a festival) and the "
        "forecast counts them; unnamed ones stay unannounced",
    )
    sp.add_argument("--out", type=Path, default=Path("simulation-report"))


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from sensors_sim.city import generate_city
    from wasteroute.runtime.services import start_services
    from wasteroute.simulation.loop import SimulationConfig
    from wasteroute.simulation.measures import json_line
    from wasteroute.simulation.report import simulate_policies, simulate_seeds, summarise

    def city(seed: int) -> dict[str, Any]:
        if args.city_file is not None:
            doc: dict[str, Any] = json.loads(args.city_file.read_text())
            return doc
        return generate_city(args.city, args.bins, seed)

    every, one = _split_options(args.policy_option)
    try:
        cfg = SimulationConfig(
            days=args.days,
            warmup_days=args.warmup_days,
            seed=args.seed,
            plan_time_limit_s=args.plan_time_limit,
            plan_iterations=args.plan_iterations or None,
            run_in_days=args.run_in_days,
            policy_options=every,
            fraction_options=one,
            collection_days=args.collection_days,
            service_days=args.service_days,
            fixed_service_level=args.fixed_service_level,
            sensor_coverage=args.sensor_coverage,
            thresholds=args.threshold,
            one_truck_fewer=args.one_truck_fewer,
            holiday_week=args.holiday_week,
            report_interval_h=args.report_interval,
            perfect_forecast=args.perfect_forecast,
            known_model=args.known_model,
            announce_events=args.announce_events,
        )
    except ValueError as exc:  # a value no flag's type checks alone, said without a traceback
        raise SystemExit(f"wasteroute simulate: {exc}") from None
    services = start_services(settings, need_broker=False, migrate_db=False)
    try:
        if args.seeds:
            per_seed = simulate_seeds(
                city,
                cfg,
                args.policy,
                args.seeds,
                services.database_url,
                settings,
                args.out,
                progress=True,
                jobs=args.jobs,
            )
            results = [json_line(r) | {"seeds": r["seeds"]} for r in summarise(per_seed)]
            report = args.out / "summary.md"
        else:
            results = simulate_policies(
                city(args.seed),
                cfg,
                args.policy,
                services.database_url,
                settings,
                args.out,
                progress=True,
                jobs=args.jobs,
            )
            results = [json_line(r) for r in results]
            report = args.out / "report.md"
    finally:
        services.stop()
    print(f"report: {report}", flush=True)
    for r in results:
        print(json.dumps(r), flush=True)
    return 0
