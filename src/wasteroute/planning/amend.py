"""A dispatcher's hand edit of a stored tour, checked again (pure, no I/O).

Moving a container to another tour changes two schedules: the giving tour loses a stop, the taking
tour gains one at its cheapest position. Both are timed again from their start (travel times from
the same distance provider as the plan, service and unload times as stored, breaks kept at their
place and length) and checked against what a truck can do: volume and mass per trip (a facility
visit empties the truck), the containers' collection windows, the end of the shift and the maximum
shift duration. A refusal names the first rule broken, as a stable code with its numbers.

Times are seconds since the service day's midnight (city time), volumes litres, masses kilograms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Item",
    "Refusal",
    "Schedule",
    "TruckLimits",
    "best_insertion",
    "check",
    "reschedule",
    "without",
]

Travel = Callable[[tuple[float, float], tuple[float, float]], tuple[float, float]]
"""(from (lat, lon), to (lat, lon)) -> (metres, seconds)."""


@dataclass(frozen=True, slots=True)
class Item:
    """One event of a tour in order. ``point`` is (lat, lon); a break has none (taken where the truck
    stands). ``busy_s`` is the service, unload or break time; ``window`` the earliest and latest start
    of the service (containers and facilities)."""

    ref: int
    """The stored stop id (0 for a stop not stored yet)."""
    kind: str
    point: tuple[float, float] | None
    busy_s: int
    volume_l: float = 0.0
    mass_kg: float = 0.0
    window: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("start", "stop", "facility", "break", "end"):
            raise ValueError(f"kind must be start, stop, facility, break or end, got {self.kind!r}")
        if self.busy_s < 0 or self.volume_l < 0 or self.mass_kg < 0:
            raise ValueError(
                "busy_s, volume_l and mass_kg must be >= 0, "
                f"got {self.busy_s}, {self.volume_l}, {self.mass_kg}"
            )
        if self.kind != "break" and self.point is None:
            raise ValueError(f"a {self.kind} needs a point (lat, lon)")


@dataclass(frozen=True, slots=True)
class TruckLimits:
    """What the tour's truck can do: payload per trip and its shift (seconds since midnight)."""

    capacity_volume_l: float
    capacity_mass_kg: float
    shift_start_s: int
    shift_end_s: int
    max_duration_s: int

    def __post_init__(self) -> None:
        if self.capacity_volume_l <= 0 or self.capacity_mass_kg <= 0:
            raise ValueError(
                f"capacities must be > 0, got {self.capacity_volume_l} l and {self.capacity_mass_kg} kg"
            )
        if not 0 <= self.shift_start_s < self.shift_end_s:
            raise ValueError(
                f"expected 0 <= shift_start_s < shift_end_s, got {self.shift_start_s} and {self.shift_end_s}"
            )
        if self.max_duration_s <= 0:
            raise ValueError(f"max_duration_s must be > 0, got {self.max_duration_s}")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A timed tour: per item its arrival, departure and the load after it; totals."""

    items: tuple[Item, ...]
    arrival_s: tuple[int, ...]
    departure_s: tuple[int, ...]
    load_volume_l: tuple[float, ...]
    load_mass_kg: tuple[float, ...]
    distance_m: int
    late: tuple[int, ...] = field(default=())
    """Indices of items whose service started after their window closed."""

    @property
    def start_s(self) -> int:
        """When the truck leaves its depot (a break taken there before is not counted)."""
        return next(self.departure_s[i] for i, it in enumerate(self.items) if it.kind == "start")

    @property
    def end_s(self) -> int:
        """When the truck is back at its depot (a break taken there afterwards is not counted)."""
        return next(
            self.arrival_s[i] for i in reversed(range(len(self.items))) if self.items[i].kind == "end"
        )

    @property
    def duration_s(self) -> int:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an edit is refused: a stable ``code`` and the numbers a page needs to say it."""

    code: str
    params: dict[str, Any]


