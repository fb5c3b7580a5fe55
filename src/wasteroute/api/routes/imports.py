"""Admins: bulk import of bins from CSV or GeoJSON, with an error list per row, and the CSV export.

Rows are validated with the city seed schema (``BinFeature``), then checked against the city's
container types and the device ids of other cities. Valid rows are created or updated (keyed by
``external_id``); invalid ones are reported and skipped. ``dry_run=true`` only validates. A CSV
cell that a spreadsheet would run as a formula is refused; the export (the import's columns, so it
can be edited and imported again) neutralises such text (see :mod:`wasteroute.admin.spreadsheet`).
"""

from __future__ import annotations

import csv
import io
from datetime import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field, ValidationError

from wasteroute.admin.schemas import BinFeature
from wasteroute.admin.service import upsert_bin_features
from wasteroute.admin.spreadsheet import formula_problem, neutralise
from wasteroute.api.deps import Caller, SessionDep, require
from wasteroute.api.errors import AUTH_ERRORS, json_error
from wasteroute.api.schemas.imports import ImportReport, RowError
from wasteroute.errors import InvalidInput
from wasteroute.storage.admin import CityObjects, refused_as_conflict
from wasteroute.storage.cities import CityRepository
from wasteroute.vocabulary import Role

router = APIRouter(prefix="/api/v1/admin/bins", tags=["admin"])
ADMIN = require(Role.ADMIN)
MAX_ROWS = 50_000
CSV_COLUMNS = (
    "external_id",
    "lon",
    "lat",
    "fraction",
    "container_type",
    "site_id",
    "access_class",
    "collection_hours",
    "device_id",
    "sensor_model",
    "mount_offset_mm",
)
NUMERIC_COLUMNS = frozenset({"lon", "lat", "mount_offset_mm"})


