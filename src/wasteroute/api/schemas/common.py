"""Shared pieces of the API bodies: coordinates, names and ids, pages, geometries, messages."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Lon = Annotated[float, Field(ge=-180, le=180, description="longitude, WGS84 degrees")]


Lat = Annotated[float, Field(ge=-90, le=90, description="latitude, WGS84 degrees")]


Name = Annotated[str, Field(min_length=1, max_length=200)]


ExternalId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s].*$")]


DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


T = TypeVar("T")


class InBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutBody(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; ``total`` counts all items."""

    items: list[T]
    total: int
    limit: int
    offset: int


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2, description="[lon, lat]")


class LineGeometry(BaseModel):
    type: Literal["LineString"]
    coordinates: list[list[float]]


class Message(BaseModel):
    """A sentence as a stable ``code`` and its numbers, for the pages to say in the user's language
    (units in the parameter names: ``_l``, ``_h``, ``_pct``; days as ISO dates)."""

    code: str
    params: dict[str, Any] = Field(default_factory=dict)
