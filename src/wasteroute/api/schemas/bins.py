"""Dispatchers: the city's bins as a GeoJSON map with fill, forecast and state, and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from wasteroute.api.schemas.common import PointGeometry
from wasteroute.vocabulary import (
    AlertKind,
    BinState,
)


class BinMapProperties(BaseModel):
    external_id: str
    fraction: str
    container_type: str
    volume_l: float
    site_id: str | None
    device_id: str | None
    fill_level: float | None = Field(description="latest measured fill, 1.0 = full")
    measured_at: datetime | None
    battery_pct: float | None
    last_emptied_at: datetime | None
    forecast_fill_24h: float | None = Field(description="expected fill in 24 hours (not capped at 1)")
    hours_to_threshold: float | None = Field(
        description="hours until the city's threshold; null: not within 60 days"
    )
    sensor_health: list[str] = Field(
        description="empty when healthy; else no_data, stale, stuck, implausible"
    )
    alerts: list[str]
    state: BinState


class BinMapFeature(BaseModel):
    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: BinMapProperties


class BinMap(BaseModel):
    """GeoJSON FeatureCollection of the city's bins (with ``total``, ``limit``, ``offset`` members)."""

    type: Literal["FeatureCollection"]
    features: list[BinMapFeature]
    total: int
    limit: int
    offset: int


class AlertRead(BaseModel):
    id: int | None = Field(
        description="stored alerts only; computed ones (stale, overflow_forecast) have none"
    )
    kind: AlertKind
    source: Literal["stored", "computed"]
    bin_id: int | None
    bin_external_id: str | None
    sensor_id: int | None
    raised_at: datetime | None
    detail: str = Field(description="in English, for API users and logs")
    code: str = Field(
        description="what ``detail`` says: temperature, tilt, battery_low, no_reading_since, no_reading_yet, "
        "overflow_expected"
    )
    params: dict[str, Any] = Field(
        description="its numbers: temperature_c, tilt_deg, battery_pct, device_id, since, fill_pct, hours"
    )
    lon: float | None
    lat: float | None


class AlertList(BaseModel):
    items: list[AlertRead]
    total: int
    limit: int
    offset: int
