"""The closed loop: one city, one policy, many days, in a database of its own.

Every simulated hour the sensors' messages go through ingest's own write path (parse, resolve,
``BatchStore``), faults and dead letters included. On each planning day at 05:00 local time the
plan job (``planning.service.execute_plan``: forecast, selection, router, stored plan) plans every
fraction with its trucks; simulated drivers then report each stop through the driver API's code
(``emptied``, now and then ``not_reachable``), which empties the container in the simulation when
the truck gets there and feeds the next forecast. The first ``warmup_days`` run on the city's old
fixed rounds (the history every policy starts from); then the policy runs ``run_in_days`` unmeasured
(the switch from the old rounds leaves every policy a transient: containers the old rounds had just
left, others nearly full), and measures count the ``days`` after.

Each fraction is planned on its own service days: Monday to Saturday without public holidays, or the
weekdays of ``service_days``, which the loop writes as the city's morning schedules together with
the policy under test (its threshold and options, as a city sets them through the API); the plan job
reads both from there like any city's, and the loop plans a fraction only on its days.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import time as clock
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.admin.service import import_city_seed
from wasteroute.config import Settings
from wasteroute.forecasting.estimators import FillEstimate
from wasteroute.ingest.edge import InboundMessage
from wasteroute.ingest.resolver import Resolver, SensorDirectory
from wasteroute.ingest.service import limits_from
from wasteroute.planning.assembly import PlanInputs
from wasteroute.planning.calendar import (
    CITY_SUBDIVISIONS,
    CalendarRules,
    closed_reason,
    next_planning_day,
    service_calendar,
)
from wasteroute.planning.selection import POLICIES, BinSelection, PolicyOptions
from wasteroute.planning.service import VISIT_TIME, execute_plan, forecast_all
from wasteroute.simulation.foresight import Foresight, ModelForesight
from wasteroute.simulation.rhythm import SERVICE_LEVEL as RHYTHM_SERVICE_LEVEL
from wasteroute.simulation.rhythm import WORKING_DAYS, Rhythm, choose_rhythm, due_at_switch, due_today
from wasteroute.simulation.truth import Truth
from wasteroute.storage.cities import CityRepository
from wasteroute.storage.collections import CollectionRepository, StopEvent
from wasteroute.storage.db import make_engine, make_session_factory, transaction
from wasteroute.storage.jobs import ScheduleRepository
from wasteroute.storage.models import AnnouncedEventRow
from wasteroute.storage.plans import PlanRepository
from wasteroute.storage.readings import BatchStore, DeadLetterRow, ReadingRow
from wasteroute.storage.tours import TourRepository
from wasteroute.vocabulary import WEEKDAYS, Fraction

log = logging.getLogger(__name__)

PLAN_HOUR = 5
"""Local hour at which the day's plans are made (before the 06:00 shifts)."""
DEFAULT_MEASURED_START = date(2026, 11, 3)
"""First measured day by default: a Tuesday of an ordinary autumn month (no public holiday in the
four weeks after it in the alliance's states; Reformation Day falls in the run-in)."""
HOLIDAY_MEASURED_START = date(2026, 12, 21)
"""First measured day with ``holiday_week``: Christmas and New Year fall in the measured period."""
WRITE_BATCH = 5_000
FORESIGHT_BEYOND_DAYS = 22
"""Days of the fill model a perfect-foresight run knows past its end (the longest look-ahead, 21
planning days, and one more)."""


def announced_events(city_doc: dict[str, Any], city_id: int, years: Iterable[int]) -> list[AnnouncedEventRow]:
    """The named local events of the simulated city in ``years``, as the city announces them: their
    days, the centre of their district, their radius and their waste factors (litter bins and the
    rest), the simulator's own figures."""
    from sensors_sim.geography import CITIES

    spec = CITIES.get(city_doc["city"]["slug"])
    if spec is None:
        return []
    out = []
    for year in years:
        for ev in spec.events:
            days = ev.days(year)
            place = spec.district(ev.district)
            out.append(
                AnnouncedEventRow(
                    city_id=city_id,
                    name=ev.name,
                    first_day=min(days),
                    last_day=max(days),
                    lon=place.lon,
                    lat=place.lat,
                    radius_m=ev.radius_m,
                    factors={"litter-100": ev.litter_factor, "*": ev.other_factor},
                )
            )
    return out


