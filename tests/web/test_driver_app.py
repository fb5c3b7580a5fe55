"""The driver page as an app for the cab: it opens without network (service worker), keeps its layout
still while the outbox sends, fits a phone, takes back the last report on the server, and links the
phone's own navigation app."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg

from tests.web.live import LiveCity
from tests.web.support import (
    CHROMIUM_ARGS,
    SCREENSHOTS,
    ConsoleLog,
    Uplink,
    dead_zone,
    offline_noise,
    tablet,
    wait_idle,
)

ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-T630) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
assert CHROMIUM_ARGS  # the module runs on the shared headless Chromium (the browser fixture)


def _db(live: LiveCity) -> str:
    return live.database_url.replace("postgresql+psycopg://", "postgresql://")


def _events(live: LiveCity, ids: list[str]) -> list[tuple[Any, ...]]:
    """(client id, stop id, kind, withdrawn) of the stored events with these client ids."""
    with psycopg.connect(_db(live)) as conn:
        return conn.execute(
            "SELECT client_event_id::text, route_stop_id, kind, withdrawn_at IS NOT NULL "
            "FROM collection_event WHERE client_event_id::text = ANY(%s) ORDER BY occurred_at, id",
            (ids,),
        ).fetchall()


def _open_stops(live: LiveCity) -> list[dict[str, Any]]:
    r = httpx.get(f"{live.base_url}/api/v1/driver/tour", headers={"X-API-Key": live.keys["driver"]})
    assert r.status_code == 200, r.text
    return [s for s in r.json()["stops"] if s["kind"] == "stop" and s["status"] == "planned"]


def _status(live: LiveCity, stop_id: int) -> str:
    r = httpx.get(f"{live.base_url}/api/v1/driver/tour", headers={"X-API-Key": live.keys["driver"]})
    return str(next(s for s in r.json()["stops"] if s["id"] == stop_id)["status"])


def _login(page: Any, live: LiveCity, base_url: str | None = None) -> None:
    """Logged in as the driver, the page opened from ``base_url`` (the server's own by default)."""
    page.goto(f"{base_url or live.base_url}/ui/driver/")
    page.fill("#login-key", live.keys["driver"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    wait_idle(page)


def _outbox(page: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        page.evaluate("localStorage.getItem('wasteroute.driver.outbox') || '[]'")
    )
    return items


def _ready_offline_app(page: Any) -> None:
    """Until the service worker controls the page (it has cached the page and its assets)."""
    page.evaluate("navigator.serviceWorker.ready")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
        wait_idle(page)
    page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=15_000)


def test_the_page_reloads_offline_and_sends_its_queued_reports_exactly_once(
    browser: Any, live: LiveCity, uplink: Uplink
) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    log.watch(page)
    _login(page, live, uplink.url)
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "./"
    _ready_offline_app(page)
    open_ = _open_stops(live)

    dead_zone(context, uplink, True)
    page.wait_for_function("() => document.getElementById('net-text').textContent === 'Offline'")
    page.click(".act.emptied")
    page.wait_for_timeout(800)  # past the double-tap guard
    page.click(".act.not_reachable")
    queued = _outbox(page)
    assert [(e["stop_id"], e["kind"]) for e in queued] == [
        (open_[0]["id"], "emptied"),
        (open_[1]["id"], "not_reachable"),
    ]

    # a reload in the dead zone: the app opens from the device, with its tour and its outbox
    page.reload()
    page.wait_for_selector("#app:not([hidden])")
    assert page.locator("#next-bin").inner_text() == open_[2]["bin_external_id"]
    assert "2 Meldung(en) warten auf Netz" in page.locator("#queue-text").inner_text()
    assert len(_outbox(page)) == 2
    # really offline: what the service worker does not hold cannot be fetched
    reached = page.evaluate("fetch('/api/v1/health', {cache: 'no-store'}).then(() => true, () => false)")
    assert reached is False
    ids = [e["client_event_id"] for e in queued]
    assert _events(live, ids) == []

    dead_zone(context, uplink, False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    page.reload()  # a reload with network sends nothing again
    wait_idle(page)
    page.wait_for_timeout(500)
    stored = _events(live, ids)
    assert [(e[0], e[1], e[2]) for e in stored] == [
        (ids[0], open_[0]["id"], "emptied"),
        (ids[1], open_[1]["id"], "not_reachable"),
    ]
    with psycopg.connect(_db(live)) as conn:
        per_stop = conn.execute(
            "SELECT route_stop_id, count(*) FROM collection_event WHERE route_stop_id = ANY(%s) GROUP BY 1",
            ([open_[0]["id"], open_[1]["id"]],),
        ).fetchall()
    assert sorted(n for _, n in per_stop) == [1, 1]
    context.close()
    assert [e for e in log.errors if not offline_noise(e)] == []


_BOXES = """() => [...document.querySelectorAll('#app button, #app a, #stops li')]
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
    return [e.id || e.textContent.trim().slice(0, 30), r.x, r.y + window.scrollY, r.width, r.height]; })"""

_WATCH = """() => {
  // every frame: each tappable element of the next-stop card and the status slot, by its id or text
  // (re-rendered buttons are new elements in the same place), against where it was at the start
  window.__moved = [];
  const key = (e) => e.id || e.dataset.kind || e.dataset.fill || e.textContent.trim().slice(0, 30);
  const boxes = () => {
    const out = new Map();
    for (const e of document.querySelectorAll('#next-card button, #next-card a, #status-slot button')) {
      if (e.offsetParent !== null) out.set(key(e), e.getBoundingClientRect().toJSON());
    }
    return out;
  };
  const first = boxes();
  window.__watched = first.size;
  const tick = () => {
    for (const [k, r] of boxes()) {
      const b = first.get(k);
      if (b && (Math.abs(r.x - b.x) > 0.5 || Math.abs(r.y - b.y) > 0.5)) window.__moved.push([k, b.y, r.y]);
    }
    if (!window.__stopWatch) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_nothing_moves_under_a_pending_tap_while_the_outbox_sends(
    browser: Any, live: LiveCity, uplink: Uplink
) -> None:
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    _login(page, live, uplink.url)
    open_ = _open_stops(live)

    # two reports wait offline; the next stop's buttons are where the finger is
    dead_zone(context, uplink, True)
    page.wait_for_function("() => document.getElementById('net-text').textContent === 'Offline'")
    page.click(".act.damaged")
    page.wait_for_timeout(800)
    page.click(".act.not_reachable")
    page.wait_for_timeout(800)
    assert len(_outbox(page)) == 2
    before = page.evaluate(_BOXES)

    # every answer of the server takes a while: the page shows "sending" for seconds
    def slow(route: Any) -> None:
        page.wait_for_timeout(700)
        route.continue_()

    page.route("**/api/v1/driver/events", slow)
    page.evaluate(_WATCH)
    assert page.evaluate("window.__watched") >= 6
    dead_zone(context, uplink, False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function(
        "() => document.getElementById('queue-text').textContent.startsWith('Sende')", timeout=10_000
    )
    page.wait_for_selector("#queue", state="hidden", timeout=30_000)
    wait_idle(page)
    page.evaluate("window.__stopWatch = true")
    assert page.evaluate("window.__moved") == []
    after = page.evaluate(_BOXES)
    moved = [(b[0], b[2], a[2]) for b, a in zip(before, after, strict=False) if abs(b[2] - a[2]) > 0.5]
    assert [m for m in moved if not str(m[0]).startswith(("undo", "Rückgängig"))] == [], moved
    assert [_status(live, s["id"]) for s in open_[:2]] == ["damaged", "not_reachable"]
    page.unroute("**/api/v1/driver/events")

    # a double tap on "Geleert" is one report: the second tap does not report the next stop
    box = page.locator(".act.emptied").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    assert _status(live, open_[2]["id"]) == "emptied"
    assert _status(live, open_[3]["id"]) == "planned"
    assert page.locator("#next-bin").inner_text() == open_[3]["bin_external_id"]
    context.close()


def test_an_undo_corrects_the_servers_record(browser: Any, live: LiveCity) -> None:
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    _login(page, live)
    stop = _open_stops(live)[0]
    page.click(".act.emptied")
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    assert _status(live, stop["id"]) == "emptied"
    reported = page.evaluate("JSON.parse(localStorage.getItem('wasteroute.driver.last')).client_event_id")
    assert page.locator("#undo").is_visible()
    assert f"Halt {stop['seq']}" in page.locator("#undo").inner_text()

    page.click("#undo")
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    assert _events(live, [reported]) == [(reported, stop["id"], "emptied", True)]
    assert _status(live, stop["id"]) == "planned"
    assert page.locator("#next-bin").inner_text() == stop["bin_external_id"]
    assert "zurückgenommen" in page.locator("#notice").inner_text()

    # and reported again as what it was: overfilled (which empties it too)
    page.click(".act.overfilled")
    page.click("#overfill [data-fill='1.25']")
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    assert _status(live, stop["id"]) == "overfilled"
    with psycopg.connect(_db(live)) as conn:
        standing = conn.execute(
            "SELECT kind, observed_fill FROM collection_event"
            " WHERE route_stop_id = %s AND withdrawn_at IS NULL",
            (stop["id"],),
        ).fetchall()
        emptied_at = conn.execute(
            "SELECT last_emptied_at IS NOT NULL FROM bin_state WHERE bin_id = %s", (stop["bin_id"],)
        ).fetchone()
    assert standing == [("overfilled", 1.25)] and emptied_at == (True,)
    context.close()


def test_the_phone_layout_has_no_horizontal_scroll(browser: Any, live: LiveCity) -> None:
    log = ConsoleLog()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height, name in ((390, 844, "driver-phone.png"), (800, 1280, "driver-tablet.png")):
        context = tablet(
            browser, live, width, height, is_mobile=width < 600, device_scale_factor=2 if width < 600 else 1
        )
        page = context.new_page()
        log.watch(page)
        _login(page, live)
        page.wait_for_selector("#next-card:not([hidden])")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] == width, widths
        outside = page.evaluate(
            """() => [...document.querySelectorAll('#app *, .topbar *')]
              .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > innerWidth + 0.5)
              .map(e => e.id || e.className)"""
        )
        assert outside == []
        for sel in (
            ".act.emptied",
            ".act.not_reachable",
            ".act.damaged",
            ".actions .act.overfilled",
            "#nav-link",
        ):
            b = page.locator(sel).bounding_box()
            assert b["x"] >= 0 and b["x"] + b["width"] <= width and b["height"] >= 64, (sel, b)
        assert page.locator("#next-address").inner_text().strip() != ""
        # the break sits in the order of the day: the list runs by time, the break included
        tour = httpx.get(
            f"{live.base_url}/api/v1/driver/tour", headers={"X-API-Key": live.keys["driver"]}
        ).json()
        by_time = [x["id"] for x in sorted(tour["stops"], key=lambda x: (x["eta"], x["seq"]))]
        shown = page.eval_on_selector_all("#stops li", "els => els.map(e => Number(e.dataset.stopId))")
        assert shown == by_time
        breaks = [x for x in tour["stops"] if x["kind"] == "break"]
        for b in breaks:
            row = page.locator(f"#stops li[data-stop-id='{b['id']}']")
            assert "break" in (row.get_attribute("class") or "") and "Pause" in row.inner_text()
        page.screenshot(path=str(SCREENSHOTS / name))
        context.close()
    assert log.errors == []


def test_the_navigation_link_opens_the_phones_maps_app(browser: Any, live: LiveCity) -> None:
    stop = _open_stops(live)[0]
    at = f"{stop['lat']},{stop['lon']}"
    expected = {
        ANDROID_UA: f"geo:{at}?q={at}(",
        IPHONE_UA: f"https://maps.apple.com/?daddr={at}&dirflg=d",
        None: f"https://www.google.com/maps/dir/?api=1&destination={at}",
    }
    for ua, start in expected.items():
        extra = {"user_agent": ua} if ua else {}
        context = tablet(browser, live, 390, 844, **extra)
        page = context.new_page()
        _login(page, live)
        href = page.get_attribute("#nav-link", "href")
        assert href is not None and href.startswith(start), (ua, href)
        context.close()


def test_a_report_from_a_tablet_whose_clock_runs_ahead_gets_422_and_nothing_is_stored(
    browser: Any, live: LiveCity
) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    log.watch(page)
    _login(page, live)
    stop = _open_stops(live)[0]
    assert page.locator("#next-bin").inner_text() == stop["bin_external_id"]

    # the tablet's clock jumps to 2099 (a dead battery, a wrong setting): its report is dated then
    context.clock.set_system_time(datetime(2099, 1, 5, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    with page.expect_response(lambda r: r.url.endswith("/api/v1/driver/events")) as answer:
        page.click(".act.emptied")
    assert answer.value.status == 422
    error = answer.value.json()["error"]
    assert error["code"] == "event_in_future"
    assert error["details"]["params"]["occurred_at"].startswith("2099-01-05T07:00")
    page.wait_for_selector("#rejected:not([hidden])", timeout=45_000)
    row = page.locator("#rejected-list li").first
    assert row.get_attribute("data-code") == "event_in_future"
    assert "liegt in der Zukunft" in row.inner_text() and "Uhr des Geräts prüfen" in row.inner_text()
    assert "05.01.2099" in row.inner_text()  # the tablet's time, as the driver reads dates
    # nothing stored, the stop is open again on the server and on the tablet
    with psycopg.connect(_db(live)) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM collection_event WHERE route_stop_id = %s", (stop["id"],)
        ).fetchone()
    assert stored == (0,)
    assert _status(live, stop["id"]) == "planned"
    assert page.locator("#next-bin").inner_text() == stop["bin_external_id"]
    assert _outbox(page) == []

    # the clock set right again: the same stop is reported and stored once
    context.clock.set_system_time(live.clock())
    page.wait_for_timeout(800)  # past the double-tap guard
    page.click(".act.emptied")
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    assert _status(live, stop["id"]) == "emptied"
    context.close()
    assert [e for e in log.errors if "status of 422" not in e] == []
