// Dispatcher page: the city's bins on a map (fill now or forecast), alerts and sensor health, plan
// jobs with progress, and the day's routes with the drivers' reports refreshed live.
// Uses the public API only, with the dispatcher's key from sessionStorage (this tab only).

import { Api, ApiError, NetworkError, el } from "../shared/api.js";
import {
  applyTranslations,
  clock,
  containerLabel,
  dateTime,
  day,
  formatParams,
  num,
  onLanguageChange,
  percent,
  say,
  selectionText,
  t,
  toggleLanguage,
  vehicleLabel,
} from "../shared/i18n.js";

const KEY = "wasteroute.dispatcher.key";
const TILES = "wasteroute.dispatcher.tiles";
const FRACTIONS = ["residual", "paper", "glass", "packaging", "bio"];
const STATES = ["", "must_go_soon", "alert", "stale", "ok"];
const ALERT_ORDER = ["fire", "tilt", "battery", "overflow_forecast", "stale"];
const PALETTE = ["#1565c0", "#c2185b", "#00897b", "#8d6e63", "#5e35b1", "#ef6c00", "#2e7d32", "#00838f", "#ad1457", "#455a64"];
const FILL = { ok: "#2e9d5b", half: "#e5b700", high: "#ef7d00", full: "#d12c2c", unknown: "#9aa5b1" };
const PROBLEMS = new Set(["not_reachable", "damaged", "overfilled"]);
const params = new URLSearchParams(location.search);
const REFRESH_S = Math.max(2, Number(params.get("refresh")) || 10);
const BINS_REFRESH_S = 60;

const api = new Api(() => sessionStorage.getItem(KEY));
const $ = (id) => document.getElementById(id);
const view = {
  fraction: "residual",
  state: "",
  colour: "now",
  bins: null,
  alerts: [],
  plan: null,
  jobId: null,
  map: null,
  layers: null,
  markers: new Map(),
  fitted: false,
  loadedAt: null,
  routesFitted: false,
  focusRoute: null,
  timers: [],
  dayPlans: [],
  chosenPlan: null,
  unplanned: [],
  popup: null, // {bin, layer}: the container whose popup is open, and on which layer ("bins", "routes")
  redrawing: false,
};

// ---------------------------------------------------------------------------------------------------
// start, login, language

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function todayIso() {
  return isoDay(new Date());
}

// "heute · Di., 08.12.2026", "morgen · …", "gestern · …" or just the date
function dayName(iso) {
  const offset = Math.round((Date.parse(`${iso}T12:00:00`) - Date.parse(`${todayIso()}T12:00:00`)) / 86400000);
  const name = { 0: t("disp.plan.today"), 1: t("disp.plan.tomorrow"), "-1": t("disp.day.yesterday") }[offset];
  return name ? `${name} · ${day(iso)}` : day(iso);
}

function showDay(iso) {
  if (![...$("plan-date").options].some((o) => o.value === iso)) $("plan-date").append(el("option", { value: iso }, dayName(iso)));
  $("plan-date").value = iso;
  $("plan-date").dispatchEvent(new Event("change"));
}

function fillDays() {
  // today and the next six days, named in the page's language (a date input would follow the browser's)
  const keep = $("plan-date").value || todayIso();
  const options = [];
  for (let i = -3; i < 7; i++) {
    const d = new Date();
    d.setDate(d.getDate() + i);
    const iso = isoDay(d);
    options.push(el("option", { value: iso }, dayName(iso)));
  }
  $("plan-date").replaceChildren(...options);
  $("plan-date").value = keep;
  if (!$("plan-date").value) fillDays();
}

function fillSelects() {
  const keep = [$("f-fraction").value, $("f-state").value, $("f-colour").value];
  $("f-fraction").replaceChildren(...FRACTIONS.map((f) => el("option", { value: f }, t(`fraction.${f}`))));
  $("f-state").replaceChildren(...STATES.map((s) => el("option", { value: s }, s ? t(`state.${s}`) : t("state.all"))));
  $("f-colour").replaceChildren(
    el("option", { value: "now" }, t("disp.colour.now")),
    el("option", { value: "forecast" }, t("disp.colour.forecast")),
  );
  $("f-fraction").value = keep[0] || view.fraction;
  $("f-state").value = keep[1] || view.state;
  $("f-colour").value = keep[2] || view.colour;
}

function showLogin(message) {
  for (const id of view.timers) clearInterval(id);
  view.timers = [];
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
  $("login-key").focus();
}

function loginMessage(err) {
  if (err instanceof NetworkError) return t("login.unreachable");
  if (err.status === 401) return t("login.badKey");
  if (err.status === 403) {
    const role = err.details && err.details.params && err.details.params.role;
    return t("login.wrongRole", { role: role ? t(`role.${role}`) : "?" });
  }
  return t("common.error", { message: err.message });
}

async function login(event) {
  event.preventDefault();
  const key = $("login-key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  try {
    await api.get("/api/v1/plans?limit=1");
  } catch (err) {
    sessionStorage.removeItem(KEY);
    showLogin(loginMessage(err));
    return;
  }
  $("login-key").value = "";
  startApp();
}

function logout() {
  sessionStorage.removeItem(KEY);
  view.plan = null;
  view.bins = null;
  showLogin("");
}

function planButtonLabel() {
  const d = $("plan-date").value;
  $("plan-button").textContent = !d || d === todayIso() ? t("disp.plan.button") : t("disp.plan.buttonDay", { date: day(d) });
}

function startApp() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  initMap();
  planButtonLabel();
  $("live-note").textContent = t("disp.live", { seconds: REFRESH_S });
  reloadAll();
  view.timers.push(setInterval(refreshPlan, REFRESH_S * 1000));
  view.timers.push(setInterval(() => loadBins().then(loadAlerts), BINS_REFRESH_S * 1000));
}

