"""Fill level from distance through the container geometry."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from wasteroute.ingest.geometry import (
    ContainerGeometry,
    FillFlag,
    apply_geometry,
    distance_from_fill,
    estimate_fill,
    fill_from_distance,
)
from wasteroute.ingest.schemas import CanonicalReading


def test_empty_full_and_half_full_container() -> None:
    # 1100 mm deep, sensor 100 mm above the rim
    assert fill_from_distance(1200, 1100, 100) == pytest.approx(0.0)
    assert fill_from_distance(100, 1100, 100) == pytest.approx(1.0)
    assert fill_from_distance(650, 1100, 100) == pytest.approx(0.5)


def test_sensor_at_the_rim_by_default() -> None:
    assert fill_from_distance(250, 1000) == pytest.approx(0.75)


def test_overfilled_container_is_kept_above_one_and_flagged() -> None:
    estimate = estimate_fill(50, ContainerGeometry(1000, 100))
    assert estimate.fill_level == pytest.approx(1.05)
    assert estimate.flag is FillFlag.OVERFILLED


def test_surface_at_the_sensor_is_clipped_to_one_and_a_half() -> None:
    estimate = estimate_fill(0, ContainerGeometry(100, 80))
    assert estimate.raw_fill_level == pytest.approx(1.8)
    assert estimate.fill_level == 1.5
    assert estimate.flag is FillFlag.ABOVE_MAX


def test_distance_beyond_the_floor_is_clipped_to_zero_and_flagged() -> None:
    estimate = estimate_fill(1500, ContainerGeometry(1000, 100))
    assert estimate.raw_fill_level == pytest.approx(-0.4)
    assert estimate.fill_level == 0.0
    assert estimate.flag is FillFlag.BELOW_EMPTY


def test_inside_the_container_is_ok() -> None:
    assert estimate_fill(500, ContainerGeometry(1000)).flag is FillFlag.OK


def test_distance_from_fill_inverts_fill_from_distance() -> None:
    rng = random.Random(7)
    for _ in range(300):
        height = rng.uniform(300, 2500)
        offset = rng.uniform(0, 400)
        # above 1 + offset/height the surface would be above the sensor
        fill = rng.uniform(0, min(1.5, 1 + offset / height))
        distance = distance_from_fill(fill, height, offset)
        assert fill_from_distance(distance, height, offset) == pytest.approx(fill, abs=1e-9)


@pytest.mark.parametrize(
    ("distance", "height", "offset", "match"),
    [
        (-1.0, 1000.0, 0.0, "distance_mm"),
        (float("nan"), 1000.0, 0.0, "distance_mm"),
        (100.0, 0.0, 0.0, "height_mm"),
        (100.0, float("inf"), 0.0, "height_mm"),
        (100.0, 1000.0, -5.0, "mount_offset_mm"),
    ],
)
def test_impossible_inputs_are_refused(distance: float, height: float, offset: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fill_from_distance(distance, height, offset)


def test_distance_from_fill_refuses_a_surface_above_the_sensor() -> None:
    with pytest.raises(ValueError, match="above the sensor"):
        distance_from_fill(1.4, 1000, 100)
    with pytest.raises(ValueError, match="fill_level"):
        distance_from_fill(2.0, 1000, 100)


def _reading(**kwargs: object) -> CanonicalReading:
    return CanonicalReading(
        device_id="a84041000181c5e2",
        measured_at=datetime(2026, 11, 22, 10, tzinfo=UTC),
        source="native",
        **kwargs,  # type: ignore[arg-type]
    )


def test_apply_geometry_fills_in_the_level_and_keeps_the_devices_own() -> None:
    reading = _reading(distance_mm=650.0, fill_level=0.9, extra={"topic_city": "luebeck"})
    result = apply_geometry(reading, ContainerGeometry(1100, 100))
    assert result.fill_level == pytest.approx(0.5)
    assert result.extra == {"topic_city": "luebeck", "fill_flag": "ok", "device_fill_level": 0.9}
    assert reading.fill_level == 0.9  # the input is unchanged


def test_apply_geometry_records_the_unclipped_value() -> None:
    result = apply_geometry(_reading(distance_mm=3000.0), ContainerGeometry(1000))
    assert result.fill_level == 0.0
    assert result.extra["fill_flag"] == "below_empty"
    assert result.extra["raw_fill_level"] == pytest.approx(-2.0)  # (1000 - 3000) / 1000


def test_apply_geometry_leaves_a_reading_without_distance_alone() -> None:
    reading = _reading(fill_level=0.3)
    assert apply_geometry(reading, ContainerGeometry(1000)) is reading