def reschedule(items: Sequence[Item], start_s: int, travel: Travel) -> Schedule:
    """Time ``items`` from a departure at ``start_s``: drive, wait for a window to open, work."""
    kinds = [it.kind for it in items]
    if "start" not in kinds or "end" not in kinds or kinds.index("start") > kinds.index("end"):
        raise ValueError(f"a tour runs from a start to an end item, got {kinds}")
    arrival = [start_s]
    departure = [start_s + items[0].busy_s]
    vol = [0.0]
    mass = [0.0]
    late: list[int] = []
    distance = 0.0
    here = items[0].point
    for i, it in enumerate(items[1:], start=1):
        t = departure[-1]
        if it.point is not None:
            if here is not None:
                metres, seconds = travel(here, it.point)
                distance += metres
                t += round(seconds)
            here = it.point
        begin = t
        if it.window is not None:
            if begin < it.window[0]:
                begin = it.window[0]
            if begin > it.window[1]:
                late.append(i)
        arrival.append(t)
        departure.append(begin + it.busy_s)
        if it.kind == "facility":
            vol.append(0.0)
            mass.append(0.0)
        else:
            vol.append(vol[-1] + it.volume_l)
            mass.append(mass[-1] + it.mass_kg)
    return Schedule(
        items=tuple(items),
        arrival_s=tuple(arrival),
        departure_s=tuple(departure),
        load_volume_l=tuple(round(v, 1) for v in vol),
        load_mass_kg=tuple(round(m, 1) for m in mass),
        distance_m=round(distance),
        late=tuple(late),
    )


def check(schedule: Schedule, limits: TruckLimits) -> Refusal | None:
    """The first rule the schedule breaks, or None."""
    trip = 1
    for i, it in enumerate(schedule.items):
        if it.kind == "facility":
            trip += 1
            continue
        v, m = schedule.load_volume_l[i], schedule.load_mass_kg[i]
        if v > limits.capacity_volume_l + 0.5:
            return Refusal(
                "capacity_volume",
                {"trip": trip, "load_l": round(v), "capacity_l": round(limits.capacity_volume_l)},
            )
        if m > limits.capacity_mass_kg + 0.5:
            return Refusal(
                "capacity_mass",
                {"trip": trip, "load_kg": round(m), "capacity_kg": round(limits.capacity_mass_kg)},
            )
    if schedule.late:
        i = schedule.late[0]
        w = schedule.items[i].window or (0, 0)
        return Refusal(
            "time_window",
            {"ref": schedule.items[i].ref, "arrival_s": schedule.arrival_s[i], "closes_s": w[1]},
        )
    if schedule.end_s > limits.shift_end_s:
        return Refusal("shift_end", {"end_s": schedule.end_s, "shift_end_s": limits.shift_end_s})
    if schedule.duration_s > limits.max_duration_s:
        return Refusal(
            "max_duration", {"duration_s": schedule.duration_s, "max_duration_s": limits.max_duration_s}
        )
    return None


def best_insertion(items: Sequence[Item], new: Item, travel: Travel) -> list[Item]:
    """``items`` with ``new`` at the position that adds the fewest metres: after the start, before the
    end, and before the last facility visit when there is one (a tour that unloads ends empty)."""
    if new.point is None:
        raise ValueError("only an item with a point can be inserted")
    kinds = [it.kind for it in items]
    first = kinds.index("start")
    facilities = [i for i, k in enumerate(kinds) if k == "facility"]
    last = facilities[-1] if facilities else kinds.index("end")
    best: tuple[float, int] | None = None
    last_point = items[first].point
    for pos in range(first + 1, last + 1):
        nxt = items[pos]
        prev_point = last_point
        if nxt.point is None or prev_point is None:
            continue  # a break: insert after it instead, where the truck stands again
        added = (
            travel(prev_point, new.point)[0]
            + travel(new.point, nxt.point)[0]
            - travel(prev_point, nxt.point)[0]
        )
        if best is None or added < best[0] - 1e-9:
            best = (added, pos)
        last_point = nxt.point
    assert best is not None
    out = list(items)
    out.insert(best[1], new)
    return out


def without(items: Sequence[Item], ref: int) -> list[Item]:
    """``items`` without the stop ``ref``."""
    out = [it for it in items if it.ref != ref]
    if len(out) != len(items) - 1:
        raise ValueError(f"stop {ref} is not on this tour")
    return out