function handle(err) {
  if (err instanceof ApiError && err.status === 401) {
    sessionStorage.removeItem(KEY);
    showLogin(t("login.badKey"));
    return;
  }
  if (err instanceof NetworkError) {
    $("updated").textContent = t("common.offline");
    return;
  }
  console.warn(err);
}

async function reloadAll() {
  try {
    await loadBins();
    await loadAlerts();
    await loadPlans();
  } catch (err) {
    handle(err);
  }
}

// ---------------------------------------------------------------------------------------------------
// the map

function initMap() {
  if (view.map || !window.L) {
    if (!window.L) {
      $("map").hidden = true;
      $("no-map").hidden = false;
    }
    return;
  }
  const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25, attributionControl: true, zoomControl: false });
  map.setView([54.0, 10.7], 12);
  L.control.zoom({ zoomInTitle: t("map.zoomIn"), zoomOutTitle: t("map.zoomOut") }).addTo(map);
  map.on("popupopen", (e) => {
    // Leaflet names its close button in English; say it in the page's language
    const close = e.popup.getElement() && e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", t("map.closePopup"));
  });
  L.control.scale({ imperial: false, maxWidth: 180 }).addTo(map);
  // routes lie below the bins (so each bin's colour stays visible); svg keeps them inspectable
  map.createPane("routes").style.zIndex = 350;
  const svg = L.svg({ padding: 0.2, pane: "routes" });
  view.layers = {
    tiles: null,
    bins: L.layerGroup().addTo(map),
    routes: L.layerGroup().addTo(map),
    places: L.layerGroup().addTo(map),
    svg,
  };
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => el("div", { class: "legend", id: "legend" });
  legend.addTo(map);
  view.map = map;
  translateMap();
  renderLegend();
  applyTiles(localStorage.getItem(TILES) || "");
}

// Leaflet's own words (zoom buttons, the library's credit) in the page's language
function translateMap() {
  if (!view.map) return;
  for (const [sel, key] of [[".leaflet-control-zoom-in", "map.zoomIn"], [".leaflet-control-zoom-out", "map.zoomOut"]]) {
    const b = document.querySelector(sel);
    if (b) {
      b.title = t(key);
      b.setAttribute("aria-label", t(key));
    }
  }
  const credit = el("a", { href: "https://leafletjs.com", title: t("map.library") }, "Leaflet");
  view.map.attributionControl.setPrefix(credit.outerHTML);
}

function applyTiles(url) {
  if (!view.map) return;
  if (view.layers.tiles) view.layers.tiles.remove();
  view.layers.tiles = null;
  if (url && /^https?:\/\//.test(url) && url.includes("{z}")) {
    view.layers.tiles = L.tileLayer(url, { maxZoom: 19, attribution: new URL(url).host }).addTo(view.map);
  }
}

function renderLegend() {
  const box = $("legend");
  if (!box) return;
  const row = (cls, colour, label) => {
    const i = el("i", { class: cls });
    if (colour) i.style.background = colour;
    return el("div", {}, i, label);
  };
  box.replaceChildren(
    el("b", {}, view.colour === "now" ? t("disp.colour.now") : t("disp.colour.forecast")),
    row("", FILL.ok, t("disp.legend.empty")),
    row("", FILL.half, t("disp.legend.half")),
    row("", FILL.high, t("disp.legend.high")),
    row("", FILL.full, t("disp.legend.full")),
    row("", FILL.unknown, t("disp.legend.unknown")),
    row("alert", null, t("disp.legend.alert")),
    row("sq", "#08354f", t("disp.legend.depot")),
    row("sq", "#6a3d9a", t("disp.legend.facility")),
  );
}

function fillColour(v) {
  if (v == null) return FILL.unknown;
  if (v >= 1) return FILL.full;
  if (v >= 0.8) return FILL.high;
  if (v >= 0.5) return FILL.half;
  return FILL.ok;
}

function binStyle(f) {
  const p = f.properties;
  const value = view.colour === "now" ? p.fill_level : p.forecast_fill_24h;
  const alert = p.alerts.length > 0;
  const stale = p.state === "stale";
  return {
    radius: p.volume_l >= 2000 ? 9 : 7,
    fillColor: fillColour(value),
    fillOpacity: 0.95,
    color: alert ? "#b3261e" : stale ? "#44525f" : "#ffffff",
    weight: alert ? 3.5 : stale ? 2 : 1.5,
    dashArray: stale ? "3 3" : null,
  };
}

function hoursText(h) {
  if (h == null) return "> 60 " + (t("disp.days", { value: "" }).trim() || "d");
  if (h >= 48) return t("disp.days", { value: num(h / 24, 1) });
  return t("disp.hours", { value: num(h, 0) });
}

function stopOfBin(binId) {
  if (!view.plan) return null;
  for (const r of view.plan.routes) {
    for (const s of r.stops) if (s.bin_id === binId) return { route: r, stop: s };
  }
  return null;
}