def city_policy(cfg: SimulationConfig, fraction: str) -> dict[str, Any]:
    """The collection policy the simulated city sets for ``fraction`` (the plan options kept with its
    morning schedule, as ``PUT /api/v1/admin/schedules/{fraction}`` keeps them): the run's policy,
    its thresholds and, for the dynamic policy, its options and the fraction's collection days. Fixed
    rounds set none: each of their plans names the day's containers."""
    if cfg.policy == "fixed":
        return {}
    out: dict[str, Any] = {"policy": cfg.policy}
    if cfg.thresholds:
        out["thresholds"] = dict(cfg.thresholds)
    if cfg.policy == "dynamic":
        out |= dict(cfg.policy_options) | dict(cfg.fraction_options.get(fraction, {}))
        if fraction in cfg.collection_days:
            out["collection_days"] = sorted(cfg.collection_days[fraction])
    return out


@dataclass(frozen=True)
class SimulationConfig:
    """One run. Durations in days, times in seconds, shares as fractions 0..1."""

    policy: str = "dynamic"
    days: int = 28
    warmup_days: int = 14
    seed: int = 1
    plan_time_limit_s: float = 30.0
    """Upper bound of routing time per fraction and day; the search stops on ``plan_iterations``."""
    plan_iterations: int | None = 500
    """PyVRP iterations per plan (the same plan on any machine and load); ``None``: calibrated on the
    time limit (faster machines search more)."""
    run_in_days: int = 7
    """Days the policy runs before the measured period (not measured)."""
    policy_options: Mapping[str, Any] = field(default_factory=dict)
    """Extra options of the dynamic policy's plan jobs (see ``selection.PolicyOptions``)."""
    fraction_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Options of the dynamic policy for one fraction, by fraction (over ``policy_options``), as a
    city sets them per fraction with ``PUT /api/v1/admin/schedules/{fraction}``."""
    collection_days: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Dynamic policy: the weekdays (Monday = 0) each fraction's trucks go on their round (by fraction; others
    every planning day)."""
    service_days: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """The weekdays (Monday = 0) a fraction is collected on under every policy, by fraction; written
    as the city's morning schedules (public holidays closed). Others: Monday to Saturday."""
    fixed_service_level: float = RHYTHM_SERVICE_LEVEL
    """Fixed rounds: the share of its gaps each container's rhythm must survive by its warm-up history
    (``rhythm.choose_rhythm``); higher asks for safer, more frequent rounds."""
    sensor_coverage: float = 1.0
    """Share of containers with a sensor; the others are planned from their peers and history."""
    thresholds: Mapping[str, float] = field(default_factory=dict)
    """Fill threshold per fraction (the city's default elsewhere)."""
    one_truck_fewer: bool = False
    """Take one truck away from every fraction that has more than one."""
    holiday_week: bool = False
    report_interval_h: float = 4.0
    """Hours between two readings of a sensor (fill sensors report every 1 to 6 hours; the Stralsund
    pilot every 6)."""
    not_reachable: float = 0.01
    """Share of stops a driver reports as not reachable (the container stays full)."""
    faults: str = "default"
    announce_events: bool = False
    """What-if: the city announces its named local events (a Christmas market, a festival: their days,
    place and waste factors, as ``POST /api/v1/admin/events`` takes them) and the forecast counts
    them; the unnamed ones (a flea market, a concert) stay unannounced."""
    perfect_forecast: bool = False
    """What-if: the dynamic and threshold policies plan from the simulation's own future (each
    container's true fill and the waste it will receive) instead of the forecast; see ``foresight``."""
    known_model: bool = False
    """What-if: the dynamic and threshold policies plan from a perfect model of each container (its
    true fill, and the waste to come as the fill model expects it without knowing its noise) instead
    of the forecast; see ``foresight.ModelForesight``."""

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if self.days < 1 or self.warmup_days < 1:
            raise ValueError(f"days and warmup_days must be >= 1, got {self.days} and {self.warmup_days}")
        if self.run_in_days < 0:
            raise ValueError(f"run_in_days must be >= 0, got {self.run_in_days}")
        if self.plan_iterations is not None and self.plan_iterations < 1:
            raise ValueError(f"plan_iterations must be >= 1 or None, got {self.plan_iterations}")
        if not 0.5 < self.fixed_service_level < 1:
            raise ValueError(f"fixed_service_level must be in (0.5, 1), got {self.fixed_service_level}")
        if not 0 < self.sensor_coverage <= 1:
            raise ValueError(f"sensor_coverage must be in (0, 1], got {self.sensor_coverage}")
        if not 0 <= self.not_reachable < 1:
            raise ValueError(f"not_reachable must be in [0, 1), got {self.not_reachable}")
        if self.perfect_forecast and self.known_model:
            raise ValueError("perfect_forecast and known_model are two what-ifs; choose one")
        if self.plan_time_limit_s <= 0:
            raise ValueError(f"plan_time_limit_s must be > 0, got {self.plan_time_limit_s}")
        for k, v in self.thresholds.items():
            if not 0 < v <= 1:
                raise ValueError(f"threshold for {k} must be in (0, 1], got {v}")
        per_fraction = (
            ("policy options", self.fraction_options),
            ("collection days", self.collection_days),
            ("service days", self.service_days),
        )
        for flag, by_fraction in per_fraction:
            for fraction in by_fraction:
                if fraction not in set(Fraction):
                    known = ", ".join(Fraction)
                    raise ValueError(f"{flag} of an unknown fraction {fraction!r}; fractions: {known}")
        for flag, given in (("collection days", self.collection_days), ("service days", self.service_days)):
            for fraction, days in given.items():
                if not days or not set(days) <= set(range(7)):
                    raise ValueError(
                        f"{flag} of {fraction} must be a non-empty set of 0 (Monday) .. 6 (Sunday), "
                        f"got {sorted(days)}"
                    )

    @property
    def measured_start(self) -> date:
        return HOLIDAY_MEASURED_START if self.holiday_week else DEFAULT_MEASURED_START


