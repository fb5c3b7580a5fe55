"""Which containers a plan must, may or need not visit, from their fill forecasts (pure, no I/O).

A container is

* **must-go** when its expected fill at the planned visit reaches the threshold of its city and
  fraction (default 80 %), or when it would overflow (expected fill >= 1) before the next planning
  day's visit, so skipping it today would let it overflow;
* **may-go** when it is close: expected fill at the visit within ``margin`` of the threshold, or a
  real chance (``may_go_overflow_probability``) of overflowing before the next visit. The router may
  leave it out at the price of its prize (skip penalty);
* **skip** otherwise.

The prize grows with urgency: ``overflow_cost * P(overflow before the next visit) + fill_value *
expected fill at the visit``, in the routing cost unit (whatever unit the router minimises, e.g.
metres). Must-go containers carry a prize too, so a plan that cannot take them all knows which to
drop first. Every decision comes with a reason a dispatcher can read, and says when a sensor was
flagged and the fallback rate was used.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wasteroute.forecasting.estimators import FillEstimate, HealthFlag, RateSource
from wasteroute.forecasting.events import WithEvents
from wasteroute.vocabulary import WEEKDAYS, SelectionReason, SelectionStatus, time_zone

DEFAULT_THRESHOLD = 0.8
DEFAULT_EMERGENCY_RISK = 0.05
"""Between collection days, the overflow probability by the next day that sends a truck out, unless
the policy says otherwise (and never below its ``risk``)."""


@dataclass(frozen=True)
class SelectionParams:
    """Rules of selection. Fill levels are fractions 0..1; costs are in the routing cost unit."""

    default_threshold: float = DEFAULT_THRESHOLD
    """Fill at the visit from which a container must go, unless ``thresholds`` says otherwise."""
    thresholds: Mapping[tuple[str, str], float] = field(default_factory=dict)
    """Threshold per (city, fraction), e.g. ``{("luebeck", "glass"): 0.85}``."""
    margin: float = 0.1
    """A container within this much below its threshold at the visit is may-go."""
    overflow_level: float = 1.0
    """Fill at which a container overflows."""
    may_go_overflow_probability: float = 0.05
    """A container with at least this probability of overflowing before the next visit is may-go."""
    overflow_cost: float = 10_000.0
    """Cost of one overflow, in the routing cost unit."""
    fill_value: float = 1_000.0
    """Prize per full container collected (times the expected fill at the visit), in the same unit."""
    timezone: str = "Europe/Berlin"
    """Time zone of the times shown in reasons."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", dict(self.thresholds))
        if not 0 < self.overflow_level <= 2:
            raise ValueError(f"overflow_level must be in (0, 2], got {self.overflow_level}")
        for key, value in [(("*", "*"), self.default_threshold), *self.thresholds.items()]:
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"thresholds keys must be (city, fraction) pairs, got {key!r}")
            if not 0 < value <= self.overflow_level:
                raise ValueError(
                    f"threshold for {key[0]}/{key[1]} must be in (0, overflow_level={self.overflow_level}], "
                    f"got {value}"
                )
        if not 0 <= self.margin < min([self.default_threshold, *self.thresholds.values()]):
            raise ValueError(f"margin must be >= 0 and below every threshold, got {self.margin}")
        if not 0 < self.may_go_overflow_probability < 1:
            raise ValueError(
                f"may_go_overflow_probability must be between 0 and 1, got {self.may_go_overflow_probability}"
            )
        for name in ("overflow_cost", "fill_value"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite cost >= 0, got {value}")
        time_zone(self.timezone)

    def threshold_for(self, city: str, fraction: str) -> float:
        return self.thresholds.get((city, fraction), self.default_threshold)


@dataclass(frozen=True)
class SelectionInput:
    """One container to decide on. ``visit_at`` overrides the plan's visit time for this container."""

    bin_id: str
    city: str
    fraction: str
    estimate: FillEstimate
    visit_at: datetime | None = None
    access_class: str = "standard"
    """Which trucks can empty it (``vocabulary.AccessClass``): standard containers by any truck,
    narrow and crane ones only by a truck of their class."""


@dataclass(frozen=True)
class BinSelection:
    """The decision on one container and the numbers behind it."""

    bin_id: str
    status: SelectionStatus
    reason: str
    threshold: float
    fill_at_visit: float
    fill_at_visit_sd: float
    fill_at_next_visit: float
    overflow_probability: float
    """Probability of reaching ``overflow_level`` before the next planning day's visit if skipped."""
    prize: float
    """Value of visiting (skip penalty) in the routing cost unit."""
    flags: frozenset[HealthFlag]
    code: str = ""
    """``reason`` as a stable key (e.g. ``must_threshold``, ``skip_can_wait``) for the pages."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The numbers of ``reason`` (percentages ``*_pct``, days as ISO dates, ``sensor`` when flagged)."""
    fill_at_visit_band: tuple[float, float] = (0.0, 0.0)
    """The forecast's calibrated 95 % band of the fill at the visit (low, high)."""


def _aware(name: str, t: datetime) -> datetime:
    if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t.isoformat()}")
    return t


