"""City seed generator: container sites along street-like clusters, container types, fleet, facilities.

``generate_city(city, bins, seed)`` returns the city seed document the service imports (one JSON
object: city, container_types, depots, facilities, vehicles, bins as a GeoJSON FeatureCollection).
Pure: no I/O; the same arguments give the same document.

Vehicle ``volume_l`` is the loose container volume one load takes (what the planner adds up as
fill level x container volume), that is the body volume times the truck's compaction ratio.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from sensors_sim.geography import CitySpec, District, city_spec, distance_m, offset_lonlat

FRACTIONS = ("residual", "paper", "glass", "packaging", "bio")
ACCESS_CLASSES = ("standard", "narrow", "crane")
SENSOR_MODELS = ("em310-udl", "ldds75", "native")


@dataclass(frozen=True, slots=True)
class ContainerType:
    """A container type.

    Attributes:
        height_mm: inner height from the bottom to the full line, millimetres (what a sensor in the
            lid measures across when the container is empty, minus its mount offset).
        service_s: time to empty one container on the truck, seconds.
        max_mass_kg: largest permitted load, kilograms.
        access_class: the truck class it needs wherever it stands (``None``: decided by the street).
    """

    code: str
    name: str
    volume_l: int
    height_mm: int
    service_s: int
    max_mass_kg: int
    access_class: str | None

    def as_dict(self) -> dict[str, Any]:
        """The entry of ``container_types`` in the seed document."""
        return {
            "code": self.code,
            "name": self.name,
            "volume_l": self.volume_l,
            "height_mm": self.height_mm,
            "service_s": self.service_s,
            "max_mass_kg": self.max_mass_kg,
        }


CONTAINER_TYPES: dict[str, ContainerType] = {
    t.code: t
    for t in (
        ContainerType("wheelie-1100", "1,100 L wheelie bin", 1100, 1150, 60, 440, None),
        ContainerType(
            "underground-3000", "3,000 L underground container (crane)", 3000, 1900, 240, 1200, "crane"
        ),
        ContainerType("glass-bank-2500", "2,500 L glass bank", 2500, 1650, 180, 1000, "crane"),
        ContainerType("litter-100", "100 L public litter bin", 100, 750, 40, 40, None),
    )
}
"""The four container types, by code."""

MEDIAN_FILL_PER_DAY: dict[tuple[str, str], float] = {
    ("residual", "wheelie-1100"): 0.10,
    ("residual", "underground-3000"): 0.10,
    ("residual", "litter-100"): 0.22,
    ("paper", "wheelie-1100"): 0.06,
    ("paper", "underground-3000"): 0.09,
    ("packaging", "wheelie-1100"): 0.07,
    ("packaging", "underground-3000"): 0.09,
    ("bio", "wheelie-1100"): 0.08,
    ("bio", "underground-3000"): 0.07,
    ("glass", "glass-bank-2500"): 0.045,
}
"""Median fill rate by (fraction, container type), fraction of the volume per day. Container rates
are lognormal around these medians (see ``RATE_SIGMA``).

Where the figures come from: cities size containers and rounds so that a typical container is
about half full when it is emptied on its fixed round (Groningen's underground containers 48.9 %,
a German depot-container operator 50 % at fixed rhythms; Badajoz found only a fifth of its bins
needing a weekly round). Household containers on weekly or fortnightly rounds therefore gain a
few per cent a day (residual about 10 %: 70 % after a week, paper and packaging less, glass banks
about 4.5 %: half full after a fortnight to three weeks), public litter bins on daily or
three-weekly rounds about a fifth of their volume a day (more near the centre, see
``centre_factor``)."""

RATE_SIGMA = 0.55
"""Standard deviation of log(daily fill rate) across containers: the long tail of busy sites."""

WEEKEND_FILL_LIMIT = 0.7
"""Most of its volume a container may receive, on average, from Saturday's round to Monday's.