class BinImportCollection(BaseModel):
    """A GeoJSON FeatureCollection of bins; each feature is checked on its own."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(max_length=MAX_ROWS)


def _messages(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(x) for x in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()]


def _import(
    session: SessionDep,
    caller: Caller,
    features: list[Any],
    dry_run: bool,
    refused: list[RowError] | None = None,
) -> ImportReport:
    """``refused``: rows already refused by the caller (their ``features`` entry is ``None``)."""
    repo = CityRepository(session)
    types = {t.code: t.id for t in repo.container_types(caller.city_id)}
    errors: list[RowError] = list(refused or [])
    good: list[tuple[int, BinFeature]] = []
    seen: set[str] = set()
    for i, raw in enumerate(features, start=1):
        if raw is None:
            continue
        ext = (
            raw.get("properties", {}).get("external_id")
            if isinstance(raw, dict) and isinstance(raw.get("properties"), dict)
            else None
        )
        try:
            f = BinFeature.model_validate(raw)
        except ValidationError as exc:
            errors.append(
                RowError(row=i, external_id=str(ext) if ext is not None else None, errors=_messages(exc))
            )
            continue
        p = f.properties
        problems = []
        if p.container_type not in types:
            problems.append(f"container_type: {p.container_type!r} is not a container type of your city")
        if p.external_id in seen:
            problems.append(f"external_id: {p.external_id!r} appears more than once in the file")
        if problems:
            errors.append(RowError(row=i, external_id=p.external_id, errors=problems))
            continue
        seen.add(p.external_id)
        good.append((i, f))
    devices = [f.properties.sensor.device_id for _, f in good if f.properties.sensor is not None]
    foreign = CityObjects(session).foreign_devices(caller.city_id, devices)
    if foreign:
        kept = []
        for row, f in good:
            s = f.properties.sensor
            if s is not None and s.device_id in foreign:
                errors.append(
                    RowError(
                        row=row,
                        external_id=f.properties.external_id,
                        errors=["device_id: an object with this identifier already exists"],
                    )
                )
            else:
                kept.append((row, f))
        good = kept
    sensors = 0
    if not dry_run and good:
        with refused_as_conflict(session):
            _, sensors = upsert_bin_features(repo, caller.city_id, types, [f for _, f in good])
    errors.sort(key=lambda e: e.row)
    return ImportReport(
        dry_run=dry_run,
        rows=len(features),
        imported=0 if dry_run else len(good),
        sensors=sensors,
        errors=errors,
    )


@router.post(
    "/import/geojson",
    response_model=ImportReport,
    responses=AUTH_ERRORS,
    summary="Import bins from a GeoJSON FeatureCollection (city seed bin format)",
)
def import_geojson(
    body: BinImportCollection,
    session: SessionDep,
    dry_run: Annotated[bool, Query(description="validate only, store nothing")] = False,
    caller: Caller = ADMIN,
) -> ImportReport:
    return _import(session, caller, body.features, dry_run)


def _csv_feature(row: dict[str, str | None]) -> dict[str, Any]:
    def cell(name: str) -> str | None:
        v = row.get(name)
        return v.strip() if isinstance(v, str) and v.strip() != "" else None

    def number(name: str) -> Any:
        v = cell(name)
        try:
            return float(v) if v is not None else None
        except ValueError:
            return v  # left for the schema to refuse with its own message

    props: dict[str, Any] = {k: cell(k) for k in ("external_id", "site_id", "fraction", "container_type")}
    for k in ("access_class", "collection_hours"):
        if cell(k) is not None:
            props[k] = cell(k)
    if cell("device_id") is not None:
        sensor: dict[str, Any] = {"device_id": cell("device_id")}
        if cell("sensor_model") is not None:
            sensor["model"] = cell("sensor_model")
        if cell("mount_offset_mm") is not None:
            sensor["mount_offset_mm"] = number("mount_offset_mm")
        props["sensor"] = sensor
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [number("lon"), number("lat")]},
        "properties": props,
    }


@router.post(
    "/import/csv",
    response_model=ImportReport,
    responses=AUTH_ERRORS,
    summary="Import bins from CSV (comma or semicolon separated, UTF-8, header row)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "description": "header: " + ",".join(CSV_COLUMNS)}}
            },
        }
    },
)
def import_csv(
    session: SessionDep,
    body: Annotated[bytes, Body(media_type="text/csv")],
    dry_run: Annotated[bool, Query(description="validate only, store nothing")] = False,
    caller: Caller = ADMIN,
) -> ImportReport:
    """Required columns: external_id, lon, lat, fraction, container_type; the others are optional."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8 text") from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("external_id", "lon", "lat", "fraction", "container_type") if c not in header]
    if missing:
        raise InvalidInput(
            f"the CSV header lacks the columns {', '.join(missing)}", details={"expected": list(CSV_COLUMNS)}
        )
    reader.fieldnames = header
    features: list[dict[str, Any] | None] = []
    refused: list[RowError] = []
    try:
        for row in reader:
            if len(features) >= MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per import")
            problems = [
                problem
                for column in CSV_COLUMNS
                if isinstance(value := row.get(column), str)
                and (problem := formula_problem(column, value, numeric=column in NUMERIC_COLUMNS))
            ]
            if problems:
                ext = row.get("external_id")
                refused.append(RowError(row=len(features) + 1, external_id=ext or None, errors=problems))
                features.append(None)
            else:
                features.append(_csv_feature(row))
    except csv.Error as exc:
        raise InvalidInput(f"the CSV cannot be read: {exc}") from None
    return _import(session, caller, features, dry_run, refused)


def _collection_hours(start: time, end: time) -> str:
    """``HH:MM-HH:MM`` as the import reads it (an end of 23:59 is written as 24:00, as imported)."""
    last = "24:00" if (end.hour, end.minute) == (23, 59) else f"{end:%H:%M}"
    return f"{start:%H:%M}-{last}"


@router.get(
    "/export/csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "the bins as CSV"},
        **{code: json_error(str(doc["description"])) for code, doc in AUTH_ERRORS.items()},
    },
    summary="Export the city's bins as CSV (the import's columns; text a spreadsheet would run is quoted)",
)
def export_csv(session: SessionDep, caller: Caller = ADMIN) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for b, type_code, sensor in CityRepository(session).bin_inventory(caller.city_id):
        hours = _collection_hours(b.collection_start, b.collection_end)
        cells = [
            b.external_id,
            b.lon,
            b.lat,
            b.fraction,
            type_code,
            b.site_id,
            b.access_class,
            hours,
            sensor.device_id if sensor else None,
            sensor.model if sensor else None,
            sensor.mount_offset_mm if sensor else None,
        ]
        writer.writerow([neutralise(c) for c in cells])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="bins.csv"'},
    )
