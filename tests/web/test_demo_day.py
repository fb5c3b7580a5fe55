"""The start-up demo in the evening: today's shifts are over, so it plans the next service day, and the
pages show that plan where a dispatcher and a driver look for it.

This module's live world starts on Monday 7 December 2026 at 20:30 in Berlin (the trucks' shifts end at
14:30), whatever the machine's clock says; its first plans are the demo's own
(``runtime.demo.create_demo_plans``), run by a plan worker's turn on the same clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.web.live import BERLIN, SETTINGS, LiveCity, live_city
from tests.web.support import ConsoleLog, german_day, login_dispatcher, sql, tablet, wait_idle
from wasteroute.clock import RunningClock
from wasteroute.planning.jobs import work_once
from wasteroute.runtime.demo import create_demo_plans
from wasteroute.storage.db import make_engine, make_session_factory, transaction

if TYPE_CHECKING:
    from tests.support import DatabaseServer

MONDAY_EVENING = datetime(2026, 12, 7, 20, 30, tzinfo=BERLIN)
TUESDAY = date(2026, 12, 8)


def demo_plans(database_url: str, slug: str, clock: RunningClock) -> dict[str, Any]:
    """What ``wasteroute run`` does after ingest: queue the demo's plans, then a worker runs them."""
    engine = make_engine(database_url, pool_size=2)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            demo = create_demo_plans(session, slug, clock(), time_limit_s=2.0, seed=1)
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline and work_once(factory, SETTINGS, "web-test-demo", clock) is not None
        ):
            pass
        return {"plan_id": demo.plan_ids[0], "day": demo.day, "later": demo.later, "plans": demo.plan_ids}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live(db_server: DatabaseServer) -> Iterator[LiveCity]:
    with live_city(db_server.create("wasteroute_web"), MONDAY_EVENING, demo_plans) as city:
        yield city


def test_in_the_evening_the_demo_plans_the_next_service_day_and_the_pages_point_to_it(
    browser: Any, live: LiveCity
) -> None:
    assert live.today == date(2026, 12, 7)
    assert live.first_plan["day"] == TUESDAY and live.first_plan["later"] == "today's shifts ended at 14:30"
    plan_id = int(live.first_plan["plan_id"])
    assert sql(live, "SELECT status, service_date FROM plan WHERE id = %s", plan_id) == [("done", TUESDAY)]

    # the dispatcher opens on today: no plan for Monday, and a pointer to Tuesday's
    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    log.watch(page)
    login_dispatcher(page, live)
    page.wait_for_selector("#plan-header .next-plan")
    assert page.locator("#plan-date option:checked").inner_text() == f"heute · {german_day(live.today)}"
    header = page.locator("#plan-header").inner_text()
    assert header.startswith("Für Restmüll gibt es noch keinen fertigen Plan.")
    assert header.endswith(f"Nächster Plan: morgen · {german_day(TUESDAY)}")
    page.click("#plan-header .next-plan")
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {plan_id} ')"
    )
    assert page.locator("#plan-header").inner_text() == f"Plan {plan_id} · {german_day(TUESDAY)} · Restmüll"
    assert page.locator("#plan-date option:checked").inner_text() == f"morgen · {german_day(TUESDAY)}"
    wait_idle(page)
    routes = sql(live, "SELECT count(*) FROM route WHERE plan_id = %s", plan_id)[0][0]
    assert routes >= 1 and page.locator("#routes .route").count() == routes
    context.close()
    assert log.errors == []

    # the driver's tour is Tuesday's: on Monday evening the tablet has none yet
    r = httpx.get(f"{live.base_url}/api/v1/driver/tour", headers={"X-API-Key": live.keys["driver"]})
    assert r.status_code == 404
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    page.goto(f"{live.base_url}/ui/driver/")
    page.fill("#login-key", live.keys["driver"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#no-tour:not([hidden])")
    assert page.locator("#no-tour").inner_text() == "Für Ihr Fahrzeug gibt es heute keine Tour."
    context.close()
