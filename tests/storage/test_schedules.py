"""A city's morning schedules as the plan job reads them, on both storage backends."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.admin.service import import_city_seed
from wasteroute.storage.db import make_engine, make_session_factory, transaction
from wasteroute.storage.jobs import ScheduleRepository


@pytest.fixture
def mini_city_url(backend_mini_city_url: str) -> str:
    return backend_mini_city_url


def test_the_plan_job_reads_the_enabled_schedule_of_a_city_and_fraction(mini_city_url: str) -> None:
    engine = make_engine(mini_city_url, pool_size=1)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as s:
            city_id = int(s.execute(text("SELECT id FROM city ORDER BY id LIMIT 1")).scalar_one())
            repo = ScheduleRepository(s)
            repo.upsert(
                city_id=city_id,
                fraction="residual",
                local_time=time(5, 0),
                weekdays=[0, 1, 2, 3, 4, 5, 6],
                on_holidays=True,
                time_limit_s=20.0,
                enabled=True,
            )
            repo.upsert(
                city_id=city_id,
                fraction="paper",
                local_time=time(5, 0),
                weekdays=[0, 2, 4],
                on_holidays=False,
                time_limit_s=20.0,
                enabled=False,
                policy={"policy": "dynamic", "risk": 0.02, "collection_days": ["mon", "wed"]},
            )
        with transaction(factory) as s:
            repo = ScheduleRepository(s)
            residual = repo.enabled_for(city_id, "residual")
            assert residual is not None
            assert sorted(residual.weekdays) == [0, 1, 2, 3, 4, 5, 6] and residual.on_holidays
            assert repo.enabled_for(city_id, "paper") is None  # disabled: the city's default days
            assert repo.enabled_for(city_id, "glass") is None  # none at all
            assert repo.enabled_for(city_id + 1000, "residual") is None  # another city's is not ours
            # the collection policy is kept with the schedule, switched on or off
            paper = repo.get(city_id, "paper")
            assert paper is not None and not paper.enabled
            assert paper.policy == {"policy": "dynamic", "risk": 0.02, "collection_days": ["mon", "wed"]}
            assert residual.policy == {}  # none given: the product's defaults
            assert repo.get(city_id, "glass") is None
            assert [s.fraction for s in repo.of_city(city_id)] == ["paper", "residual"]
            assert repo.delete(city_id, "paper") and not repo.delete(city_id, "paper")
            assert repo.get(city_id, "paper") is None
    finally:
        engine.dispose()


def test_a_city_seed_document_brings_its_schedules_and_policies(mini_city_url: str) -> None:
    doc = json.loads((Path(__file__).parents[1] / "data" / "city-mini.json").read_text())
    doc["city"] = {**doc["city"], "slug": "seedhafen", "name": "Seedhafen"}
    doc["bins"]["features"] = [
        {**f, "properties": {**f["properties"], "external_id": f"S-{i}", "sensor": None}}
        for i, f in enumerate(doc["bins"]["features"])
    ]
    doc["schedules"] = [
        {
            "fraction": "residual",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "policy": {"risk": 0.02},
        },
        {"fraction": "paper", "local_time": "05:00", "policy": {"policy": "threshold", "threshold": 0.85}},
    ]
    engine = make_engine(mini_city_url, pool_size=1)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as s:
            summary = import_city_seed(s, CitySeedDocument.model_validate(doc))
        assert summary.schedules == 2
        with transaction(factory) as s:
            repo = ScheduleRepository(s)
            residual = repo.get(summary.city_id, "residual")
            paper = repo.get(summary.city_id, "paper")
            assert residual is not None and sorted(residual.weekdays) == [0, 1, 2, 3, 4, 5, 6]
            assert residual.policy == {"policy": "dynamic", "risk": 0.02}
            assert (
                paper is not None and paper.local_time == time(5, 0) and paper.weekdays == [0, 1, 2, 3, 4, 5]
            )
            assert paper.policy == {"policy": "threshold", "thresholds": {"paper": 0.85}}
        # the same document again changes nothing (imports are idempotent)
        with transaction(factory) as s:
            assert import_city_seed(s, CitySeedDocument.model_validate(doc)).schedules == 2
            assert len(ScheduleRepository(s).of_city(summary.city_id)) == 2
    finally:
        engine.dispose()
    # a schedule the plan job could not follow is refused with what was expected, before anything is stored
    for bad, says in (
        ([{"fraction": "residual", "policy": {"risk": 0.9}}], "risk"),
        ([{"fraction": "residual"}, {"fraction": "residual"}], "each fraction at most once"),
        ([{"fraction": "metal"}], "fraction"),
        ([{"fraction": "glass", "colour": "blue"}], "colour"),
    ):
        with pytest.raises(ValidationError, match=says):
            CitySeedDocument.model_validate({**doc, "schedules": bad})


def test_the_forecast_reads_a_citys_announced_events_around_a_day(mini_city_url: str) -> None:
    from datetime import date

    from wasteroute.storage.events import AnnouncedEventRepository
    from wasteroute.storage.models import AnnouncedEventRow

    engine = make_engine(mini_city_url, pool_size=1)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as s:
            city_id = int(s.execute(text("SELECT id FROM city ORDER BY id LIMIT 1")).scalar_one())

            def event(name: str, first: date, last: date, city: int = city_id) -> AnnouncedEventRow:
                return AnnouncedEventRow(
                    city_id=city,
                    name=name,
                    first_day=first,
                    last_day=last,
                    lon=10.7,
                    lat=53.9,
                    radius_m=500,
                    factors={"*": 2.0},
                )

            s.add_all(
                [
                    event("market", date(2026, 11, 24), date(2026, 12, 30)),
                    event("spring fair", date(2026, 4, 1), date(2026, 4, 5)),
                    event("next summer", date(2027, 7, 1), date(2027, 7, 3)),
                ]
            )
        with transaction(factory) as s:
            repo = AnnouncedEventRepository(s)
            got = repo.around(city_id, date(2026, 12, 7), past_days=15, ahead_days=22)
            assert [e.name for e in got] == ["market"] and got[0].factors == {"*": 2.0}
            # a window reaching into the spring fair's days finds it too, oldest first
            both = repo.around(city_id, date(2026, 4, 20), past_days=15, ahead_days=250)
            assert [e.name for e in both] == ["spring fair", "market"]
            assert repo.around(city_id + 1000, date(2026, 12, 7), past_days=15, ahead_days=22) == []
            # the database refuses an event that ends before it begins
            with pytest.raises(Exception, match="check"), s.begin_nested():
                s.add(event("backwards", date(2026, 5, 2), date(2026, 5, 1)))
                s.flush()
    finally:
        engine.dispose()
