"""Helpers of the browser tests: Chromium's flags, tablets of a given size, console errors, a dead zone
(no network for the API), waiting for a page to settle, and reading or writing the live city's database.
The fixtures (the browser, a live city per test module) are in conftest.py.

``WASTEROUTE_TEST_CHROMIUM`` names the browser binary (default ``/usr/bin/chromium``, from the Debian
package ``chromium``). Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from tests.relay import TcpProxy
from tests.web.live import LiveCity

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


class Uplink(TcpProxy):
    """The tablet's network: a relay between the browser and the live server, which
    :meth:`~tests.relay.TcpProxy.cut` takes away as a dead zone does. Chromium's offline emulation
    alone does not stop every request (not the ones a service worker handles:
    microsoft/playwright#2311), and a report once reached the server from a tablet emulated offline,
    which no cab in a dead zone ever sees. Pages that go through a dead zone are opened from
    :attr:`url`; the tests' own API calls keep using the server's address."""

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        super().__init__((target.hostname or "127.0.0.1", target.port or 80))
        self.url = f"http://127.0.0.1:{self.port}"


def dead_zone(context: Any, uplink: Uplink, on: bool) -> None:
    """The tablet loses (``on``) or regains the network: Chromium's offline emulation (the page sees
    ``navigator.onLine`` false and the ``offline`` event), API requests dropped in the browser, and the
    uplink cut, so nothing the tablet sends can reach the server."""
    if on:
        uplink.cut()
        context.set_offline(True)
        context.route(API, lambda route: route.abort("internetdisconnected"))
    else:
        context.unroute(API)
        context.set_offline(False)
        uplink.restore()


OFFLINE_ERRORS = (
    "ERR_INTERNET_DISCONNECTED",
    "ERR_CONNECTION_REFUSED",
    "ERR_CONNECTION_RESET",
    "ERR_CONNECTION_CLOSED",
    "ERR_EMPTY_RESPONSE",
    "ERR_SOCKET_NOT_CONNECTED",
)
"""What Chromium says of a request that found no network, or went out on a connection the dead zone
broke (a pooled connection is found dead on its next use)."""


def offline_noise(error: str) -> bool:
    """Whether a console error is Chromium saying a request found no network (in a dead zone)."""
    return "Failed to load resource" in error and any(f"net::{e}" in error for e in OFFLINE_ERRORS)


def wait_idle(page: Any) -> None:
    """Until the page has no API request under way (the pages mark ``<body data-busy>``)."""
    page.wait_for_function("() => document.body.dataset.busy !== 'true'", timeout=30_000)


def sql(live: LiveCity, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the live city's database."""
    url = live.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def execute(live: LiveCity, query: str, *args: Any) -> None:
    """Run a statement on the live city's database (committed)."""
    import psycopg

    with psycopg.connect(live.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(query, args)


TRUCK_KIND = {"standard": "Hecklader", "narrow": "Kleinfahrzeug", "crane": "Kranfahrzeug"}
"""How the German page names a truck's kind (its access class)."""


def german_day(d: date) -> str:
    """How the German page writes a service day: "Di., 08.12.2026"."""
    return f"{('Mo.', 'Di.', 'Mi.', 'Do.', 'Fr.', 'Sa.', 'So.')[d.weekday()]}, {d:%d.%m.%Y}"


def login_dispatcher(page: Any, live: LiveCity) -> None:
    """Open the dispatcher page and sign in with the dispatcher's key."""
    page.goto(f"{live.base_url}/ui/dispatcher/?refresh=2")
    page.fill("#login-key", live.keys["dispatcher"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
