"""Open data without login: anonymous per-city figures and the bins as FIWARE ``WasteContainer``
entities (NGSI-LD) for smart-city platforms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from wasteroute.api.deps import NowDep, PageDep, SessionDep
from wasteroute.api.errors import PUBLIC_ERRORS, json_error
from wasteroute.api.schemas.common import Page
from wasteroute.api.schemas.opendata import CityFigures, PublicCity, WasteContainer, WeekRead
from wasteroute.errors import NotFound
from wasteroute.storage.opendata import OpenDataRepository, PublicBin

router = APIRouter(prefix="/api/v1/open", tags=["open data"])

NGSI_CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
]
WASTE_KIND = {
    "residual": ["other"],
    "paper": ["paper"],
    "glass": ["glass"],
    "packaging": ["plastic", "metal"],
    "bio": ["organic"],
}
"""Our fractions as the data model's ``storedWasteKind`` values."""
ALERT_STATUS = {"fire": "burning", "tilt": "dropped"}


class LDJSONResponse(JSONResponse):
    media_type = "application/ld+json"


def _city(session: SessionDep, slug: str) -> tuple[int, str, str]:
    city = OpenDataRepository(session).city_by_slug(slug)
    if city is None:
        raise NotFound(f"city {slug!r} not found")
    return city


@router.get("/cities", response_model=list[PublicCity], responses=PUBLIC_ERRORS, summary="Cities served here")
def cities(session: SessionDep) -> list[PublicCity]:
    return [PublicCity(slug=s, name=n, bins=k) for s, n, k in OpenDataRepository(session).cities()]


@router.get(
    "/cities/{slug}/figures",
    response_model=CityFigures,
    responses=PUBLIC_ERRORS,
    summary="Anonymous figures: fill at emptying, collections per week, km driven, overflows",
)
def figures(
    slug: str,
    session: SessionDep,
    now: NowDep,
    weeks: Annotated[int, Query(ge=1, le=104, description="how many weeks back")] = 12,
) -> CityFigures:
    city_id, slug, name = _city(session, slug)
    since = now - timedelta(weeks=weeks)
    rows = OpenDataRepository(session).weekly(city_id, since)
    total = sum(r.collections for r in rows)
    # each week's average weighs as many fills as it was taken over (not its emptyings: an overfilled
    # report often comes without a fill)
    weighted = [
        (r.avg_fill_at_emptying, r.fills_reported) for r in rows if r.avg_fill_at_emptying is not None
    ]
    n = sum(w for _, w in weighted)
    return CityFigures(
        city=slug,
        name=name,
        weeks=weeks,
        collections=total,
        avg_fill_at_emptying=round(sum(a * w for a, w in weighted) / n, 3) if n else None,
        collections_per_week=round(total / weeks, 1),
        km_driven=round(sum(r.km_driven for r in rows), 1),
        overflows=sum(r.overflows for r in rows),
        by_week=[
            WeekRead(
                week_start=date.fromisoformat(r.week_start),
                collections=r.collections,
                avg_fill_at_emptying=r.avg_fill_at_emptying,
                km_driven=r.km_driven,
                overflows=r.overflows,
            )
            for r in rows
        ],
    )


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def waste_container(slug: str, b: PublicBin) -> dict[str, Any]:
    """One bin as a normalized NGSI-LD ``WasteContainer`` entity."""
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:WasteContainer:{slug}:{b.external_id}",
        "type": "WasteContainer",
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [b.lon, b.lat]}},
        "storedWasteKind": {"type": "Property", "value": WASTE_KIND.get(b.fraction, ["other"])},
        "binCapacity": {"type": "Property", "value": b.volume_l, "unitCode": "LTR"},
        "status": {
            "type": "Property",
            "value": next((ALERT_STATUS[a] for a in b.alerts if a in ALERT_STATUS), "ok"),
        },
    }
    if b.fill_level is not None:
        prop: dict[str, Any] = {"type": "Property", "value": round(min(max(b.fill_level, 0.0), 1.0), 3)}
        if b.measured_at is not None:
            prop["observedAt"] = _iso(b.measured_at)
        entity["fillingLevel"] = prop
    if b.last_emptied_at is not None:
        entity["dateLastEmptying"] = {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": _iso(b.last_emptied_at)},
        }
    entity["@context"] = NGSI_CONTEXT
    return entity


@router.get(
    "/cities/{slug}/waste-containers",
    response_model=Page[WasteContainer],
    responses={code: json_error(str(doc["description"])) for code, doc in PUBLIC_ERRORS.items()},
    response_class=LDJSONResponse,
    summary="The city's bins as FIWARE Smart Data Models WasteContainer entities (NGSI-LD, normalized)",
)
def waste_containers(slug: str, session: SessionDep, page: PageDep) -> LDJSONResponse:
    city_id, slug, _ = _city(session, slug)
    bins, total = OpenDataRepository(session).bins(city_id, limit=page.limit, offset=page.offset)
    return LDJSONResponse(
        {
            "items": [waste_container(slug, b) for b in bins],
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
        }
    )
