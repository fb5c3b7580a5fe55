// Every string the pages show, German first (the default), English second. Keys are grouped by page.
// Elements carry data-i18n="key" (text), data-i18n-placeholder / data-i18n-title / data-i18n-aria
// (attributes); scripts call t("key", {name: value}) for "{name}" placeholders.

export const STRINGS = {
  de: {
    "lang.switch": "English",
    "lang.switch.title": "Sprache wechseln",
    "common.logout": "Abmelden",
    "common.login": "Anmelden",
    "common.apiKey": "API-Schlüssel",
    "common.apiKey.hint": "Den Schlüssel erhalten Sie von der Administration Ihrer Stadt.",
    "common.error": "Fehler: {message}",
    "common.offline": "Offline",
    "common.online": "Online",
    "common.km": "{value} km",
    "common.hours": "{value} h",
    "common.updated": "Stand {time}",
    "login.badKey": "Dieser Schlüssel ist unbekannt oder gesperrt.",
    "login.wrongRole": "Dieser Schlüssel gehört nicht zu dieser Seite (Rolle: {role}).",
    "login.unreachable": "Der Server ist nicht erreichbar. Bitte Netzverbindung prüfen.",

    "fraction.residual": "Restmüll",
    "fraction.paper": "Papier",
    "fraction.glass": "Glas",
    "fraction.packaging": "Leichtverpackungen",
    "fraction.bio": "Bioabfall",

    "state.ok": "unauffällig",
    "state.must_go_soon": "bald voll",
    "state.stale": "keine Daten",
    "state.alert": "Alarm",
    "state.all": "alle Zustände",

    "alert.fire": "Brandverdacht",
    "alert.tilt": "Behälter geneigt",
    "alert.battery": "Batterie schwach",
    "alert.stale": "Sensor meldet nicht",
    "alert.overflow_forecast": "Überlauf droht",

    "health.no_data": "keine Messwerte",
    "health.stale": "veraltet",
    "health.stuck": "Wert hängt",
    "health.implausible": "unplausibel",

    "status.planned": "offen",
    "status.emptied": "geleert",
    "status.not_reachable": "nicht erreichbar",
    "status.damaged": "beschädigt",
    "status.overfilled": "überfüllt",

    "job.queued": "in der Warteschlange",
    "job.running": "wird berechnet",
    "job.done": "fertig",
    "job.failed": "fehlgeschlagen",

    "disp.title": "Disposition",
    "disp.login.title": "Disposition – Anmeldung",
    "disp.login.text": "Melden Sie sich mit dem API-Schlüssel der Disposition an. Der Schlüssel bleibt nur in diesem Browser-Tab.",
    "disp.fraction": "Fraktion",
    "disp.state": "Zustand",
    "disp.colour": "Farbe",
    "disp.colour.now": "Füllstand jetzt",
    "disp.colour.forecast": "Prognose in 24 h",
    "disp.kpi.bins": "Behälter",
    "disp.kpi.soon": "bald voll",
    "disp.kpi.alerts": "Alarme",
    "disp.kpi.sensors": "Sensoren gestört",
    "disp.plan.title": "Tourenplanung",
    "disp.plan.date": "Einsatztag",
    "disp.plan.time": "Rechenzeit (s)",
    "disp.plan.button": "Heute planen",
    "disp.plan.buttonDay": "Für {date} planen",
    "disp.plan.queued": "Planung angefordert …",
    "disp.plan.progress": "Planung {status}: {percent} %",
    "disp.plan.failed": "Die Planung ist fehlgeschlagen: {error}",
    "disp.plan.none": "Für {fraction} gibt es noch keinen fertigen Plan.",
    "disp.plan.header": "Plan {id} · {date} · {fraction}",
    "disp.plan.summary": "{routes} · {km} km · {hours} h · {bins} Behälter",
    "disp.plan.routes.one": "1 Tour",
    "disp.plan.routes.other": "{count} Touren",
    "disp.plan.today": "heute",
    "disp.plan.tomorrow": "morgen",
    "disp.plan.diagnosis": "Hinweis der Planung",
    "disp.routes.title": "Touren",
    "disp.routes.none": "Dieser Plan enthält keine Touren.",
    "disp.route.progress": "{done} von {total} erledigt",
    "disp.route.problems": "{count} Probleme",
    "disp.route.trip": "Fahrt {n}: {stops} Behälter · {volume} m³ · {mass} t",
    "disp.route.tripTo": "→ {facility}",
    "disp.route.times": "{start}–{end} Uhr",
    "disp.route.show": "Tour auf der Karte zeigen",
    "disp.leftout.title": "Nicht eingeplant",
    "disp.leftout.none": "Alle ausgewählten Behälter sind eingeplant.",
    "disp.leftout.must": "Pflicht",
    "disp.leftout.may": "optional",
    "disp.leftout.forecast": "Prognose {percent} %",
    "disp.alerts.title": "Alarme und Sensoren",
    "disp.alerts.none": "Keine offenen Alarme.",
    "disp.alerts.clear": "Erledigt",
    "disp.alerts.health": "Sensorzustand: {text}",
    "disp.alerts.healthy": "Alle Sensoren der Auswahl melden plausibel.",
    "disp.live": "Rückmeldungen der Fahrer werden alle {seconds} s aktualisiert.",
    "disp.legend.empty": "unter 50 %",
    "disp.legend.half": "50–79 %",
    "disp.legend.high": "80–99 %",
    "disp.legend.full": "ab 100 %",
    "disp.legend.unknown": "ohne Messwert",
    "disp.legend.alert": "Alarm (Rand)",
    "disp.legend.depot": "Betriebshof",
    "disp.legend.facility": "Entsorgungsanlage",
    "disp.noMap": "Die Kartenbibliothek (xstatic-leaflet) ist nicht installiert; die Listen funktionieren trotzdem.",
    "disp.popup.fill": "Füllstand: {value}",
    "disp.popup.forecast": "in 24 h: {value}",
    "disp.popup.threshold": "Schwelle in: {value}",
    "disp.popup.measured": "gemessen: {value}",
    "disp.popup.battery": "Batterie: {value} %",
    "disp.popup.type": "{type} · {volume} l",
    "disp.popup.stop": "Tour {vehicle}, Halt {seq}, ETA {eta} – {status}",
    "disp.hours": "{value} h",
    "disp.days": "{value} Tage",
    "disp.depot": "Start/Ende",
    "disp.settings.tiles": "Kartenkacheln (URL, optional)",
    "disp.settings.tilesHint": "z. B. https://tiles.example.org/{z}/{x}/{y}.png – leer: schlichter Hintergrund",
    "disp.settings.save": "Übernehmen",

    "drv.title": "Tour",
    "drv.login.title": "Fahrer – Anmeldung",
    "drv.login.text": "Melden Sie sich mit dem Schlüssel Ihres Fahrzeugs an. Er bleibt auf diesem Gerät gespeichert, damit die Tour auch ohne Netz weiterläuft.",
    "drv.header": "{vehicle} · {fraction}",
    "drv.progress": "{done} von {total} Behältern erledigt",
    "drv.next": "Nächster Halt",
    "drv.selected": "Ausgewählter Halt",
    "drv.stop": "Halt {seq}",
    "drv.eta": "geplant {time} Uhr",
    "drv.type": "Typ {type}",
    "drv.btn.emptied": "Geleert",
    "drv.btn.not_reachable": "Nicht erreichbar",
    "drv.btn.damaged": "Beschädigt",
    "drv.btn.overfilled": "Überfüllt",
    "drv.fill.title": "Wie voll war der Behälter?",
    "drv.fill.cancel": "Abbrechen",
    "drv.fill.optional": "Füllstand gesehen (optional):",
    "drv.navigate": "Navigation starten",
    "drv.gpx": "Tour als GPX",
    "drv.gpx.unavailable": "GPX ist erst nach dem Laden der Tour mit Netz verfügbar.",
    "drv.list": "Alle Halte",
    "drv.facility": "Entladen: {name}",
    "drv.break": "Pause",
    "drv.start": "Abfahrt Betriebshof",
    "drv.end": "Rückkehr Betriebshof",
    "drv.allDone": "Alle Behälter dieser Tour sind gemeldet. Gute Fahrt zurück!",
    "drv.noTour": "Für Ihr Fahrzeug gibt es heute keine Tour.",
    "drv.cached": "Ohne Netz: gespeicherte Tour, {updated}.",
    "drv.queue.pending": "{count} Meldung(en) noch nicht gesendet – sie werden automatisch übertragen, sobald wieder Netz da ist.",
    "drv.queue.sending": "Sende Meldungen …",
    "drv.queue.item": "Halt {seq} · {kind} · {time}",
    "drv.queue.rejected": "{count} Meldung(en) vom Server abgelehnt",
    "drv.queue.rejectedItem": "Halt {seq} · {kind}: {reason}",
    "drv.queue.dismiss": "Ausblenden",
    "drv.logout.blocked": "Abmelden ist erst möglich, wenn alle Meldungen gesendet sind.",
    "drv.select": "Diesen Halt wählen",
    "drv.unsent": "nicht gesendet",
    // driver page: offline app, stable layout, undo, what a report means (issue 14)
    "drv.queue.allSent": "Alle Meldungen gesendet",
    "drv.queue.title": "Noch nicht gesendet",
    "drv.queue.short": "{count} Meldung(en) warten auf Netz",
    "drv.note.not_reachable": "nicht geleert, neu planen",
    "drv.note.damaged": "nicht geleert, an Disposition",
    "drv.note.overfilled": "geleert, als überfüllt gemeldet",
    "drv.undo": "Rückgängig: Halt {seq} {kind}",
    "drv.undo.done": "Meldung zu Halt {seq} zurückgenommen – bitte neu melden.",
    "drv.breakFirst": "Zuerst Pause {from}–{to} Uhr, dann:",
    "drv.breakRow": "Pause {from}–{to} ({minutes} min)",
    "drv.noAddress": "keine Adresse hinterlegt",
  },
  en: {
    "lang.switch": "Deutsch",
    "lang.switch.title": "Switch language",
    "common.logout": "Log out",
    "common.login": "Log in",
    "common.apiKey": "API key",
    "common.apiKey.hint": "Your city's administration issues the key.",
    "common.error": "Error: {message}",
    "common.offline": "Offline",
    "common.online": "Online",
    "common.km": "{value} km",
    "common.hours": "{value} h",
    "common.updated": "as of {time}",
    "login.badKey": "This key is unknown or disabled.",
    "login.wrongRole": "This key does not belong to this page (role: {role}).",
    "login.unreachable": "The server cannot be reached. Please check the network.",

    "fraction.residual": "Residual waste",
    "fraction.paper": "Paper",
    "fraction.glass": "Glass",
    "fraction.packaging": "Packaging",
    "fraction.bio": "Organic waste",

    "state.ok": "ok",
    "state.must_go_soon": "full soon",
    "state.stale": "no data",
    "state.alert": "alert",
    "state.all": "all states",

    "alert.fire": "Possible fire",
    "alert.tilt": "Container tilted",
    "alert.battery": "Battery low",
    "alert.stale": "Sensor silent",
    "alert.overflow_forecast": "Overflow expected",

    "health.no_data": "no readings",
    "health.stale": "stale",
    "health.stuck": "stuck value",
    "health.implausible": "implausible",

    "status.planned": "open",
    "status.emptied": "emptied",
    "status.not_reachable": "not reachable",
    "status.damaged": "damaged",
    "status.overfilled": "overfilled",

    "job.queued": "queued",
    "job.running": "running",
    "job.done": "done",
    "job.failed": "failed",

    "disp.title": "Dispatch",
    "disp.login.title": "Dispatch – log in",
    "disp.login.text": "Log in with the dispatch API key. The key stays in this browser tab only.",
    "disp.fraction": "Fraction",
    "disp.state": "State",
    "disp.colour": "Colour",
    "disp.colour.now": "Fill now",
    "disp.colour.forecast": "Forecast in 24 h",
    "disp.kpi.bins": "Containers",
    "disp.kpi.soon": "full soon",
    "disp.kpi.alerts": "Alerts",
    "disp.kpi.sensors": "Sensors faulty",
    "disp.plan.title": "Route planning",
    "disp.plan.date": "Service day",
    "disp.plan.time": "Solver time (s)",
    "disp.plan.button": "Plan today",
    "disp.plan.buttonDay": "Plan {date}",
    "disp.plan.queued": "Plan requested …",
    "disp.plan.progress": "Plan {status}: {percent} %",
    "disp.plan.failed": "Planning failed: {error}",
    "disp.plan.none": "There is no finished plan for {fraction} yet.",
    "disp.plan.header": "Plan {id} · {date} · {fraction}",
    "disp.plan.summary": "{routes} · {km} km · {hours} h · {bins} containers",
    "disp.plan.routes.one": "1 route",
    "disp.plan.routes.other": "{count} routes",
    "disp.plan.today": "today",
    "disp.plan.tomorrow": "tomorrow",
    "disp.plan.diagnosis": "Planner's note",
    "disp.routes.title": "Routes",
    "disp.routes.none": "This plan has no routes.",
    "disp.route.progress": "{done} of {total} done",
    "disp.route.problems": "{count} problems",
    "disp.route.trip": "Trip {n}: {stops} containers · {volume} m³ · {mass} t",
    "disp.route.tripTo": "→ {facility}",
    "disp.route.times": "{start}–{end}",
    "disp.route.show": "Show route on the map",
    "disp.leftout.title": "Left out",
    "disp.leftout.none": "Every selected container is planned.",
    "disp.leftout.must": "must-go",
    "disp.leftout.may": "optional",
    "disp.leftout.forecast": "forecast {percent} %",
    "disp.alerts.title": "Alerts and sensors",
    "disp.alerts.none": "No open alerts.",
    "disp.alerts.clear": "Done",
    "disp.alerts.health": "Sensor health: {text}",
    "disp.alerts.healthy": "Every sensor in the selection reports plausibly.",
    "disp.live": "Drivers' reports refresh every {seconds} s.",
    "disp.legend.empty": "below 50 %",
    "disp.legend.half": "50–79 %",
    "disp.legend.high": "80–99 %",
    "disp.legend.full": "100 % and more",
    "disp.legend.unknown": "no reading",
    "disp.legend.alert": "alert (outline)",
    "disp.legend.depot": "Depot",
    "disp.legend.facility": "Disposal facility",
    "disp.noMap": "The map library (xstatic-leaflet) is not installed; the lists still work.",
    "disp.popup.fill": "Fill: {value}",
    "disp.popup.forecast": "in 24 h: {value}",
    "disp.popup.threshold": "threshold in: {value}",
    "disp.popup.measured": "measured: {value}",
    "disp.popup.battery": "Battery: {value} %",
    "disp.popup.type": "{type} · {volume} L",
    "disp.popup.stop": "Route {vehicle}, stop {seq}, ETA {eta} – {status}",
    "disp.hours": "{value} h",
    "disp.days": "{value} days",
    "disp.depot": "Start/end",
    "disp.settings.tiles": "Map tiles (URL, optional)",
    "disp.settings.tilesHint": "e.g. https://tiles.example.org/{z}/{x}/{y}.png – empty: plain background",
    "disp.settings.save": "Apply",

    "drv.title": "Route",
    "drv.login.title": "Driver – log in",
    "drv.login.text": "Log in with your vehicle's key. It stays on this device so that the route keeps working without network.",
    "drv.header": "{vehicle} · {fraction}",
    "drv.progress": "{done} of {total} containers done",
    "drv.next": "Next stop",
    "drv.selected": "Selected stop",
    "drv.stop": "Stop {seq}",
    "drv.eta": "planned {time}",
    "drv.type": "Type {type}",
    "drv.btn.emptied": "Emptied",
    "drv.btn.not_reachable": "Not reachable",
    "drv.btn.damaged": "Damaged",
    "drv.btn.overfilled": "Overfilled",
    "drv.fill.title": "How full was the container?",
    "drv.fill.cancel": "Cancel",
    "drv.fill.optional": "Fill seen (optional):",
    "drv.navigate": "Start navigation",
    "drv.gpx": "Route as GPX",
    "drv.gpx.unavailable": "GPX is available once the route has been loaded with network.",
    "drv.list": "All stops",
    "drv.facility": "Unload: {name}",
    "drv.break": "Break",
    "drv.start": "Leave depot",
    "drv.end": "Back to depot",
    "drv.allDone": "Every container of this route is reported. Safe trip back!",
    "drv.noTour": "There is no route for your vehicle today.",
    "drv.cached": "No network: stored route, {updated}.",
    "drv.queue.pending": "{count} report(s) not sent yet – they go out automatically once the network is back.",
    "drv.queue.sending": "Sending reports …",
    "drv.queue.item": "Stop {seq} · {kind} · {time}",
    "drv.queue.rejected": "{count} report(s) refused by the server",
    "drv.queue.rejectedItem": "Stop {seq} · {kind}: {reason}",
    "drv.queue.dismiss": "Hide",
    "drv.logout.blocked": "You can log out once every report has been sent.",
    "drv.select": "Choose this stop",
    "drv.unsent": "not sent",
    // driver page: offline app, stable layout, undo, what a report means (issue 14)
    "drv.queue.allSent": "All reports sent",
    "drv.queue.title": "Not sent yet",
    "drv.queue.short": "{count} report(s) waiting for network",
    "drv.note.not_reachable": "not emptied, plan again",
    "drv.note.damaged": "not emptied, to dispatch",
    "drv.note.overfilled": "emptied, reported overfilled",
    "drv.undo": "Undo: stop {seq} {kind}",
    "drv.undo.done": "Report for stop {seq} taken back – please report it again.",
    "drv.breakFirst": "Break {from}–{to} first, then:",
    "drv.breakRow": "Break {from}–{to} ({minutes} min)",
    "drv.noAddress": "no address on file",
  },
};

const LANG_KEY = "wasteroute.lang";
const listeners = [];

export function lang() {
  const stored = localStorage.getItem(LANG_KEY);
  return stored === "en" ? "en" : "de";
}

export function locale() {
  return lang() === "de" ? "de-DE" : "en-GB";
}

export function t(key, vars = {}) {
  const text = STRINGS[lang()][key] ?? STRINGS.de[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

export function applyTranslations(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

export function onLanguageChange(fn) {
  listeners.push(fn);
}

export function toggleLanguage() {
  localStorage.setItem(LANG_KEY, lang() === "de" ? "en" : "de");
  applyTranslations();
  for (const fn of listeners) fn();
}

// Formatting in the page's language; times in the device's time zone (the city's, on a city device).
export function num(value, digits = 1) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
}

export function percent(fraction) {
  return fraction == null ? "–" : `${Math.round(fraction * 100)} %`;
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

export function day(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(locale(), { weekday: "short", day: "2-digit", month: "2-digit", year: "numeric" });
}

export function dateTime(iso) {
  return new Date(iso).toLocaleString(locale(), { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
}