def _pct(x: float) -> str:
    return f"{100.0 * x:.0f}%"


def _p(x: float) -> float:
    """A fraction as percent with one decimal (a param; the pages format it)."""
    return round(100.0 * x, 1)


def _sensor_params(estimate: FillEstimate) -> dict[str, Any]:
    """``{"sensor": {"flags": [...], "rate_source": ...}}`` when the sensor was flagged, else ``{}``."""
    if estimate.healthy:
        return {}
    return {
        "sensor": {
            "flags": sorted(f.value for f in estimate.flags),
            "rate_source": estimate.rate_source.value,
        }
    }


def _sensor_text(estimate: FillEstimate) -> str:
    if estimate.healthy:
        return ""
    flags = ", ".join(sorted(f.value.replace("_", " ") for f in estimate.flags))
    source = {
        RateSource.SIMILAR: "the median rate of similar containers",
        RateSource.HISTORY: "this container's earlier rate",
        RateSource.DEFAULT: "the default rate",
        RateSource.NONE: "no rate at all",
        RateSource.SENSOR: "its own readings",
    }[estimate.rate_source]
    details = "; ".join(n for n in estimate.notes if n.startswith(("stale", "stuck", "implausible", "no ")))
    text = f" Sensor flagged ({flags}), forecast uses {source}"
    return text + (f": {details}." if details else ".")


def _event_params(estimate: FillEstimate) -> dict[str, Any]:
    """``{"event": {"names": [...], "factor": ...}}`` when announced events change the forecast."""
    if not isinstance(estimate, WithEvents) or not estimate.announced:
        return {}
    return {
        "event": {
            "names": [name for name, _ in estimate.announced],
            "factor": max(f for _, f in estimate.announced),
        }
    }


def _event_text(estimate: FillEstimate) -> str:
    event = _event_params(estimate).get("event")
    return "" if event is None else f" Announced: {', '.join(event['names'])} (x{event['factor']:g})."


def _each_once(bins: Iterable[SelectionInput]) -> Iterator[SelectionInput]:
    """The containers in input order; a container id given twice is an error."""
    seen: set[str] = set()
    for item in bins:
        if item.bin_id in seen:
            raise ValueError(f"bin_id {item.bin_id!r} appears twice")
        seen.add(item.bin_id)
        yield item


def select_bins(
    bins: Iterable[SelectionInput],
    *,
    visit_at: datetime,
    next_visit_at: datetime,
    params: SelectionParams | None = None,
) -> list[BinSelection]:
    """Decide must-go / may-go / skip for each container, in input order.

    ``visit_at`` is the planned visit time (e.g. the middle of today's shift); ``next_visit_at`` the
    earliest visit on the next planning day (see ``calendar.next_visit_time``). Both timezone-aware.
    """
    p = params if params is not None else SelectionParams()
    _aware("visit_at", visit_at)
    _aware("next_visit_at", next_visit_at)
    if next_visit_at <= visit_at:
        raise ValueError(
            f"next_visit_at ({next_visit_at.isoformat()}) must be after visit_at ({visit_at.isoformat()})"
        )
    zone = ZoneInfo(p.timezone)
    next_text = next_visit_at.astimezone(zone).strftime("%a %d.%m.")
    out: list[BinSelection] = []
    for item in _each_once(bins):
        out.append(_decide(item, visit_at, next_visit_at, next_text, zone, p))
    return out


