"""Open data: public figures of a city and containers as FIWARE WasteContainer entities."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wasteroute.api.schemas.common import PointGeometry


class PublicCity(BaseModel):
    slug: str
    name: str
    bins: int


class WeekRead(BaseModel):
    week_start: date
    collections: int
    avg_fill_at_emptying: float | None
    km_driven: float
    overflows: int


class CityFigures(BaseModel):
    """Anonymous figures of one city over the last ``weeks`` weeks."""

    city: str
    name: str
    weeks: int
    collections: int
    avg_fill_at_emptying: float | None
    collections_per_week: float
    km_driven: float
    overflows: int
    by_week: list[WeekRead]


class NgsiProperty(BaseModel):
    type: Literal["Property"]
    value: Any
    observedAt: str | None = None
    unitCode: str | None = None


class NgsiGeoProperty(BaseModel):
    type: Literal["GeoProperty"]
    value: PointGeometry


class WasteContainer(BaseModel):
    """FIWARE Smart Data Models ``WasteContainer`` (NGSI-LD, normalized)."""

    model_config = ConfigDict(populate_by_name=True)
    id: str = Field(description="urn:ngsi-ld:WasteContainer:<city>:<external id>")
    type: Literal["WasteContainer"]
    location: NgsiGeoProperty
    fillingLevel: NgsiProperty | None = None
    storedWasteKind: NgsiProperty
    dateLastEmptying: NgsiProperty | None = None
    status: NgsiProperty
    binCapacity: NgsiProperty
    context: list[str] = Field(alias="@context")
