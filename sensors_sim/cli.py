"""``sensors-sim``: write a city seed, or run the sensors of a city.

    sensors-sim city --city luebeck --bins 400 --seed 1 --out city.json [--geojson bins.geojson]
    sensors-sim run --city luebeck --bins 1000 --days 7 --speed max --seed 1 --out messages.jsonl
    sensors-sim run --city-file city.json --format mixed --speed 60 --mqtt-url mqtt://localhost:1883

Both print a JSON summary as the last line of stdout. The CLI only parses and delegates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sensors_sim.city import generate_city
from sensors_sim.engine import SimStats, default_start, simulate
from sensors_sim.faults import parse_faults
from sensors_sim.feeds import CollectionFeed, HttpCollectionFeed
from sensors_sim.geography import CITIES
from sensors_sim.output import JsonLinesSink, MqttSink, Pacer, Progress, Sink


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed must be 'max' or a factor > 0, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"--speed must be 'max' or a factor > 0, got {text!r}")
    return v


def _start(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--start must be ISO 8601, got {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def _write_json(path: str, doc: Any) -> None:
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")


def _cmd_city(args: argparse.Namespace) -> dict[str, Any]:
    doc = generate_city(args.city, args.bins, args.seed)
    _write_json(args.out, doc)
    if args.geojson:
        _write_json(args.geojson, doc["bins"])
    feats = doc["bins"]["features"]
    return {
        "city": args.city,
        "bins": len(feats),
        "sites": len({f["properties"]["site_id"] for f in feats}),
        "vehicles": len(doc["vehicles"]),
        "seed": args.seed,
        "out": args.out,
    }


def _cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    if args.city_file:
        city_doc = json.loads(Path(args.city_file).read_text(encoding="utf-8"))
    else:
        city_doc = generate_city(args.city, args.bins, args.seed)
    faults = parse_faults(args.faults)
    start = args.start or default_start(args.days, args.speed)
    feed: CollectionFeed | None = None
    if args.collections_url:
        feed = HttpCollectionFeed(args.collections_url, token=args.collections_token)
    stats = SimStats()
    sink: Sink
    out_file = None
    if args.mqtt_url:
        sink = MqttSink(args.mqtt_url, client_id=args.client_id, max_inflight=args.max_inflight)
    elif args.out and args.out != "-":
        out_file = open(args.out, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed below
        sink = JsonLinesSink(out_file)
    else:
        sink = JsonLinesSink(sys.stdout)
    pacer = Pacer(args.speed, start)
    progress = Progress(start, args.days, enabled=not args.no_progress)
    t0 = time.monotonic()
    try:
        for msg in simulate(
            city_doc,
            args.days,
            args.seed,
            args.format,
            faults,
            start,
            interval_h=args.interval_h,
            feed=feed,
            baseline=not args.no_baseline if feed is not None else True,
            stats=stats,
            tts_app=args.tts_app,
            tts_tenant=args.tts_tenant,
        ):
            pacer.wait_for(msg.at)
            sink.send(msg)
            progress.update(msg.at)
    finally:
        progress.finish()
        sink.close()
        if out_file is not None:
            out_file.close()
    summary: dict[str, Any] = {"city": city_doc["city"]["slug"], "format": args.format, "seed": args.seed}
    summary.update(stats.summary())
    summary["fault_rates"] = faults.as_dict()
    summary["seconds"] = round(time.monotonic() - t0, 2)
    return summary


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    p = argparse.ArgumentParser(prog="sensors-sim", description="Simulated waste-container fill sensors.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("city", help="write a city seed document (city.json)")
    c.add_argument("--city", required=True, choices=sorted(CITIES))
    c.add_argument("--bins", type=int, default=None, help="number of containers (default: the city's scale)")
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--out", default="-", help="output path, '-' for stdout (default)")
    c.add_argument("--geojson", default=None, help="also write the bins alone as a GeoJSON FeatureCollection")
    c.set_defaults(func=_cmd_city)

    r = sub.add_parser("run", help="simulate the sensors and publish or write their messages")
    r.add_argument("--city", default="luebeck", choices=sorted(CITIES))
    r.add_argument("--city-file", default=None, help="use this seed document instead of generating one")
    r.add_argument("--bins", type=int, default=None, help="number of containers (default: the city's scale)")
    r.add_argument("--format", default="native", choices=("native", "tts", "chirpstack", "mixed"))
    r.add_argument("--speed", type=_speed, default=None, help="'max' (default) or a factor: 1 = real time")
    r.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    r.add_argument("--start", type=_start, default=None, help="ISO start (default: so the run ends now)")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--interval-h", type=float, default=1.0, help="sensor report interval, hours (default 1)")
    r.add_argument(
        "--faults",
        default="default",
        help="'none', 'default' or kind=rate,... with kinds dropout, duplicate, stuck, battery, garbage, "
        "skew, fire, tilt (battery: share of sensors that die; the others: share of reports)",
    )
    r.add_argument("--mqtt-url", default=None, help="publish to this broker, mqtt://[user:pass@]host:port")
    r.add_argument("--client-id", default="sensors-sim")
    r.add_argument("--max-inflight", type=int, default=1000, help="unacknowledged publishes allowed at once")
    r.add_argument("--out", default=None, help="write JSON lines here instead of publishing ('-': stdout)")
    r.add_argument("--collections-url", default=None, help="closed loop: the service's collections endpoint")
    r.add_argument("--collections-token", default=None, help="API key for --collections-url")
    r.add_argument("--no-baseline", action="store_true", help="with --collections-url: no fixed rounds")
    r.add_argument("--tts-app", default=None, help="The Things Stack application id (default {city}-bins)")
    r.add_argument("--tts-tenant", default="ttn")
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(func=_cmd_run)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sensors-sim`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "run" and args.mqtt_url and args.out:
        print("sensors-sim: give either --mqtt-url or --out, not both", file=sys.stderr)
        return 2
    summary = args.func(args)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
