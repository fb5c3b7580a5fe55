"""Gateways: webhook ingest results, and the collection feed."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Refusal(BaseModel):
    reason: str
    detail: str


class IngestResult(BaseModel):
    stored: int
    duplicates: int
    dead_lettered: int
    refused: list[Refusal]


class CollectionItem(BaseModel):
    external_id: str
    collected_at: datetime


class CollectionFeed(BaseModel):
    items: list[CollectionItem]
    next_since: datetime | None = Field(description="when the page was full: ask again from here")
