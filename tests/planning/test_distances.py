"""Great-circle distance provider: values, rounding, road classes, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wasteroute.planning.distances import (
    EARTH_RADIUS_M,
    DistanceProvider,
    GreatCircleProvider,
    haversine_m,
)

METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180.0


def _haversine_scalar(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def test_one_degree_along_a_meridian_and_the_equator() -> None:
    m = haversine_m([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])
    assert m[0, 1] == pytest.approx(METRES_PER_DEGREE, rel=1e-12)
    assert m[0, 2] == pytest.approx(METRES_PER_DEGREE, rel=1e-12)


def test_antipodes_and_short_distances_are_accurate() -> None:
    m = haversine_m([(0.0, 0.0), (0.0, 180.0), (53.8655, 10.6866), (53.86551, 10.6866)])
    assert m[0, 1] == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-12)
    assert m[2, 3] == pytest.approx(0.00001 * METRES_PER_DEGREE, rel=1e-6)  # about 1.1 m


def test_matches_the_textbook_haversine_across_row_blocks() -> None:
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(53.8, 54.2, 700), rng.uniform(10.5, 12.2, 700)])
    m = haversine_m(points)
    for i, j in [(0, 1), (3, 650), (511, 512), (699, 0), (520, 100)]:
        assert m[i, j] == pytest.approx(_haversine_scalar(tuple(points[i]), tuple(points[j])), abs=1e-6)
    assert np.allclose(m, m.T)


@pytest.mark.parametrize("far_lat", [54.0001, 54.5, 55.14, 55.15, 60.0])
def test_city_and_regional_arcs_match_the_textbook_formula(far_lat: float) -> None:
    # Up to ~127 km a series replaces the arcsine; beyond, the arcsine is used. Both must agree.
    points = [(54.0, 10.0), (far_lat, 10.3)]
    m = haversine_m(points)
    assert m[0, 1] == pytest.approx(_haversine_scalar(points[0], points[1]), rel=1e-12, abs=1e-6)


def test_matrices_apply_detour_and_speed_and_round_to_integers() -> None:
    one_km_lat = 1000.0 / METRES_PER_DEGREE
    points = [(54.0, 11.0), (54.0 + one_km_lat, 11.0), (54.0 + 2.5 * one_km_lat, 11.0)]
    provider = GreatCircleProvider()
    distance_m, duration_s = provider.matrices(points)
    assert distance_m.dtype == np.int64 and duration_s.dtype == np.int64
    assert distance_m.shape == duration_s.shape == (3, 3)
    assert distance_m[0, 1] == 1300  # x 1.3 detour
    assert distance_m[0, 2] == 3250
    assert duration_s[0, 1] == round(1300 / (25 / 3.6))  # 25 km/h urban default: 187 s
    assert np.all(np.diag(distance_m) == 0) and np.all(np.diag(duration_s) == 0)
    assert np.array_equal(distance_m, distance_m.T)


def test_each_half_of_an_arc_uses_its_endpoints_road_class() -> None:
    one_km_lat = 1000.0 / METRES_PER_DEGREE
    provider = GreatCircleProvider(detour_factor=1.0, speeds_kmh={"urban": 25.0, "arterial": 50.0})
    points = [(54.0, 11.0), (54.0 + one_km_lat, 11.0)]
    _, urban = provider.matrices(points)
    _, mixed = provider.matrices(points, road_classes=["urban", "arterial"])
    _, fast = provider.matrices(points, road_classes=["arterial", "arterial"])
    assert urban[0, 1] == 144  # 1 km at 25 km/h
    assert fast[0, 1] == 72
    assert mixed[0, 1] == mixed[1, 0] == 108  # 500 m at 25 km/h + 500 m at 50 km/h


def test_empty_input_gives_empty_matrices() -> None:
    distance_m, duration_s = GreatCircleProvider().matrices([])
    assert distance_m.shape == duration_s.shape == (0, 0)


def test_provider_satisfies_the_protocol() -> None:
    provider: DistanceProvider = GreatCircleProvider()
    distance_m, _ = provider.matrices([(54.0, 11.0), (54.1, 11.0)])
    assert distance_m[0, 1] > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"detour_factor": 0.9}, "detour_factor must be"),
        ({"detour_factor": float("nan")}, "detour_factor must be"),
        ({"speeds_kmh": {}}, "at least one road class"),
        ({"speeds_kmh": {"urban": 0.0}}, "positive number of km/h"),
        ({"speeds_kmh": {"rural": 60.0}}, "default_class 'urban'"),
    ],
)
def test_invalid_parameters_say_what_was_expected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GreatCircleProvider(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(10.7, 53.9), (120.0, 54.0)], r"latitude 120.0.*not \(lon, lat\)"),
        ([(53.9, 190.0)], "longitude 190.0"),
        ([(53.9, float("nan"))], "not finite"),
        ([(1.0, 2.0, 3.0)], "shape"),
    ],
)
def test_invalid_points_are_rejected(points: list[tuple[float, ...]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GreatCircleProvider().matrices(points)  # type: ignore[arg-type]


def test_unknown_road_class_and_wrong_length_are_rejected() -> None:
    provider = GreatCircleProvider()
    with pytest.raises(ValueError, match="road class 'motorway'"):
        provider.matrices([(54.0, 11.0)], road_classes=["motorway"])
    with pytest.raises(ValueError, match="one per point"):
        provider.matrices([(54.0, 11.0)], road_classes=[])
