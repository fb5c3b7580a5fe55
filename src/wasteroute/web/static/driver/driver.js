// Driver tablet: today's tour of the driver's own vehicle, one tap per stop report, and an outbox that
// survives dead zones. Every report gets a client-generated id (UUID) the moment it is tapped and is
// stored on the device (localStorage) before it is sent; sending the same id again is harmless (the
// API answers with the stored event), so the outbox simply retries until the server has it.

import { Api, ApiError, NetworkError, el, newUuid } from "../shared/api.js";
import { applyTranslations, clock, containerLabel, day, num, onLanguageChange, say, t, toggleLanguage, vehicleLabel } from "../shared/i18n.js";

const KEY = "wasteroute.driver.key";
const TOUR = "wasteroute.driver.tour";
const GPX = "wasteroute.driver.gpx";
const OUTBOX = "wasteroute.driver.outbox";
const REJECTED = "wasteroute.driver.rejected";
const LAST = "wasteroute.driver.last";
const TOUR_CACHE = "wasteroute-driver-tour"; // the service worker's copy of the tour (sw.js)
const DOUBLE_TAP_MS = 700; // a second tap this soon after a report is the same finger, not a new report
const RETRY_S = 5;
const REFRESH_S = 30;
const PROBLEMS = new Set(["not_reachable", "damaged", "overfilled"]);
const FILLS = [0.25, 0.5, 0.75, 1.0];

// The key stays on the device (a cab tablet restarts and loses tabs; queued reports must still go out).
const api = new Api(() => localStorage.getItem(KEY));
const $ = (id) => document.getElementById(id);
const view = { tour: null, tourAt: null, selected: null, fill: null, flushing: false, position: null, timers: [], reportedAt: -Infinity };

const load = (name, fallback) => {
  try {
    const raw = localStorage.getItem(name);
    return raw ? JSON.parse(raw) : fallback;
  } catch (ignored) {
    return fallback;
  }
};
const save = (name, value) => localStorage.setItem(name, JSON.stringify(value));
const outbox = () => load(OUTBOX, []);
const rejected = () => load(REJECTED, []);

function todayIso() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

// ---------------------------------------------------------------------------------------------------
// login and start

function showLogin(message) {
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
}

async function login(event) {
  event.preventDefault();
  const key = $("login-key").value.trim();
  if (!key) return;
  localStorage.setItem(KEY, key);
  try {
    await fetchTour();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) {
      localStorage.removeItem(KEY);
      const msg =
        err instanceof NetworkError ? t("login.unreachable")
        : err.status === 401 ? t("login.badKey")
        : err.status === 403 ? t("login.wrongRole", { role: roleOf(err) })
        : t("common.error", { message: err.message });
      showLogin(msg);
      return;
    }
  }
  $("login-key").value = "";
  startApp();
}

function roleOf(err) {
  const role = err.details && err.details.params && err.details.params.role;
  return role ? t(`role.${role}`) : "?";
}

function logout() {
  if (outbox().length) {
    showNotice(t("drv.logout.blocked"), "error");
    return;
  }
  localStorage.removeItem(KEY);
  localStorage.removeItem(TOUR);
  localStorage.removeItem(GPX);
  localStorage.removeItem(REJECTED);
  localStorage.removeItem(LAST);
  if (window.caches) caches.delete(TOUR_CACHE);
  view.tour = null;
  view.selected = null;
  showLogin("");
}