def _decide(
    item: SelectionInput,
    plan_visit_at: datetime,
    next_visit_at: datetime,
    next_text: str,
    zone: ZoneInfo,
    p: SelectionParams,
) -> BinSelection:
    est = item.estimate
    visit_at = _aware("visit_at", item.visit_at) if item.visit_at is not None else plan_visit_at
    if next_visit_at <= visit_at:
        raise ValueError(f"{item.bin_id}: its visit_at must be before next_visit_at")
    threshold = p.threshold_for(item.city, item.fraction)
    mean_v, sd_v = est.at(visit_at)
    mean_n, _ = est.at(next_visit_at)
    p_over = est.probability_at_least(next_visit_at, p.overflow_level)
    prize = p.overflow_cost * p_over + p.fill_value * min(max(mean_v, 0.0), p.overflow_level)
    at_text = visit_at.astimezone(zone).strftime("%H:%M")
    band = f" (±{_pct(1.96 * sd_v)})" if sd_v >= 0.005 else ""
    forecast = f"forecast {_pct(mean_v)}{band} at {at_text}"
    unknown = HealthFlag.NO_DATA in est.flags and est.rate_source is RateSource.NONE
    numbers: dict[str, Any] = {
        "fill_pct": _p(mean_v),
        "band_pct": _p(1.96 * sd_v),
        "visit_at": visit_at.isoformat(),
        "threshold_pct": _p(threshold),
        "next_day": next_visit_at.astimezone(zone).date().isoformat(),
    }

    if mean_v >= threshold:
        status = SelectionStatus.MUST_GO
        reason = f"Must go: {forecast} reaches the {_pct(threshold)} threshold."
        code, params = SelectionReason.MUST_THRESHOLD, numbers
    elif mean_n >= p.overflow_level:
        status = SelectionStatus.MUST_GO
        reason = (
            f"Must go: {forecast}, but {_pct(mean_n)} by the next planning day ({next_text}): "
            "it would overflow before then."
        )
        code, params = SelectionReason.MUST_OVERFLOW_NEXT, {**numbers, "next_fill_pct": _p(mean_n)}
    elif unknown:
        status = SelectionStatus.MAY_GO
        reason = "May go: no readings and no similar containers to estimate from; a visit would check it."
        code, params = SelectionReason.MAY_UNKNOWN, {}
    elif mean_v >= threshold - p.margin:
        status = SelectionStatus.MAY_GO
        reason = (
            f"May go: {forecast}, within {_pct(p.margin)} of the {_pct(threshold)} threshold; "
            f"{_pct(p_over)} chance of overflow before {next_text}."
        )
        code, params = (
            SelectionReason.MAY_NEAR_THRESHOLD,
            {**numbers, "margin_pct": _p(p.margin), "overflow_pct": _p(p_over)},
        )
    elif p_over >= p.may_go_overflow_probability:
        status = SelectionStatus.MAY_GO
        reason = f"May go: {forecast}, but a {_pct(p_over)} chance of overflow before {next_text}."
        code, params = SelectionReason.MAY_OVERFLOW_RISK, {**numbers, "overflow_pct": _p(p_over)}
    else:
        status = SelectionStatus.SKIP
        reason = f"Skip: {forecast}, {_pct(mean_n)} expected by {next_text}."
        code, params = SelectionReason.SKIP_NOT_DUE, {**numbers, "next_fill_pct": _p(mean_n)}
    reason += _sensor_text(est) + _event_text(est)
    params = {**params, **_sensor_params(est), **_event_params(est)}
    return BinSelection(
        bin_id=item.bin_id,
        status=status,
        reason=reason,
        threshold=threshold,
        fill_at_visit=mean_v,
        fill_at_visit_sd=sd_v,
        fill_at_next_visit=mean_n,
        overflow_probability=p_over,
        prize=prize,
        flags=est.flags,
        code=code,
        params=params,
        fill_at_visit_band=est.band(visit_at),
    )


POLICIES = ("dynamic", "threshold", "fixed")
"""Collection policies a plan can follow (``options["policy"]`` of a plan job)."""