A city sizes each site to its load: where one container would fill over a weekend, it puts a
second or a bigger one (the site's waste is then shared). A container's mean daily rate is
therefore at most half of this (``MAX_FILL_PER_DAY``); busier sites have more containers, not
fuller ones. Events, holidays and day-to-day noise still push single days above it."""

MAX_FILL_PER_DAY = WEEKEND_FILL_LIMIT / 2
"""Largest mean daily fill rate of one container (see ``WEEKEND_FILL_LIMIT``); lower for kinds that
fill faster at weekends (``sensors_sim.dynamics.weekend_cap``: public litter bins about 0.28)."""

LOOSE_DENSITY_KG_PER_L = {"residual": 0.12, "paper": 0.07, "glass": 0.33, "packaging": 0.04, "bio": 0.35}
"""Typical loose density of each fraction in a container, kg per litre."""


def centre_factor(spec: CitySpec, lon: float, lat: float) -> float:
    """Extra fill rate of public litter bins near the city centre: 1.8 at the centre, 1 far out."""
    d = distance_m(spec.center[0], spec.center[1], lon, lat)
    return 1.0 + 0.8 * math.exp(-d / 1500.0)


def mean_fill_per_day(fraction: str, container_type: str) -> float:
    """Mean (not median) daily fill rate of a container of this fraction and type."""
    median = MEDIAN_FILL_PER_DAY.get((fraction, container_type), 0.15)
    return min(median * math.exp(RATE_SIGMA**2 / 2), MAX_FILL_PER_DAY)


@dataclass(frozen=True, slots=True)
class _TruckClass:
    access_class: str
    name: str
    volume_l: int
    mass_kg: int
    loads_per_day: int
    stops_per_day: int


_TRUCKS = {
    "standard": _TruckClass("standard", "rear loader, 3 axles", 40_000, 10_000, 3, 90),
    "narrow": _TruckClass("narrow", "small rear loader for the old town", 14_000, 3_500, 3, 70),
    "crane": _TruckClass("crane", "crane truck for underground containers and banks", 30_000, 9_000, 3, 40),
}

_SITE_MIX = {
    # site kind -> weight, for (old town, tourist, ordinary) districts
    "old_town": {"litter": 0.45, "yard": 0.25, "underground": 0.20, "island": 0.10},
    "tourist": {"litter": 0.45, "yard": 0.30, "underground": 0.05, "island": 0.20},
    "ordinary": {"litter": 0.22, "yard": 0.50, "underground": 0.08, "island": 0.20},
}

_MODEL_MIX = {
    "litter-100": {"native": 0.7, "em310-udl": 0.3},
    "wheelie-1100": {"em310-udl": 0.55, "ldds75": 0.30, "native": 0.15},
    "underground-3000": {"em310-udl": 0.5, "ldds75": 0.5},
    "glass-bank-2500": {"ldds75": 0.6, "em310-udl": 0.4},
}

_EUI_PREFIX = {"em310-udl": "24e124", "ldds75": "a84041", "native": "70b3d5"}


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _site_containers(rng: random.Random, kind: str) -> list[tuple[str, str]]:
    """(fraction, container type) of the containers of one site, all of different fractions."""
    if kind == "litter":
        return [("residual", "litter-100")]
    if kind == "island":
        out = [("glass", "glass-bank-2500")]
        if rng.random() < 0.7:
            out.append(("paper", "underground-3000" if rng.random() < 0.4 else "wheelie-1100"))
        if rng.random() < 0.5:
            out.append(("packaging", "wheelie-1100"))
        return out
    ctype = "underground-3000" if kind == "underground" else "wheelie-1100"
    weights = {"residual": 0.95, "packaging": 0.7, "paper": 0.6, "bio": 0.45}
    n = rng.choices((1, 2, 3, 4), weights=(0.2, 0.3, 0.3, 0.2))[0]
    chosen: list[str] = []
    while len(chosen) < n:
        f = _pick(rng, {k: v for k, v in weights.items() if k not in chosen})
        chosen.append(f)
    chosen.sort(key=FRACTIONS.index)
    return [(f, ctype) for f in chosen]


_STREETS = (
    "Hafenstraße",
    "Lindenallee",
    "Am Markt",
    "Mühlenweg",
    "Schulstraße",
    "Kirchplatz",
    "Bahnhofstraße",
    "Wallstraße",
    "Fischergrube",
    "Rosenweg",
    "Am Stadtpark",
    "Seestraße",
)
"""Street names of the simulated sites (the simulated streets are random walks without names)."""


def _address(site_no: int, district: str) -> str:
    """A made-up but stable street address of site ``site_no`` (drawn without the random generator, so
    adding it changes no other property of the city)."""
    street = _STREETS[(site_no * 7 + len(district)) % len(_STREETS)]
    return f"{street} {1 + (site_no * 13) % 97}, {district}"


def _collection_hours(ctype: str, access: str) -> str:
    if ctype == "glass-bank-2500":
        return "07:00-19:00"
    if access == "narrow":
        return "06:00-11:00"
    if ctype == "litter-100":
        return "05:00-20:00"
    return "06:00-20:00"


def _device_id(rng: random.Random, model: str, used: set[str]) -> str:
    while True:
        dev = _EUI_PREFIX[model] + f"{rng.getrandbits(40):010x}"
        if dev not in used:
            used.add(dev)
            return dev


def _mount_offset_mm(rng: random.Random, model: str) -> int:
    """Distance from the sensor face to the full line, mm. Dragino's blind zone is about 280 mm."""
    if model == "ldds75":
        return 5 * rng.randint(56, 68)
    if model == "em310-udl":
        return 5 * rng.randint(8, 24)
    return 5 * rng.randint(6, 12)


def _street_sites(rng: random.Random, district: District, n_containers: int) -> list[tuple[float, float]]:
    """Site positions along random-walk streets in ``district`` (enough for ``n_containers``)."""
    sites: list[tuple[float, float]] = []
    # a district's streets share a rough grid orientation, bent a little at every site
    grid = rng.uniform(0, math.pi / 2)
    spacing = (40.0, 90.0) if district.old_town else (60.0, 150.0)
    needed = max(1, math.ceil(n_containers / 1.6))  # sites hold 1.6 containers on average
    while len(sites) < needed:
        r = district.radius_m * math.sqrt(rng.random()) * 0.8
        a = rng.uniform(0, 2 * math.pi)
        x, y = r * math.cos(a), r * math.sin(a)
        heading = grid + rng.choice((0.0, math.pi / 2, math.pi, 3 * math.pi / 2)) + rng.gauss(0, 0.1)
        for _ in range(rng.randint(3, 12)):
            x += math.cos(heading) * rng.uniform(*spacing)
            y += math.sin(heading) * rng.uniform(*spacing)
            if math.hypot(x, y) > district.radius_m * 1.2:
                break
            side = rng.choice((-1.0, 1.0)) * rng.uniform(4.0, 10.0)  # either side of the street
            sx, sy = x - math.sin(heading) * side, y + math.cos(heading) * side
            sites.append(offset_lonlat(district.lon, district.lat, sx, sy))
            heading += rng.gauss(0, math.radians(10))
            if len(sites) >= needed:
                break
    return sites


def _feature(
    lon: float, lat: float, props: dict[str, Any]
) -> dict[str, Any]:  # a GeoJSON point feature, coordinates rounded to ~0.1 m
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": props,
    }


