"""The simulation: containers fill, sensors report, faults happen, messages come out in time order.

``simulate(city_doc, days, seed, fmt, faults, start)`` is a generator of ``Message``. It does no
I/O itself (except through a ``CollectionFeed`` the caller passes), so the same arguments give
byte-identical messages. Random streams are split by purpose (fill dynamics, rounds, sensors,
radio) with ``numpy.random.SeedSequence``, so the fill trajectories do not depend on fault rates.

Wire contract: the level is a distance, ``distance_mm = mount_offset_mm + (1 - fill) * height_mm``,
never below the mount offset (an overfilled container reads as full).
"""

from __future__ import annotations

import base64
import heapq
import json
import math
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from sensors_sim.city import MEDIAN_FILL_PER_DAY, centre_factor
from sensors_sim.dynamics import OVERFILL_CAP, BinSite, FillModel, FloatArray, LocalEvent
from sensors_sim.envelopes import (
    FORMATS,
    Gateway,
    LoraDevice,
    NetworkIds,
    chirpstack_topic,
    chirpstack_uplink,
    dumps,
    iso_ms,
    make_radio,
    native_frame,
    native_message,
    tts_topic,
    tts_uplink,
)
from sensors_sim.faults import (
    DEFAULT_FAULTS,
    FIRE_MEAN_REPORTS,
    STUCK_MEAN_REPORTS,
    TILT_MEAN_REPORTS,
    FaultRates,
    parse_faults,
)
from sensors_sim.feeds import CollectionFeed
from sensors_sim.geography import CITIES, distance_m, offset_lonlat
from sensors_sim.payloads import encode_em310, encode_ldds75
from sensors_sim.schedule import BaselineSchedule, Round, parse_hours, round_for

TEMPERATURE_MODELS = frozenset({"ldds75", "native"})
TILT_MODELS = frozenset({"em310-udl", "native"})
FIRE_TEMPERATURE_C = (70.0, 140.0)
MEASUREMENT_NOISE_MM = {"em310-udl": 8.0, "ldds75": 10.0, "native": 5.0}
"""Standard deviation of a distance measurement, mm, per sensor model."""


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message.

    Attributes:
        topic: MQTT topic.
        payload: payload bytes (UTF-8 JSON unless garbage).
        qos: MQTT QoS (1).
        at: simulated time it is sent, UTC (for pacing; equals the measurement time).
        fmt: ``native``, ``tts`` or ``chirpstack``.
        device_id: the sensor's DevEUI.
        fault: ``None`` for a healthy message, else the fault it shows: ``garbage`` (must be
            dead-lettered), ``skew`` (timestamp in the future), ``duplicate`` (second delivery),
            ``stuck``, ``fire``, ``tilt``, ``battery`` (a draining battery).
        detail: the garbage kind (``invalid_json``, ``truncated``, ``binary``, ``wrong_types``,
            ``out_of_range``, ``short_frame``), else ``None``.
    """

    topic: str
    payload: bytes
    qos: int
    at: datetime
    fmt: str
    device_id: str
    fault: str | None = None
    detail: str | None = None

    def json_line(self) -> str:
        """``{"topic", "payload" | "payload_b64", "qos", "fault", "detail"}`` as one JSON line
        (no newline). The payload is a string when it is valid UTF-8, else base64."""
        try:
            body: dict[str, Any] = {"topic": self.topic, "payload": self.payload.decode("utf-8")}
        except UnicodeDecodeError:
            body = {"topic": self.topic, "payload_b64": base64.b64encode(self.payload).decode()}
        body["qos"] = self.qos
        body["fault"] = self.fault
        body["detail"] = self.detail
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@dataclass
class SimStats:
    """Counts the simulation keeps while it runs (pass one to ``simulate`` to read them).

    ``reports`` counts scheduled reports of live sensors (the denominator of the per-report fault
    rates); ``faults`` counts reports affected by each fault kind, dropped ones included;
    ``fire_capable_reports`` / ``tilt_capable_reports`` are the denominators of those rates.
    """

    bins: int = 0
    days: float = 0.0
    start: datetime | None = None
    end: datetime | None = None
    reports: int = 0
    fire_capable_reports: int = 0
    tilt_capable_reports: int = 0
    messages: int = 0
    messages_by_format: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    garbage: Counter[str] = field(default_factory=Counter)
    collections: int = 0
    overflowing_at_collection: int = 0
    fill_at_collection_sum: float = 0.0
    dead_sensors: int = 0
    died_at: dict[str, datetime] = field(default_factory=dict)
    """Device id -> simulated time its battery died (it sends nothing afterwards)."""
    on_hour: Callable[[datetime, FloatArray], None] | None = None
    """Called at the end of every simulated hour with that instant (UTC) and every container's true
    fill level (simulator order, capped at ``OVERFILL_CAP``): the truth a closed-loop study measures."""
    on_collect: Callable[[int, datetime, float, float], None] | None = None
    """Called at every emptying with the container's index, the instant, its true fill before and the
    residue left in it."""

    def summary(self) -> dict[str, Any]:
        """The run summary (what the CLI prints on its last line, without the wall time)."""
        return {
            "bins": self.bins,
            "days": self.days,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "reports": self.reports,
            "messages": self.messages,
            "messages_by_format": dict(sorted(self.messages_by_format.items())),
            "faults": dict(sorted(self.faults.items())),
            "garbage_by_kind": dict(sorted(self.garbage.items())),
            "collections": self.collections,
            "mean_fill_at_collection": round(self.fill_at_collection_sum / self.collections, 4)
            if self.collections
            else None,
            "overflowing_at_collection": self.overflowing_at_collection,
            "dead_sensors": self.dead_sensors,
        }


def default_start(days: float, speed: float | None, now: datetime | None = None) -> datetime:
    """The start that makes every simulated timestamp lie in the past when the run ends.

    ``speed`` None means as fast as possible: start = now - days. With a factor, simulated time
    runs ``speed`` times faster than the wall clock, so the start is ``days * (1 - 1/speed)``
    before now (speed 1: a live run starting now). Rounded down to the whole minute.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    lead_days = days if speed is None else days * (1.0 - 1.0 / speed)
    t = now - timedelta(days=max(0.0, lead_days))
    return t.replace(second=0, microsecond=0)