@dataclass(frozen=True)
class PolicyOptions:
    """How a plan chooses its containers; read from a plan job's options.

    * ``dynamic`` (default): the look-ahead policy of :func:`select_dynamic`;
    * ``threshold``: empty exactly the containers forecast at or above their threshold at the visit
      (the "select the fullest, then route" baseline);
    * ``fixed``: empty exactly ``due`` (container ids due on their fixed round today).

    Options of ``dynamic`` (costs in the routing cost unit):

    * ``risk``: the overflow probability before the next planning day's latest visit from which a
      container must go; its *last safe day* is the last planning day it may still wait for;
    * ``horizon_days``: how far ahead last safe days are looked for;
    * ``visit_value``: what a collection is worth when taken on its last safe day (about what a
      truck spends to reach one container on its own): a container taken earlier is worth
      ``visit_value * pull ** pull_exponent``, ``pull`` being its fill now over its fill on its last
      safe day (emptying it early wastes the room it still had);
    * ``min_pull``: containers whose pull is below it are not offered to the router at all;
    * ``late_visit_h``: how long after the plan's visit time the shift's last visits come;
    * ``round_days``: when a container cannot wait, the containers of its kind (narrow street, crane,
      standard) whose last safe day falls within this many planning days go with it (0: only today's),
      so the truck need not come back for them in the next days;
    * ``collection_days``: the weekdays (0 Monday .. 6 Sunday) on which this fraction's trucks go on
      their round (empty: every planning day). On those days every container that cannot wait until
      the fraction's next collection day must go; on the others only what cannot wait until the next
      planning day goes (an emergency), and nothing else;
    * ``emergency_risk``: between collection days, the overflow probability before the next planning
      day's latest visit from which a container goes anyway (0: ``risk`` or 5 %, whichever is
      higher; :attr:`between_rounds_risk`). The collection day already left only containers below
      ``risk`` until the next round; a forecast a day later may move those near the limit across
      it, and each such crossing sends a truck out for a handful of containers. A higher limit
      between rounds keeps the trucks home unless the forecast really changed.
    """

    policy: str = "dynamic"
    due: frozenset[str] = frozenset()
    risk: float = 0.005
    visit_value: float = 15.0
    horizon_days: int = 6
    min_pull: float = 0.7
    pull_exponent: float = 2.0
    late_visit_h: float = 4.5
    round_days: int = 0
    collection_days: frozenset[int] = frozenset()
    emergency_risk: float = 0.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if not 0 < self.risk < 1:
            raise ValueError(f"risk must be between 0 and 1, got {self.risk}")
        if not 0 <= self.emergency_risk < 1:
            raise ValueError(f"emergency_risk must be 0 (the default) or below 1, got {self.emergency_risk}")
        if not (math.isfinite(self.visit_value) and self.visit_value >= 0):
            raise ValueError(f"visit_value must be a finite cost >= 0, got {self.visit_value}")
        if not 1 <= self.horizon_days <= 21:
            raise ValueError(f"horizon_days must be 1..21, got {self.horizon_days}")
        if not 0 <= self.min_pull <= 1:
            raise ValueError(f"min_pull must be 0..1, got {self.min_pull}")
        if not 0 < self.pull_exponent <= 10:
            raise ValueError(f"pull_exponent must be in (0, 10], got {self.pull_exponent}")
        if not 0 <= self.late_visit_h <= 24:
            raise ValueError(f"late_visit_h must be 0..24 hours, got {self.late_visit_h}")
        if not 0 <= self.round_days < self.horizon_days:
            raise ValueError(f"round_days must be 0..horizon_days-1, got {self.round_days}")
        object.__setattr__(self, "collection_days", frozenset(self.collection_days))
        if not self.collection_days <= set(range(7)):
            raise ValueError(f"collection_days must be weekdays 0..6, got {sorted(self.collection_days)}")

    @property
    def between_rounds_risk(self) -> float:
        """The overflow probability by the next day that sends a truck out between collection days."""
        return self.emergency_risk or max(self.risk, DEFAULT_EMERGENCY_RISK)

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> PolicyOptions:
        """From a plan job's options (``policy``, ``due`` and the numbers of ``DYNAMIC_OPTIONS``);
        defaults otherwise."""
        due = options.get("due") or []
        if not isinstance(due, list | tuple):
            raise ValueError(f"due must be a list of container ids, got {type(due).__name__}")
        numbers: dict[str, Any] = {}
        for name in DYNAMIC_OPTIONS:
            if name in options:
                value = options[name]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{name} must be a number, got {value!r}")
                numbers[name] = int(value) if name in ("horizon_days", "round_days") else float(value)
        return cls(
            policy=str(options.get("policy", "dynamic")),
            due=frozenset(str(x) for x in due),
            collection_days=weekdays(options.get("collection_days") or []),
            **numbers,
        )