@dataclass
class DayRecord:
    day: date
    measured: bool = True
    km: float = 0.0
    hours: float = 0.0
    tours: int = 0
    stops: int = 0
    not_reachable: int = 0
    planning_s: float = 0.0
    failed_plans: int = 0
    loads: int = 0
    """Trips to a facility (one per truck load)."""
    load_share: float = 0.0
    """Sum over loads of the share of the truck each filled (volume or mass, whichever is larger)."""
    fractions: list[str] = field(default_factory=list)
    """The fractions planned that day (those whose service day it is)."""
    plans: dict[str, str] = field(default_factory=dict)
    """Per fraction planned: a digest of its routes (each truck, its distance and its containers in
    order), so that two runs of one seed can be compared plan by plan and the first that differs found."""


@dataclass
class TruckRecord:
    """What one truck did over the measured days."""

    fraction: str
    access_class: str
    tours: int = 0
    km: float = 0.0
    stops: int = 0
    loads: int = 0
    load_share: float = 0.0


@dataclass
class PolicyRun:
    """The outcome of one run: the simulation's truth and what the trucks drove."""

    config: SimulationConfig
    containers: int
    truth: Truth
    days: list[DayRecord]
    seconds: float
    readings_stored: int
    dead_letters: int
    rhythms: dict[str, int] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)
    """Each container's ``fraction/container type``, in the truth's order."""
    trucks: dict[str, TruckRecord] = field(default_factory=dict)
    """Per truck (external id), the measured days' tours, km, stops and loads."""
    overflows_after_last_service: tuple[int, int] = (0, 0)
    """Overflow events in a container emptied on the last service day before them, before the next
    service day began (one visit per service day could not have prevented them), and the
    container-days they overflowed at least."""

    @property
    def measured_days(self) -> list[DayRecord]:
        """The planning days of the measured period (the run-in's are left out)."""
        return [d for d in self.days if d.measured]


