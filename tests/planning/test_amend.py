"""Hand edits of a tour, timed again and checked (pure): a line of points one kilometre apart, one
minute's drive each, so every number below can be worked out by hand."""

from __future__ import annotations

import pytest

from wasteroute.planning.amend import Item, TruckLimits, best_insertion, check, reschedule, without


def travel(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """1 km and 60 s per unit of longitude."""
    d = abs(a[1] - b[1])
    return 1000.0 * d, 60.0 * d


def tour(*stops: Item) -> list[Item]:
    return [
        Item(1, "start", (0.0, 0.0), 0),
        *stops,
        Item(8, "facility", (0.0, 10.0), 600),
        Item(9, "end", (0.0, 0.0), 0),
    ]


def stop(ref: int, x: float, vol: float = 100.0, window: tuple[int, int] | None = None) -> Item:
    return Item(ref, "stop", (0.0, x), 60, vol, vol * 0.2, window)


LIMITS = TruckLimits(300.0, 1000.0, 6 * 3600, 8 * 3600, 2 * 3600)


def test_reschedule_drives_waits_and_unloads() -> None:
    s = reschedule(tour(stop(2, 2.0), stop(3, 5.0, window=(6 * 3600 + 600, 23 * 3600))), 6 * 3600, travel)
    assert s.arrival_s == (21600, 21720, 21960, 22560, 23760)
    # stop 3 waits for its window (06:10) before its minute of service
    assert s.departure_s == (21600, 21780, 22260, 23160, 23760)
    assert s.load_volume_l == (0.0, 100.0, 200.0, 0.0, 0.0)
    assert s.distance_m == 20_000 and s.duration_s == 2160 and s.late == ()
    assert check(s, LIMITS) is None


def test_check_names_the_first_rule_broken() -> None:
    full = reschedule(tour(stop(2, 1.0), stop(3, 2.0), stop(4, 3.0), stop(5, 4.0)), 6 * 3600, travel)
    r = check(full, LIMITS)
    assert r is not None and r.code == "capacity_volume"
    assert r.params == {"trip": 1, "load_l": 400, "capacity_l": 300}
    late = reschedule(tour(stop(2, 5.0, window=(0, 6 * 3600 + 60))), 6 * 3600, travel)
    r = check(late, LIMITS)
    assert r is not None and r.code == "time_window" and r.params["ref"] == 2
    long = reschedule(tour(stop(2, 2.0)), 7 * 3600 + 3000, travel)
    r = check(long, LIMITS)
    assert r is not None and r.code == "shift_end"


def test_insertion_takes_the_cheapest_place_before_the_last_unloading() -> None:
    items = tour(stop(2, 2.0), stop(3, 6.0))
    out = best_insertion(items, stop(0, 4.0), travel)
    assert [i.ref for i in out] == [1, 2, 0, 3, 8, 9]
    # beyond the facility the truck would come home loaded: the stop goes before it
    out = best_insertion(items, stop(0, 12.0), travel)
    assert [i.ref for i in out] == [1, 2, 3, 0, 8, 9]
    assert [i.ref for i in without(out, 3)] == [1, 2, 0, 8, 9]
    with pytest.raises(ValueError, match="stop 7 is not on this tour"):
        without(out, 7)


def test_a_break_keeps_its_place_and_length() -> None:
    items = [*tour(stop(2, 2.0))[:2], Item(7, "break", None, 1800), *tour()[1:]]
    s = reschedule(items, 6 * 3600, travel)
    assert s.departure_s[2] - s.arrival_s[2] == 1800
    assert s.arrival_s[3] == s.departure_s[2] + 480  # from the stop at 2 to the facility at 10


def test_items_and_limits_check_themselves() -> None:
    with pytest.raises(ValueError, match="kind must be"):
        Item(1, "lunch", (0.0, 0.0), 0)
    with pytest.raises(ValueError, match="needs a point"):
        Item(1, "stop", None, 60)
    with pytest.raises(ValueError, match="shift_start_s < shift_end_s"):
        TruckLimits(1.0, 1.0, 9 * 3600, 8 * 3600, 3600)
    with pytest.raises(ValueError, match="from a start to an end"):
        reschedule([Item(9, "end", (0.0, 0.0), 0)], 0, travel)