def weekdays(days: object) -> frozenset[int]:
    """Weekdays from names (``mon`` .. ``sun``, any case) or numbers (0 Monday .. 6 Sunday)."""
    if isinstance(days, str) or not isinstance(days, list | tuple | set | frozenset):
        raise ValueError(f"collection_days must be a list of weekdays, got {days!r}")
    out: set[int] = set()
    for d in days:
        if isinstance(d, str) and d.strip().lower()[:3] in WEEKDAYS:
            out.add(WEEKDAYS.index(d.strip().lower()[:3]))
        elif isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6:
            out.add(d)
        else:
            raise ValueError(f"collection_days: {d!r} is not a weekday (mon..sun or 0..6)")
    return frozenset(out)


DYNAMIC_OPTIONS = (
    "risk",
    "visit_value",
    "horizon_days",
    "min_pull",
    "pull_exponent",
    "late_visit_h",
    "round_days",
    "emergency_risk",
)
"""Numeric options of the dynamic policy a plan job (or ``wasteroute simulate``) may set."""


def select_for_policy(
    bins: Iterable[SelectionInput],
    *,
    visit_at: datetime,
    next_visit_at: datetime,
    after_next_visit_at: datetime | None = None,
    later_visits: Sequence[datetime] | None = None,
    params: SelectionParams,
    policy: PolicyOptions,
) -> list[BinSelection]:
    """The decisions of a plan job under its policy (see :class:`PolicyOptions`), in input order.

    ``later_visits`` are the visit times of the next planning days (the first is ``next_visit_at``);
    without them the look-ahead sees the next two planning days only.
    """
    items = list(bins)
    if policy.policy == "dynamic":
        return select_dynamic(
            items,
            visit_at=visit_at,
            next_visit_at=next_visit_at,
            after_next_visit_at=after_next_visit_at,
            later_visits=later_visits,
            params=params,
            policy=policy,
        )
    base = select_bins(items, visit_at=visit_at, next_visit_at=next_visit_at, params=params)
    out = []
    for d in base:
        if policy.policy == "fixed":
            go = d.bin_id in policy.due
            reason = "Must go: due on its fixed round today." if go else "Skip: not due on its fixed round."
            code, why = (SelectionReason.MUST_FIXED_ROUND if go else SelectionReason.SKIP_FIXED_ROUND), {}
        else:
            go = d.fill_at_visit >= d.threshold
            reason = (
                f"Must go: forecast {_pct(d.fill_at_visit)} reaches the {_pct(d.threshold)} threshold."
                if go
                else f"Skip: forecast {_pct(d.fill_at_visit)}, below the {_pct(d.threshold)} threshold."
            )
            code = SelectionReason.MUST_THRESHOLD if go else SelectionReason.SKIP_BELOW_THRESHOLD
            why = {"fill_pct": _p(d.fill_at_visit), "threshold_pct": _p(d.threshold)}
        status = SelectionStatus.MUST_GO if go else SelectionStatus.SKIP
        out.append(
            BinSelection(
                bin_id=d.bin_id,
                status=status,
                reason=reason,
                threshold=d.threshold,
                fill_at_visit=d.fill_at_visit,
                fill_at_visit_sd=d.fill_at_visit_sd,
                fill_at_next_visit=d.fill_at_next_visit,
                overflow_probability=d.overflow_probability,
                prize=d.prize,
                flags=d.flags,
                code=code,
                params=why,
                fill_at_visit_band=d.fill_at_visit_band,
            )
        )
    return out