@dataclass(slots=True)
class _Sensor:
    """Mutable state of one sensor during a run."""

    battery_pct: float
    drain_pct_per_report: float
    death_start_s: float
    death_end_s: float
    f_cnt: int
    rssi_dbm: float
    temp_offset_c: float
    temp_damping: float
    last_distance_mm: int | None = None
    stuck_left: int = 0
    stuck_value_mm: int = 0
    fire_left: int = 0
    tilt_left: int = 0
    tilt_deg: float = 0.0
    dead: bool = False


def _geometric(rng: random.Random, mean: float) -> int:
    """A geometric number of reports >= 1 with the given mean."""
    p = 1.0 / mean
    return 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - p)) if p < 1.0 else 1


def _gateways(slug: str, city_doc: dict[str, Any]) -> list[tuple[Gateway, float, float]]:
    """One gateway per district of a known city (at its centre), else a ring around the centre."""
    spec = CITIES.get(slug)
    if spec is not None:
        points = [(d.lon, d.lat) for d in spec.districts]
    else:
        lon, lat = city_doc["city"]["center"]
        points = [(lon, lat)] + [
            offset_lonlat(lon, lat, 3000 * math.cos(a), 3000 * math.sin(a)) for a in np.linspace(0, 6, 6)
        ]
    out = []
    for i, (lon, lat) in enumerate(points):
        eui = f"b827ebfffe{(zlib.crc32(slug.encode()) + i) & 0xFFFFFF:06x}"
        out.append((Gateway(gateway_id=f"{slug}-gw-{i + 1:02d}", eui=eui), lon, lat))
    return out


def _streams(seed: int) -> list[np.random.SeedSequence]:
    """The run's independent random streams: fill, rounds, sensors, radio, setup, report clock."""
    return np.random.SeedSequence([seed, 0x5EED]).spawn(6)


def _sites(city_doc: dict[str, Any]) -> list[BinSite]:
    """The containers as the fill model sees them, in the city document's order."""
    return [
        BinSite(f["properties"]["fraction"], f["properties"]["container_type"], *f["geometry"]["coordinates"])
        for f in city_doc["bins"]["features"]
    ]