class _Feed:
    """Collections the simulated drivers perform, for the simulator (a ``CollectionFeed``)."""

    def __init__(self) -> None:
        self._events: list[tuple[datetime, str]] = []

    def add(self, ext_id: str, at: datetime) -> None:
        self._events.append((at, ext_id))
        self._events.sort()

    def collections_since(self, t: datetime) -> list[tuple[str, datetime]]:
        i = bisect_left(self._events, (t, ""))
        return [(e, at) for at, e in self._events[i:]]


class _Writer:
    """Sensor messages -> ingest's resolver -> ``BatchStore``: the MQTT ingest path without the socket."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.store = BatchStore(url)
        self.now = datetime(1970, 1, 1, tzinfo=UTC)
        self.resolver = Resolver(
            SensorDirectory(self.store.sensors, refresh_s=3600.0), limits_from(settings), clock=self._clock
        )
        self.readings: list[ReadingRow] = []
        self.dead: list[DeadLetterRow] = []
        self.stored = 0
        self.dead_letters = 0
        self._mid = 0

    def _clock(self) -> datetime:
        return self.now

    def add(self, topic: str, payload: bytes, at: datetime) -> None:
        self.now = at
        self._mid += 1
        for row in self.resolver(InboundMessage(self._mid % 65_535 + 1, 1, topic, payload, at)):
            if isinstance(row, ReadingRow):
                self.readings.append(row)
            else:
                self.dead.append(row)
        if len(self.readings) + len(self.dead) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.readings and not self.dead:
            return
        outcome = self.store.write_and_commit(self.readings, self.dead)
        self.stored += outcome.stored
        self.dead_letters += len(self.dead)
        self.readings, self.dead = [], []

    def close(self) -> None:
        self.flush()
        self.store.close()


def prepare_city(doc: dict[str, Any], cfg: SimulationConfig) -> tuple[dict[str, Any], set[str]]:
    """The document to import (holiday region, what-if changes) and the device ids with a sensor."""
    out = copy.deepcopy(doc)
    slug = out["city"]["slug"]
    out["city"].setdefault("holiday_region", CITY_SUBDIVISIONS.get(slug, "SH"))
    if cfg.one_truck_fewer:
        kept: list[dict[str, Any]] = []
        by_fraction: dict[str, list[dict[str, Any]]] = {}
        for v in out["vehicles"]:
            by_fraction.setdefault(v["fraction"], []).append(v)
        for trucks in by_fraction.values():
            if len(trucks) > 1:
                standard = [t for t in trucks if t["access_class"] == "standard"]
                drop = (standard or trucks)[-1]
                trucks = [t for t in trucks if t is not drop]
            kept.extend(trucks)
        out["vehicles"] = kept
    features = out["bins"]["features"]
    rng = random.Random(f"wasteroute-sim-coverage:{cfg.seed}")
    n_covered = round(cfg.sensor_coverage * len(features))
    covered_idx = set(rng.sample(range(len(features)), n_covered))
    covered: set[str] = set()
    for i, f in enumerate(features):
        sensor = f["properties"].get("sensor")
        if sensor is None:
            continue
        if i in covered_idx:
            covered.add(str(sensor["device_id"]).lower())
        else:
            f["properties"]["sensor"] = None
    return out, covered


SERVICE_START_HOUR = 6
"""Local hour at which a service day's first shifts start."""


