"""The dispatcher's day in a real browser: the service-date picker keeps today's plan at hand after a plan
for tomorrow, every container full soon and not on a tour says why, a container's fill history in its
popup, moving and locking a stop (and the server's refusal), alerts of another fraction, a confirmed
close of a fire alert, and the printed tours."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import httpx

from tests.web.live import LiveCity
from tests.web.support import (
    SCREENSHOTS,
    TRUCK_KIND,
    ConsoleLog,
    execute,
    german_day,
    login_dispatcher,
    sql,
    tablet,
    wait_idle,
)

STOPS_OF_PLAN = (
    "SELECT s.id, s.route_id FROM route_stop s JOIN route r ON r.id = s.route_id "
    "WHERE r.plan_id = %s AND s.kind = 'stop'"
)
BIN_OF_STOP = "SELECT b.external_id FROM route_stop s JOIN bin b ON b.id = s.bin_id WHERE s.id = %s"


def _header_plan(page: Any) -> int:
    m = re.match(r"Plan (\d+) ", page.locator("#plan-header").inner_text())
    assert m is not None
    return int(m.group(1))


def test_the_date_picker_brings_back_todays_plan_after_planning_tomorrow(
    browser: Any, live: LiveCity
) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    log.watch(page)
    login_dispatcher(page, live)
    first = int(live.first_plan["plan_id"])
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first} ')"
    )
    page.wait_for_selector(f"#day-plans li[data-plan-id='{first}'].shown")
    today = live.today
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert page.locator("#plan-date option:checked").inner_text() == f"heute · {german_day(today)}"
    page.select_option("#plan-date", tomorrow)
    page.wait_for_selector("#day-plans li.muted")  # no plan for tomorrow yet
    next_day = german_day(today + timedelta(days=1))
    assert page.locator("#plan-date option:checked").inner_text() == f"morgen · {next_day}"
    assert page.locator("#plan-button").inner_text() == f"Für {next_day} planen"
    assert page.locator("#plan-header").inner_text().startswith("Für Restmüll gibt es noch keinen")
    page.fill("#plan-time", "2")
    page.click("#plan-button")
    page.wait_for_function(
        "first => { const h = document.getElementById('plan-header').textContent; "
        "return h.startsWith('Plan ') && !h.startsWith(`Plan ${first} `); }",
        arg=first,
        timeout=60_000,
    )
    second = _header_plan(page)
    assert sql(live, "SELECT service_date::text FROM plan WHERE id = %s", second)[0][0] == tomorrow
    page.wait_for_selector(f"#day-plans li[data-plan-id='{second}'].shown")
    assert "Disposition" in page.locator(f"#day-plans li[data-plan-id='{second}']").inner_text()
    # back to today: today's plan again, with its routes on the map
    page.select_option("#plan-date", today.isoformat())
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first} ')"
    )
    wait_idle(page)
    routes = sql(live, "SELECT count(*) FROM route WHERE plan_id = %s", first)[0][0]
    assert page.locator("#routes .route").count() == routes
    assert page.locator("path.route-line").count() == routes
    # a reload starts on today, whatever was planned last
    page.reload()
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first} ')"
    )
    context.close()
    assert log.errors == []


def test_every_container_full_soon_says_why_and_shows_its_history(browser: Any, live: LiveCity) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    log.watch(page)
    login_dispatcher(page, live)
    first = int(live.first_plan["plan_id"])
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first} ')"
    )
    wait_idle(page)
    h = {"X-API-Key": live.keys["dispatcher"]}
    want = httpx.get(f"{live.base_url}/api/v1/plans/{first}/unplanned", headers=h).json()["items"]
    soon = httpx.get(
        f"{live.base_url}/api/v1/bins", params={"fraction": "residual", "state": "must_go_soon"}, headers=h
    ).json()["features"]
    routed = {
        s["bin_id"]
        for r in httpx.get(f"{live.base_url}/api/v1/plans/{first}", headers=h).json()["routes"]
        for s in r["stops"]
    }
    assert {x["bin_id"] for x in want if x["must_go_soon"]} == {f["id"] for f in soon} - routed
    rows = page.locator("#unplanned li[data-bin-id]")
    assert rows.count() == len(want)
    for i, x in enumerate(want):
        text = rows.nth(i).inner_text()
        assert x["bin_external_id"] in text
        assert rows.nth(i).get_attribute("data-code") == x["code"]
        assert "{" not in text and "disp." not in text
    # the popup of a container on a tour: its fill history as a small chart
    ext = sql(
        live,
        "SELECT b.external_id FROM route_stop s JOIN route r ON r.id = s.route_id "
        "JOIN bin b ON b.id = s.bin_id WHERE r.plan_id = %s "
        "AND EXISTS (SELECT 1 FROM sensor_reading x WHERE x.bin_id = b.id) ORDER BY s.id LIMIT 1",
        first,
    )[0][0]
    page.locator(f".leaflet-marker-icon[title$=' {ext}']").first.click()
    page.wait_for_selector(".leaflet-popup .history-chart")
    points = int(page.locator(".leaflet-popup .history-chart").get_attribute("data-points") or 0)
    assert points >= 24  # the live city has 48 hourly readings per sensor, 7 days asked
    context.close()
    assert log.errors == []


def test_moving_and_locking_a_stop_and_the_refusal_it_explains(browser: Any, live: LiveCity) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    log.watch(page)
    # a plan two days ahead with short shifts, so that both trucks have a tour
    h = {"X-API-Key": live.keys["dispatcher"]}
    trucks = sql(
        live,
        "SELECT id, volume_l, max_duration_s FROM vehicle WHERE city_id = %s AND fraction = 'residual'",
        live.city_id,
    )
    execute(live, "UPDATE vehicle SET max_duration_s = 5400 WHERE id = ANY(%s)", [t[0] for t in trucks])
    day = (live.today + timedelta(days=2)).isoformat()
    job = httpx.post(
        f"{live.base_url}/api/v1/plans",
        json={"fraction": "residual", "service_date": day, "options": {"time_limit_s": 2, "seed": 1}},
        headers=h,
    ).json()
    for _ in range(120):
        status = httpx.get(f"{live.base_url}/api/v1/plans/{job['id']}/status", headers=h).json()["status"]
        if status in ("done", "failed"):
            break
        time.sleep(0.5)
    for vid, _, duration in trucks:
        execute(live, "UPDATE vehicle SET max_duration_s = %s WHERE id = %s", duration, vid)
    assert status == "done"
    first = int(job["id"])
    routes = sql(live, "SELECT id, vehicle_id FROM route WHERE plan_id = %s ORDER BY id", first)
    assert len(routes) == 2, "short shifts need both trucks"
    login_dispatcher(page, live)
    page.select_option("#plan-date", day)
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first} ')"
    )
    wait_idle(page)
    # refused first: the taking truck is made too small, and the page says which rule and why
    execute(live, "UPDATE vehicle SET volume_l = 50 WHERE id = ANY(%s)", [v for _, v in routes])
    page.locator(".sym.stop").first.click()
    page.wait_for_selector(".leaflet-popup .move-button")
    page.click(".leaflet-popup .move-button")
    page.wait_for_selector("#edit-note.error")
    note = page.locator("#edit-note").inner_text()
    assert note.startswith("Nicht möglich: Fahrt 1 von ") and "erlaubt sind 50 l" in note
    # room on both trucks (the short-shift plan fills them nearly up), then the move goes through
    execute(live, "UPDATE vehicle SET volume_l = 40000 WHERE id = ANY(%s)", [v for _, v in routes])
    before = dict(
        sql(
            live,
            STOPS_OF_PLAN,
            first,
        )
    )
    page.click(".leaflet-popup .move-button")
    page.wait_for_function("() => document.getElementById('edit-note').textContent === 'Tour neu berechnet.'")
    after = dict(
        sql(
            live,
            STOPS_OF_PLAN,
            first,
        )
    )
    moved = [s for s in before if before[s] != after[s]]
    for vid, volume, _ in trucks:
        execute(live, "UPDATE vehicle SET volume_l = %s WHERE id = %s", volume, vid)
    assert len(moved) == 1 and set(before) == set(after)
    # lock it on its new tour: the server stores it, the map marks it
    wait_idle(page)
    marker = page.locator(f".leaflet-marker-icon[title*=' {sql(live, BIN_OF_STOP, moved[0])[0][0]}']")
    marker.first.click()
    page.wait_for_selector(".leaflet-popup .lock-button")
    page.click(".leaflet-popup .lock-button")
    page.wait_for_selector(".sym.stop.locked")
    assert sql(live, "SELECT locked FROM route_stop WHERE id = %s", moved[0])[0][0] is True
    context.close()
    # the browser logs the refused request itself; nothing else may go wrong
    assert [e for e in log.errors if "status of 409" not in e] == []


def test_alerts_open_their_container_show_their_age_and_a_fire_needs_a_yes(
    browser: Any, live: LiveCity
) -> None:
    paper = sql(
        live,
        "SELECT id, external_id FROM bin WHERE city_id = %s AND fraction <> 'residual' ORDER BY id LIMIT 1",
        live.city_id,
    )[0]
    execute(
        live,
        "INSERT INTO alert (city_id, bin_id, kind, raised_at, detail, params) "
        "VALUES (%s, %s, 'tilt', %s, 'tilted 60°', '{\"tilt_deg\": 60}')",
        live.city_id,
        paper[0],
        live.clock() - timedelta(hours=3),
    )
    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    log.watch(page)
    login_dispatcher(page, live)
    page.wait_for_selector(f"#alerts li[data-bin-id='{paper[0]}']")
    row = page.locator(f"#alerts li[data-bin-id='{paper[0]}']")
    assert "seit 3 h" in row.inner_text() and "um 60° geneigt" in row.inner_text()
    row.click()
    page.wait_for_selector(".leaflet-popup .popup")
    assert paper[1] in page.locator(".leaflet-popup .popup").inner_text()
    fraction = sql(live, "SELECT fraction FROM bin WHERE id = %s", paper[0])[0][0]
    assert page.locator("#f-fraction").input_value() == fraction
    # closing a fire alert asks first; "Abbrechen" keeps it open
    fire = page.locator("#alerts li:has(.tag.fire)")
    fire_id = sql(
        live, "SELECT id FROM alert WHERE city_id = %s AND kind = 'fire' AND cleared_at IS NULL", live.city_id
    )[0][0]
    fire.locator(".clear-alert").click()
    page.wait_for_selector("#alerts .confirm")
    assert "Brandalarm wirklich schließen?" in page.locator("#alerts .confirm").inner_text()
    page.click("#alerts .confirm-no")
    assert sql(live, "SELECT cleared_at FROM alert WHERE id = %s", fire_id)[0][0] is None
    fire.locator(".clear-alert").click()
    page.click("#alerts .confirm-yes")
    page.wait_for_function("() => !document.querySelector('#alerts .tag.fire')")
    assert sql(live, "SELECT cleared_at FROM alert WHERE id = %s", fire_id)[0][0] is not None
    context.close()
    assert log.errors == []


def test_printing_gives_one_page_per_truck_with_its_stops_and_a_map(
    browser: Any, live: LiveCity, tmp_path: Any
) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; };")
    log.watch(page)
    login_dispatcher(page, live)
    first = int(live.first_plan["plan_id"])
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first} ')"
    )
    wait_idle(page)
    page.click("#print-button")
    assert page.evaluate("window.__printed") == 1
    routes = sql(
        live,
        "SELECT r.id, v.external_id, v.access_class, count(s.id) FROM route r "
        "JOIN vehicle v ON v.id = r.vehicle_id JOIN route_stop s ON s.route_id = r.id "
        "WHERE r.plan_id = %s GROUP BY r.id, v.external_id, v.access_class ORDER BY r.id",
        first,
    )
    pages = page.locator("#print-area .print-page")
    assert pages.count() == len(routes)
    page.emulate_media(media="print")
    for i, (route_id, plate, access, n) in enumerate(routes):
        p = pages.nth(i)
        assert p.get_attribute("data-route-id") == str(route_id)
        assert p.locator("h1").inner_text().startswith(f"Tour {plate} · {TRUCK_KIND[access]} · ")
        assert p.locator("tbody tr").count() == n
        bins = sql(live, "SELECT count(*) FROM route_stop WHERE route_id = %s AND kind = 'stop'", route_id)[
            0
        ][0]
        assert p.locator("svg.print-map circle.stop").count() == bins
        assert p.is_visible()
        if i < len(routes) - 1:
            assert p.evaluate("e => getComputedStyle(e).breakAfter") == "page"
    assert page.locator("#app").is_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    pages.first.screenshot(path=str(SCREENSHOTS / "tour-print.png"))
    pdf = page.pdf(path=str(tmp_path / "tours.pdf"), format="A4")
    # every truck starts a page of its own; a long stop list may run onto a second one
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= len(routes)
    context.close()
    assert log.errors == []
