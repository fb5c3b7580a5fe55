"""Plan-job fixtures: a committed database with two cities, and worker processes stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.planning.support import TwoCities, Workers
from tests.support import seed_document
from wasteroute.admin.service import import_city_seed
from wasteroute.storage.db import make_engine, make_session_factory, transaction


@pytest.fixture
def two_cities(mini_city_url: str) -> Iterator[TwoCities]:
    engine = make_engine(mini_city_url, pool_size=2)
    with transaction(make_session_factory(engine)) as s:
        b = import_city_seed(s, seed_document("nordhafen", "NH", "70b3d57ee1", "Nordhafen")).city_id
    with engine.connect() as conn:
        a = int(conn.execute(text("SELECT id FROM city WHERE slug = 'testhafen'")).scalar_one())
    yield TwoCities(mini_city_url, engine, a, b)
    engine.dispose()


@pytest.fixture
def workers(two_cities: TwoCities, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(two_cities.url, tmp_path)
    yield w
    w.stop()
