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
    "disp.plan.none": "Für {fraction} gibt es noch keinen fertigen Plan.",
    "disp.plan.next": "Nächster Plan: {day}",
    "disp.plan.header": "Plan {id} · {date} · {fraction}",
    "disp.plan.summary": "{routes} · {km} km · {hours} h · {bins} Behälter",
    "disp.plan.policy.dynamic": "nach Füllstand, Überlaufrisiko {risk}",
    "disp.plan.policy.threshold": "ab {threshold} Füllung",
    "disp.plan.policy.fixed": "feste Touren",
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
    "disp.popup.stop": "Tour {vehicle}, Halt {seq}, ETA {eta} – {status}",
    "disp.hours": "{value} h",
    "disp.days": "{value} Tage",
    "disp.depot": "Start/Ende",
    "disp.settings.tiles": "Kartenkacheln (URL, optional)",
    "disp.settings.tilesHint": "z. B. https://tiles.example.org/{z}/{x}/{y}.png – leer: schlichter Hintergrund",
    "disp.settings.save": "Übernehmen",

    // dispatcher: plans of a day, why not planned, fill history, moving and locking, print, alerts
    "disp.day.plans": "Pläne dieses Tages",
    "disp.day.none": "Für diesen Tag gibt es noch keinen Plan.",
    "disp.day.item": "Plan {id} · {who} · {time} · {status}",
    "disp.day.unknown": "unbekannt",
    "disp.day.shown": "angezeigt",
    "disp.day.yesterday": "gestern",
    "disp.unplanned.title": "Warum nicht eingeplant?",
    "disp.unplanned.none": "Alle Behälter, die bald voll sind, stehen auf einer Tour.",
    "disp.unplanned.soon": "bald voll",
    "disp.unplanned.not_in_plan": "Beim Planen nicht berücksichtigt (neu oder inaktiv); erneut planen.",
    "disp.unplanned.not_due": "Beim Planen nicht fällig: Prognose {forecast} % beim Besuch, Schwelle {threshold} %; kann bis {next} warten.",
    "disp.unplanned.can_wait": "Verschoben: optional ({forecast} %), die Anfahrt lohnt heute nicht; kann bis {next} warten.",
    "disp.unplanned.capacity": "Ausgelassen: die Fahrzeuge haben keine Kapazität mehr.",
    "disp.unplanned.shift": "Ausgelassen: passt nicht mehr in die Schichten.",
    "disp.unplanned.time_window": "Ausgelassen: Abholzeitfenster nicht erreichbar.",
    "disp.unplanned.no_access": "Ausgelassen: kein Fahrzeug kann diesen Behälter anfahren (Zufahrt).",
    "disp.unplanned.dropped": "Ausgelassen von der Tourenplanung.",
    "disp.history.title": "Füllstand der letzten 7 Tage",
    "disp.history.none": "Keine Messwerte in den letzten 7 Tagen.",
    "disp.history.loading": "Verlauf wird geladen …",
    "disp.edit.move": "Auf Tour verschieben",
    "disp.edit.moveButton": "Verschieben",
    "disp.edit.lock": "Auf dieser Tour sperren",
    "disp.edit.unlock": "Sperre aufheben",
    "disp.edit.locked": "gesperrt",
    "disp.edit.done": "Tour neu berechnet.",
    "disp.refuse.capacity_volume": "Nicht möglich: Fahrt {trip} von {vehicle} hätte {load_l} l, erlaubt sind {capacity_l} l.",
    "disp.refuse.capacity_mass": "Nicht möglich: Fahrt {trip} von {vehicle} hätte {load_kg} kg, erlaubt sind {capacity_kg} kg.",
    "disp.refuse.time_window": "Nicht möglich: {vehicle} käme nach Ende des Abholzeitfensters.",
    "disp.refuse.shift_end": "Nicht möglich: {vehicle} wäre erst nach Schichtende zurück.",
    "disp.refuse.max_duration": "Nicht möglich: {vehicle} überschritte die höchste Schichtdauer.",
    "disp.refuse.stop_locked": "Nicht möglich: der Halt ist auf {vehicle} gesperrt.",
    "disp.refuse.tour_started": "Nicht möglich: {vehicle} ist schon unterwegs (Halt {seq} gemeldet).",
    "disp.refuse.plan_past": "Nicht möglich: der Plan gehört zu einem vergangenen Tag.",
    "disp.refuse.plan_not_done": "Nicht möglich: der Plan ist noch nicht fertig.",
    "disp.refuse.wrong_fraction": "Nicht möglich: {vehicle} sammelt eine andere Fraktion.",
    "disp.refuse.no_access": "Nicht möglich: {vehicle} kann diesen Behälter nicht anfahren.",
    "disp.refuse.other": "Nicht möglich ({code}).",
    "disp.print": "Touren drucken",
    "disp.print.title": "Tour {vehicle} · {date}",
    "disp.print.seq": "Nr.",
    "disp.print.eta": "Zeit",
    "disp.print.container": "Behälter",
    "disp.print.type": "Behältertyp",
    "disp.print.what": "Art",
    "disp.print.load": "Ladung (m³)",
    "disp.print.kind.start": "Abfahrt Betriebshof",
    "disp.print.kind.stop": "Leeren",
    "disp.print.kind.facility": "Entladen",
    "disp.print.kind.break": "Pause",
    "disp.print.kind.end": "Rückkehr Betriebshof",
    "disp.alerts.age": "seit {age}",
    "disp.alerts.confirm": "Brandalarm wirklich schließen?",
    "disp.alerts.confirmYes": "Ja, schließen",
    "disp.alerts.confirmNo": "Abbrechen",
    "disp.age.minutes": "{n} min",
    "disp.age.hours": "{n} h",
    "disp.age.days": "{n} Tagen",

    "drv.title": "Tour",
    "drv.login.title": "Fahrer – Anmeldung",
    "drv.login.text": "Melden Sie sich mit dem Schlüssel Ihres Fahrzeugs an. Er bleibt auf diesem Gerät gespeichert, damit die Tour auch ohne Netz weiterläuft.",
    "drv.header": "{vehicle} · {fraction}",
    "drv.progress": "{done} von {total} Behältern erledigt",
    "drv.next": "Nächster Halt",
    "drv.selected": "Ausgewählter Halt",
    "drv.stop": "Halt {seq}",
    "drv.eta": "geplant {time} Uhr",
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
    // what the server says as codes with numbers (issue 14: German throughout)
    "role.admin": "Administration",
    "role.dispatcher": "Disposition",
    "role.driver": "Fahrer",
    "role.gateway": "Sensor-Gateway",
    "access.standard": "Standard",
    "access.narrow": "enge Zufahrt",
    "access.crane": "Kran",
    "vehicle.label": "{plate} · {kind}",
    "vehicle.standard": "Hecklader",
    "vehicle.narrow": "Kleinfahrzeug",
    "vehicle.crane": "Kranfahrzeug",
    "container.wheelie": "Großbehälter {volume} l",
    "container.underground": "Unterflurbehälter {volume} l",
    "container.glass-bank": "Glascontainer {volume} l",
    "container.litter": "Abfallkorb {volume} l",
    "container.other": "Behälter {volume} l",
    "alertDetail.temperature": "Temperatur {temperature_c} °C",
    "alertDetail.tilt": "um {tilt_deg}° geneigt",
    "alertDetail.battery_low": "Batterie bei {battery_pct} %",
    "alertDetail.no_reading_since": "Sensor {device_id}: kein Messwert seit {since}",
    "alertDetail.no_reading_yet": "Sensor {device_id}: noch kein Messwert",
    "alertDetail.overflow_expected": "voraussichtlich {fill_pct} % voll in {hours} h",
    "alertDetail.other": "Hinweis des Sensors ({code})",
    "why.must_threshold": "Pflicht: Prognose {fill_pct} % beim Besuch, Schwelle {threshold_pct} %.",
    "why.must_overflow_next": "Pflicht: Prognose {fill_pct} % beim Besuch, aber {next_fill_pct} % bis zum nächsten Planungstag ({next_day}): er liefe vorher über.",
    "why.must_overflow_risk": "Pflicht: Prognose {fill_pct} %; bis {next_day} zu warten hieße {overflow_pct} % Überlaufrisiko (Grenze {risk_pct} %).",
    "why.must_fixed_round": "Pflicht: heute an der Reihe (feste Tour).",
    "why.must_with_round": "Pflicht: Prognose {fill_pct} %, sicher nur bis {until_day}; ein Fahrzeug fährt heute ohnehin und nimmt ihn mit, damit es nicht eigens wiederkommen muss.",
    "why.must_before_next_round": "Pflicht: Prognose {fill_pct} %, sicher nur bis {until_day}, vor der nächsten Tour seiner Fraktion am {round_day}.",
    "why.skip_no_round_today": "Nicht fällig: Prognose {fill_pct} %; heute keine Tour seiner Fraktion, und er kann bis {next_day} warten.",
    "why.may_unknown": "Optional: keine Messwerte und keine ähnlichen Behälter zum Schätzen; eine Anfahrt würde es klären.",
    "why.may_near_threshold": "Optional: Prognose {fill_pct} % beim Besuch, weniger als {margin_pct} % unter der Schwelle von {threshold_pct} %; {overflow_pct} % Überlaufrisiko bis {next_day}.",
    "why.may_overflow_risk": "Optional: Prognose {fill_pct} % beim Besuch, aber {overflow_pct} % Überlaufrisiko bis {next_day}.",
    "why.may_due_soon": "Optional: Prognose {fill_pct} %, fällig bis {after_day} ({overflow_pct} % Überlaufrisiko, wenn er so lange wartet); lohnt sich, wenn ein Fahrzeug vorbeikommt.",
    "why.skip_not_due": "Nicht fällig: Prognose {fill_pct} % beim Besuch, {next_fill_pct} % bis {next_day}.",
    "why.skip_can_wait": "Nicht fällig: Prognose {fill_pct} %, kann warten ({overflow_pct} % Überlaufrisiko bis {after_day}).",
    "why.may_early": "Optional: Prognose {fill_pct} %, kann bis {until_day} warten ({due_fill_pct} % bis dahin); Wert {prize}, wenn ein Fahrzeug vorbeikommt.",
    "why.skip_too_early": "Nicht fällig: Prognose {fill_pct} %, kann bis {until_day} warten ({due_fill_pct} % bis dahin).",
    "why.skip_fixed_round": "Nicht fällig: heute nicht an der Reihe (feste Tour).",
    "why.skip_below_threshold": "Nicht fällig: Prognose {fill_pct} %, unter der Schwelle von {threshold_pct} %.",
    "why.other": "Entscheidung der Auswahl ({code}).",
    "why.legacy.must": "Pflicht (vor der Umstellung auf Codes geplant).",
    "why.legacy.may": "Optional (vor der Umstellung auf Codes geplant).",
    "why.sensor": " Sensor auffällig ({flags}); die Prognose nutzt {source}.",
    "why.event": " Angekündigt: {names} (×{factor}).",
    "rate.similar": "die mittlere Füllrate ähnlicher Behälter",
    "rate.history": "die frühere Füllrate dieses Behälters",
    "rate.default": "eine Standard-Füllrate",
    "rate.none": "keine Füllrate",
    "rate.sensor": "die eigenen Messwerte",
    "drop.optional_not_worth": "Ausgelassen: ihn mitzunehmen wäre ein Umweg, der mehr kostet als sein Wert ({prize}).",
    "drop.capacity": "Ausgelassen: die Fahrzeuge können nicht alle Pflicht-Behälter aufnehmen.",
    "drop.no_time_left": "Ausgelassen: kein Fahrzeug hatte in seiner Schicht noch Zeit dafür.",
    "drop.no_compatible_vehicle": "Ausgelassen: kein Fahrzeug kann ihn anfahren ({access_class}).",
    "drop.time_window_unreachable": "Ausgelassen: kein Fahrzeug erreicht ihn im Abholzeitfenster.",
    "drop.other": "Ausgelassen von der Tourenplanung ({code}).",
    "note.no_vehicle_for_fraction": "Kein Fahrzeug sammelt {fraction}; {must_l} l Pflicht-Volumen lassen sich nicht planen.",
    "note.volume_exceeds_fleet": "Das Pflicht-Volumen {fraction} von {must_l} l übersteigt, was {vehicles} Fahrzeuge mit {trips_max} Entladefahrt(en) je Schicht fassen: {can_l} l.",
    "note.service_exceeds_shifts": "Die Pflicht-Behälter {fraction} brauchen allein {work_h} h zum Leeren, mehr als die {shift_h} h von {vehicles} Schichten.",
    "note.no_compatible_vehicle": "{stops} Pflicht-Behälter kann kein Fahrzeug anfahren.",
    "note.time_window_unreachable": "{stops} Pflicht-Behälter sind in ihren Abholzeitfenstern nicht erreichbar.",
    "note.stop_too_large": "{stops} Pflicht-Behälter sind größer als jedes passende Fahrzeug.",
    "note.shifts_too_short": "{stops} von {must_go} Pflicht-Behältern passen nicht in die Schichten von {vehicles} Fahrzeugen ({used} eingesetzt); ein Fahrzeug mehr oder längere Schichten helfen.",
    "note.other": "Hinweis der Planung ({code}).",
    "note.legacy": "Nicht alle Pflicht-Behälter konnten eingeplant werden.",
    "disp.plan.error.date": "Dieser Tag kann nicht geplant werden: erlaubt ist {earliest} bis {latest}.",
    "disp.plan.error.timeLimit": "Die Rechenzeit muss über 0 und höchstens {max_time_limit_s} s sein.",
    "disp.plan.error.queue": "Für Ihre Stadt laufen schon {active_jobs} Planungen (höchstens {max_active_jobs}); bitte warten.",
    "disp.plan.failedPlain": "Die Planung ist fehlgeschlagen. Technische Meldung:",
    "map.zoomIn": "Vergrößern",
    "map.zoomOut": "Verkleinern",
    "map.closePopup": "Schließen",
    "map.library": "Kartenbibliothek Leaflet",
    "map.label": "Karte",
    "drv.reject.event_in_future": "Zeitpunkt {occurred_at} liegt in der Zukunft (Server: {server_time}); bitte die Uhr des Geräts prüfen.",
    "drv.reject.event_too_old": "Zeitpunkt {occurred_at} liegt mehr als {max_age_h} h zurück (Server: {server_time}); bitte die Uhr des Geräts prüfen.",
    "drv.reject.not_found": "Dieser Halt gehört nicht (mehr) zu Ihrer Tour.",
    "drv.reject.conflict": "Diese Meldung wurde schon für einen anderen Halt verwendet.",
    "drv.reject.invalid_input": "Die Meldung ist unvollständig oder ungültig.",
    "drv.reject.other": "Vom Server abgelehnt ({code}).",
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
    "disp.plan.none": "There is no finished plan for {fraction} yet.",
    "disp.plan.next": "Next plan: {day}",
    "disp.plan.header": "Plan {id} · {date} · {fraction}",
    "disp.plan.summary": "{routes} · {km} km · {hours} h · {bins} containers",
    "disp.plan.policy.dynamic": "by fill level, overflow risk {risk}",
    "disp.plan.policy.threshold": "from {threshold} full",
    "disp.plan.policy.fixed": "fixed rounds",
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
    "disp.popup.stop": "Route {vehicle}, stop {seq}, ETA {eta} – {status}",
    "disp.hours": "{value} h",
    "disp.days": "{value} days",
    "disp.depot": "Start/end",
    "disp.settings.tiles": "Map tiles (URL, optional)",
    "disp.settings.tilesHint": "e.g. https://tiles.example.org/{z}/{x}/{y}.png – empty: plain background",
    "disp.settings.save": "Apply",

    // dispatcher: plans of a day, why not planned, fill history, moving and locking, print, alerts
    "disp.day.plans": "Plans of this day",
    "disp.day.none": "There is no plan for this day yet.",
    "disp.day.item": "Plan {id} · {who} · {time} · {status}",
    "disp.day.unknown": "unknown",
    "disp.day.shown": "shown",
    "disp.day.yesterday": "yesterday",
    "disp.unplanned.title": "Why not planned?",
    "disp.unplanned.none": "Every container that is full soon is on a route.",
    "disp.unplanned.soon": "full soon",
    "disp.unplanned.not_in_plan": "Not considered when planning (new or inactive); plan again.",
    "disp.unplanned.not_due": "Not due when planned: forecast {forecast} % at the visit, threshold {threshold} %; can wait until {next}.",
    "disp.unplanned.can_wait": "Postponed: optional ({forecast} %), not worth the detour today; can wait until {next}.",
    "disp.unplanned.capacity": "Left out: the trucks have no capacity left.",
    "disp.unplanned.shift": "Left out: does not fit into the shifts.",
    "disp.unplanned.time_window": "Left out: collection time window cannot be reached.",
    "disp.unplanned.no_access": "Left out: no truck can reach this container (access).",
    "disp.unplanned.dropped": "Left out by the route planner.",
    "disp.history.title": "Fill over the last 7 days",
    "disp.history.none": "No readings in the last 7 days.",
    "disp.history.loading": "Loading history …",
    "disp.edit.move": "Move to route",
    "disp.edit.moveButton": "Move",
    "disp.edit.lock": "Lock to this route",
    "disp.edit.unlock": "Unlock",
    "disp.edit.locked": "locked",
    "disp.edit.done": "Route recalculated.",
    "disp.refuse.capacity_volume": "Not possible: trip {trip} of {vehicle} would carry {load_l} l, {capacity_l} l allowed.",
    "disp.refuse.capacity_mass": "Not possible: trip {trip} of {vehicle} would carry {load_kg} kg, {capacity_kg} kg allowed.",
    "disp.refuse.time_window": "Not possible: {vehicle} would arrive after the collection window.",
    "disp.refuse.shift_end": "Not possible: {vehicle} would be back after the shift ends.",
    "disp.refuse.max_duration": "Not possible: {vehicle} would exceed the maximum shift length.",
    "disp.refuse.stop_locked": "Not possible: the stop is locked to {vehicle}.",
    "disp.refuse.tour_started": "Not possible: {vehicle} has started (stop {seq} reported).",
    "disp.refuse.plan_past": "Not possible: the plan belongs to a past day.",
    "disp.refuse.plan_not_done": "Not possible: the plan is not finished yet.",
    "disp.refuse.wrong_fraction": "Not possible: {vehicle} collects another fraction.",
    "disp.refuse.no_access": "Not possible: {vehicle} cannot reach this container.",
    "disp.refuse.other": "Not possible ({code}).",
    "disp.print": "Print routes",
    "disp.print.title": "Route {vehicle} · {date}",
    "disp.print.seq": "No.",
    "disp.print.eta": "Time",
    "disp.print.container": "Container",
    "disp.print.type": "Type",
    "disp.print.what": "Task",
    "disp.print.load": "Load (m³)",
    "disp.print.kind.start": "Leave depot",
    "disp.print.kind.stop": "Empty",
    "disp.print.kind.facility": "Unload",
    "disp.print.kind.break": "Break",
    "disp.print.kind.end": "Back to depot",
    "disp.alerts.age": "for {age}",
    "disp.alerts.confirm": "Really close this fire alert?",
    "disp.alerts.confirmYes": "Yes, close",
    "disp.alerts.confirmNo": "Cancel",
    "disp.age.minutes": "{n} min",
    "disp.age.hours": "{n} h",
    "disp.age.days": "{n} days",

    "drv.title": "Route",
    "drv.login.title": "Driver – log in",
    "drv.login.text": "Log in with your vehicle's key. It stays on this device so that the route keeps working without network.",
    "drv.header": "{vehicle} · {fraction}",
    "drv.progress": "{done} of {total} containers done",
    "drv.next": "Next stop",
    "drv.selected": "Selected stop",
    "drv.stop": "Stop {seq}",
    "drv.eta": "planned {time}",
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
    // what the server says as codes with numbers (issue 14: German throughout)
    "role.admin": "administration",
    "role.dispatcher": "dispatch",
    "role.driver": "driver",
    "role.gateway": "sensor gateway",
    "access.standard": "standard",
    "access.narrow": "narrow access",
    "access.crane": "crane",
    "vehicle.label": "{plate} · {kind}",
    "vehicle.standard": "rear loader",
    "vehicle.narrow": "small truck",
    "vehicle.crane": "crane truck",
    "container.wheelie": "wheelie bin {volume} L",
    "container.underground": "underground container {volume} L",
    "container.glass-bank": "glass bank {volume} L",
    "container.litter": "litter bin {volume} L",
    "container.other": "container {volume} L",
    "alertDetail.temperature": "temperature {temperature_c} °C",
    "alertDetail.tilt": "tilted {tilt_deg}°",
    "alertDetail.battery_low": "battery at {battery_pct} %",
    "alertDetail.no_reading_since": "sensor {device_id}: no reading since {since}",
    "alertDetail.no_reading_yet": "sensor {device_id}: no reading yet",
    "alertDetail.overflow_expected": "expected {fill_pct} % full within {hours} h",
    "alertDetail.other": "sensor notice ({code})",
    "why.must_threshold": "Must go: forecast {fill_pct} % at the visit, threshold {threshold_pct} %.",
    "why.must_overflow_next": "Must go: forecast {fill_pct} % at the visit, but {next_fill_pct} % by the next planning day ({next_day}): it would overflow before then.",
    "why.must_overflow_risk": "Must go: forecast {fill_pct} %; waiting until {next_day} would risk an overflow ({overflow_pct} %, limit {risk_pct} %).",
    "why.must_fixed_round": "Must go: due on its fixed round today.",
    "why.must_with_round": "Must go: forecast {fill_pct} %, safe only until {until_day}; a truck goes today anyway, so it comes along and the truck need not come back for it.",
    "why.must_before_next_round": "Must go: forecast {fill_pct} %, safe only until {until_day}, before its fraction's next round on {round_day}.",
    "why.skip_no_round_today": "Skip: forecast {fill_pct} %; no round of its fraction today, and it can wait until {next_day}.",
    "why.may_unknown": "May go: no readings and no similar containers to estimate from; a visit would check it.",
    "why.may_near_threshold": "May go: forecast {fill_pct} % at the visit, within {margin_pct} % of the {threshold_pct} % threshold; {overflow_pct} % chance of overflow by {next_day}.",
    "why.may_overflow_risk": "May go: forecast {fill_pct} % at the visit, but a {overflow_pct} % chance of overflow by {next_day}.",
    "why.may_due_soon": "May go: forecast {fill_pct} %, due by {after_day} ({overflow_pct} % overflow risk if it waits that long); worth it if a truck passes nearby.",
    "why.skip_not_due": "Not due: forecast {fill_pct} % at the visit, {next_fill_pct} % by {next_day}.",
    "why.skip_can_wait": "Not due: forecast {fill_pct} %, can wait ({overflow_pct} % overflow risk by {after_day}).",
    "why.may_early": "May go: forecast {fill_pct} %, can wait until {until_day} ({due_fill_pct} % by then); worth {prize} if a truck passes nearby.",
    "why.skip_too_early": "Not due: forecast {fill_pct} %, can wait until {until_day} ({due_fill_pct} % by then).",
    "why.skip_fixed_round": "Not due on its fixed round today.",
    "why.skip_below_threshold": "Not due: forecast {fill_pct} %, below the {threshold_pct} % threshold.",
    "why.other": "Selection decision ({code}).",
    "why.legacy.must": "Must go (planned before codes were stored).",
    "why.legacy.may": "May go (planned before codes were stored).",
    "why.sensor": " Sensor flagged ({flags}); the forecast uses {source}.",
    "why.event": " Announced: {names} (×{factor}).",
    "rate.similar": "the median rate of similar containers",
    "rate.history": "this container's earlier rate",
    "rate.default": "a default rate",
    "rate.none": "no rate at all",
    "rate.sensor": "its own readings",
    "drop.optional_not_worth": "Left out: collecting it is a detour that costs more than its value ({prize}).",
    "drop.capacity": "Left out: the trucks cannot carry every must-go container.",
    "drop.no_time_left": "Left out: no truck had time left in its shift for it.",
    "drop.no_compatible_vehicle": "Left out: no truck can reach it ({access_class}).",
    "drop.time_window_unreachable": "Left out: no truck reaches it within its collection window.",
    "drop.other": "Left out by the route planner ({code}).",
    "note.no_vehicle_for_fraction": "No truck collects {fraction}; {must_l} L of must-go volume cannot be planned.",
    "note.volume_exceeds_fleet": "The must-go {fraction} volume of {must_l} L exceeds what {vehicles} trucks with {trips_max} disposal trip(s) per shift can carry: {can_l} L.",
    "note.service_exceeds_shifts": "The must-go {fraction} containers need {work_h} h of emptying alone, more than the {shift_h} h of {vehicles} shifts.",
    "note.no_compatible_vehicle": "{stops} must-go containers cannot be reached by any truck.",
    "note.time_window_unreachable": "{stops} must-go containers cannot be reached within their collection windows.",
    "note.stop_too_large": "{stops} must-go containers are larger than any suitable truck.",
    "note.shifts_too_short": "{stops} of {must_go} must-go containers do not fit into the shifts of {vehicles} trucks ({used} used); add a truck or lengthen the shifts.",
    "note.other": "Planner's note ({code}).",
    "note.legacy": "Not every must-go container could be planned.",
    "disp.plan.error.date": "This day cannot be planned: {earliest} to {latest} is allowed.",
    "disp.plan.error.timeLimit": "The solver time must be above 0 and at most {max_time_limit_s} s.",
    "disp.plan.error.queue": "Your city already has {active_jobs} plans running (at most {max_active_jobs}); please wait.",
    "disp.plan.failedPlain": "Planning failed. Technical message:",
    "map.zoomIn": "Zoom in",
    "map.zoomOut": "Zoom out",
    "map.closePopup": "Close",
    "map.library": "Leaflet map library",
    "map.label": "Map",
    "drv.reject.event_in_future": "Time {occurred_at} lies in the future (server: {server_time}); please check the device's clock.",
    "drv.reject.event_too_old": "Time {occurred_at} lies more than {max_age_h} h back (server: {server_time}); please check the device's clock.",
    "drv.reject.not_found": "This stop is not (or no longer) on your route.",
    "drv.reject.conflict": "This report was already used for another stop.",
    "drv.reject.invalid_input": "The report is incomplete or invalid.",
    "drv.reject.other": "Refused by the server ({code}).",
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
  return fraction == null ? "–" : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(fraction);
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

