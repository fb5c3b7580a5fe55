"""City seed documents: shape of the shared contract, plausible placement, a fleet that fits."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from sensors_sim.city import CONTAINER_TYPES, FRACTIONS, bins_geojson, generate_city, mean_fill_per_day
from sensors_sim.geography import CITIES, distance_m

SERVES = {"standard": {"standard"}, "narrow": {"standard", "narrow"}, "crane": {"crane", "standard"}}


@pytest.fixture(scope="module")
def luebeck() -> dict[str, Any]:
    return generate_city("luebeck", 400, 1)


def test_document_has_every_section_of_the_seed_format(luebeck: dict[str, Any]) -> None:
    assert set(luebeck) == {"city", "container_types", "depots", "facilities", "vehicles", "bins"}
    city = luebeck["city"]
    assert city == {
        "slug": "luebeck",
        "name": "Lübeck",
        "timezone": "Europe/Berlin",
        "center": [10.6866, 53.8655],
    }
    codes = {t["code"] for t in luebeck["container_types"]}
    assert codes == {"wheelie-1100", "underground-3000", "glass-bank-2500", "litter-100"}
    for t in luebeck["container_types"]:
        assert set(t) == {"code", "name", "volume_l", "height_mm", "service_s", "max_mass_kg"}
    assert luebeck["bins"]["type"] == "FeatureCollection"
    assert len(luebeck["bins"]["features"]) == 400
    # the whole document survives JSON
    assert json.loads(json.dumps(luebeck)) == luebeck


def test_bins_follow_the_contract(luebeck: dict[str, Any]) -> None:
    devices = set()
    ids = set()
    for f in luebeck["bins"]["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        p = f["properties"]
        assert re.fullmatch(r"HL-\d{6}", p["external_id"]) and p["external_id"] not in ids
        ids.add(p["external_id"])
        assert re.fullmatch(r"HL-S-\d{4}", p["site_id"])
        assert p["fraction"] in FRACTIONS
        assert p["container_type"] in CONTAINER_TYPES
        assert p["access_class"] in SERVES
        assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", p["collection_hours"])
        s = p["sensor"]
        assert re.fullmatch(r"[0-9a-f]{16}", s["device_id"]) and s["device_id"] not in devices
        devices.add(s["device_id"])
        assert s["model"] in ("em310-udl", "ldds75", "native")
        assert 20 <= s["mount_offset_mm"] <= 400
        if p["container_type"] in ("underground-3000", "glass-bank-2500"):
            assert p["access_class"] == "crane"
        if p["fraction"] == "glass":
            assert p["container_type"] == "glass-bank-2500"


def test_sites_hold_one_to_four_containers_of_different_fractions(luebeck: dict[str, Any]) -> None:
    sites: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in luebeck["bins"]["features"]:
        sites[f["properties"]["site_id"]].append(f)
    sizes = Counter(len(v) for v in sites.values())
    assert set(sizes) <= {1, 2, 3, 4} and len(sizes) >= 3
    for members in sites.values():
        fractions = [m["properties"]["fraction"] for m in members]
        assert len(set(fractions)) == len(fractions)
        assert len({tuple(m["geometry"]["coordinates"]) for m in members}) == 1


def test_all_types_fractions_and_models_occur(luebeck: dict[str, Any]) -> None:
    props = [f["properties"] for f in luebeck["bins"]["features"]]
    assert {p["container_type"] for p in props} == set(CONTAINER_TYPES)
    assert {p["fraction"] for p in props} == set(FRACTIONS)
    assert {p["sensor"]["model"] for p in props} == {"em310-udl", "ldds75", "native"}
    assert {p["access_class"] for p in props} == {"standard", "narrow", "crane"}


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_bins_lie_in_the_districts_of_their_city(slug: str) -> None:
    spec = CITIES[slug]
    doc = generate_city(slug, 300, 7)
    for f in doc["bins"]["features"]:
        lon, lat = f["geometry"]["coordinates"]
        d = spec.district(f["properties"]["district"])
        assert distance_m(lon, lat, d.lon, d.lat) <= d.radius_m * 1.25
    # consecutive sites of a street are close: the median gap between neighbouring sites is street-like
    coords = [tuple(f["geometry"]["coordinates"]) for f in doc["bins"]["features"]]
    uniq = list(dict.fromkeys(coords))
    gaps = sorted(distance_m(*a, *b) for a, b in itertools.pairwise(uniq))
    assert 30 <= gaps[len(gaps) // 2] <= 200


def test_default_size_follows_the_city_scale() -> None:
    sizes = {slug: len(generate_city(slug, None, 1)["bins"]["features"]) for slug in CITIES}
    assert sizes == {slug: spec.default_bins for slug, spec in CITIES.items()}
    assert sizes["luebeck"] > sizes["stralsund"] > sizes["wismar"]


def test_same_seed_same_document_other_seed_other_document() -> None:
    a = json.dumps(generate_city("rostock", 250, 5))
    assert a == json.dumps(generate_city("rostock", 250, 5))
    assert a != json.dumps(generate_city("rostock", 250, 6))


def test_every_bin_has_a_truck_that_may_serve_it_and_a_facility_that_takes_it(
    luebeck: dict[str, Any],
) -> None:
    depots = {d["external_id"] for d in luebeck["depots"]}
    for v in luebeck["vehicles"]:
        assert v["depot"] in depots
        assert v["access_class"] in SERVES and v["fraction"] in FRACTIONS
        assert v["volume_l"] > 0 and v["mass_kg"] > 0 and v["max_duration_s"] > 0
    for f in luebeck["bins"]["features"]:
        p = f["properties"]
        assert any(
            v["fraction"] == p["fraction"] and p["access_class"] in SERVES[v["access_class"]]
            for v in luebeck["vehicles"]
        ), p
        assert any(p["fraction"] in fac["fractions"] for fac in luebeck["facilities"])


@pytest.mark.parametrize("bins", [120, 400, 2000])
def test_fleet_carries_a_peak_days_volume(bins: int) -> None:
    doc = generate_city("luebeck", bins, 2)
    for fraction in FRACTIONS:
        need_l = sum(
            1.3
            * mean_fill_per_day(fraction, f["properties"]["container_type"])
            * CONTAINER_TYPES[f["properties"]["container_type"]].volume_l
            for f in doc["bins"]["features"]
            if f["properties"]["fraction"] == fraction
        )
        trucks = [v for v in doc["vehicles"] if v["fraction"] == fraction]
        assert sum(3 * v["volume_l"] for v in trucks) >= need_l
    # a small city does not get a fleet of a big one
    assert len(doc["vehicles"]) <= max(12, bins // 60)


def test_geojson_export_is_the_bins_alone(luebeck: dict[str, Any]) -> None:
    gj = bins_geojson(luebeck)
    assert gj["type"] == "FeatureCollection"
    assert gj["features"] == luebeck["bins"]["features"]


def test_unknown_city_and_bad_size_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown city 'hamburg'"):
        generate_city("hamburg", 10, 1)
    with pytest.raises(ValueError, match="bins must be >= 1"):
        generate_city("wismar", 0, 1)