function startApp() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  const cached = load(TOUR, null);
  if (cached && cached.tour && cached.tour.service_date === todayIso()) {
    view.tour = cached.tour;
    view.tourAt = cached.at;
  }
  render();
  refresh();
  if (!view.timers.length) {
    view.timers.push(setInterval(() => flush(), RETRY_S * 1000));
    view.timers.push(setInterval(() => { if (!outbox().length) refresh(); }, REFRESH_S * 1000));
  }
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(
      (p) => { view.position = { lon: p.coords.longitude, lat: p.coords.latitude }; },
      () => { view.position = null; },
      { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 },
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// the tour: fetched when online, kept on the device for dead zones

async function fetchTour() {
  const tour = await api.get("/api/v1/driver/tour");
  view.tour = tour;
  view.tourAt = new Date().toISOString();
  save(TOUR, { tour, at: view.tourAt });
  try {
    const gpx = await api.request("GET", "/api/v1/driver/tour.gpx", undefined, "application/gpx+xml");
    save(GPX, { routeId: tour.route_id, text: gpx });
  } catch (ignored) {
    // the tour is what matters; GPX is fetched again with the next refresh
  }
  return tour;
}

async function refresh() {
  if (!navigator.onLine) {
    render();
    return;
  }
  try {
    await flush();
    await fetchTour();
    hideNotice();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      view.tour = null;
      localStorage.removeItem(TOUR);
    } else if (err instanceof ApiError && err.status === 401) {
      showLogin(t("login.badKey"));
      return;
    }
  }
  render();
}

// Status of a stop: the server's, overridden by reports still in the outbox (latest tap wins).
function effectiveStatus(stop) {
  let status = stop.status;
  let pending = false;
  for (const e of outbox()) {
    if (e.stop_id === stop.id) {
      status = e.op === "withdraw" ? "planned" : e.kind;
      pending = true;
    }
  }
  return { status, pending };
}

function binStops() {
  return view.tour ? view.tour.stops.filter((s) => s.kind === "stop") : [];
}

function currentStop() {
  const open = binStops().filter((s) => effectiveStatus(s).status === "planned");
  return open.find((s) => s.id === view.selected) || open[0] || null;
}

// ---------------------------------------------------------------------------------------------------
// reporting and the outbox

function report(kind, observedFill) {
  const stop = currentStop();
  // measured on the monotonic clock: a tablet whose wall clock is set back must not block reports
  if (!stop || performance.now() - view.reportedAt < DOUBLE_TAP_MS) return;
  view.reportedAt = performance.now();
  const event = {
    client_event_id: newUuid(),
    stop_id: stop.id,
    seq: stop.seq,
    bin: stop.bin_external_id,
    kind,
    observed_fill: observedFill ?? view.fill,
    occurred_at: new Date().toISOString(),
  };
  if (view.position) Object.assign(event, view.position);
  save(OUTBOX, [...outbox(), event]);
  save(LAST, { client_event_id: event.client_event_id, stop_id: stop.id, seq: stop.seq, kind });
  view.selected = null;
  view.fill = null;
  $("overfill").hidden = true;
  render();
  flush();
}

// Undo the last report: still on the device, it is simply dropped; already sent, a withdrawal goes
// through the outbox like a report (the server keeps the report, marked withdrawn, and the stop is
// open again). Either way the stop is the current one again, ready to be reported as it really was.
function undoLast() {
  const last = load(LAST, null);
  if (!last) return;
  const queued = outbox();
  if (queued.some((e) => e.client_event_id === last.client_event_id && e.op !== "withdraw")) {
    save(OUTBOX, queued.filter((e) => e.client_event_id !== last.client_event_id));
  } else {
    save(OUTBOX, [...queued, { op: "withdraw", client_event_id: last.client_event_id, stop_id: last.stop_id, seq: last.seq, kind: last.kind, occurred_at: new Date().toISOString() }]);
  }
  localStorage.removeItem(LAST);
  view.selected = last.stop_id;
  view.reportedAt = -Infinity; // an undo is deliberate: the corrected report may follow at once
  showNotice(t("drv.undo.done", { seq: last.seq }), "info", "undo");
  render();
  flush();
}

// The server has the report: its status goes onto the local tour (and the cached copy) at once, so the
// stop does not show as open again between leaving the outbox and the refreshed tour's arrival.
function markReported(e) {
  const stop = view.tour && view.tour.stops.find((s) => s.id === e.stop_id);
  if (!stop) return;
  stop.status = e.op === "withdraw" ? "planned" : e.kind;
  save(TOUR, { tour: view.tour, at: view.tourAt });
}

