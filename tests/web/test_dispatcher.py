"""The dispatcher page in a real browser: it loads the seeded city, plans today, shows the routes and the
drivers' reports as they come in, without a single error in the browser console."""

from __future__ import annotations

import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from tests.web.live import LiveCity
from tests.web.support import (
    SCREENSHOTS,
    TRUCK_KIND,
    ConsoleLog,
    german_day,
    login_dispatcher,
    sql,
    tablet,
    wait_idle,
)


def _german_km(distance_m: int) -> str:
    """How the page writes a distance: at most one decimal (half up, as Intl does), decimal comma."""
    km = str(Decimal(str(round(distance_m / 1000, 3))).quantize(Decimal("0.1"), ROUND_HALF_UP))
    return km.removesuffix(".0").replace(".", ",") + " km"


def test_dispatcher_loads_the_city_plans_today_and_follows_the_drivers(browser: Any, live: LiveCity) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    log.watch(page)
    login_dispatcher(page, live)

    # the seeded city: every residual bin, the fire and tilt alerts, the first plan
    residual = sql(
        live, "SELECT count(*) FROM bin WHERE city_id = %s AND fraction = 'residual'", live.city_id
    )
    page.wait_for_function(
        "n => document.getElementById('kpi-bins').textContent === String(n)", arg=residual[0][0]
    )
    page.wait_for_selector("#alerts .tag.fire")
    alerts = page.locator("#alerts").inner_text()
    assert "Brandverdacht" in alerts and "Behälter geneigt" in alerts
    # the page opens on today (the live world's today, whatever the machine's clock says) and its plan
    first_id = int(live.first_plan["plan_id"])
    today = german_day(live.today)
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first_id} ')"
    )
    assert page.locator("#plan-header").inner_text() == f"Plan {first_id} · {today} · Restmüll"
    assert page.locator("#plan-date option:checked").inner_text() == f"heute · {today}"
    assert page.locator("#plan-button").inner_text() == "Heute planen"

    # plan today: a job is created, its progress shown, and the new plan's routes appear
    page.fill("#plan-time", "2")
    page.click("#plan-button")
    page.wait_for_function(
        "first => { const h = document.getElementById('plan-header').textContent; "
        "return h.startsWith('Plan ') && !h.startsWith(`Plan ${first} `); }",
        arg=first_id,
        timeout=60_000,
    )
    m = re.match(r"Plan (\d+) · (.+) · Restmüll$", page.locator("#plan-header").inner_text())
    assert m is not None and m.group(2) == today, page.locator("#plan-header").inner_text()
    plan_id = int(m.group(1))
    # the day's plans: both, the new one shown, started by the dispatcher's key
    page.wait_for_selector(f"#day-plans li[data-plan-id='{plan_id}'].shown")
    assert page.locator("#day-plans li").count() == 2
    new = page.locator(f"#day-plans li[data-plan-id='{plan_id}']").inner_text()
    assert "Disposition" in new and "fertig" in new and "angezeigt" in new
    status, options = sql(live, "SELECT status, options FROM plan WHERE id = %s", plan_id)[0]
    assert status == "done" and options["time_limit_s"] == 2
    # the policy the plan followed: the product's default, as the city set none
    assert page.locator("#plan-summary").inner_text().endswith("· nach Füllstand, Überlaufrisiko 0,5\u00a0%")
    routes = sql(
        live,
        "SELECT r.id, r.vehicle_id, v.external_id, v.access_class, r.distance_m FROM route r "
        "JOIN vehicle v ON v.id = r.vehicle_id "
        "WHERE r.plan_id = %s ORDER BY r.id",
        plan_id,
    )
    assert routes, "the new plan has routes"
    cards = page.locator("#routes .route")
    assert cards.count() == len(routes)
    for i, (_, _, plate, access, distance_m) in enumerate(routes):
        text = cards.nth(i).inner_text()
        assert f"{plate} · {TRUCK_KIND[access]}" in text
        assert _german_km(distance_m) in text
        assert "Fahrt 1:" in text
    stops = sql(
        live,
        "SELECT s.id, s.route_id, s.seq FROM route_stop s JOIN route r ON r.id = s.route_id "
        "WHERE r.plan_id = %s AND s.kind = 'stop' ORDER BY s.route_id, s.seq",
        plan_id,
    )
    assert page.locator("path.route-line").count() == len(routes)
    assert page.locator(".sym.stop").count() == len(stops)
    assert page.locator(".sym.depot").count() >= 1 and page.locator(".sym.facility").count() >= 1

    # a driver reports the first stop of the first route: the page shows it within its refresh
    route_id, vehicle_id = routes[0][0], routes[0][1]
    driver_key = (
        live.keys["driver"] if vehicle_id == live.driver_vehicles["driver"] else live.keys["other_driver"]
    )
    first_stop = next(s for s in stops if s[1] == route_id)
    r = httpx.post(
        f"{live.base_url}/api/v1/driver/events",
        headers={"X-API-Key": driver_key},
        json={
            "client_event_id": str(uuid.uuid4()),
            "stop_id": first_stop[0],
            "kind": "emptied",
            "observed_fill": 0.9,
            "occurred_at": live.clock().isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    n = sum(1 for s in stops if s[1] == route_id)
    page.wait_for_function(
        f"() => document.querySelector('#routes .route .route-done').textContent === '1 von {n} erledigt'",
        timeout=15_000,
    )
    page.wait_for_selector(".sym.stop.emptied")

    # English on request, remembered across a reload; German again for the screenshot
    page.click("#lang")
    assert page.locator("#plan-button").inner_text() == "Plan today"
    page.reload()
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_function("() => document.getElementById('plan-button').textContent === 'Plan today'")
    page.click("#lang")
    page.wait_for_selector("#routes .route")
    wait_idle(page)
    page.wait_for_timeout(300)  # let the map finish its zoom animation
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dispatcher.png"))
    context.close()
    assert log.errors == []


def test_dispatcher_page_refuses_a_driver_key(browser: Any, live: LiveCity) -> None:
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    page.goto(f"{live.base_url}/ui/dispatcher/")
    page.fill("#login-key", live.keys["driver"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "gehört nicht zu dieser Seite" in page.locator("#login-error").inner_text()
    assert page.locator("#app").is_hidden()
    assert page.evaluate("sessionStorage.getItem('wasteroute.dispatcher.key')") is None
    context.close()
