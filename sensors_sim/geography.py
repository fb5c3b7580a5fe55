"""The four Hanseatic cities the simulator knows: centres, districts, depots, facilities, local events.

Coordinates are WGS84 (lon, lat) and approximate: they place districts, depots and the disposal
facility where a waste service would plausibly have them, not at surveyed addresses. District
``weight`` is the share of the city's containers placed there (roughly its share of inhabitants,
with extra litter bins in the centres); ``radius_m`` is how far its streets reach from its centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

EARTH_M_PER_DEG_LAT = 111_320.0
"""Metres per degree of latitude (mean); a degree of longitude is this times cos(latitude)."""


@dataclass(frozen=True, slots=True)
class District:
    """A part of town where container sites are placed along generated streets.

    Attributes:
        name: district name as residents use it.
        lon, lat: centre, WGS84 degrees.
        radius_m: how far from the centre streets are generated, metres.
        weight: relative share of the city's containers (any positive number; normalised per city).
        old_town: narrow medieval streets: wheelie and litter bins there are ``narrow`` access,
            pick-ups are restricted to the morning.
        tourist: seaside or harbour quarter with extra public litter bins.
    """

    name: str
    lon: float
    lat: float
    radius_m: float
    weight: float
    old_town: bool = False
    tourist: bool = False

    def __post_init__(self) -> None:
        if not (-180.0 <= self.lon <= 180.0 and -90.0 <= self.lat <= 90.0):
            raise ValueError(
                f"district {self.name!r}: lon/lat must be WGS84 degrees, got {self.lon}, {self.lat}"
            )
        if self.radius_m <= 0 or self.weight <= 0:
            raise ValueError(f"district {self.name!r}: radius_m and weight must be > 0")


@dataclass(frozen=True, slots=True)
class Place:
    """A depot or a disposal facility."""

    external_id: str
    name: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class FacilitySpec:
    """A disposal facility: where trucks unload, which fractions it takes, its opening hours (local)."""

    place: Place
    fractions: tuple[str, ...]
    opens: str = "06:00"
    closes: str = "20:00"
    unload_s: int = 900


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A yearly local event that fills the litter bins (and a little the other containers) near it.

    The first day is found in ``month``: either the fixed ``day`` of the month, or the ``nth``
    occurrence (1-based; -1 = last) of ``weekday`` (0 = Monday), then shifted by ``offset_days``.

    Attributes:
        litter_factor: multiplier of the fill rate of public litter bins within ``radius_m``.
        other_factor: multiplier for the other containers within ``radius_m``.
    """

    name: str
    district: str
    month: int
    n_days: int
    day: int | None = None
    weekday: int | None = None
    nth: int = 1
    offset_days: int = 0
    litter_factor: float = 3.0
    other_factor: float = 1.3
    radius_m: float = 900.0

    def __post_init__(self) -> None:
        if (self.day is None) == (self.weekday is None):
            raise ValueError(f"event {self.name!r}: give exactly one of day= or weekday=")
        if self.n_days < 1:
            raise ValueError(f"event {self.name!r}: n_days must be >= 1, got {self.n_days}")

    def first_day(self, year: int) -> date:
        """The event's first day in ``year``."""
        if self.day is not None:
            return date(year, self.month, self.day) + timedelta(days=self.offset_days)
        assert self.weekday is not None
        if self.nth > 0:
            d = date(year, self.month, 1)
            d += timedelta(days=(self.weekday - d.weekday()) % 7)
            d += timedelta(weeks=self.nth - 1)
        else:
            nxt = date(year + (self.month == 12), self.month % 12 + 1, 1)
            d = nxt - timedelta(days=1)
            d -= timedelta(days=(d.weekday() - self.weekday) % 7)
        return d + timedelta(days=self.offset_days)

    def days(self, year: int) -> list[date]:
        """All days of the event in ``year``."""
        first = self.first_day(year)
        return [first + timedelta(days=i) for i in range(self.n_days)]


