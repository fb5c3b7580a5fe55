"""API fixtures: the two-city world of support.py for one test, or once per module with every request
in a savepoint of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api.support import World, two_city_world


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    """Two cities for one test; everything is rolled back afterwards."""
    yield from two_city_world(session)


@pytest.fixture(scope="module")
def shared_world(engine: Engine) -> Iterator[World]:
    """Two cities built once per module; use ``in_savepoint`` so that no request changes them."""
    with engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield from two_city_world(s)
        finally:
            s.close()
            outer.rollback()


@pytest.fixture
def in_savepoint(shared_world: World) -> Callable[[Callable[[], Any]], Any]:
    """Run one request inside a savepoint that is rolled back (each request sees the original world)."""

    def run(fn: Callable[[], Any]) -> Any:
        nested = shared_world.conn.begin_nested()
        try:
            return fn()
        finally:
            nested.rollback()

    return run
