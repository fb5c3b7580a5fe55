"""The driver page in a real browser: one tap per stop, an outbox that survives a dead zone and sends
each report exactly once, and no way to see another truck's tour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.web.live import LiveCity
from tests.web.support import SCREENSHOTS, ConsoleLog, Uplink, dead_zone, offline_noise, tablet, wait_idle


def _events(live: LiveCity) -> list[tuple[Any, ...]]:
    """(client id, stop id, kind, observed fill, vehicle) of every stored event, oldest first."""
    url = live.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT client_event_id::text, route_stop_id, kind, observed_fill, vehicle_id "
            "FROM collection_event ORDER BY occurred_at, id"
        ).fetchall()


def _tour(live: LiveCity, key: str) -> dict[str, Any]:
    r = httpx.get(f"{live.base_url}/api/v1/driver/tour", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _login(page: Any, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/ui/driver/")
    page.fill("#login-key", key)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    wait_idle(page)


def _outbox(page: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        page.evaluate("localStorage.getItem('wasteroute.driver.outbox') || '[]'")
    )
    return items


def test_reports_survive_a_dead_zone_and_arrive_exactly_once(
    browser: Any, live: LiveCity, uplink: Uplink
) -> None:
    tour = _tour(live, live.keys["driver"])
    bins = [s for s in tour["stops"] if s["kind"] == "stop"]
    assert len(bins) >= 3
    log = ConsoleLog()
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    log.watch(page)
    _login(page, uplink.url, live.keys["driver"])

    # the tour in order, the next stop prominent, navigation to it
    assert page.locator("#next-bin").inner_text() == bins[0]["bin_external_id"]
    assert page.locator("#next-label").inner_text().upper() == "NÄCHSTER HALT"
    shown = page.eval_on_selector_all("#stops li", "els => els.map(e => Number(e.dataset.stopId))")
    assert shown == [s["id"] for s in tour["stops"]]
    href = page.get_attribute("#nav-link", "href")
    # a desktop browser's user agent: the maps link that works everywhere (phones: test_driver_app)
    assert href is not None and href.startswith(
        f"https://www.google.com/maps/dir/?api=1&destination={bins[0]['lat']},{bins[0]['lon']}"
    )
    with page.expect_download() as download:
        page.click("#gpx")
    gpx = Path(download.value.path()).read_text(encoding="utf-8")
    assert "<gpx" in gpx and bins[0]["bin_external_id"] in gpx

    # online: one tap, sent at once
    page.click(".act.emptied")
    page.wait_for_selector("#queue", state="hidden")
    wait_idle(page)
    assert [e[2] for e in _events(live)] == ["emptied"]
    assert page.locator("#next-bin").inner_text() == bins[1]["bin_external_id"]

    # the network drops: two more reports wait on the device and the page says so
    dead_zone(context, uplink, True)
    page.wait_for_function("() => document.getElementById('net-text').textContent === 'Offline'")
    page.wait_for_timeout(800)  # past the double-tap guard after the last report
    page.click(".act.not_reachable")
    page.wait_for_timeout(800)  # past the double-tap guard: a second report, not the same finger
    page.click(".act.overfilled")
    page.click("#overfill [data-fill='1.25']")
    page.wait_for_selector("#queue:not([hidden])")
    assert "2 Meldung(en) warten auf Netz" in page.locator("#queue-text").inner_text()
    pending = _outbox(page)
    assert [(e["stop_id"], e["kind"]) for e in pending] == [
        (bins[1]["id"], "not_reachable"),
        (bins[2]["id"], "overfilled"),
    ]
    page.wait_for_timeout(600)
    assert len(_events(live)) == 1, "nothing can arrive while the tablet is offline"
    assert page.locator("#tour-progress").inner_text() == f"3 von {len(bins)} Behältern erledigt"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "driver.png"))

    # the network returns: the outbox empties and the server holds exactly the three reports
    dead_zone(context, uplink, False)
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    events = _events(live)
    assert [(e[1], e[2]) for e in events] == [
        (bins[0]["id"], "emptied"),
        (bins[1]["id"], "not_reachable"),
        (bins[2]["id"], "overfilled"),
    ]
    assert [e[0] for e in events[1:]] == [e["client_event_id"] for e in pending]
    assert events[2][3] == 1.25
    assert {e[4] for e in events} == {live.driver_vehicles["driver"]}

    # an answer lost on the way back: the tablet sends the same report again, nothing is stored twice
    page.evaluate("e => localStorage.setItem('wasteroute.driver.outbox', JSON.stringify([e]))", pending[0])
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    assert len(_events(live)) == 3
    assert page.locator("#rejected").is_hidden()
    statuses = {s["id"]: s["status"] for s in _tour(live, live.keys["driver"])["stops"]}
    assert [statuses[b["id"]] for b in bins[:3]] == ["emptied", "not_reachable", "overfilled"]
    context.close()
    assert [e for e in log.errors if not offline_noise(e)] == []


def test_a_driver_cannot_open_another_drivers_tour(browser: Any, live: LiveCity) -> None:
    mine = _tour(live, live.keys["driver"])
    my_stops = [s for s in mine["stops"] if s["kind"] == "stop"]
    log = ConsoleLog()
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    log.watch(page)
    _login(page, live.base_url, live.keys["other_driver"])
    # the other truck's page never lists this truck's stops (it has its own tour or none)
    shown = set(page.eval_on_selector_all("#stops li", "els => els.map(e => Number(e.dataset.stopId))"))
    assert not shown & {s["id"] for s in mine["stops"]}
    assert my_stops[-1]["bin_external_id"] not in page.locator("#app").inner_text()
    if not shown:
        assert page.locator("#no-tour").is_visible()
    # and a report about one of them (smuggled into its outbox) is refused, not stored
    before = len(_events(live))
    smuggled = {
        "client_event_id": "0b7c6a52-2f8e-4b8a-9d1e-5a3f0c1e2d99",
        "stop_id": my_stops[-1]["id"],
        "seq": my_stops[-1]["seq"],
        "kind": "emptied",
        "observed_fill": None,
        "occurred_at": "2026-01-05T08:00:00+00:00",
    }
    page.evaluate("e => localStorage.setItem('wasteroute.driver.outbox', JSON.stringify([e]))", smuggled)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#rejected:not([hidden])", timeout=45_000)
    assert "abgelehnt" in page.locator("#rejected-text").inner_text()
    assert page.locator("#queue").is_hidden()
    assert len(_events(live)) == before
    context.close()
    # the only console errors are the browser's notes on the API's 404 answers (no tour, no such stop)
    assert [e for e in log.errors if "status of 404" not in e] == []