// ---------------------------------------------------------------------------------------------------
// What the server says as a code with its numbers (``params``), in the page's language. A number is
// formatted by the unit in its name (the API's convention): *_pct, *_l, *_kg, *_c, *_deg, *_h, *_min;
// *_day and service_date are ISO dates, *_at, *_time and since ISO times; fraction, access_class,
// rate_source and sensor flags are codes of their own.

function formatParam(name, value) {
  if (value == null) return "–";
  if (Array.isArray(value)) return value.map((v) => formatParam(name, v)).join(", ");
  if (typeof value === "number") {
    if (name.endsWith("_pct")) return num(value, Math.abs(value) < 10 && value % 1 ? 1 : 0);
    if (name.endsWith("_c") || name.endsWith("_h")) return num(value, 1);
    return num(value, name.endsWith("_l") || name.endsWith("_kg") || name === "prize" ? 0 : 2);
  }
  if (typeof value !== "string") return String(value);
  if (name === "fraction") return t(`fraction.${value}`);
  if (name === "access_class") return t(`access.${value}`);
  if (name === "flags") return t(`health.${value}`);
  if (name === "rate_source") return t(`rate.${value}`);
  if ((name.endsWith("_day") || name === "service_date" || name === "earliest" || name === "latest") && /^\d{4}-\d{2}-\d{2}$/.test(value)) return day(value);
  if ((name.endsWith("_at") || name.endsWith("_time") || name === "since") && !Number.isNaN(Date.parse(value))) {
    return new Date(value).toLocaleString(locale(), { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  return value;
}

export function formatParams(params = {}) {
  const out = {};
  for (const [name, value] of Object.entries(params || {})) out[name] = formatParam(name, value);
  return out;
}

// ``prefix.code`` with ``params`` (formatted), ``extra`` (already text) on top; ``prefix.other`` when
// the code is unknown to this page (a newer server).
export function say(prefix, code, params = {}, extra = {}) {
  const key = `${prefix}.${code}`;
  if (!(key in STRINGS.de)) return t(`${prefix}.other`, { code });
  const vars = { ...formatParams(params), ...extra };
  const template = STRINGS[lang()][key] ?? STRINGS.de[key];
  for (const [, name] of template.matchAll(/\{(\w+)\}/g)) if (!(name in vars)) vars[name] = "–"; // a number the server did not send
  return t(key, vars);
}

// The selection's decision on a container, with the sensor's state when it was flagged and the
// announced events that raised its forecast.
export function selectionText(code, params = {}) {
  let text = say("why", code, params);
  const sensor = params && params.sensor;
  if (sensor) text += t("why.sensor", { flags: formatParam("flags", sensor.flags || []), source: formatParam("rate_source", sensor.rate_source) });
  const event = params && params.event;
  if (event) text += t("why.event", { names: (event.names || []).join(", "), factor: num(event.factor, 1) });
  return text;
}

// A truck as drivers and dispatchers know it: its fleet number or plate and its kind.
export function vehicleLabel(v) {
  const plate = v.vehicle_external_id || v.vehicle_name || "";
  const kind = `vehicle.${v.vehicle_access_class || "standard"}`;
  return key(kind) ? t("vehicle.label", { plate, kind: t(kind) }) : plate;
}

// A container type by its code (family-volume, e.g. wheelie-1100), with ``volumeL`` when the code
// carries no volume; an unknown family is a "container" of its volume.
export function containerLabel(code, volumeL = null) {
  const m = /^([a-z][a-z-]*?)-(\d+)$/.exec(code || "");
  const volume = m ? Number(m[2]) : volumeL;
  if (volume == null) return code || "";
  const family = m ? `container.${m[1]}` : "container.other";
  return t(key(family) ? family : "container.other", { volume: num(volume, 0) });
}

function key(name) {
  return name in STRINGS.de;
}