function binPopup(f) {
  const p = f.properties;
  const lines = [
    el("div", {}, el("b", {}, p.external_id), " · ", t(`fraction.${p.fraction}`)),
    el("div", { class: "muted" }, containerLabel(p.container_type, p.volume_l)),
    el("div", {}, t("disp.popup.fill", { value: percent(p.fill_level) })),
    el("div", {}, t("disp.popup.forecast", { value: percent(p.forecast_fill_24h) })),
    el("div", {}, t("disp.popup.threshold", { value: hoursText(p.hours_to_threshold) })),
  ];
  if (p.measured_at) lines.push(el("div", { class: "muted" }, t("disp.popup.measured", { value: dateTime(p.measured_at) })));
  if (p.battery_pct != null) lines.push(el("div", { class: "muted" }, t("disp.popup.battery", { value: num(p.battery_pct, 0) })));
  const tags = [
    ...p.alerts.map((a) => el("span", { class: `tag ${a}` }, t(`alert.${a}`))),
    ...p.sensor_health.map((h) => el("span", { class: "tag stale" }, t(`health.${h}`))),
  ];
  if (tags.length) lines.push(el("div", {}, ...tags));
  const onRoute = stopOfBin(f.id);
  if (onRoute) {
    lines.push(
      el("div", {}, t("disp.popup.stop", {
        vehicle: vehicleLabel(onRoute.route),
        seq: onRoute.stop.seq,
        eta: clock(onRoute.stop.eta),
        status: t(`status.${onRoute.stop.status}`),
      })),
    );
  }
  if (onRoute) lines.push(editControls(onRoute.route, onRoute.stop));
  const chart = el("div", { class: "history", dataset: { binId: String(f.id) } }, t("disp.history.loading"));
  lines.push(el("div", { class: "muted small" }, t("disp.history.title")), chart);
  loadHistory(f.id, chart);
  return el("div", { class: "popup" }, ...lines);
}

// ---------------------------------------------------------------------------------------------------
// fill history (plain SVG, last 7 days)

async function loadHistory(binId, box) {
  try {
    const h = await api.get(`/api/v1/bins/${binId}/readings`);
    box.replaceChildren(historyChart(h));
  } catch (err) {
    box.textContent = t("disp.history.none");
    handle(err);
  }
}

function historyChart(h) {
  const pts = h.readings.filter((r) => r.fill_level != null);
  if (!pts.length) return el("span", { class: "muted" }, t("disp.history.none"));
  const W = 220, H = 70, t0 = Date.parse(h.since), t1 = Date.parse(h.until);
  const x = (iso) => ((Date.parse(iso) - t0) / (t1 - t0)) * W;
  const y = (v) => H - Math.min(1.2, Math.max(0, v)) / 1.2 * H;
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  svg.setAttribute("class", "history-chart");
  const add = (tag, attrs) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    svg.append(n);
    return n;
  };
  add("rect", { x: 0, y: 0, width: W, height: H, class: "bg" });
  add("line", { x1: 0, x2: W, y1: y(1), y2: y(1), class: "full" });
  for (const e of h.emptied_at) add("line", { x1: x(e), x2: x(e), y1: 0, y2: H, class: "emptied" });
  add("polyline", { points: pts.map((r) => `${x(r.measured_at).toFixed(1)},${y(r.fill_level).toFixed(1)}`).join(" "), class: "fill" });
  const last = pts[pts.length - 1];
  const label = add("text", { x: W - 2, y: 11, "text-anchor": "end" });
  label.textContent = percent(last.fill_level);
  svg.dataset.points = String(pts.length);
  return svg;
}

// ---------------------------------------------------------------------------------------------------
// moving and locking a stop (the server checks capacity, windows and shift and says why not)

function vehicleOf(id) {
  const r = view.plan && view.plan.routes.find((x) => x.vehicle_id === id);
  return r ? vehicleLabel(r) : null;
}

function refusalText(err) {
  const params = (err && err.details && err.details.params) || {};
  const vehicle = vehicleOf(params.vehicle_id) || params.vehicle || "";
  return say("disp.refuse", err.code, params, { vehicle });
}

function editNote(text, bad) {
  $("edit-note").hidden = false;
  $("edit-note").className = bad ? "notice error" : "notice";
  $("edit-note").textContent = text;
}

async function editStop(path, body) {
  try {
    view.plan = await api.post(path, body);
    editNote(t("disp.edit.done"), false);
    if (view.map) view.map.closePopup();
    renderPlan();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 409 || err.status === 422)) editNote(refusalText(err), true);
    else handle(err);
  }
}

function editControls(route, stop) {
  const others = view.plan.routes.filter((r) => r.id !== route.id);
  const box = el("div", { class: "edit" });
  if (others.length) {
    const select = el("select", { class: "move-target", "aria-label": t("disp.edit.move") },
      ...others.map((r) => el("option", { value: String(r.id) }, vehicleLabel(r))));
    box.append(
      el("label", { class: "small" }, t("disp.edit.move")),
      el("div", { class: "edit-row" }, select,
        el("button", { type: "button", class: "move-button", onclick: () => editStop(`/api/v1/stops/${stop.id}/move`, { route_id: Number(select.value) }) }, t("disp.edit.moveButton"))),
    );
  }
  box.append(
    el("button", { type: "button", class: "lock-button", onclick: () => editStop(`/api/v1/stops/${stop.id}/lock`, { locked: !stop.locked }) },
      stop.locked ? t("disp.edit.unlock") : t("disp.edit.lock")),
  );
  return box;
}

// A redraw (the bins every minute, the tours when a driver reports) must not close the popup the
// dispatcher is reading: the popup of the same container opens again on the new marker.
function trackPopup(marker, bin, layer) {
  marker.on("popupopen", () => { view.popup = { bin, layer }; });
  marker.on("popupclose", () => { if (!view.redrawing && view.popup && view.popup.bin === bin) view.popup = null; });
}

function redraw(layer, draw) {
  const open = view.popup && view.popup.layer === layer ? view.popup.bin : null;
  view.redrawing = true;
  try {
    return draw();
  } finally {
    view.redrawing = false;
    const again = open != null && (layer === "bins" ? view.markers.get(open) : view.stopMarkers && view.stopMarkers.get(open));
    if (again) again.openPopup();
    else if (open != null) view.popup = null;
  }
}

function renderBins() {
  if (!view.map || !view.bins) return;
  redraw("bins", drawBins);
}

