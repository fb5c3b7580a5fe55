"""Browser fixtures: Debian's headless Chromium driven by Playwright, and a live city per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import DatabaseServer
from tests.web.live import LiveCity, live_city
from tests.web.support import CHROMIUM, CHROMIUM_ARGS, Uplink


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need playwright (pip install playwright==1.65.2)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set WASTEROUTE_TEST_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(db_server: DatabaseServer) -> Iterator[LiveCity]:
    """A city of its own per test module (the browser needs committed data and a real server)."""
    with live_city(db_server.create("wasteroute_web")) as city:
        yield city


@pytest.fixture
def uplink(live: LiveCity) -> Iterator[Uplink]:
    """The tablet's network to the live city's server, which a test can cut (see ``dead_zone``)."""
    relay = Uplink(live.base_url)
    yield relay
    relay.close()
