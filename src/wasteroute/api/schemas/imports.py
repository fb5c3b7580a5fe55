"""Admins: bulk imports of bins and sensors, and their report."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RowError(BaseModel):
    row: int = Field(description="1-based: CSV line after the header, or GeoJSON feature index + 1")
    external_id: str | None
    errors: list[str]


class ImportReport(BaseModel):
    dry_run: bool
    rows: int
    imported: int
    sensors: int
    errors: list[RowError]