function drawBins() {
  view.layers.bins.clearLayers();
  view.markers.clear();
  for (const f of view.bins.features) {
    const [lon, lat] = f.geometry.coordinates;
    const m = L.circleMarker([lat, lon], binStyle(f));
    m.bindPopup(() => binPopup(f));
    trackPopup(m, f.id, "bins");
    m.addTo(view.layers.bins);
    view.markers.set(f.id, m);
  }
  if (!view.fitted && view.bins.features.length) {
    const bounds = L.latLngBounds(view.bins.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]));
    view.map.fitBounds(bounds.pad(0.08));
    view.fitted = true;
  }
}

function symbol(kind, text, colour, status) {
  const node = el("div", { class: `sym ${kind}${status ? " " + status : ""}` }, text);
  if (colour) node.style.setProperty("--route", colour);
  return node;
}

function renderRoutesOnMap() {
  if (!view.map) return;
  redraw("routes", drawRoutes);
}

function drawRoutes() {
  view.layers.routes.clearLayers();
  view.layers.places.clearLayers();
  view.stopMarkers = new Map();
  if (!view.plan) return;
  const places = new Map();
  view.plan.routes.forEach((r, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const located = r.stops.filter((s) => s.lon != null && s.lat != null);
    const dim = view.focusRoute != null && view.focusRoute !== r.id;
    L.polyline(located.map((s) => [s.lat, s.lon]), {
      renderer: view.layers.svg,
      color: colour,
      weight: dim ? 2 : 4,
      opacity: dim ? 0.25 : 0.85,
      className: "route-line",
    }).addTo(view.layers.routes);
    if (dim) return;
    for (const s of located) {
      if (s.kind === "stop") {
        const status = (s.status === "emptied" ? "emptied" : PROBLEMS.has(s.status) ? "problem" : "") + (s.locked ? " locked" : "");
        // a numbered badge beside the bin (up and right), so the bin's fill colour stays visible
        const icon = L.divIcon({ html: symbol("stop", String(s.seq), colour, status), className: "", iconSize: [18, 18], iconAnchor: [-3, 21] });
        const marker = L.marker([s.lat, s.lon], { icon, keyboard: false, title: `${vehicleLabel(r)} ${s.seq} ${s.bin_external_id || ""}` });
        const feature = view.bins && view.bins.features.find((f) => f.id === s.bin_id);
        if (feature) {
          marker.bindPopup(() => binPopup(feature));
          trackPopup(marker, s.bin_id, "routes");
          view.stopMarkers.set(s.bin_id, marker);
        }
        marker.addTo(view.layers.routes);
      } else if (s.kind === "facility" || s.kind === "start" || s.kind === "end") {
        const kind = s.kind === "facility" ? "facility" : "depot";
        const key = `${kind}:${s.lat.toFixed(5)}:${s.lon.toFixed(5)}`;
        if (!places.has(key)) places.set(key, { kind, lat: s.lat, lon: s.lon, name: s.facility_name || t("disp.depot") });
      }
    }
  });
  if (!view.routesFitted && view.plan.routes.length) {
    const pts = view.plan.routes.flatMap((r) => r.stops.filter((s) => s.lat != null).map((s) => [s.lat, s.lon]));
    if (pts.length) view.map.fitBounds(L.latLngBounds(pts).pad(0.06));
    view.routesFitted = true;
  }
  for (const p of places.values()) {
    const icon = L.divIcon({ html: symbol(p.kind, p.kind === "facility" ? "E" : "B"), className: "", iconSize: [24, 24] });
    L.marker([p.lat, p.lon], { icon, title: p.name, zIndexOffset: 500 }).bindTooltip(p.name).addTo(view.layers.places);
  }
}

function flyTo(lat, lon, binId) {
  if (!view.map || lat == null || lon == null) return;
  view.map.flyTo([lat, lon], Math.max(view.map.getZoom(), 16), { duration: 0.6 });
  const m = binId != null ? view.markers.get(binId) : null;
  if (m) setTimeout(() => m.openPopup(), 650);
}

// ---------------------------------------------------------------------------------------------------
// bins, alerts, sensor health

async function loadBins() {
  const q = new URLSearchParams({ fraction: view.fraction });
  if (view.state) q.set("state", view.state);
  view.bins = await api.getAllPages(`/api/v1/bins?${q}`);
  view.loadedAt = new Date().toISOString();
  renderUpdated();
  renderBins();
  renderKpis();
  renderHealth();
}

function renderUpdated() {
  $("updated").textContent = view.loadedAt ? t("common.updated", { time: clock(view.loadedAt) }) : "";
}

function renderKpis() {
  const feats = view.bins ? view.bins.features : [];
  $("kpi-bins").textContent = num(view.bins ? view.bins.total : 0, 0);
  $("kpi-soon").textContent = num(feats.filter((f) => f.properties.state === "must_go_soon").length, 0);
  $("kpi-alerts").textContent = num(view.alerts.length, 0);
  $("kpi-sensors").textContent = num(feats.filter((f) => f.properties.sensor_health.length > 0).length, 0);
}

function renderHealth() {
  const counts = {};
  for (const f of view.bins ? view.bins.features : []) {
    for (const h of f.properties.sensor_health) counts[h] = (counts[h] || 0) + 1;
  }
  const parts = Object.entries(counts).map(([h, n]) => `${n} × ${t(`health.${h}`)}`);
  $("health").textContent = parts.length ? t("disp.alerts.health", { text: parts.join(", ") }) : t("disp.alerts.healthy");
}

async function loadAlerts() {
  const page = await api.getAllPages("/api/v1/alerts");
  // every open alert of the city, whatever fraction is on the map: a fire is urgent in any container
  view.alerts = page.items.sort((a, b) => ALERT_ORDER.indexOf(a.kind) - ALERT_ORDER.indexOf(b.kind));
  renderAlerts();
  renderKpis();
}

