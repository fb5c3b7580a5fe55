"""German throughout: both pages, in German, in their main states, hold no English word.

Every text node of the document (hidden ones too, and SVG text) and every ``title``, ``placeholder``,
``aria-label`` and ``alt`` attribute is read in each state and split into words. A word is English when
the English catalogue of the pages (``shared/i18n.js``, read from the running page) uses it and the
German one does not, or when it is one of the words the server writes into its English texts (alert
details, the selection's and the router's reasons, container type codes, role messages). The states:
the dispatcher with today's plan (routes, alerts, the unplanned and left-out lists), a container's
popup, the printed tours, a plan the fleet cannot carry (the planner's notes, must-go containers left
out with the router's reasons), a day without a plan, a refused plan request and a key of the wrong
role; the driver with a tour, the overfill question, reports waiting offline, the undo, a report the
server refused and a key of the wrong role.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import httpx

from tests.web.live import LiveCity
from tests.web.support import (
    ConsoleLog,
    Uplink,
    dead_zone,
    execute,
    login_dispatcher,
    offline_noise,
    sql,
    tablet,
    wait_idle,
)

# Words of the server's English texts that a page must never pass through (most are in the English
# catalogue as well; these make sure even a text the catalogue lacks is caught).
SERVER_ENGLISH = {
    "skipping", "costs", "detour", "wheelie", "underground", "truck", "trucks", "reaches", "threshold",
    "forecast", "overflow", "tilted", "temperature", "expected", "full", "within", "reading", "yet",
    "since", "must", "may", "skip", "left", "out", "exceeds", "vehicles", "shifts", "needs", "roles",
    "you", "are", "this", "the", "and", "lies", "future", "check", "tablet", "clock", "rear", "loader",
}  # fmt: skip

_TEXTS = """() => {
  const out = [];
  const where = (e) => e.id ? `#${e.id}`
    : `${e.tagName.toLowerCase()}.${String(e.className.baseVal ?? e.className).trim()}`;
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest("script, style")) continue;
    const text = n.textContent.trim();
    if (text) out.push([where(p), text]);
  }
  for (const e of document.querySelectorAll("[title], [placeholder], [aria-label], [alt]")) {
    for (const a of ["title", "placeholder", "aria-label", "alt"]) {
      const v = e.getAttribute(a);
      if (v && v.trim()) out.push([`${where(e)}@${a}`, v.trim()]);
    }
  }
  return out;
}"""

_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(re.sub(r"\{\w+\}", " ", text)) if len(w) >= 3}


class EnglishWatch:
    """The English words of the pages' catalogue (and the server's), and what each state showed."""

    def __init__(self, page: Any) -> None:
        strings = page.evaluate("import('/ui/shared/i18n.js').then(m => m.STRINGS)")
        german: set[str] = set()
        english: set[str] = set()
        for text in strings["de"].values():
            german |= _words(text)
        for text in strings["en"].values():
            english |= _words(text)
        self.english = (english - german) | SERVER_ENGLISH
        self.found: list[tuple[str, str, str, str]] = []
        self.states: list[str] = []
        self.texts = 0
        assert {"the", "route", "emptied", "wheelie", "left"} <= self.english, "the catalogue was read"

    def english_words(self, page: Any) -> list[tuple[str, str, str]]:
        """(where, word, text) of every English word the page shows now."""
        return [
            (where, word, text[:120])
            for where, text in page.evaluate(_TEXTS)
            for word in sorted(_words(text) & self.english)
        ]

    def check(self, page: Any, state: str) -> None:
        assert page.evaluate("document.documentElement.lang") == "de", state
        found = self.english_words(page)
        self.states.append(state)
        self.texts += len(page.evaluate(_TEXTS))
        self.found += [(state, *f) for f in found]

    def assert_clean(self) -> None:
        assert self.found == [], "English on a German page:\n" + "\n".join(
            f"  [{s}] {w}: {word!r} in {t!r}" for s, w, word, t in self.found
        )


def _plan(live: LiveCity, day: str) -> int:
    h = {"X-API-Key": live.keys["dispatcher"]}
    job = httpx.post(
        f"{live.base_url}/api/v1/plans",
        json={"fraction": "residual", "service_date": day, "options": {"time_limit_s": 2, "seed": 1}},
        headers=h,
    ).json()
    for _ in range(240):
        status = httpx.get(f"{live.base_url}/api/v1/plans/{job['id']}/status", headers=h).json()["status"]
        if status in ("done", "failed"):
            break
        time.sleep(0.25)
    assert status == "done", status
    return int(job["id"])


def test_the_dispatcher_page_holds_no_english_word(browser: Any, live: LiveCity) -> None:
    # a day the fleet cannot carry: trucks of 50 l leave every must-go container out, with notes
    trucks = sql(
        live, "SELECT id, volume_l FROM vehicle WHERE city_id = %s AND fraction = 'residual'", live.city_id
    )
    execute(live, "UPDATE vehicle SET volume_l = 50 WHERE id = ANY(%s)", [t[0] for t in trucks])
    short_day = (live.today + timedelta(days=3)).isoformat()
    try:
        short_plan = _plan(live, short_day)
    finally:
        for vid, volume in trucks:
            execute(live, "UPDATE vehicle SET volume_l = %s WHERE id = %s", volume, vid)

    log = ConsoleLog()
    context = tablet(browser, live, 1280, 800)
    page = context.new_page()
    page.add_init_script("window.print = () => {};")
    log.watch(page)
    page.goto(f"{live.base_url}/ui/dispatcher/?refresh=2")
    page.wait_for_selector("#login:not([hidden])")
    watch = EnglishWatch(page)
    watch.check(page, "dispatcher: login")

    # a driver's key on the dispatcher page: the role in German
    page.fill("#login-key", live.keys["driver"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "(Rolle: Fahrer)" in page.locator("#login-error").inner_text()
    watch.check(page, "dispatcher: wrong role")

    login_dispatcher(page, live)
    first = int(live.first_plan["plan_id"])
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {first} ')"
    )
    page.wait_for_selector("#alerts .tag.fire")
    wait_idle(page)
    alerts = page.locator("#alerts").inner_text()
    assert "Temperatur 71 °C" in alerts and "um 58° geneigt" in alerts and "noch kein Messwert" in alerts
    assert page.locator("#unplanned li").count() >= 1 and page.locator("#leftout li").count() >= 1
    watch.check(page, "dispatcher: today's plan")

    # a container's popup on a tour: type, fill, the tour, moving and locking, its history
    page.locator(".sym.stop").first.click()
    page.wait_for_function(  # its chart, or the note that it has no readings (the silent sensor's)
        "() => { const h = document.querySelector('.leaflet-popup .history');"
        " return h && (h.querySelector('svg') || !h.textContent.includes('wird geladen')); }"
    )
    popup = page.locator(".leaflet-popup .popup").inner_text()
    assert re.search(r"(Großbehälter|Unterflurbehälter) \d\.\d{3} l", popup), popup
    watch.check(page, "dispatcher: popup")

    page.click("#print-button")
    assert page.locator("#print-area .print-page").count() >= 1
    watch.check(page, "dispatcher: printed tours")

    # the day the fleet cannot carry: the planner's notes and the router's reasons
    page.select_option("#plan-date", short_day)
    page.wait_for_function(
        f"() => document.getElementById('plan-header').textContent.startsWith('Plan {short_plan} ')"
    )
    wait_idle(page)
    assert "übersteigt, was 2 Fahrzeuge" in page.locator("#plan-diagnosis").inner_text()
    assert "Ausgelassen:" in page.locator("#leftout").inner_text()
    watch.check(page, "dispatcher: a plan the fleet cannot carry")

    # a day without a plan, and a plan request the server refuses
    page.select_option("#plan-date", (live.today + timedelta(days=5)).isoformat())
    page.wait_for_selector("#day-plans li.muted")
    page.fill("#plan-time", "500")
    page.click("#plan-button")
    page.wait_for_selector("#plan-error:not([hidden])")
    assert "höchstens 120 s" in page.locator("#plan-error").inner_text()
    watch.check(page, "dispatcher: no plan, refused request")

    # the check itself sees English: the same page switched to English is full of it
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    english = {word for _, word, _ in watch.english_words(page)}
    assert {"route", "planning", "containers"} <= english, english
    context.close()

    assert len(watch.states) == 7 and watch.texts > 500
    watch.assert_clean()
    assert [e for e in log.errors if "status of 403" not in e and "status of 422" not in e] == []


def test_the_driver_page_holds_no_english_word(browser: Any, live: LiveCity, uplink: Uplink) -> None:
    log = ConsoleLog()
    context = tablet(browser, live, 800, 1280)
    page = context.new_page()
    log.watch(page)
    page.goto(f"{uplink.url}/ui/driver/")
    page.wait_for_selector("#login:not([hidden])")
    watch = EnglishWatch(page)
    watch.check(page, "driver: login")

    page.fill("#login-key", live.keys["dispatcher"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "(Rolle: Disposition)" in page.locator("#login-error").inner_text()
    watch.check(page, "driver: wrong role")

    page.fill("#login-key", live.keys["driver"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#next-card:not([hidden])")
    wait_idle(page)
    assert re.search(r"(Großbehälter|Unterflurbehälter) \d\.\d{3} l", page.locator("#next-sub").inner_text())
    assert re.match(
        r"TH-\d+ · (Hecklader|Kleinfahrzeug) · Restmüll", page.locator("#tour-title").inner_text()
    )
    watch.check(page, "driver: tour")

    page.click(".actions .act.overfilled")
    page.wait_for_selector("#overfill:not([hidden])")
    watch.check(page, "driver: how full was it")
    page.click("#overfill-cancel")

    # two reports wait in a dead zone
    dead_zone(context, uplink, True)
    page.wait_for_function("() => document.getElementById('net-text').textContent === 'Offline'")
    page.click(".act.emptied")
    page.wait_for_timeout(800)  # past the double-tap guard
    page.click(".act.damaged")
    page.wait_for_selector("#queue-box:not([hidden])")
    watch.check(page, "driver: reports waiting offline")

    # back online: sent, the undo offered
    dead_zone(context, uplink, False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#queue", state="hidden", timeout=45_000)
    wait_idle(page)
    assert page.locator("#undo").is_visible()
    watch.check(page, "driver: sent, undo offered")

    # a report from a tablet whose clock is a day ahead: refused, and the page says why in German
    stop = next(
        s
        for s in httpx.get(
            f"{live.base_url}/api/v1/driver/tour", headers={"X-API-Key": live.keys["driver"]}
        ).json()["stops"]
        if s["kind"] == "stop" and s["status"] == "planned"
    )
    ahead = {
        "client_event_id": "5d0c7f53-6a0e-4a59-9f39-2b1d3c4e5f60",
        "stop_id": stop["id"],
        "seq": stop["seq"],
        "kind": "emptied",
        "observed_fill": None,
        "occurred_at": (live.clock() + timedelta(days=1)).isoformat(),
    }
    page.evaluate("e => localStorage.setItem('wasteroute.driver.outbox', JSON.stringify([e]))", ahead)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#rejected:not([hidden])", timeout=45_000)
    assert "liegt in der Zukunft" in page.locator("#rejected-list").inner_text()
    watch.check(page, "driver: a report refused")
    context.close()

    assert len(watch.states) == 7 and watch.texts > 150
    watch.assert_clean()
    assert [
        e
        for e in log.errors
        if "status of 403" not in e and "status of 422" not in e and not offline_noise(e)
    ] == []