def after_last_service(
    overflows: Sequence[datetime],
    emptied_before: Sequence[datetime | None],
    rules: CalendarRules | Sequence[CalendarRules],
    last_day: date | None = None,
) -> tuple[int, int]:
    """Overflows that came in a container emptied on the last service day before them, before the
    next service day's shifts began (from empty to overflowing within one service gap, e.g. over a
    Sunday): more visits on service days could not have prevented them. Returns their number and
    the container-days they overflowed at least (from their day to the next service day, which
    begins overflowing too, up to ``last_day``). ``rules`` are the service days of every container,
    or one for each overflow (its container's fraction's)."""
    calendars = [rules] * len(overflows) if isinstance(rules, CalendarRules) else list(rules)
    events = days = 0
    for when, emptied, cal in zip(overflows, emptied_before, calendars, strict=True):
        if emptied is None:
            continue
        zone = ZoneInfo(cal.timezone)
        following = next_planning_day(emptied.astimezone(zone).date(), cal)
        if when < _local(following, SERVICE_START_HOUR, zone):
            events += 1
            end = following if last_day is None else min(following, last_day)
            days += max(0, (end - when.astimezone(zone).date()).days) + 1
    return events, days


def _local(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


def report_stop(
    session: Session,
    city_id: int,
    vehicle_id: int,
    stop_id: int,
    kind: str,
    at: datetime,
    event_id: uuid.UUID,
) -> tuple[int, bool]:
    """A driver's stop report, the way ``POST /driver/events`` stores it; (bin id, stored anew)."""
    stop = TourRepository(session).driver_stop(stop_id, city_id, vehicle_id)
    if stop is None or stop[1] is None or stop[2] != "stop":
        raise LookupError(f"stop {stop_id} not found on vehicle {vehicle_id}")
    _, created = CollectionRepository(session).record(
        StopEvent(
            client_event_id=event_id,
            city_id=city_id,
            vehicle_id=vehicle_id,
            route_stop_id=stop[0],
            bin_id=stop[1],
            kind=kind,
            observed_fill=None,
            occurred_at=at,
            lon=None,
            lat=None,
        )
    )
    return stop[1], created


def run_policy(
    city_doc: dict[str, Any],
    cfg: SimulationConfig,
    database_url: str,
    settings: Settings,
    *,
    progress: bool = False,
) -> PolicyRun:
    """Run ``cfg.policy`` on ``city_doc`` in the (migrated, empty) database at ``database_url``."""
    from sensors_sim.engine import SimStats, local_events, simulate

    started = clock.perf_counter()
    import_doc, covered = prepare_city(city_doc, cfg)
    engine = make_engine(database_url, pool_size=2)
    factory: sessionmaker[Session] = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            summary = import_city_seed(session, CitySeedDocument.model_validate(import_doc))
        city_id = summary.city_id
        with transaction(factory) as session:
            # the city's morning schedules, as a city sets them through the API: each fraction's
            # service days and its collection policy (every plan of the fraction starts from it)
            for fraction in sorted({v.fraction for v in CityRepository(session).vehicles(city_id)}):
                policy = city_policy(cfg, fraction)
                if fraction not in cfg.service_days and not policy:
                    continue
                ScheduleRepository(session).upsert(
                    city_id=city_id,
                    fraction=fraction,
                    local_time=time(PLAN_HOUR, 0),
                    weekdays=sorted(cfg.service_days.get(fraction, WORKING_DAYS)),
                    on_holidays=False,
                    time_limit_s=cfg.plan_time_limit_s,
                    enabled=True,
                    policy=policy,
                )
        if cfg.announce_events:
            with transaction(factory) as session:
                years = range(cfg.measured_start.year - 1, cfg.measured_start.year + 2)
                session.add_all(announced_events(city_doc, city_id, years))
        with transaction(factory) as session:
            city = CityRepository(session).get(city_id)
            assert city is not None
            tz, region = city.timezone, city.holiday_region
            bins = list(CityRepository(session).bins_with_state(city_id))
            vehicles = {v.id: v for v in CityRepository(session).vehicles(city_id)}
            fractions = sorted({v.fraction for v in vehicles.values()})
            trucks = {v.external_id: TruckRecord(v.fraction, v.access_class) for v in vehicles.values()}
            # each fraction's days read back the way the plan job reads them
            calendars: dict[str, CalendarRules] = {}
            for fraction in fractions:
                sched = ScheduleRepository(session).enabled_for(city_id, fraction)
                calendars[fraction] = service_calendar(
                    tz,
                    region,
                    None if sched is None else sched.weekdays,
                    sched is not None and sched.on_holidays,
                )
        zone = ZoneInfo(tz)
        ext_of = {b.id: b.external_id for b, _, _ in bins}
        feats = city_doc["bins"]["features"]
        index_of = {f["properties"]["external_id"]: i for i, f in enumerate(feats)}
        rounds_key = {
            f["properties"][
                "external_id"
            ]: f"{f['properties'].get('district', '')}:{f['properties']['fraction']}"
            for f in feats
        }
        fraction_at = [f["properties"]["fraction"] for f in feats]
        fraction_of = {ext: fraction_at[i] for ext, i in index_of.items()}
        kinds = [f"{f['properties']['fraction']}/{f['properties']['container_type']}" for f in feats]
        rules = service_calendar(tz, region, None)
        """The city's default days, for containers of a fraction without trucks."""
        measure_day0 = cfg.measured_start
        policy_day0 = measure_day0 - timedelta(days=cfg.run_in_days)
        start_day = policy_day0 - timedelta(days=cfg.warmup_days)
        start = _local(start_day, 0, zone)
        measure_from = _local(measure_day0, 0, zone)
        measure_to = _local(measure_day0 + timedelta(days=cfg.days), 0, zone)
        truth = Truth(len(feats), tz, measure_from, measure_to, cfg.warmup_days, cfg.run_in_days)
        stats = SimStats(on_hour=truth.hour, on_collect=truth.collected)
        feed = _Feed()
        writer = _Writer(database_url, settings)
        driver_rng = random.Random(f"wasteroute-sim-drivers:{cfg.seed}:{cfg.policy}")
        span = [policy_day0 + timedelta(days=k) for k in range(cfg.run_in_days + cfg.days)]
        days_of = {f: [d for d in span if closed_reason(d, calendars[f]) is None] for f in fractions}
        """Each fraction's planning days."""
        planning_days = [d for d in span if any(d in days_of[f] for f in fractions)]
        missed: set[str] = set()
        """Fixed rounds' containers due but not emptied (left out, not reachable): their fraction's
        next planning day's."""
        rhythms: dict[str, Rhythm] = {}
        records: list[DayRecord] = []
        late = timedelta(hours=PolicyOptions.late_visit_h if cfg.policy == "dynamic" else 0.0)
        forecast: Callable[[PlanInputs, datetime], dict[int, FillEstimate]] = forecast_all
        if cfg.perfect_forecast and cfg.policy != "fixed":
            # the look-ahead of the last days reaches past the end: the fill model goes on regardless
            hours = (cfg.warmup_days + cfg.run_in_days + cfg.days + FORESIGHT_BEYOND_DAYS) * 24
            forecast = Foresight(
                city_doc,
                cfg.seed,
                start,
                hours,
                {bid: index_of[ext] for bid, ext in ext_of.items()},
                truth.levels,
            ).forecast
        if cfg.known_model and cfg.policy != "fixed":
            forecast = ModelForesight(
                city_doc, cfg.seed, start, {bid: index_of[ext] for bid, ext in ext_of.items()}, truth.levels
            ).forecast
        previous_day: dict[str, date] = {}
        """Each fraction's last planning day so far."""
        events = local_events(
            city_doc, cfg.seed, start, (cfg.warmup_days + cfg.run_in_days + cfg.days + 2) * 24
        )

        def event_near(i: int, first: date, last: date) -> str:
            """The local event that changes container ``i``'s waste on a day from ``first`` to
            ``last`` (a forecast's window), or "no event"; for the report of where forecasts miss."""
            for ev in events:
                if ev.factor[i] != 1.0 and any(first <= d <= last for d in ev.days):
                    return ev.name
            return "no event"

        def plan_day(day: date, now: datetime) -> None:
            today = [f for f in fractions if day in days_of[f]]
            rec = DayRecord(day, measured=day >= measure_day0, fractions=today)
            records.append(rec)
            if cfg.policy == "fixed" and not rhythms:
                for ext, key in rounds_key.items():
                    fraction = fraction_of[ext]
                    service = calendars.get(fraction, rules).weekdays
                    gain = truth.warm_gain[index_of[ext]].tolist()
                    rhythms[ext] = choose_rhythm(gain, key, cfg.fixed_service_level, service_days=service)
                    last = truth.last_emptied(index_of[ext])
                    # the switch is on the fraction's first planning day, which may be after today
                    switch = next((d for d in days_of.get(fraction, []) if d >= day), day)
                    if due_at_switch(rhythms[ext], None if last is None else last.date(), switch):
                        missed.add(ext)
            due = [
                str(bid)
                for bid, ext in ext_of.items()
                if cfg.policy == "fixed"
                and fraction_of[ext] in today
                and (due_today(rhythms[ext], day, previous_day.get(fraction_of[ext])) or ext in missed)
            ]
            missed.difference_update([ext for ext in missed if fraction_of[ext] in today])
            emptied_today: set[str] = set()
            visit = _local(day, VISIT_TIME.hour, zone)
            for fraction in today:
                next_day = next_planning_day(day, calendars[fraction])
                deadline = _local(next_day, VISIT_TIME.hour, zone) + late
                # the policy comes from the fraction's schedule (``city_policy``); a plan names only
                # its search, and under fixed rounds the day's containers
                options: dict[str, Any] = {"time_limit_s": cfg.plan_time_limit_s, "seed": cfg.seed}
                if cfg.plan_iterations is not None:
                    options["iterations"] = cfg.plan_iterations
                if cfg.policy == "fixed":
                    options |= {"policy": "fixed", "due": due}
                with transaction(factory) as session:
                    plan_id = (
                        PlanRepository(session)
                        .create(city_id=city_id, fraction=fraction, service_date=day, options=options)
                        .id
                    )

                def seen(
                    decisions: list[BinSelection], deadline: datetime = deadline, next_day: date = next_day
                ) -> None:
                    for d in decisions:
                        i = index_of[ext_of[int(d.bin_id)]]
                        truth.expect_band(i, now, visit, *d.fill_at_visit_band)
                        health = "sensor flagged" if d.flags else "healthy sensor"
                        event = event_near(i, day, next_day)
                        tag = f"{kinds[i]};{health};{WEEKDAYS[day.weekday()]};{event}"
                        truth.expect(i, now, deadline, d.overflow_probability, tag)

                t0 = clock.perf_counter()
                result = execute_plan(
                    factory, settings, plan_id, now=lambda: now, on_decisions=seen, forecast=forecast
                )
                rec.planning_s += clock.perf_counter() - t0
                if result.get("status") != "done":
                    rec.failed_plans += 1
                    log.warning("plan %s (%s, %s) failed: %s", plan_id, fraction, day, result.get("error"))
                    continue
                if result.get("next_planning_day") != next_day.isoformat():
                    # the loop's days and the plan job's must be one calendar, or the measures lie
                    raise RuntimeError(
                        f"plan {plan_id} ({fraction}, {day}) planned against "
                        f"{result.get('next_planning_day')}, the simulation against {next_day}"
                    )
                routed: list[str] = []
                with transaction(factory) as session:
                    repo = PlanRepository(session)
                    for route in repo.routes(plan_id):
                        rec.km += route.distance_m / 1000.0
                        rec.hours += route.duration_s / 3600.0
                        rec.tours += 1
                        truck = vehicles[route.vehicle_id]
                        shares = [
                            max(t["volume_l"] / truck.volume_l, t["mass_kg"] / truck.mass_kg)
                            for t in route.trips
                        ]
                        rec.loads += len(shares)
                        rec.load_share += sum(shares)
                        if rec.measured:
                            tr = trucks[truck.external_id]
                            tr.tours += 1
                            tr.km += route.distance_m / 1000.0
                            tr.stops += sum(int(t["stops"]) for t in route.trips)
                            tr.loads += len(shares)
                            tr.load_share += sum(shares)
                        routed.append(f"{truck.external_id}:{route.distance_m}")
                        for stop in repo.stops(route.id):
                            if stop.kind != "stop" or stop.bin_id is None:
                                continue
                            routed.append(ext_of[stop.bin_id])
                            kind = "not_reachable" if driver_rng.random() < cfg.not_reachable else "emptied"
                            event_id = uuid.UUID(int=driver_rng.getrandbits(128), version=4)
                            bin_id, _ = report_stop(
                                session, city_id, route.vehicle_id, stop.id, kind, stop.eta, event_id
                            )
                            rec.stops += 1
                            if kind == "emptied":
                                feed.add(ext_of[bin_id], stop.eta)
                                emptied_today.add(ext_of[bin_id])
                            else:
                                rec.not_reachable += 1
                rec.plans[fraction] = hashlib.sha256(" ".join(routed).encode()).hexdigest()[:12]
            if cfg.policy == "fixed":
                missed.update(ext_of[int(b)] for b in due if ext_of[int(b)] not in emptied_today)
            for fraction in today:
                previous_day[fraction] = day
            if progress:
                log.info(
                    "%s %s: %d tours, %.0f km, %d stops, %.1f s planning; plans %s",
                    cfg.policy,
                    day,
                    rec.tours,
                    rec.km,
                    rec.stops,
                    rec.planning_s,
                    " ".join(f"{f}:{d}" for f, d in rec.plans.items()),
                )

        plan_times = [(d, _local(d, PLAN_HOUR, zone)) for d in planning_days]
        k = 0
        for msg in simulate(
            city_doc,
            cfg.warmup_days + cfg.run_in_days + cfg.days,
            cfg.seed,
            "mixed",
            cfg.faults,
            start,
            interval_h=cfg.report_interval_h,
            feed=feed,
            baseline=True,
            baseline_days=cfg.warmup_days,
            stats=stats,
        ):
            while k < len(plan_times) and msg.at >= plan_times[k][1]:
                writer.flush()
                writer.now = plan_times[k][1]
                plan_day(*plan_times[k])
                k += 1
            if msg.device_id in covered:
                writer.add(msg.topic, msg.payload, msg.at)
        writer.close()
        truth.finish()
        after_service = after_last_service(
            [when for _, when in truth.overflow_log],
            truth.overflow_emptied_before,
            [calendars.get(fraction_at[i], rules) for i, _ in truth.overflow_log],
            measure_day0 + timedelta(days=cfg.days - 1),
        )
        counts: dict[str, int] = {}
        for r in rhythms.values():
            counts[r.name] = counts.get(r.name, 0) + 1
        return PolicyRun(
            config=cfg,
            containers=len(feats),
            truth=truth,
            days=records,
            seconds=clock.perf_counter() - started,
            readings_stored=writer.stored,
            dead_letters=writer.dead_letters,
            rhythms=counts,
            kinds=kinds,
            trucks=trucks,
            overflows_after_last_service=after_service,
        )
    finally:
        engine.dispose()