function renderAlerts() {
  const list = $("alerts");
  $("alerts-count").textContent = view.alerts.length ? `(${view.alerts.length})` : "";
  if (!view.alerts.length) {
    list.replaceChildren(el("li", { class: "muted" }, t("disp.alerts.none")));
    return;
  }
  list.replaceChildren(
    ...view.alerts.map((a) =>
      el(
        "li",
        { class: "clickable", dataset: { binId: String(a.bin_id || "") }, onclick: () => openBin(a.bin_id, a.lat, a.lon) },
        el("span", { class: `tag ${a.kind}` }, t(`alert.${a.kind}`)),
        el(
          "div",
          { class: "grow" },
          el("div", {}, el("b", {}, a.bin_external_id || "–"), a.raised_at ? ` · ${dateTime(a.raised_at)}` : "",
            a.raised_at ? el("span", { class: "age" }, ` · ${t("disp.alerts.age", { age: ageText(a.raised_at) })}`) : ""),
          el("div", { class: "why" }, say("alertDetail", a.code, a.params)),
        ),
        a.source === "stored" && a.id != null
          ? el("button", { type: "button", class: "clear-alert", onclick: (e) => (a.kind === "fire" ? confirmClear(e, a.id) : clearAlert(e, a.id)) }, t("disp.alerts.clear"))
          : null,
      ),
    ),
  );
}

function ageText(iso) {
  const minutes = Math.max(0, (Date.now() - Date.parse(iso)) / 60000);
  if (minutes < 90) return t("disp.age.minutes", { n: num(minutes, 0) });
  if (minutes < 48 * 60) return t("disp.age.hours", { n: num(minutes / 60, 0) });
  return t("disp.age.days", { n: num(minutes / 1440, 0) });
}

function confirmClear(event, id) {
  // a fire alert is closed only after a second, explicit yes
  event.stopPropagation();
  const button = event.currentTarget;
  const box = el("div", { class: "confirm", onclick: (e) => e.stopPropagation() },
    el("div", { class: "small" }, t("disp.alerts.confirm")),
    el("button", { type: "button", class: "danger confirm-yes", onclick: (e) => clearAlert(e, id) }, t("disp.alerts.confirmYes")),
    el("button", { type: "button", class: "confirm-no", onclick: (e) => { e.stopPropagation(); box.replaceWith(button); } }, t("disp.alerts.confirmNo")),
  );
  button.replaceWith(box);
}

async function openBin(binId, lat, lon) {
  // an alert of another fraction (or hidden by the state filter): show that fraction first
  if (binId != null && !view.markers.has(binId)) {
    try {
      const f = await api.get(`/api/v1/bins/${binId}`);
      view.fraction = f.properties.fraction;
      view.state = "";
      $("f-fraction").value = view.fraction;
      $("f-state").value = "";
      view.plan = null;
      view.chosenPlan = null;
      view.focusRoute = null;
      view.fitted = true;
      view.routesFitted = true;
      await reloadAll();
    } catch (err) {
      handle(err);
      return;
    }
  }
  flyTo(lat, lon, binId);
}

async function clearAlert(event, id) {
  event.stopPropagation();
  try {
    await api.post(`/api/v1/alerts/${id}/clear`);
    await loadBins();
    await loadAlerts();
  } catch (err) {
    handle(err);
  }
}

// ---------------------------------------------------------------------------------------------------
// plans: latest plan of the fraction, plan jobs with progress, live stop status

async function loadPlans() {
  // the plans of the chosen service day (today by default), never a newer plan of another day
  const dayIso = $("plan-date").value || todayIso();
  const day = await api.get(`/api/v1/days/${dayIso}/plans?fraction=${view.fraction}`);
  view.dayPlans = day.items;
  view.nextPlanDate = day.next_plan_date;
  const active = day.items.find((p) => p.status === "queued" || p.status === "running");
  const chosen = view.chosenPlan && day.items.find((p) => p.id === view.chosenPlan && p.status === "done");
  const id = chosen ? chosen.id : day.current_plan_id;
  if (id != null) await showPlan(id);
  else {
    view.plan = null;
    view.unplanned = [];
    renderPlan();
  }
  renderDayPlans();
  if (active && active.id !== view.jobId) trackJob(active);
}

function renderDayPlans() {
  const list = $("day-plans");
  if (!view.dayPlans.length) {
    list.replaceChildren(el("li", { class: "muted" }, t("disp.day.none")));
    return;
  }
  list.replaceChildren(
    ...view.dayPlans.map((p) => {
      const shown = view.plan && view.plan.id === p.id;
      return el(
        "li",
        {
          class: `day-plan${p.status === "done" ? " clickable" : ""}${shown ? " shown" : ""}`,
          dataset: { planId: String(p.id) },
          onclick: p.status === "done" ? () => { view.chosenPlan = p.id; view.focusRoute = null; showPlan(p.id).then(renderDayPlans).catch(handle); } : null,
        },
        el("div", { class: "grow" }, t("disp.day.item", { id: p.id, who: p.created_by || t("disp.day.unknown"), time: dateTime(p.created_at), status: t(`job.${p.status}`) })),
        shown ? el("span", { class: "tag" }, t("disp.day.shown")) : null,
      );
    }),
  );
}

async function showPlan(id) {
  const changed = !view.plan || view.plan.id !== id;
  view.plan = await api.get(`/api/v1/plans/${id}`);
  if (changed) view.routesFitted = false; // the map re-fits to the plan now shown
  try {
    view.unplanned = (await api.get(`/api/v1/plans/${id}/unplanned`)).items;
  } catch (err) {
    view.unplanned = [];
    handle(err);
  }
  renderPlan();
}