@dataclass(frozen=True, slots=True)
class CitySpec:
    """Everything the generator needs to know about one city.

    Attributes:
        plate: vehicle registration prefix, also the prefix of container ids (``HL-000123``).
        state: German federal state code for public holidays (``SH``, ``MV``).
        default_bins: number of containers generated when the caller gives none (about one
            container per 100 inhabitants).
    """

    slug: str
    name: str
    center: tuple[float, float]
    plate: str
    state: str
    default_bins: int
    districts: tuple[District, ...]
    depots: tuple[Place, ...]
    facilities: tuple[FacilitySpec, ...]
    events: tuple[EventSpec, ...]
    timezone: str = "Europe/Berlin"

    def district(self, name: str) -> District:
        """The district called ``name``."""
        for d in self.districts:
            if d.name == name:
                return d
        raise KeyError(f"{self.slug}: no district {name!r}; known: {[d.name for d in self.districts]}")


def offset_lonlat(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m`` metres east and ``north_m`` metres north of (lon, lat)."""
    dlat = north_m / EARTH_M_PER_DEG_LAT
    dlon = east_m / (EARTH_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Equirectangular distance between two nearby points, metres (good to < 0.1 % within a city)."""
    mean_lat = math.radians((lat1 + lat2) / 2)
    dx = (lon2 - lon1) * EARTH_M_PER_DEG_LAT * math.cos(mean_lat)
    dy = (lat2 - lat1) * EARTH_M_PER_DEG_LAT
    return math.hypot(dx, dy)


_ALL = ("residual", "paper", "glass", "packaging", "bio")


def _christmas_market(district: str, first_day: int, n_days: int) -> EventSpec:
    return EventSpec(
        "Christmas market",
        district,
        month=11,
        day=first_day,
        n_days=n_days,
        litter_factor=2.2,
        other_factor=1.2,
    )


CITIES: dict[str, CitySpec] = {
    "luebeck": CitySpec(
        slug="luebeck",
        name="Lübeck",
        center=(10.6866, 53.8655),
        plate="HL",
        state="SH",
        default_bins=2200,
        districts=(
            District("Innenstadt", 10.6866, 53.8664, 550, 0.09, old_town=True),
            District("St. Lorenz Nord", 10.6600, 53.8780, 900, 0.17),
            District("St. Lorenz Süd", 10.6680, 53.8580, 650, 0.08),
            District("St. Jürgen", 10.7120, 53.8450, 1200, 0.19),
            District("St. Gertrud", 10.7120, 53.8820, 1100, 0.17),
            District("Moisling", 10.6280, 53.8430, 700, 0.05),
            District("Buntekuh", 10.6450, 53.8620, 600, 0.05),
            District("Kücknitz", 10.8050, 53.9120, 900, 0.08),
            District("Schlutup", 10.8000, 53.8880, 600, 0.03),
            District("Travemünde", 10.8680, 53.9600, 900, 0.09, tourist=True),
        ),
        depots=(
            Place("depot-1", "Betriebshof Malmöstraße", 10.6670, 53.8920),
            Place("depot-2", "Betriebshof Kücknitz", 10.7900, 53.9050),
        ),
        facilities=(
            FacilitySpec(Place("awz-1", "Abfallwirtschaftszentrum Niemark", 10.6100, 53.8530), _ALL),
        ),
        events=(
            _christmas_market("Innenstadt", 24, 37),
            EventSpec(
                "Travemünder Woche", "Travemünde", month=7, weekday=4, nth=-1, n_days=10, litter_factor=3.5
            ),
        ),
    ),
    "rostock": CitySpec(
        slug="rostock",
        name="Rostock",
        center=(12.1400, 54.0887),
        plate="HRO",
        state="MV",
        default_bins=2100,
        districts=(
            District("Stadtmitte", 12.1390, 54.0890, 550, 0.08, old_town=True),
            District("Kröpeliner-Tor-Vorstadt", 12.1150, 54.0890, 600, 0.09),
            District("Südstadt", 12.1110, 54.0730, 700, 0.07),
            District("Reutershagen", 12.0950, 54.0970, 800, 0.09),
            District("Evershagen", 12.0630, 54.1230, 700, 0.08),
            District("Lütten Klein", 12.0640, 54.1400, 700, 0.08),
            District("Lichtenhagen", 12.0490, 54.1490, 600, 0.06),
            District("Groß Klein", 12.0800, 54.1600, 600, 0.05),
            District("Schmarl", 12.0870, 54.1330, 500, 0.04),
            District("Dierkow", 12.1700, 54.1000, 700, 0.07),
            District("Toitenwinkel", 12.1750, 54.1220, 700, 0.06),
            District("Brinckmansdorf", 12.1600, 54.0780, 700, 0.06),
            District("Warnemünde", 12.0830, 54.1760, 700, 0.07, tourist=True),
        ),
        depots=(
            Place("depot-1", "Betriebshof Dierkow", 12.1780, 54.1080),
            Place("depot-2", "Betriebshof Schmarl", 12.0950, 54.1380),
        ),
        facilities=(
            FacilitySpec(
                Place("ebs-1", "Ersatzbrennstoff-Kraftwerk Seehafen", 12.1460, 54.1520), ("residual",)
            ),
            FacilitySpec(
                Place("rec-1", "Wertstoffzentrum Rostock", 12.1820, 54.1060),
                ("paper", "glass", "packaging", "bio", "residual"),
                opens="06:00",
                closes="18:00",
                unload_s=720,
            ),
        ),
        events=(
            _christmas_market("Stadtmitte", 23, 30),
            EventSpec(
                "Hanse Sail",
                "Stadtmitte",
                month=8,
                weekday=5,
                nth=2,
                offset_days=-2,
                n_days=4,
                litter_factor=4.0,
            ),
            EventSpec(
                "Hanse Sail (Warnemünde)",
                "Warnemünde",
                month=8,
                weekday=5,
                nth=2,
                offset_days=-2,
                n_days=4,
                litter_factor=3.0,
            ),
            EventSpec(
                "Warnemünder Woche", "Warnemünde", month=7, weekday=5, nth=1, n_days=9, litter_factor=3.0
            ),
        ),
    ),
    "stralsund": CitySpec(
        slug="stralsund",
        name="Stralsund",
        center=(13.0925, 54.3153),
        plate="HST",
        state="MV",
        default_bins=600,
        districts=(
            District("Altstadt", 13.0925, 54.3153, 450, 0.16, old_town=True),
            District("Knieper West", 13.0620, 54.3200, 700, 0.22),
            District("Knieper Nord", 13.0800, 54.3320, 500, 0.10),
            District("Tribseer Vorstadt", 13.0720, 54.3040, 600, 0.14),
            District("Frankenvorstadt", 13.0960, 54.3000, 600, 0.12),
            District("Grünhufe", 13.0420, 54.3080, 600, 0.12),
            District("Andershof", 13.1130, 54.2790, 500, 0.08),
            District("Devin", 13.1250, 54.2640, 400, 0.06),
        ),
        depots=(Place("depot-1", "Betriebshof Langendorfer Berg", 13.0600, 54.2960),),
        facilities=(FacilitySpec(Place("ust-1", "Umladestation Stralsund", 13.1100, 54.2900), _ALL),),
        events=(
            _christmas_market("Altstadt", 25, 28),
            EventSpec("Wallensteintage", "Altstadt", month=7, weekday=5, nth=-1, offset_days=-2, n_days=4),
        ),
    ),
    "wismar": CitySpec(
        slug="wismar",
        name="Wismar",
        center=(11.4654, 53.8918),
        plate="HWI",
        state="MV",
        default_bins=430,
        districts=(
            District("Altstadt", 11.4654, 53.8918, 400, 0.20, old_town=True),
            District("Wendorf", 11.4430, 53.9050, 600, 0.22),
            District("Friedenshof", 11.4850, 53.8800, 600, 0.20),
            District("Dargetzow", 11.4500, 53.8780, 500, 0.14),
            District("Kagenmarkt", 11.4930, 53.8930, 500, 0.14),
            District("Seebad Wendorf", 11.4300, 53.9120, 350, 0.10, tourist=True),
        ),
        depots=(Place("depot-1", "Betriebshof Haffeld", 11.4480, 53.9000),),
        facilities=(FacilitySpec(Place("ust-1", "Umladestation Wismar-Haffeld", 11.4400, 53.9120), _ALL),),
        events=(
            _christmas_market("Altstadt", 25, 28),
            EventSpec("Schwedenfest", "Altstadt", month=8, weekday=4, nth=3, n_days=3, litter_factor=3.5),
        ),
    ),
}
"""Known cities by slug."""


def city_spec(slug: str) -> CitySpec:
    """The spec of city ``slug``; raises ``ValueError`` naming the known slugs otherwise."""
    try:
        return CITIES[slug]
    except KeyError:
        raise ValueError(f"unknown city {slug!r}; expected one of {sorted(CITIES)}") from None
