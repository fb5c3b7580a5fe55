"""Browser fixtures: Debian's headless Chromium driven by Playwright, and a live city per test module.

``WASTEROUTE_TEST_CHROMIUM`` names the browser binary (default ``/usr/bin/chromium``, from the Debian
package ``chromium``). Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.live import LiveCity, live_city

if TYPE_CHECKING:
    from tests.conftest import DatabaseServer

CHROMIUM = os.environ.get("WASTEROUTE_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's services, which a
# closed network turns into stalls and errors.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


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


@dataclass
class ConsoleLog:
    """Console messages of type error and uncaught page errors of one page."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))


def tablet(browser: Any, live: LiveCity, width: int, height: int, **options: Any) -> Any:
    """A fresh browser context (own storage) that looks like a German city tablet, its clock set to
    the live world's (Playwright's clock: the time runs on from there, timers stay real).
    ``options`` go to ``new_context`` (``is_mobile``, ``user_agent``, ...)."""
    context = browser.new_context(
        **{
            "viewport": {"width": width, "height": height},
            "locale": "de-DE",
            "timezone_id": "Europe/Berlin",
            "has_touch": True,
            "accept_downloads": True,
            **options,
        }
    )
    context.clock.set_system_time(live.clock())
    context.set_default_timeout(45_000)  # the machine is shared: slow is not wrong
    return context


API = "**/api/**"


def dead_zone(context: Any, on: bool) -> None:
    """The tablet loses (``on``) or regains the network. Besides Chromium's offline emulation, every
    request to the API is dropped while in the zone, as a real dead zone drops it: once, under heavy
    load, a report reached the server from a tablet emulated offline, which no cab ever sees."""
    if on:
        context.set_offline(True)
        context.route(API, lambda route: route.abort("internetdisconnected"))
    else:
        context.unroute(API)
        context.set_offline(False)


def wait_idle(page: Any) -> None:
    """Until the page has no API request under way (the pages mark ``<body data-busy>``)."""
    page.wait_for_function("() => document.body.dataset.busy !== 'true'", timeout=30_000)