function renderUnplanned() {
  const items = view.plan ? view.unplanned : [];
  $("unplanned-count").textContent = items.length ? `(${items.length})` : "";
  if (!items.length) {
    $("unplanned").replaceChildren(el("li", { class: "muted" }, t("disp.unplanned.none")));
    return;
  }
  const nextDay = (p) => (p.next_day ? day(p.next_day) : "–");
  $("unplanned").replaceChildren(
    ...items.map((u) =>
      el(
        "li",
        { class: "clickable", dataset: { binId: String(u.bin_id), code: u.code }, onclick: () => openBin(u.bin_id, u.lat, u.lon) },
        u.must_go_soon ? el("span", { class: "tag must" }, t("disp.unplanned.soon")) : el("span", { class: "tag" }, t(u.params.category === "must" ? "disp.leftout.must" : "disp.leftout.may")),
        el(
          "div",
          { class: "grow" },
          el("div", {}, el("b", {}, u.bin_external_id)),
          el("div", { class: "why" }, t(`disp.unplanned.${u.code}`, {
            forecast: u.params.forecast_pct != null ? num(u.params.forecast_pct, 0) : "–",
            threshold: num(u.params.threshold_pct, 0),
            next: nextDay(u.params),
          })),
        ),
      ),
    ),
  );
}

async function refreshPlan() {
  if (!view.plan || document.hidden) return;
  try {
    const plan = await api.get(`/api/v1/plans/${view.plan.id}`);
    if (!view.plan || plan.id !== view.plan.id || JSON.stringify(plan.routes) === JSON.stringify(view.plan.routes)) return;
    view.plan = plan;
    renderRoutes();
    renderRoutesOnMap();
  } catch (err) {
    handle(err);
  }
}

async function startPlan() {
  const body = { fraction: view.fraction, options: { time_limit_s: Number($("plan-time").value) || 20 } };
  if ($("plan-date").value) body.service_date = $("plan-date").value;
  $("plan-error").hidden = true;
  $("plan-button").disabled = true;
  try {
    const job = await api.post("/api/v1/plans", body);
    await trackJob(job);
  } catch (err) {
    $("plan-button").disabled = false;
    $("plan-error").hidden = false;
    $("plan-error").textContent = planErrorText(err);
    handle(err);
  }
}

// A refused plan request in the page's language: the bounds come as the error's details.
function planErrorText(err) {
  const d = (err && err.details) || {};
  if (err instanceof NetworkError) return t("login.unreachable");
  if (err.code === "queue_full") return t("disp.plan.error.queue", formatParams(d));
  if (d && d.earliest) return t("disp.plan.error.date", formatParams(d));
  if (d && d.max_time_limit_s != null) return t("disp.plan.error.timeLimit", formatParams(d));
  return t("common.error", { message: err.code || err.message });
}

function showProgress(job) {
  $("plan-progress").hidden = false;
  $("plan-bar").style.width = `${Math.round(job.progress * 100)}%`;
  $("plan-progress-text").textContent =
    job.status === "queued" ? t("disp.plan.queued") : t("disp.plan.progress", { status: t(`job.${job.status}`), percent: Math.round(job.progress * 100) });
}

async function trackJob(job) {
  view.jobId = job.id;
  $("plan-button").disabled = true;
  showProgress(job);
  const fraction = job.fraction;
  while (job.status === "queued" || job.status === "running") {
    await new Promise((r) => setTimeout(r, 1000));
    if (view.jobId !== job.id) return;
    job = await api.get(`/api/v1/plans/${job.id}/status`);
    showProgress(job);
  }
  view.jobId = null;
  $("plan-button").disabled = false;
  if (job.status === "failed") {
    // the worker's message is technical and in English: shown as such, under a sentence of the page's
    $("plan-error").hidden = false;
    $("plan-error").replaceChildren(el("div", {}, t("disp.plan.failedPlain")), el("code", { lang: "en", class: "small" }, job.error || "?"));
    return;
  }
  $("plan-progress").hidden = true;
  if (fraction === view.fraction) {
    view.focusRoute = null;
    if (job.service_date === ($("plan-date").value || todayIso())) view.chosenPlan = job.id;
    await loadPlans();
    await loadBins();
  }
}

// The policy a plan followed, as its summary records it (plans made before it did say nothing).
function policyText(p) {
  if (!p || !p.policy) return "";
  if (p.policy === "dynamic") {
    return t("disp.plan.policy.dynamic", { risk: `${num(100 * p.risk, p.risk < 0.01 ? 1 : 0)}\u00a0%` });
  }
  if (p.policy === "threshold") return t("disp.plan.policy.threshold", { threshold: percent(p.threshold) });
  return t("disp.plan.policy.fixed");
}