def _visits(
    visit_at: datetime,
    next_visit_at: datetime,
    after_next_visit_at: datetime | None,
    later_visits: Sequence[datetime] | None,
    horizon_days: int,
) -> list[datetime]:
    """The next planning days' visit times within the horizon (at least the next one), checked."""
    _aware("visit_at", visit_at)
    _aware("next_visit_at", next_visit_at)
    if later_visits is None:
        later = [next_visit_at] + ([after_next_visit_at] if after_next_visit_at is not None else [])
    else:
        later = list(later_visits)
        if not later or later[0] != next_visit_at:
            raise ValueError("later_visits must start with next_visit_at")
    times = [visit_at, *(_aware("later visit", t) for t in later)]
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise ValueError(f"visit times must increase, got {[t.isoformat() for t in times]}")
    limit = visit_at + timedelta(days=horizon_days, hours=12)
    return [t for i, t in enumerate(later) if i == 0 or t <= limit]


@dataclass(frozen=True)
class _Look:
    """One container's look ahead: its forecast now, overflow risk after each later day, and the
    index of its last safe day (0 today, ``None`` beyond the horizon)."""

    item: SelectionInput
    at: datetime
    mean_v: float
    sd_v: float
    risks: list[float]
    safe: int | None
    forced: bool


def select_dynamic(
    bins: Iterable[SelectionInput],
    *,
    visit_at: datetime,
    next_visit_at: datetime,
    after_next_visit_at: datetime | None = None,
    later_visits: Sequence[datetime] | None = None,
    params: SelectionParams,
    policy: PolicyOptions | None = None,
) -> list[BinSelection]:
    """Look-ahead selection: postpone what can safely wait, pull forward what is due soon anyway.

    For each container the *last safe day* is the last planning day (today or one of
    ``later_visits``, within ``policy.horizon_days``) from which it could still wait until the
    following planning day's latest visit with less than ``policy.risk`` probability of overflowing.

    * **must go**: its last safe day is today (or it is overflowing already);
    * **may go**: its last safe day lies within the horizon and its *pull* (fill now over its
      expected fill on that day) is at least ``policy.min_pull``, or it has reached its threshold.
      Its prize is ``visit_value * pull ** pull_exponent``: the router takes it when a truck passes
      close enough, and no truck drives out for containers that can still wait;
    * **skip**: its last safe day is further away, or it is not full enough yet to be worth taking.

    A container whose fill is unknown (no readings, no similar containers) may go.
    """
    pol = policy if policy is not None else PolicyOptions()
    later = _visits(visit_at, next_visit_at, after_next_visit_at, later_visits, pol.horizon_days)
    zone = ZoneInfo(params.timezone)
    late = timedelta(hours=pol.late_visit_h)
    latest = [t + late for t in later]
    next_text = later[0].astimezone(zone).strftime("%a %d.%m.")
    next_day = later[0].astimezone(zone).date().isoformat()
    last_day = later[-1].astimezone(zone).date().isoformat()
    days = pol.collection_days
    round_today = not days or visit_at.astimezone(zone).weekday() in days
    # the overflow probability by the next planning day's latest visit that makes a container go today
    urgent = pol.risk if round_today else pol.between_rounds_risk
    looks: list[_Look] = []
    for item in _each_once(bins):
        est = item.estimate
        at = _aware("visit_at", item.visit_at) if item.visit_at is not None else visit_at
        mean_v, sd_v = est.at(at)
        risks = [est.probability_at_least(t, params.overflow_level) for t in latest]
        # the last safe day: index k (0 = today, k = later[k - 1]) after which waiting is too risky
        safe = next((k for k, r in enumerate(risks) if r >= pol.risk), None)
        forced = mean_v >= params.overflow_level or risks[0] >= urgent
        looks.append(_Look(item, at, mean_v, sd_v, risks, safe, forced))
    going = {look.item.access_class for look in looks if look.forced}
    # the fraction's next collection day, as an index into ``later`` (the horizon's end if none)
    next_round = next(
        (k for k, t in enumerate(later) if t.astimezone(zone).weekday() in days), len(later) - 1
    )
    round_day = later[next_round].astimezone(zone).date().isoformat()
    out: list[BinSelection] = []
    for look in looks:
        item, est, at, mean_v, sd_v, risks, safe = (
            look.item,
            look.item.estimate,
            look.at,
            look.mean_v,
            look.sd_v,
            look.risks,
            look.safe,
        )
        threshold = params.threshold_for(item.city, item.fraction)
        mean_n, _ = est.at(latest[0])
        p_next = risks[0]
        unknown = HealthFlag.NO_DATA in est.flags and est.rate_source is RateSource.NONE
        forecast = f"forecast {_pct(mean_v)} now"
        why: dict[str, Any] = {"fill_pct": _p(mean_v)}
        prize = 0.0
        # a truck goes today anyway for a container of the same kind (narrow street, crane, standard)
        truck_goes = item.access_class in going
        if look.forced:
            status = SelectionStatus.MUST_GO
            reason = (
                f"Must go: {forecast}; waiting until {next_text} would risk an overflow "
                f"({_pct(p_next)}, limit {urgent:.1%})."
            )
            code = SelectionReason.MUST_OVERFLOW_RISK
            why |= {"next_day": next_day, "overflow_pct": _p(p_next), "risk_pct": _p(urgent)}
        elif not round_today:
            status = SelectionStatus.SKIP
            reason = f"Skip: {forecast}; no round of its fraction today, and it can wait until {next_text}."
            code = SelectionReason.SKIP_NO_ROUND_TODAY
            why |= {"next_day": next_day}
        elif unknown:
            status = SelectionStatus.MAY_GO
            prize = pol.visit_value
            reason = "May go: no readings and no similar containers to estimate from; a visit would check it."
            code, why = SelectionReason.MAY_UNKNOWN, {}
        elif days and safe is not None and safe <= next_round:
            until_day = later[safe - 1].astimezone(zone).date().isoformat()
            status = SelectionStatus.MUST_GO
            reason = (
                f"Must go: {forecast}, safe only until {until_day}, "
                f"before its fraction's next round on {round_day}."
            )
            code = SelectionReason.MUST_BEFORE_NEXT_ROUND
            why |= {"until_day": until_day, "round_day": round_day}
        elif safe is not None and safe <= pol.round_days and truck_goes:
            until_day = later[safe - 1].astimezone(zone).date().isoformat()
            status = SelectionStatus.MUST_GO
            reason = (
                f"Must go: {forecast}, safe only until {until_day}; a truck goes today anyway, "
                "so it comes along and the truck need not come back for it."
            )
            code = SelectionReason.MUST_WITH_ROUND
            why |= {"until_day": until_day}
        elif safe is None and mean_v < threshold:
            status = SelectionStatus.SKIP
            reason = f"Skip: {forecast}, can wait ({_pct(risks[-1])} overflow risk by {last_day})."
            code = SelectionReason.SKIP_CAN_WAIT
            why |= {"after_day": last_day, "overflow_pct": _p(risks[-1])}
        else:
            until = at if safe is None else later[safe - 1]
            due_fill = max(est.at(until)[0], mean_v, 1e-9)
            pull = min(1.0, max(mean_v, 0.0) / due_fill)
            until_day = until.astimezone(zone).date().isoformat()
            why |= {"until_day": until_day, "due_fill_pct": _p(due_fill)}
            if pull >= pol.min_pull or mean_v >= threshold:
                status = SelectionStatus.MAY_GO
                prize = pol.visit_value * pull**pol.pull_exponent
                reason = (
                    f"May go: {forecast}, can wait until {until_day} ({_pct(due_fill)} by then); "
                    f"worth {prize:.0f} if a truck passes nearby."
                )
                code = SelectionReason.MAY_EARLY
                why["prize"] = round(prize, 1)
            else:
                status = SelectionStatus.SKIP
                reason = f"Skip: {forecast}, can wait until {until_day} ({_pct(due_fill)} by then)."
                code = SelectionReason.SKIP_TOO_EARLY
        reason += _sensor_text(est) + _event_text(est)
        why.update(_sensor_params(est))
        why.update(_event_params(est))
        out.append(
            BinSelection(
                bin_id=item.bin_id,
                status=status,
                reason=reason,
                threshold=threshold,
                fill_at_visit=mean_v,
                fill_at_visit_sd=sd_v,
                fill_at_next_visit=mean_n,
                overflow_probability=p_next,
                prize=prize,
                flags=est.flags,
                code=code,
                params=why,
                fill_at_visit_band=est.band(at),
            )
        )
    return out