function body(e) {
  const b = { client_event_id: e.client_event_id, stop_id: e.stop_id, kind: e.kind, occurred_at: e.occurred_at };
  if (e.observed_fill != null) b.observed_fill = e.observed_fill;
  if (e.lon != null && e.lat != null) Object.assign(b, { lon: e.lon, lat: e.lat });
  return b;
}

async function flush() {
  if (view.flushing || !navigator.onLine || !localStorage.getItem(KEY)) return;
  view.flushing = true;
  let sent = 0;
  try {
    for (;;) {
      const next = outbox()[0];
      if (!next) break;
      renderQueue(true);
      try {
        if (next.op === "withdraw") await api.post(`/api/v1/driver/events/${next.client_event_id}/withdraw`);
        else await api.post("/api/v1/driver/events", body(next));
        markReported(next);
      } catch (err) {
        const permanent = err instanceof ApiError && [400, 404, 409, 422].includes(err.status);
        if (!permanent) break; // offline, server busy or key problem: keep it and retry later
        // kept with the server's code and numbers, said in the page's language (the English message too)
        const params = (err.details && err.details.params) || {};
        save(REJECTED, [...rejected(), { ...next, code: err.code, params, reason: err.message }]);
      }
      save(OUTBOX, outbox().filter((e) => !(e.client_event_id === next.client_event_id && e.op === next.op)));
      sent += 1;
    }
  } finally {
    view.flushing = false;
  }
  if (sent && !outbox().length && navigator.onLine) {
    try {
      await fetchTour();
    } catch (ignored) {
      // the next refresh tries again
    }
  }
  render();
}

// ---------------------------------------------------------------------------------------------------
// rendering

function showNotice(text, kind = "", tag = "") {
  $("notice").className = `notice toast ${kind}`;
  $("notice").dataset.tag = tag;
  $("notice").textContent = text;
  $("notice").hidden = false;
}

function hideNotice() {
  $("notice").hidden = true;
}

function renderNet() {
  const online = navigator.onLine;
  $("net").className = `pill ${online ? "online" : "offline"}`;
  $("net-text").textContent = online ? t("common.online") : t("common.offline");
}

function queueLabel(e) {
  if (e.op === "withdraw") return t("drv.undo", { seq: e.seq, kind: t(`status.${e.kind}`) });
  return t("drv.queue.item", { seq: e.seq, kind: t(`status.${e.kind}`), time: clock(e.occurred_at) }) + (e.bin ? ` · ${e.bin}` : "");
}

// Everything in the status slot keeps its size: texts change, the slot's height never does.
function renderQueue(sending = false) {
  const items = outbox();
  $("queue").hidden = items.length === 0;
  $("sent-ok").hidden = items.length > 0;
  $("queue-text").textContent = sending && navigator.onLine ? t("drv.queue.sending") : t("drv.queue.short", { count: items.length });
  $("queue-box").hidden = items.length === 0;
  $("queue-list").replaceChildren(...items.map((e) => el("li", {}, queueLabel(e))));
  const last = load(LAST, null);
  const lastStop = last && view.tour && view.tour.stops.find((s) => s.id === last.stop_id);
  $("undo").hidden = !lastStop;
  if (lastStop) $("undo").textContent = t("drv.undo", { seq: last.seq, kind: t(`status.${last.kind}`) });
  const bad = rejected();
  $("rejected").hidden = bad.length === 0;
  $("rejected-text").textContent = t("drv.queue.rejected", { count: bad.length });
  $("rejected-list").replaceChildren(
    ...bad.map((e) => el("li", { dataset: { code: e.code || "" } }, t("drv.queue.rejectedItem", { seq: e.seq, kind: t(`status.${e.kind}`), reason: say("drv.reject", e.code || "", e.params || {}) }))),
  );
}