function renderPlan() {
  const plan = view.plan;
  $("plan-diagnosis").hidden = true;
  if (!plan) {
    $("plan-header").replaceChildren(t("disp.plan.none", { fraction: t(`fraction.${view.fraction}`) }));
    if (view.nextPlanDate) {
      // e.g. in the evening: today's shifts are over and tomorrow is planned already
      const next = view.nextPlanDate;
      $("plan-header").append(" ", el("button", { type: "button", class: "link next-plan", dataset: { day: next }, onclick: () => showDay(next) }, t("disp.plan.next", { day: dayName(next) })));
    }
    $("plan-summary").textContent = "";
    $("routes").replaceChildren();
    $("leftout").replaceChildren();
    $("leftout-count").textContent = "";
    renderUnplanned();
    renderRoutesOnMap();
    return;
  }
  $("plan-header").textContent = t("disp.plan.header", { id: plan.id, date: day(plan.service_date), fraction: t(`fraction.${plan.fraction}`) });
  const km = plan.routes.reduce((a, r) => a + r.distance_km, 0);
  const hours = plan.routes.reduce((a, r) => a + r.duration_h, 0);
  const bins = plan.routes.reduce((a, r) => a + r.stops.filter((s) => s.kind === "stop").length, 0);
  const routes = t(plan.routes.length === 1 ? "disp.plan.routes.one" : "disp.plan.routes.other", { count: plan.routes.length });
  const summary = t("disp.plan.summary", { routes, km: num(km, 1), hours: num(hours, 1), bins });
  const policy = policyText(plan.summary && plan.summary.policy);
  $("plan-summary").textContent = policy ? `${summary} · ${policy}` : summary;
  const notes = (plan.notes || []).map((n) => say("note", n.code, n.params));
  if (!notes.length && plan.diagnosis) notes.push(t("note.legacy"));
  if (notes.length) {
    $("plan-diagnosis").hidden = false;
    $("plan-diagnosis").replaceChildren(el("b", {}, t("disp.plan.diagnosis")), ...notes.map((n) => el("div", {}, n)));
  }
  renderRoutes();
  renderLeftOut();
  renderUnplanned();
  renderRoutesOnMap();
}

function renderRoutes() {
  const plan = view.plan;
  if (!plan) return;
  if (!plan.routes.length) {
    $("routes").replaceChildren(el("p", { class: "muted" }, t("disp.routes.none")));
    return;
  }
  $("routes").replaceChildren(
    ...plan.routes.map((r, i) => {
      const stops = r.stops.filter((s) => s.kind === "stop");
      const emptied = stops.filter((s) => s.status === "emptied").length;
      const problems = stops.filter((s) => PROBLEMS.has(s.status));
      const total = stops.length || 1;
      const good = el("span");
      good.style.width = `${(100 * emptied) / total}%`;
      const bad = el("span", { class: "bad" });
      bad.style.width = `${(100 * problems.length) / total}%`;
      const facilities = new Map(r.stops.filter((s) => s.kind === "facility").map((s) => [s.facility_id, s.facility_name]));
      const card = el(
        "div",
        {
          class: `route${view.focusRoute === r.id ? " focus" : ""}`,
          title: t("disp.route.show"),
          dataset: { routeId: String(r.id) },
          onclick: () => focusRoute(r.id),
        },
        el(
          "div",
          { class: "route-head" },
          el("b", {}, vehicleLabel(r)),
          el("span", { class: "route-figures" }, `${t("common.km", { value: num(r.distance_km, 1) })} · ${t("common.hours", { value: num(r.duration_h, 1) })} · ${t("disp.route.times", { start: clock(r.start_at), end: clock(r.end_at) })}`),
        ),
        el("div", { class: "progress" }, good, bad),
        el(
          "div",
          { class: "route-status" },
          el("span", { class: "route-done" }, t("disp.route.progress", { done: emptied + problems.length, total: stops.length })),
          problems.length ? el("span", { class: "bad" }, t("disp.route.problems", { count: problems.length })) : el("span"),
        ),
        el(
          "ul",
          { class: "trips" },
          ...r.trips.map((trip, n) =>
            el(
              "li",
              {},
              t("disp.route.trip", { n: n + 1, stops: trip.stops, volume: num(trip.volume_l / 1000, 1), mass: num(trip.mass_kg / 1000, 2) }),
              trip.facility_id != null && facilities.get(trip.facility_id) ? " " + t("disp.route.tripTo", { facility: facilities.get(trip.facility_id) }) : "",
            ),
          ),
        ),
        problems.length
          ? el("ul", { class: "problems" }, ...problems.map((s) => el("li", {}, `${t("drv.stop", { seq: s.seq })} · ${s.bin_external_id || ""}: ${t(`status.${s.status}`)}`)))
          : null,
      );
      card.style.setProperty("--route", PALETTE[i % PALETTE.length]);
      return card;
    }),
  );
}

function printRoutes() {
  // one page per truck: a drawn map of the tour (SVG, no tiles needed) and its stop list
  const plan = view.plan;
  if (!plan) return;
  const NS = "http://www.w3.org/2000/svg";
  const pages = plan.routes.map((r, i) => {
    const located = r.stops.filter((s) => s.lat != null && s.lon != null);
    const lats = located.map((s) => s.lat), lons = located.map((s) => s.lon);
    const minLat = Math.min(...lats), maxLat = Math.max(...lats), minLon = Math.min(...lons), maxLon = Math.max(...lons);
    const kx = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
    const spanX = Math.max((maxLon - minLon) * kx, 1e-4), spanY = Math.max(maxLat - minLat, 1e-4);
    const W = 680, H = 360, scale = Math.min((W - 40) / spanX, (H - 40) / spanY);
    const px = (s) => [20 + (s.lon - minLon) * kx * scale, H - 20 - (s.lat - minLat) * scale];
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("class", "print-map");
    const line = document.createElementNS(NS, "polyline");
    line.setAttribute("points", located.map((s) => px(s).map((v) => v.toFixed(1)).join(",")).join(" "));
    line.setAttribute("stroke", PALETTE[i % PALETTE.length]);
    svg.append(line);
    for (const s of located) {
      const [x, y] = px(s);
      const c = document.createElementNS(NS, s.kind === "stop" ? "circle" : "rect");
      if (s.kind === "stop") { c.setAttribute("cx", x); c.setAttribute("cy", y); c.setAttribute("r", 8); }
      else { c.setAttribute("x", x - 8); c.setAttribute("y", y - 8); c.setAttribute("width", 16); c.setAttribute("height", 16); }
      c.setAttribute("class", s.kind);
      svg.append(c);
      if (s.kind === "stop") {
        const label = document.createElementNS(NS, "text");
        label.setAttribute("x", x);
        label.setAttribute("y", y + 3.5);
        label.setAttribute("text-anchor", "middle");
        label.textContent = String(s.seq);
        svg.append(label);
      }
    }
    const rows = r.stops.map((s) =>
      el("tr", {},
        el("td", {}, String(s.seq)),
        el("td", {}, clock(s.eta)),
        el("td", {}, t(`disp.print.kind.${s.kind}`)),
        el("td", {}, s.bin_external_id || s.facility_name || ""),
        el("td", {}, s.container_type ? containerLabel(s.container_type) : ""),
        el("td", { class: "num" }, num(s.load_volume_l / 1000, 1)),
        el("td", {}, "☐"),
      ),
    );
    return el("section", { class: "print-page", dataset: { routeId: String(r.id) } },
      el("h1", {}, t("disp.print.title", { vehicle: vehicleLabel(r), date: day(plan.service_date) })),
      el("p", {}, `${t("fraction." + plan.fraction)} · ${t("common.km", { value: num(r.distance_km, 1) })} · ${t("disp.route.times", { start: clock(r.start_at), end: clock(r.end_at) })}`),
      svg,
      el("table", {},
        el("thead", {}, el("tr", {}, ...[t("disp.print.seq"), t("disp.print.eta"), t("disp.print.what"), t("disp.print.container"), t("disp.print.type"), t("disp.print.load"), ""].map((k) => el("th", {}, k)))),
        el("tbody", {}, ...rows),
      ),
    );
  });
  $("print-area").replaceChildren(...pages);
  window.print();
}