def _bins(spec: CitySpec, n_bins: int, rng: random.Random) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    used_devices: set[str] = set()
    per_district = _allocate(n_bins, [d.weight for d in spec.districts])
    site_no = 0
    for district, quota in zip(spec.districts, per_district, strict=True):
        if quota == 0:
            continue
        mix = _SITE_MIX["old_town" if district.old_town else "tourist" if district.tourist else "ordinary"]
        placed = 0
        positions = _street_sites(rng, district, quota)
        pos_i = 0
        while placed < quota:
            if pos_i >= len(positions):
                positions += _street_sites(rng, district, quota - placed)
            lon, lat = positions[pos_i]
            pos_i += 1
            site_no += 1
            site_id = f"{spec.plate}-S-{site_no:04d}"
            containers = _site_containers(rng, _pick(rng, mix))[: quota - placed]
            for fraction, ctype in containers:
                placed += 1
                ct = CONTAINER_TYPES[ctype]
                access = ct.access_class or ("narrow" if district.old_town else "standard")
                model = _pick(rng, _MODEL_MIX[ctype])
                props = {
                    "external_id": f"{spec.plate}-{len(features) + 1:06d}",
                    "site_id": site_id,
                    "address": _address(site_no, district.name),
                    "fraction": fraction,
                    "container_type": ctype,
                    "access_class": access,
                    "collection_hours": _collection_hours(ctype, access),
                    "district": district.name,
                    "sensor": {
                        "device_id": _device_id(rng, model, used_devices),
                        "model": model,
                        "mount_offset_mm": _mount_offset_mm(rng, model),
                    },
                }
                features.append(_feature(lon, lat, props))
    return features