function stopTitle(s) {
  if (s.kind === "stop") return s.bin_external_id || `#${s.bin_id}`;
  if (s.kind === "facility") return t("drv.facility", { name: s.facility_name || "" });
  if (s.kind === "break") return t("drv.break");
  return s.kind === "start" ? t("drv.start") : t("drv.end");
}

// Navigation that opens the phone's own maps app: geo: on Android, Apple Maps on iPhone and iPad
// (iPadOS reports itself as a Mac with touch), a Google Maps directions link everywhere else.
export function navigationUrl(s, userAgent = navigator.userAgent, touchPoints = navigator.maxTouchPoints || 0) {
  const at = `${s.lat},${s.lon}`;
  const label = encodeURIComponent(stopTitle(s));
  if (/Android/i.test(userAgent)) return `geo:${at}?q=${at}(${label})`;
  if (/iPhone|iPad|iPod/i.test(userAgent) || (/Macintosh/i.test(userAgent) && touchPoints > 1)) {
    return `https://maps.apple.com/?daddr=${at}&dirflg=d&q=${label}`;
  }
  return `https://www.google.com/maps/dir/?api=1&destination=${at}&travelmode=driving`;
}

// The break due before ``stop`` (after the last stop already reported), if any.
function breakBefore(stop) {
  if (!view.tour) return null;
  let due = null;
  for (const s of view.tour.stops) {
    if (s.seq >= stop.seq) break;
    if (s.kind === "break") due = s;
    else if (s.kind === "stop" && effectiveStatus(s).status !== "planned") due = null;
  }
  return due;
}

function renderNext(stop) {
  $("next-card").hidden = !stop;
  if (!stop) return;
  const first = binStops().find((s) => effectiveStatus(s).status === "planned");
  const pause = breakBefore(stop);
  $("next-label").textContent = first && first.id !== stop.id ? t("drv.selected")
    : pause ? t("drv.breakFirst", { from: clock(pause.eta), to: clock(pause.departure) })
    : t("drv.next");
  $("next-address").textContent = stop.address || t("drv.noAddress");
  $("next-seq").textContent = String(stop.seq);
  $("next-bin").textContent = stop.bin_external_id || `#${stop.bin_id}`;
  $("next-sub").textContent = [t("drv.eta", { time: clock(stop.eta) }), stop.container_type ? containerLabel(stop.container_type) : ""]
    .filter(Boolean)
    .join(" · ");
  $("fill-row").replaceChildren(
    el("span", { class: "fill-label" }, t("drv.fill.optional")),
    ...FILLS.map((f) =>
      el(
        "button",
        {
          type: "button",
          "aria-pressed": view.fill === f ? "true" : "false",
          onclick: () => {
            view.fill = view.fill === f ? null : f;
            renderNext(currentStop());
          },
        },
        `${Math.round(f * 100)} %`,
      ),
    ),
  );
  const nav = $("nav-link");
  if (stop.lat != null && stop.lon != null) {
    nav.href = navigationUrl(stop);
    nav.hidden = false;
  } else nav.hidden = true;
}

function renderStops(current) {
  const stops = view.tour ? view.tour.stops : [];
  $("stops-card").hidden = stops.length === 0;
  $("stops").replaceChildren(
    ...stops.map((s) => {
      const isBin = s.kind === "stop";
      const { status, pending } = isBin ? effectiveStatus(s) : { status: "planned", pending: false };
      const cls = [isBin ? "bin" : "other"];
      if (status === "emptied") cls.push("done");
      if (PROBLEMS.has(status)) cls.push("problem", "done");
      if (pending) cls.push("pending");
      if (current && s.id === current.id) cls.push("current");
      const sub = [clock(s.eta)];
      if (isBin && s.container_type) sub.push(containerLabel(s.container_type));
      if (isBin && s.address) sub.push(s.address);
      if (s.kind === "break") {
        sub.length = 0;
        sub.push(t("drv.breakRow", { from: clock(s.eta), to: clock(s.departure), minutes: Math.round((new Date(s.departure) - new Date(s.eta)) / 60000) }));
        cls.push("break");
      }
      return el(
        "li",
        {
          class: cls.join(" "),
          dataset: { stopId: String(s.id), status },
          onclick: isBin && status === "planned" ? () => { view.selected = s.id; render(); window.scrollTo({ top: 0, behavior: "smooth" }); } : null,
          title: isBin && status === "planned" ? t("drv.select") : null,
        },
        el("span", { class: "seq" }, String(s.seq)),
        el("div", { class: "what" }, el("b", {}, stopTitle(s)), el("div", { class: "sub" }, sub.join(" · "))),
        isBin ? el("span", { class: "state" }, t(`status.${status}`) + (pending ? ` · ${t("drv.unsent")}` : "")) : null,
      );
    }),
  );
}