function focusRoute(id) {
  view.focusRoute = view.focusRoute === id ? null : id;
  renderRoutes();
  renderRoutesOnMap();
  const r = view.plan && view.plan.routes.find((x) => x.id === id);
  if (view.map && r && view.focusRoute != null) {
    const pts = r.stops.filter((s) => s.lat != null).map((s) => [s.lat, s.lon]);
    if (pts.length) view.map.fitBounds(L.latLngBounds(pts).pad(0.1));
  }
}

function renderLeftOut() {
  const left = view.plan ? view.plan.left_out : [];
  $("leftout-count").textContent = left.length ? `(${left.length})` : "";
  if (!left.length) {
    $("leftout").replaceChildren(el("li", { class: "muted" }, t("disp.leftout.none")));
    return;
  }
  const sorted = [...left].sort((a, b) => (a.category === b.category ? (b.forecast_fill || 0) - (a.forecast_fill || 0) : a.category === "must" ? -1 : 1));
  $("leftout").replaceChildren(
    ...sorted.map((b) => {
      const feature = view.bins && view.bins.features.find((f) => f.id === b.bin_id);
      return el(
        "li",
        {
          class: feature ? "clickable" : "",
          onclick: feature ? () => flyTo(feature.geometry.coordinates[1], feature.geometry.coordinates[0], b.bin_id) : null,
        },
        el("span", { class: `tag ${b.category}` }, b.category === "must" ? t("disp.leftout.must") : t("disp.leftout.may")),
        el(
          "div",
          { class: "grow" },
          el("div", {}, el("b", {}, b.bin_external_id || String(b.bin_id)), b.forecast_fill != null ? ` · ${t("disp.leftout.forecast", { percent: Math.round(b.forecast_fill * 100) })}` : ""),
          el("div", { class: "why" }, leftOutText(b)),
        ),
      );
    }),
  );
}

// The selection's decision and, when the router left the container out, its reason; plans made
// before codes were stored say only must or may.
function leftOutText(b) {
  const why = b.code ? selectionText(b.code, b.params) : t(`why.legacy.${b.category === "must" ? "must" : "may"}`);
  return b.drop_code ? `${why} ${say("drop", b.drop_code, b.drop_params)}` : why;
}

// ---------------------------------------------------------------------------------------------------
// wiring

function wire() {
  $("lang").addEventListener("click", toggleLanguage);
  $("logout").addEventListener("click", logout);
  $("login-form").addEventListener("submit", login);
  $("f-fraction").addEventListener("change", (e) => {
    view.fraction = e.target.value;
    view.plan = null;
    view.chosenPlan = null;
    view.focusRoute = null;
    view.fitted = false;
    view.routesFitted = false;
    reloadAll();
  });
  $("f-state").addEventListener("change", (e) => {
    view.state = e.target.value;
    loadBins().then(loadAlerts).catch(handle);
  });
  $("f-colour").addEventListener("change", (e) => {
    view.colour = e.target.value;
    renderBins();
    renderLegend();
  });
  $("plan-date").addEventListener("change", () => {
    planButtonLabel();
    view.chosenPlan = null;
    view.focusRoute = null;
    loadPlans().catch(handle);
  });
  $("print-button").addEventListener("click", printRoutes);
  $("plan-button").addEventListener("click", startPlan);
  $("tiles-url").value = localStorage.getItem(TILES) || "";
  $("tiles-save").addEventListener("click", () => {
    const url = $("tiles-url").value.trim();
    if (url) localStorage.setItem(TILES, url);
    else localStorage.removeItem(TILES);
    applyTiles(url);
  });
  onLanguageChange(() => {
    fillSelects();
    fillDays();
    planButtonLabel();
    renderLegend();
    translateMap();
    $("live-note").textContent = t("disp.live", { seconds: REFRESH_S });
    if (!$("app").hidden) {
      renderUpdated();
      renderKpis();
      renderHealth();
      renderAlerts();
      renderPlan();
      renderDayPlans();
    }
  });
}

applyTranslations();
fillSelects();
wire();
fillDays();
if (sessionStorage.getItem(KEY)) startApp();
else showLogin("");
