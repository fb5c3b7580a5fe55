"""The words of the domain, spelled once: waste fractions, roles, the states of plans, stops and
containers, the selection's decisions and their reasons, and the one check of a time zone name.

Every value is the string stored in the database and served by the API (a ``StrEnum`` member *is*
that string), so the storage, the API schemas, the command line and the pure cores share these
types and never convert between spellings. Imports nothing of the service: any layer may use it.
"""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "AccessClass",
    "AlertKind",
    "BinState",
    "Category",
    "EventKind",
    "Fraction",
    "IntegrationKind",
    "PlanStatus",
    "PlanTrigger",
    "Role",
    "SelectionReason",
    "SelectionStatus",
    "SensorModel",
    "StopKind",
    "StopStatus",
    "UnplannedReason",
    "check_time_zone",
    "time_zone",
]


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (for example ``Europe/Berlin``); ``ValueError`` if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"timezone must be an IANA time zone name such as 'Europe/Berlin', got {name!r}"
        ) from exc


def check_time_zone(name: str) -> str:
    """``name`` itself when it names an IANA time zone (see :func:`time_zone`)."""
    time_zone(name)
    return name


class Fraction(StrEnum):
    """A waste fraction: what a container holds, a vehicle collects and a facility takes."""

    RESIDUAL = "residual"
    PAPER = "paper"
    GLASS = "glass"
    PACKAGING = "packaging"
    BIO = "bio"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as schedules and plan options spell them, Monday (0) first."""


class AccessClass(StrEnum):
    """How a container can be reached, and which containers a vehicle can empty."""

    STANDARD = "standard"
    NARROW = "narrow"
    """A narrow street: a small vehicle (which also empties standard containers)."""
    CRANE = "crane"
    """An underground or bank container lifted by a crane vehicle (which also empties standard ones)."""

    @property
    def empties(self) -> frozenset[AccessClass]:
        """The container access classes a vehicle of this class can empty."""
        return frozenset({AccessClass.STANDARD, self})


class SensorModel(StrEnum):
    """A fill sensor's payload format, as a city's inventory names it."""

    EM310_UDL = "em310-udl"
    LDDS75 = "ldds75"
    NATIVE = "native"


class IntegrationKind(StrEnum):
    """A network server a city's sensors report through."""

    TTS = "tts"
    CHIRPSTACK = "chirpstack"
    NATIVE = "native"


class Role(StrEnum):
    """What an API key may do; every key also belongs to one city."""

    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    DRIVER = "driver"
    GATEWAY = "gateway"


class PlanStatus(StrEnum):
    """A plan job's state."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlanTrigger(StrEnum):
    """Who created a plan job: a person (API, command line) or the morning schedule."""

    MANUAL = "manual"
    SCHEDULED = "scheduled"


class StopKind(StrEnum):
    """What happens at one visit of a route."""

    START = "start"
    """Leaving the start depot."""
    STOP = "stop"
    """Emptying a container."""
    FACILITY = "facility"
    """Unloading at a disposal facility; the load drops to zero."""
    BREAK = "break"
    """The driver's break."""
    END = "end"
    """Arriving at the end depot."""


class EventKind(StrEnum):
    """What a driver reports at a stop."""

    EMPTIED = "emptied"
    NOT_REACHABLE = "not_reachable"
    DAMAGED = "damaged"
    OVERFILLED = "overfilled"


class StopStatus(StrEnum):
    """A stop's state on its tour: planned until a driver reports it (then its :class:`EventKind`)."""

    PLANNED = "planned"
    EMPTIED = "emptied"
    NOT_REACHABLE = "not_reachable"
    DAMAGED = "damaged"
    OVERFILLED = "overfilled"


class Category(StrEnum):
    """A container's selection as a plan keeps it (``plan_bin.category``, served as ``category``)."""

    MUST = "must"
    MAY = "may"
    SKIP = "skip"


class SelectionStatus(StrEnum):
    """The selection's decision on one container for one planning day."""

    MUST_GO = "must_go"
    """Must be emptied: it passes its threshold or would overflow before the next planning day."""
    MAY_GO = "may_go"
    """Optional, with a prize that grows with urgency."""
    SKIP = "skip"
    """Can wait."""

    @property
    def category(self) -> Category:
        """How a plan stores this decision."""
        return _CATEGORY[self]


_CATEGORY = {
    SelectionStatus.MUST_GO: Category.MUST,
    SelectionStatus.MAY_GO: Category.MAY,
    SelectionStatus.SKIP: Category.SKIP,
}


class SelectionReason(StrEnum):
    """Why the selection decided as it did (``plan_bin.reason_code``; the pages translate it)."""

    MUST_THRESHOLD = "must_threshold"
    MUST_OVERFLOW_NEXT = "must_overflow_next"
    MUST_OVERFLOW_RISK = "must_overflow_risk"
    MUST_FIXED_ROUND = "must_fixed_round"
    MUST_WITH_ROUND = "must_with_round"
    MUST_BEFORE_NEXT_ROUND = "must_before_next_round"
    MAY_UNKNOWN = "may_unknown"
    MAY_NEAR_THRESHOLD = "may_near_threshold"
    MAY_OVERFLOW_RISK = "may_overflow_risk"
    MAY_EARLY = "may_early"
    SKIP_NOT_DUE = "skip_not_due"
    SKIP_FIXED_ROUND = "skip_fixed_round"
    SKIP_BELOW_THRESHOLD = "skip_below_threshold"
    SKIP_CAN_WAIT = "skip_can_wait"
    SKIP_TOO_EARLY = "skip_too_early"
    SKIP_NO_ROUND_TODAY = "skip_no_round_today"


class UnplannedReason(StrEnum):
    """Why a container that needs emptying is on none of a plan's tours (the dispatcher's list)."""

    NOT_IN_PLAN = "not_in_plan"
    """Full soon now, but the plan did not consider it (planned before it filled up)."""
    NOT_DUE = "not_due"
    CAN_WAIT = "can_wait"
    CAPACITY = "capacity"
    SHIFT = "shift"
    TIME_WINDOW = "time_window"
    NO_ACCESS = "no_access"
    DROPPED = "dropped"


class BinState(StrEnum):
    """A container's state on the dispatcher's map."""

    OK = "ok"
    MUST_GO_SOON = "must_go_soon"
    STALE = "stale"
    ALERT = "alert"


class AlertKind(StrEnum):
    """What an alert is about: stored ones come from sensors, ``stale`` and ``overflow_forecast`` are
    computed when asked."""

    FIRE = "fire"
    TILT = "tilt"
    BATTERY = "battery"
    STALE = "stale"
    OVERFLOW_FORECAST = "overflow_forecast"