function render() {
  renderNet();
  renderQueue(view.flushing);
  const tour = view.tour;
  $("no-tour").hidden = !!tour;
  if (!tour) {
    $("tour-title").textContent = t("drv.title");
    $("tour-meta").textContent = "";
    $("tour-progress").textContent = "";
    $("tour-bar").style.width = "0";
    $("next-card").hidden = true;
    $("all-done").hidden = true;
    $("stops-card").hidden = true;
    return;
  }
  $("tour-title").textContent = t("drv.header", { vehicle: vehicleLabel(tour), fraction: t(`fraction.${tour.fraction}`) });
  $("tour-meta").textContent = `${day(tour.service_date)} · ${t("common.km", { value: num(tour.distance_km, 1) })} · ${t("common.hours", { value: num(tour.duration_h, 1) })} · ${clock(tour.start_at)}–${clock(tour.end_at)}`;
  const bins = binStops();
  const done = bins.filter((s) => effectiveStatus(s).status !== "planned").length;
  $("tour-progress").textContent = t("drv.progress", { done, total: bins.length });
  $("tour-bar").style.width = `${bins.length ? (100 * done) / bins.length : 0}%`;
  const current = currentStop();
  renderNext(current);
  $("all-done").hidden = !!current || bins.length === 0;
  renderStops(current);
  if (!navigator.onLine && view.tourAt) showNotice(t("drv.cached", { updated: t("common.updated", { time: clock(view.tourAt) }) }), "", "cached");
  else if (navigator.onLine && $("notice").dataset.tag === "cached") hideNotice();
}

function downloadGpx() {
  const cached = load(GPX, null);
  if (!cached || !view.tour || cached.routeId !== view.tour.route_id) {
    showNotice(t("drv.gpx.unavailable"));
    return;
  }
  const url = URL.createObjectURL(new Blob([cached.text], { type: "application/gpx+xml" }));
  const a = el("a", { href: url, download: `tour-${cached.routeId}.gpx` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---------------------------------------------------------------------------------------------------
// wiring

function wire() {
  $("lang").addEventListener("click", toggleLanguage);
  $("logout").addEventListener("click", logout);
  $("login-form").addEventListener("submit", login);
  for (const b of document.querySelectorAll(".actions .act")) {
    b.addEventListener("click", () => {
      if (b.dataset.kind === "overfilled") $("overfill").hidden = false;
      else report(b.dataset.kind);
    });
  }
  for (const b of document.querySelectorAll("#overfill [data-fill]")) {
    b.addEventListener("click", () => report("overfilled", Number(b.dataset.fill)));
  }
  $("overfill-cancel").addEventListener("click", () => { $("overfill").hidden = true; });
  $("undo").addEventListener("click", undoLast);
  $("gpx").addEventListener("click", downloadGpx);
  $("rejected-dismiss").addEventListener("click", () => {
    localStorage.removeItem(REJECTED);
    render();
  });
  window.addEventListener("online", () => refresh());
  window.addEventListener("offline", () => render());
  onLanguageChange(() => render());
}

applyTranslations();
wire();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch(() => {
    // without a service worker (plain http on a private network) the page still works online
  });
}
if (localStorage.getItem(KEY)) startApp();
else showLogin("");
