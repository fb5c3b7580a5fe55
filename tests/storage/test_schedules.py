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