def _fleet(spec: CitySpec, features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trucks per fraction and access class, enough for a day's collections at a 1.3 peak factor."""
    vehicles: list[dict[str, Any]] = []
    number = 101
    for fraction in FRACTIONS:
        vol = dict.fromkeys(ACCESS_CLASSES, 0.0)
        stops = dict.fromkeys(ACCESS_CLASSES, 0.0)
        for f in features:
            p = f["properties"]
            if p["fraction"] != fraction:
                continue
            rate = mean_fill_per_day(fraction, p["container_type"])
            vol[p["access_class"]] += 1.3 * rate * CONTAINER_TYPES[p["container_type"]].volume_l
            stops[p["access_class"]] += 1.3 * rate / 0.75  # emptied at about 75 % full
        if not any(stops.values()):
            continue
        counts: dict[str, int] = {}
        spare_vol, spare_stops = 0.0, 0.0
        for cls in ("crane", "narrow"):
            t = _TRUCKS[cls]
            cap_vol, cap_stops = t.volume_l * t.loads_per_day, float(t.stops_per_day)
            n = math.ceil(max(vol[cls] / cap_vol, stops[cls] / cap_stops)) if stops[cls] > 0 else 0
            counts[cls] = n
            spare_vol += n * cap_vol - vol[cls]
            spare_stops += n * cap_stops - stops[cls]
        t = _TRUCKS["standard"]
        rest_vol, rest_stops = (
            max(0.0, vol["standard"] - spare_vol),
            max(0.0, stops["standard"] - spare_stops),
        )
        counts["standard"] = math.ceil(
            max(rest_vol / (t.volume_l * t.loads_per_day), rest_stops / t.stops_per_day)
        )
        i = 0
        for cls in ("standard", "narrow", "crane"):
            t = _TRUCKS[cls]
            for _ in range(counts[cls]):
                depot = spec.depots[i % len(spec.depots)]
                i += 1
                start, end = ("07:00", "15:30") if fraction == "glass" else ("06:00", "14:30")
                vehicles.append(
                    {
                        "external_id": f"{spec.plate}-WR-{number}",
                        "name": f"{fraction} {t.name}",
                        "depot": depot.external_id,
                        "fraction": fraction,
                        "volume_l": t.volume_l,
                        "mass_kg": t.mass_kg,
                        "shift_start": start,
                        "shift_end": end,
                        "max_duration_s": 30_600,
                        "access_class": cls,
                    }
                )
                number += 1
    return vehicles


def generate_city(city: str, bins: int | None = None, seed: int = 1) -> dict[str, Any]:
    """The city seed document for ``city`` with ``bins`` containers (default: the city's scale).

    Args:
        city: city slug, one of ``luebeck``, ``rostock``, ``stralsund``, ``wismar``.
        bins: number of containers (>= 1); ``None`` uses the city's default size.
        seed: any integer; the same (city, bins, seed) always gives the same document.
    """
    spec = city_spec(city)
    n_bins = spec.default_bins if bins is None else bins
    if n_bins < 1:
        raise ValueError(f"bins must be >= 1, got {n_bins}")
    rng = random.Random(f"wasteroute-city:{spec.slug}:{seed}")
    features = _bins(spec, n_bins, rng)
    return {
        "city": {
            "slug": spec.slug,
            "name": spec.name,
            "timezone": spec.timezone,
            "center": list(spec.center),
        },
        "container_types": [t.as_dict() for t in CONTAINER_TYPES.values()],
        "depots": [
            {"external_id": d.external_id, "name": d.name, "lon": d.lon, "lat": d.lat} for d in spec.depots
        ],
        "facilities": [
            {
                "external_id": f.place.external_id,
                "name": f.place.name,
                "lon": f.place.lon,
                "lat": f.place.lat,
                "fractions": list(f.fractions),
                "opens": f.opens,
                "closes": f.closes,
                "unload_s": f.unload_s,
            }
            for f in spec.facilities
        ],
        "vehicles": _fleet(spec, features),
        "bins": {"type": "FeatureCollection", "features": features},
    }


def bins_geojson(city_doc: dict[str, Any]) -> dict[str, Any]:
    """The bins of a seed document as a GeoJSON FeatureCollection (what ``--geojson`` writes)."""
    bins = city_doc["bins"]
    return {"type": "FeatureCollection", "features": list(bins["features"])}