def _fill_model(city_doc: dict[str, Any], stream: np.random.SeedSequence, start: datetime) -> FillModel:
    """The run's fill model: the simulator and :func:`fill_increments` build it here, so the future a
    what-if reads ahead is the one the simulation lives."""
    return FillModel(
        _sites(city_doc),
        CITIES.get(city_doc["city"]["slug"]),
        start.astimezone(UTC),
        np.random.default_rng(stream),
    )


def seeded_fill_model(city_doc: dict[str, Any], seed: int, start: datetime) -> FillModel:
    """The fill model ``simulate(city_doc, ..., seed, start=start)`` lives with: each container's mean
    rate and the calendar's factors, which a what-if may know in advance, before it draws any hour."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    return _fill_model(city_doc, _streams(seed)[0], start)


def fill_increments(city_doc: dict[str, Any], seed: int, start: datetime, hours: int) -> FloatArray:
    """The waste each container receives in each of the first ``hours`` hours of ``simulate(city_doc,
    ..., seed, start=start)``, shape (hours, containers), in fill fractions: the fill model's own draws,
    which no emptying, sensor or fault changes. A what-if that knows the future reads it ahead."""
    if hours < 0:
        raise ValueError(f"hours must be >= 0, got {hours}")
    model = seeded_fill_model(city_doc, seed, start)
    out: FloatArray = np.zeros((hours, len(city_doc["bins"]["features"])))
    for h in range(hours):
        out[h] = model.hour_increment(h)
    return out


def local_events(city_doc: dict[str, Any], seed: int, start: datetime, hours: int) -> list[LocalEvent]:
    """The local events (named ones like a Christmas market, and unnamed ones) that ``simulate(city_doc,
    ..., seed, start=start)`` lives through in its first ``hours`` hours, each with its days and its
    rate factor per container: for a report that asks where the forecast missed."""
    model = seeded_fill_model(city_doc, seed, start)
    for h in range(max(hours, 0)):
        model.hour_increment(h)
    return list(model.events)


class _Simulation:
    """One run; ``run()`` yields the messages."""

    def __init__(
        self,
        city_doc: dict[str, Any],
        days: float,
        seed: int,
        fmt: str,
        faults: FaultRates,
        start: datetime,
        interval_h: float,
        feed: CollectionFeed | None,
        baseline: bool,
        stats: SimStats,
        tts_app: str | None,
        tts_tenant: str,
        baseline_days: float | None = None,
    ) -> None:
        if fmt not in (*FORMATS, "mixed"):
            raise ValueError(f"fmt must be one of {[*FORMATS, 'mixed']}, got {fmt!r}")
        if days <= 0:
            raise ValueError(f"days must be > 0, got {days}")
        if interval_h <= 0:
            raise ValueError(f"interval_h must be > 0, got {interval_h}")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.slug: str = city_doc["city"]["slug"]
        self.spec = CITIES.get(self.slug)
        self.start = start.astimezone(UTC)
        self.horizon_s = days * 86_400.0
        self.end = self.start + timedelta(seconds=self.horizon_s)
        self.interval_s = interval_h * 3600.0
        self.faults = faults
        self.feed = feed
        self.stats = stats
        self.ids = NetworkIds.for_city(self.slug, tts_app, tts_tenant)
        s_fill, s_round, s_sensor, s_radio, s_setup, s_clock = _streams(seed)
        self.rng = random.Random(int(s_sensor.generate_state(2, np.uint64)[0]))
        self.radio_rng = random.Random(int(s_radio.generate_state(2, np.uint64)[0]))
        self.clock_rng = random.Random(int(s_clock.generate_state(2, np.uint64)[0]))  # report times
        setup = random.Random(int(s_setup.generate_state(2, np.uint64)[0]))
        self.collect_rng = random.Random(int(s_round.generate_state(2, np.uint64)[1]))

        types = {t["code"]: t for t in city_doc["container_types"]}
        feats = city_doc["bins"]["features"]
        self.n = len(feats)
        self.ext_ids: list[str] = []
        self.height_mm: list[float] = []
        self.mount_mm: list[int] = []
        self.models: list[str] = []
        self.dev_ids: list[str] = []
        self.fmts: list[str] = []
        self.tags: list[dict[str, str]] = []
        self.underground: list[bool] = []
        gateways = _gateways(self.slug, city_doc)
        self.devices: list[LoraDevice] = []
        self.sensors: list[_Sensor] = []
        for f in feats:
            p = f["properties"]
            lon, lat = f["geometry"]["coordinates"]
            sensor = p["sensor"]
            model = sensor.get("model", "native")
            dev = str(sensor["device_id"]).lower()
            self.ext_ids.append(p["external_id"])
            self.height_mm.append(float(types[p["container_type"]]["height_mm"]))
            self.mount_mm.append(int(sensor.get("mount_offset_mm", 50)))
            self.models.append(model)
            self.dev_ids.append(dev)
            self.tags.append({"bin": p["external_id"], "fraction": p["fraction"]})
            self.underground.append(p["container_type"] == "underground-3000")
            if fmt == "mixed":
                self.fmts.append("native" if model == "native" else setup.choice(("tts", "chirpstack")))
            else:
                self.fmts.append(fmt)
            near = sorted(gateways, key=lambda g: distance_m(lon, lat, g[1], g[2]))
            d_km = distance_m(lon, lat, near[0][1], near[0][2]) / 1000.0
            rssi = -72.0 - 14.0 * d_km + setup.gauss(0, 6) - (12.0 if self.underground[-1] else 0.0)
            sf = 7 if rssi > -100 else 8 if rssi > -106 else 9 if rssi > -112 else 10 if rssi > -117 else 11
            self.devices.append(
                LoraDevice(
                    dev_eui=dev,
                    model=model,
                    dev_addr=f"26{setup.getrandbits(24):06x}",
                    session_key_id=base64.b64encode(setup.getrandbits(128).to_bytes(16, "big")).decode(),
                    gateways=tuple(g[0] for g in near[: setup.randint(1, 3)]),
                    rssi_dbm=rssi,
                    spreading_factor=sf,
                )
            )
            dies = setup.random() < faults.battery
            death_start = setup.uniform(0.0, 0.8) * self.horizon_s if dies else math.inf
            self.sensors.append(
                _Sensor(
                    battery_pct=setup.uniform(55.0, 100.0),
                    drain_pct_per_report=setup.uniform(0.001, 0.004),
                    death_start_s=death_start,
                    death_end_s=death_start + setup.uniform(1.0, 4.0) * 86_400.0,
                    f_cnt=0 if setup.random() < 0.1 else setup.randrange(1, 20_000),
                    rssi_dbm=rssi,
                    temp_offset_c=setup.gauss(0.0, 1.5) + (4.0 if self.underground[-1] else 0.0),
                    temp_damping=0.35 if self.underground[-1] else 1.0,
                )
            )
        self.fill = _fill_model(city_doc, s_fill, self.start)
        self.anchor_fill = np.zeros(self.n)
        init_rng = np.random.default_rng(s_fill.spawn(1)[0])
        # start in the middle of a cycle: somewhere between empty and about two days from full
        self.anchor_fill[:] = np.clip(init_rng.uniform(0.0, 0.85, self.n), 0.0, 1.0)
        self.anchor_t = np.zeros(self.n)
        self.baseline: BaselineSchedule | None = None
        self.baseline_end_s = math.inf if baseline_days is None else baseline_days * 86_400.0
        if baseline:
            self.baseline = self._baseline(feats, setup_seed=int(s_round.generate_state(2, np.uint64)[0]))
        self.index_of = {e: i for i, e in enumerate(self.ext_ids)}
        self.applied: set[tuple[str, datetime]] = set()
        self.p_stuck = FaultRates.episode_onset(faults.stuck, STUCK_MEAN_REPORTS)
        self.p_fire = FaultRates.episode_onset(faults.fire, FIRE_MEAN_REPORTS)
        self.p_tilt = FaultRates.episode_onset(faults.tilt, TILT_MEAN_REPORTS)
        stats.bins = self.n
        stats.days = days
        stats.start = self.start
        stats.end = self.end

    def _baseline(self, feats: list[dict[str, Any]], setup_seed: int) -> BaselineSchedule:
        rng = random.Random(setup_seed)
        route_days: dict[tuple[str, str, str], tuple[tuple[int, ...], int | None]] = {}
        rounds: list[Round] = []
        for f in feats:
            p = f["properties"]
            lon, lat = f["geometry"]["coordinates"]
            median = MEDIAN_FILL_PER_DAY.get((p["fraction"], p["container_type"]), 0.15)
            litter_centre = p["container_type"] == "litter-100" and self.spec is not None
            if litter_centre and self.spec is not None:
                median *= centre_factor(self.spec, lon, lat)
            key = (str(p.get("district", "")), p["fraction"], p["container_type"])
            if key not in route_days:
                route_days[key] = round_for(median, rng)
            weekdays, parity = route_days[key]
            lo, hi = parse_hours(p.get("collection_hours", "06:00-20:00"))
            tod = lo + rng.randrange(max(1, min(7 * 3600, hi - lo - 600)))
            rounds.append(Round(weekdays, parity, tod))
        tz = self.spec.timezone if self.spec else "Europe/Berlin"
        return BaselineSchedule(rounds, tz, self.fill.is_holiday)

    # -- time helpers -------------------------------------------------------------------------

    def _at(self, t_s: float) -> datetime:
        return self.start + timedelta(seconds=t_s)

    def _seconds(self, at: datetime) -> float:
        return (at - self.start).total_seconds()

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Iterator[Message]:
        heap: list[tuple[float, int, int]] = []  # (t_s, kind 0=collection 1=report, bin)
        for b in range(self.n):
            first = self.clock_rng.uniform(0.0, self.interval_s)
            heapq.heappush(heap, (first, 1, b))
            if self.baseline is not None:
                nxt = self._seconds(self.baseline.next_after(b, self.start))
                if nxt < self.baseline_end_s:
                    heapq.heappush(heap, (nxt, 0, b))
        n_hours = math.ceil(self.horizon_s / 3600.0)
        last_poll: datetime | None = None
        for hour in range(n_hours):
            h0, h1 = hour * 3600.0, min((hour + 1) * 3600.0, self.horizon_s)
            if self.feed is not None:
                since = self.start if last_poll is None else last_poll - timedelta(days=1)
                self._poll(heap, since, h0)
                last_poll = self._at(h0)
            rate = self.fill.hour_increment(hour) / 3600.0
            rate_l: list[float] = rate.tolist()
            while heap and heap[0][0] < h1:
                t, kind, b = heapq.heappop(heap)
                if kind == 0:
                    self._collect(b, t, rate_l[b])
                    if self.baseline is not None and t < self.baseline_end_s:
                        nxt = self._seconds(self.baseline.next_after(b, self._at(t)))
                        if nxt < self.baseline_end_s:  # the fixed rounds end with the warm-up
                            heapq.heappush(heap, (nxt, 0, b))
                    continue
                fill = min(
                    OVERFILL_CAP, float(self.anchor_fill[b]) + (t - float(self.anchor_t[b])) * rate_l[b]
                )
                yield from self._report(b, t, fill)
                if not self.sensors[b].dead:
                    jitter = self.clock_rng.uniform(-0.1, 0.1)
                    heapq.heappush(heap, (t + self.interval_s * (1.0 + jitter), 1, b))
            self.anchor_fill = np.minimum(OVERFILL_CAP, self.anchor_fill + (h1 - self.anchor_t) * rate)
            self.anchor_t[:] = h1
            if self.stats.on_hour is not None:
                self.stats.on_hour(self._at(h1), self.anchor_fill)

    def _poll(self, heap: list[tuple[float, int, int]], since: datetime, now_s: float) -> None:
        assert self.feed is not None
        for ext_id, at in self.feed.collections_since(since):
            key = (ext_id, at)
            b = self.index_of.get(ext_id)
            if b is None or key in self.applied:
                continue
            self.applied.add(key)
            t = self._seconds(at.astimezone(UTC))
            if t >= self.horizon_s:
                continue
            if t <= now_s:
                # learnt late: empty now, with the waste that came in since (at the mean rate)
                late_s = max(0.0, now_s - max(t, 0.0))
                self._collect(b, now_s, 0.0)
                self.anchor_fill[b] += late_s / 86_400.0 * float(self.fill.mean_rate_per_day[b])
            else:
                heapq.heappush(heap, (t, 0, b))

    def _collect(self, b: int, t: float, rate: float) -> None:
        fill = min(OVERFILL_CAP, float(self.anchor_fill[b]) + (t - float(self.anchor_t[b])) * rate)
        self.stats.collections += 1
        residue = self.collect_rng.uniform(0.0, 0.03)  # a little sticks to the walls
        if self.stats.on_collect is not None:
            self.stats.on_collect(b, self._at(t), fill, residue)
        self.stats.fill_at_collection_sum += min(fill, 1.0)
        if fill >= 1.0:
            self.stats.overflowing_at_collection += 1
        self.anchor_fill[b] = residue
        self.anchor_t[b] = t
        self.sensors[b].tilt_left = 0  # the crew puts a fallen container back up

    def _temperature(self, s: _Sensor, at: datetime) -> float:
        doy = at.timetuple().tm_yday
        season = 9.0 - 8.0 * math.cos(2 * math.pi * (doy - 20) / 365.25)
        hour = at.hour + at.minute / 60.0 + 1.0  # roughly local (UTC+1)
        diurnal = 4.0 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)
        return season + s.temp_damping * diurnal + s.temp_offset_c + self.rng.gauss(0.0, 0.4)

    def _report(self, b: int, t: float, fill: float) -> Iterator[Message]:
        s = self.sensors[b]
        model = self.models[b]
        fr = self.faults
        rng = self.rng
        # battery: slow drain, or the fast death of a bad cell
        battery_fault = False
        if t >= s.death_end_s:
            s.dead = True
            self.stats.dead_sensors += 1
            self.stats.died_at[self.dev_ids[b]] = self._at(s.death_end_s)
            return
        if t >= s.death_start_s:
            battery_fault = True
            remaining = (s.death_end_s - t) / (s.death_end_s - s.death_start_s)
            s.battery_pct = min(s.battery_pct, max(0.0, 30.0 * remaining))
        else:
            s.battery_pct = max(1.0, s.battery_pct - s.drain_pct_per_report)
        self.stats.reports += 1
        if battery_fault:
            self.stats.faults["battery"] += 1
        # the measurement
        clean = self.mount_mm[b] + max(0.0, 1.0 - fill) * self.height_mm[b]
        distance = max(self.mount_mm[b], round(clean + rng.gauss(0.0, MEASUREMENT_NOISE_MM[model])))
        at = self._at(t)
        temperature = self._temperature(s, at) if model in TEMPERATURE_MODELS else None
        tilt = 0.0
        label: str | None = "battery" if battery_fault else None
        # episodes: stuck value, fire, tilt
        if s.stuck_left > 0:
            s.stuck_left -= 1
            distance = s.stuck_value_mm
            label = "stuck"
        elif self.p_stuck and rng.random() < self.p_stuck:
            s.stuck_left = _geometric(rng, STUCK_MEAN_REPORTS) - 1
            s.stuck_value_mm = s.last_distance_mm if s.last_distance_mm is not None else distance
            distance = s.stuck_value_mm
            label = "stuck"
        if label == "stuck":
            self.stats.faults["stuck"] += 1
        if model in TILT_MODELS:
            self.stats.tilt_capable_reports += 1
            if s.tilt_left == 0 and self.p_tilt and rng.random() < self.p_tilt:
                s.tilt_left = _geometric(rng, TILT_MEAN_REPORTS)
                s.tilt_deg = round(rng.uniform(40.0, 95.0), 1)
            if s.tilt_left > 0:
                s.tilt_left -= 1
                tilt = s.tilt_deg
                distance = rng.randint(250, 4000)  # the beam hits the ground or a wall
                label = "tilt"
                self.stats.faults["tilt"] += 1
        if model in TEMPERATURE_MODELS:
            self.stats.fire_capable_reports += 1
            if s.fire_left == 0 and self.p_fire and rng.random() < self.p_fire:
                s.fire_left = _geometric(rng, FIRE_MEAN_REPORTS)
            if s.fire_left > 0:
                s.fire_left -= 1
                temperature = rng.uniform(*FIRE_TEMPERATURE_C)
                label = "fire"
                self.stats.faults["fire"] += 1
        s.last_distance_mm = distance
        seq = s.f_cnt
        s.f_cnt = (s.f_cnt + 1) % 65_536
        # delivery: lost, garbage, skewed or fine
        u = rng.random()
        if u < fr.dropout:
            self.stats.faults["dropout"] += 1
            return
        garbage = u < fr.dropout + fr.garbage
        skew = not garbage and u < fr.dropout + fr.garbage + fr.skew
        measured_at = at
        if skew:
            label = "skew"
            self.stats.faults["skew"] += 1
            if rng.random() < 0.1:
                measured_at = datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)  # 32-bit clock overflow
            else:
                measured_at = max(self.end, at) + timedelta(seconds=rng.uniform(7200.0, 30 * 86_400.0))
        reading: dict[str, Any] = {"distance_mm": distance}
        if model == "ldds75":
            reading["battery_v"] = round((3000 + 6 * s.battery_pct) / 1000.0, 3)
        else:
            reading["battery_pct"] = round(s.battery_pct)
        if temperature is not None:
            reading["temperature_c"] = round(temperature, 1)
        if model in TILT_MODELS:
            reading["tilt_deg"] = tilt
        fmt = self.fmts[b]
        if fmt == "native":
            msg = self._native(b, measured_at, reading, seq, garbage)
        else:
            msg = self._lora(b, fmt, measured_at, reading, seq, tilt > 0, garbage)
        topic, payload, detail = msg
        if detail is not None:
            label = "garbage"
            self.stats.faults["garbage"] += 1
            self.stats.garbage[detail] += 1
        m = Message(topic, payload, 1, at, fmt, self.dev_ids[b], label, detail)
        self.stats.messages += 1
        self.stats.messages_by_format[fmt] += 1
        yield m
        if label not in ("garbage", "skew") and fr.duplicate and rng.random() < fr.duplicate:
            self.stats.faults["duplicate"] += 1
            self.stats.messages += 1
            self.stats.messages_by_format[fmt] += 1
            yield Message(topic, payload, 1, at, fmt, self.dev_ids[b], "duplicate", None)

    # -- formats ------------------------------------------------------------------------------

    def _native(
        self, b: int, measured_at: datetime, reading: dict[str, Any], seq: int, garbage: bool
    ) -> tuple[str, bytes, str | None]:
        s = self.sensors[b]
        fields: dict[str, Any] = {"device_id": self.dev_ids[b], "measured_at": iso_ms(measured_at)}
        fields.update(reading)
        fields["rssi_dbm"] = round(s.rssi_dbm + self.radio_rng.gauss(0.0, 3.0))
        fields["snr_db"] = round(max(-20.0, min(12.0, (fields["rssi_dbm"] + 120) / 4)), 1)
        fields["seq"] = seq
        topic, payload = native_message(self.slug, fields)
        if not garbage:
            return topic, payload, None
        kind = self.rng.choice(("invalid_json", "truncated", "binary", "wrong_types", "out_of_range"))
        if kind == "wrong_types":
            bad = dict(fields)
            bad["distance_mm"] = self.rng.choice(("n/a", "full", {"value": reading["distance_mm"]}, [1, 2]))
            bad["measured_at"] = self.rng.choice(("yesterday", ["2026", "01"], {"t": 0}))
            return topic, dumps(bad), kind
        if kind == "out_of_range":
            bad = dict(fields)
            bad["distance_mm"] = self.rng.randint(20_000, 65_535)
            if "battery_pct" in bad:
                bad["battery_pct"] = self.rng.randint(101, 255)
            return topic, dumps(bad), kind
        return topic, self._broken_bytes(kind, payload), kind

    def _broken_bytes(self, kind: str, payload: bytes) -> bytes:
        rng = self.rng
        if kind == "truncated":
            return payload[: rng.randint(1, len(payload) - 2)]
        if kind == "binary":
            return b"\xff" + rng.getrandbits(8 * 23).to_bytes(23, "big")
        # invalid_json: text that is close to JSON but is not
        text = payload.decode()
        variant = rng.randrange(3)
        if variant == 0:
            return (text[:-1] + ",}").encode()  # trailing comma
        if variant == 1:
            return text.replace('"', "'").encode()  # single quotes
        return f"ERR {rng.randrange(100, 999)} sensor timeout".encode()

    def _lora(
        self,
        b: int,
        fmt: str,
        measured_at: datetime,
        reading: dict[str, Any],
        seq: int,
        tilted: bool,
        garbage: bool,
    ) -> tuple[str, bytes, str | None]:
        dev = self.devices[b]
        model = dev.model
        rr = self.radio_rng
        ns_time = measured_at + timedelta(microseconds=rr.randint(30_000, 400_000))
        radio = make_radio(rr, dev, measured_at, ns_time)
        kind = (
            self.rng.choice(
                ("invalid_json", "truncated", "binary", "wrong_types", "out_of_range", "short_frame")
            )
            if garbage
            else None
        )

        def frame_for(r: dict[str, Any]) -> tuple[bytes, dict[str, Any] | None]:
            if model == "em310-udl":
                return encode_em310(int(r["battery_pct"]), int(r["distance_mm"]), tilted), None
            if model == "ldds75":
                mv = round(float(r["battery_v"]) * 1000)
                return encode_ldds75(mv, int(r["distance_mm"]), float(r["temperature_c"])), None
            return native_frame(r), r

        if kind == "out_of_range":
            bad = dict(reading)
            bad["distance_mm"] = self.rng.randint(20_000, 65_535)
            if model == "em310-udl":
                bad["battery_pct"] = self.rng.randint(101, 255)
            elif model == "ldds75":
                bad["temperature_c"] = round(self.rng.uniform(300.0, 3000.0), 1)
            frame, decoded = frame_for(bad)
        else:
            frame, decoded = frame_for(reading)
        if kind == "short_frame":
            # cut inside a channel, never after one: a frame holding only the battery channel is a
            # valid (level-less) status frame, not garbage
            cuts = {"em310-udl": (1, 2, 4, 5, 6), "ldds75": (1, 2, 3)}.get(model, range(1, len(frame) - 1))
            frame = frame[: self.rng.choice(tuple(cuts))]
            decoded = None
        if fmt == "tts":
            body = tts_uplink(self.ids, dev, seq, frame, decoded, radio, rr)
            topic = tts_topic(self.ids, dev.dev_eui)
        else:
            body = chirpstack_uplink(self.ids, dev, seq, frame, decoded, radio, rr, self.tags[b])
            topic = chirpstack_topic(self.ids, dev.dev_eui)
        if kind == "wrong_types":
            if fmt == "tts":
                up = body["uplink_message"]
                up["frm_payload"] = self.rng.randint(1, 10**9)
                up["f_port"] = "eighty-five"
                up.pop("decoded_payload", None)
            else:
                body["data"] = self.rng.randint(1, 10**9)
                body["fPort"] = "two"
                body.pop("object", None)
        payload = dumps(body)
        if kind in ("invalid_json", "truncated", "binary"):
            payload = self._broken_bytes(kind, payload)
        return topic, payload, kind


def simulate(
    city_doc: dict[str, Any],
    days: float,
    seed: int,
    fmt: str = "native",
    faults: FaultRates | str = DEFAULT_FAULTS,
    start: datetime | None = None,
    *,
    interval_h: float = 1.0,
    feed: CollectionFeed | None = None,
    baseline: bool | None = None,
    stats: SimStats | None = None,
    tts_app: str | None = None,
    tts_tenant: str = "ttn",
    baseline_days: float | None = None,
) -> Iterator[Message]:
    """Simulate ``days`` days of the city's sensors and yield their MQTT messages in time order.

    Args:
        city_doc: a city seed document (``generate_city`` or a file the service also imports).
        days: simulated duration, days (> 0).
        seed: the random seed; same arguments -> byte-identical messages.
        fmt: ``native``, ``tts``, ``chirpstack``, or ``mixed`` (native-model sensors in native
            JSON, the LoRaWAN models split between The Things Stack and ChirpStack).
        faults: fault rates, or a ``--faults`` string (``none``, ``default``, ``kind=rate,...``).
        start: first simulated instant (timezone-aware); ``None``: ``default_start(days, None)``,
            which makes the run end now (not reproducible: pass a start for that).
        interval_h: sensor report interval, hours (each report is jittered by +-10 %).
        feed: closed loop: containers are emptied when the feed reports a collection.
        baseline: fixed rounds on/off; default: on when there is no feed.
        baseline_days: the fixed rounds stop after this many days (a warm-up before a closed loop
            takes over through ``feed``); ``None``: they run to the end.
        stats: a ``SimStats`` to fill while running.
        tts_app, tts_tenant: The Things Stack application id (default ``{city}-bins``) and tenant.
    """
    rates = parse_faults(faults) if isinstance(faults, str) else faults
    sim = _Simulation(
        city_doc,
        days,
        seed,
        fmt,
        rates,
        start if start is not None else default_start(days, None),
        interval_h,
        feed,
        feed is None if baseline is None else baseline,
        stats if stats is not None else SimStats(),
        tts_app,
        tts_tenant,
        baseline_days,
    )
    return sim.run()
