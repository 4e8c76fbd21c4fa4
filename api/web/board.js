// The board: live over Server-Sent Events, French first with an English switch, phone
// first. A logged-in member books in two taps (the first asks the API what it would
// book: the real start-end, and why it is shorter), sees and cancels their bookings
// (check-ins, released no-shows and why), and gets their private calendar URL.
// Refusals are the API's own sentences, asked in the board's language (Accept-Language).
// The floor plan and the day view are in board-views.js.
"use strict";
const T = {
  fr: {title: "La Station — salles libres maintenant", email: "E-mail", password: "Mot de passe", login: "Se connecter",
       logout: "Se déconnecter", filters: "Filtres", site: "Site", kind: "Type", all: "Tous", space: "Espace",
       status: "État", booking: "Réserver", air: "Air et présence", caption: "Espaces et disponibilité",
       free: "Libre", occupied: "Occupée", reserved: "Réservée", unknown: "Inconnu", until: "jusqu'à",
       book: "Réserver 1 h", confirm: "Confirmer", confirmLabel: (name, span) => `Confirmer la réservation de ${name}, ${span}`,
       booked: "Réservé", failed: "Réservation impossible", connected: "En direct", reconnecting: "Reconnexion…",
       hello: "Connecté·e :", loginFailed: "Connexion refusée", switchTo: "Switch to English", langButton: "English",
       good: "bon", fair: "moyen", poor: "mauvais", mine: "Mes réservations", upcoming: "À venir", past: "Passées",
       tapBadge: "Présenter mon badge", tapping: "Badge présenté…", opened: "Porte ouverte", refused: "Porte refusée",
       checkedIn: "badgée à", noShow: (t) => `libérée à ${t} : personne n'a badgé dans le quart d'heure`,
       cancelled: "annulée", released: "libérée", confirmed: "confirmée", cancel: "Annuler",
       cancelLabel: (what) => `Annuler la réservation ${what}`, cancelledMsg: "Réservation annulée",
       people: (n) => `≈ ${n} personne${n > 1 ? "s" : ""}`, seats: (n) => `${n} place${n > 1 ? "s" : ""} libre${n > 1 ? "s" : ""}`,
       zone: "Heures de Paris", skip: "Aller aux salles", rooms: "Salles", loginHint: "Connectez-vous pour réserver.",
       navRooms: "Salles", navPlan: "Plan", navDay: "Journée", navMine: "Mes réservations", navMachines: "Machines", plan: "Plan de la gare",
       otherSites: "Mini-stations et Fab Bus", day: "Journée", date: "Jour", calendarShow: "Mon calendrier (iCal)",
       calendarUrl: "Adresse privée à ajouter dans votre application de calendrier",
       calendarRotate: "Nouvelle adresse (l'ancienne cesse)", calendarRotated: "Nouvelle adresse de calendrier : l'ancienne ne marche plus",
       legendMine: "ma réservation", legendBusy: "réservé", legendBlocked: "fermé / programmé", legendOccupied: "présence",
       zoneLabel: "heure de Paris", none: "Aucune", sessionExpired: "Session expirée, reconnectez-vous", navData: "Mes données", noticeMore: "Vos données et vos droits",
       noticeShort: document.body.dataset.noticeFr,
       kinds: {fablab: "Fab lab", coworking: "Coworking", meeting: "Réunion", ticket_office: "Billetterie", shop: "Boutique", venue: "Salle de spectacle"}},
  en: {title: "La Station — rooms free now", email: "Email", password: "Password", login: "Log in", logout: "Log out",
       filters: "Filters", site: "Site", kind: "Kind", all: "All", space: "Space", status: "Status", booking: "Book",
       air: "Air and presence", caption: "Spaces and availability", free: "Free", occupied: "Occupied",
       reserved: "Reserved", unknown: "Unknown", until: "until", book: "Book 1 h", confirm: "Confirm",
       confirmLabel: (name, span) => `Confirm booking ${name}, ${span}`, booked: "Booked", failed: "Booking refused",
       connected: "Live", reconnecting: "Reconnecting…", hello: "Logged in:", loginFailed: "Login refused",
       switchTo: "Passer en français", langButton: "Français", good: "good", fair: "fair", poor: "poor",
       mine: "My bookings", upcoming: "Upcoming", past: "Past", tapBadge: "Tap my badge", tapping: "Badge presented…",
       opened: "Door opened", refused: "Door refused", checkedIn: "checked in at",
       noShow: (t) => `released at ${t}: nobody badged in within a quarter of an hour`, cancelled: "cancelled",
       released: "released", confirmed: "confirmed", cancel: "Cancel", cancelLabel: (what) => `Cancel booking ${what}`,
       cancelledMsg: "Booking cancelled", people: (n) => `≈ ${n} ${n === 1 ? "person" : "people"}`,
       seats: (n) => `${n} seat${n === 1 ? "" : "s"} free`, zone: "Paris time", skip: "Skip to the rooms",
       rooms: "Rooms", loginHint: "Log in to book.", navRooms: "Rooms", navPlan: "Plan", navDay: "Day",
       navMine: "My bookings", navMachines: "Machines", plan: "Station floor plan", otherSites: "Mini-stations and the Fab Bus", day: "Day",
       date: "Date", calendarShow: "My calendar (iCal)", calendarUrl: "Private address to add to your calendar app",
       calendarRotate: "New address (the old one stops)", calendarRotated: "New calendar address: the old one no longer works",
       legendMine: "my booking", legendBusy: "booked", legendBlocked: "closed / programme", legendOccupied: "presence",
       zoneLabel: "Paris time", sessionExpired: "Session expired, please log in again", none: "None", navData: "My data", noticeMore: "Your data and your rights",
       noticeShort: document.body.dataset.noticeEn,
       kinds: {fablab: "Fab lab", coworking: "Coworking", meeting: "Meeting room", ticket_office: "Ticket office", shop: "Shop", venue: "Venue"}},
};
let lang = localStorage.getItem("station.lang") || "fr";
let token = localStorage.getItem("station.token");
const demo = document.body.dataset.demo === "true";
const taps = new Map();  // tap id -> room id, waiting for the door's answer
const rooms = new Map();  // id -> last known room (status, free_until, co2_ppm, people, seats_free…)
const tz = document.body.dataset.tz;
const hooks = {room: [], refresh: [], language: [], session: []};  // board-views.js listens here
let live = null;  // "connected" or "reconnecting", shown translated
let serverOffset = 0;  // the server's clock minus this device's (ms): "now" is the server's
const $ = (sel) => document.querySelector(sel);
const t = () => T[lang];

function serverNow() { return Date.now() + serverOffset; }
function hhmm(iso) {
  return new Date(iso).toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB", {hour: "2-digit", minute: "2-digit", timeZone: tz});
}
function dayText(iso) {
  return new Date(iso).toLocaleDateString(lang === "fr" ? "fr-FR" : "en-GB", {weekday: "short", day: "numeric", month: "short", timeZone: tz});
}
function span(start, end) { return `${hhmm(start)}–${hhmm(end)} (${t().zoneLabel})`; }
function co2Level(ppm) { return ppm < 800 ? "good" : ppm < 1200 ? "fair" : "poor"; }
function roomName(id) { return (document.querySelector(`tr[data-room="${id}"] .name`) || {}).textContent || id; }
function authHeaders(json) {
  const h = {"Accept-Language": lang};
  if (json) h["Content-Type"] = "application/json";
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}
// A list rebuilt while a keyboard user is in it (a refresh after an event) must not drop
// the focus to <body>: note what had it (its id, or its row's key and its class) before,
// and give it to the same control in the new content after.
function focusKey(container) {
  const a = document.activeElement;
  if (!a || a === container || !container.contains(a)) return null;
  if (a.id) return `#${CSS.escape(a.id)}`;
  const item = a.closest("[data-booking], [data-machine], [data-room]");
  if (!item) return null;
  const [name, value] = item.dataset.booking != null ? ["booking", item.dataset.booking]
    : item.dataset.machine != null ? ["machine", item.dataset.machine] : ["room", item.dataset.room];
  const cls = [...a.classList].filter((c) => c !== "confirm").map((c) => `.${CSS.escape(c)}`).join("");
  return `[data-${name}="${CSS.escape(value)}"] ${a.tagName.toLowerCase()}${cls}`;
}

function restoreFocus(container, key) {
  const again = key && container.querySelector(key);
  if (again && document.activeElement !== again) again.focus();
}

function say(text, focus) {  // the message sits at the bottom of the screen, where the thumb is
  const m = $("#message");
  m.textContent = text;
  m.classList.toggle("shown", Boolean(text));
  if (focus && text) m.focus();
}
function expired(body) {  // the token ran out or was revoked elsewhere: back to the login form, saying why
  if (!token) return;
  say(`${t().sessionExpired} (${reason(body, 401)})`, false);
  logout();  // the e-mail field takes the focus
  refresh();  // the board goes on, as a visitor's
}
async function answered(r) {  // true when the API accepted the session; a 401 ends it
  if (r && r.status === 401 && token) { expired(await r.clone().json().catch(() => ({}))); return false; }
  return true;
}
function reason(body, status) {  // the server's own sentence, whatever the shape of detail
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d) && d.length) return d.map((e) => e.msg).join(" ");
  return String(status);
}

function render(id) {
  const row = document.querySelector(`tr[data-room="${id}"]`);
  const room = rooms.get(id);
  if (!row || !room) return;
  row.className = `status-${room.status}`;
  row.dataset.status = room.status;
  let status = t()[room.status] + (room.free_until ? ` ${t().until} ${hhmm(room.free_until)}` : "");
  if (room.seats_free != null) status += ` · ${t().seats(room.seats_free)}`;
  row.querySelector(".status").textContent = status;
  const co2 = row.querySelector(".co2");
  const parts = [];
  if (room.co2_ppm != null) {
    const level = co2Level(room.co2_ppm);
    co2.className = `co2 co2-${level}`;
    parts.push(`<span class="dot" aria-hidden="true"></span>${Math.round(room.co2_ppm)} ppm <span class="sr">(${t()[level]})</span>`);
  } else { co2.className = "co2"; parts.push("—"); }
  if (room.people_estimate != null) parts.push(`<span class="people">${t().people(Math.round(room.people_estimate))}</span>`);
  co2.innerHTML = parts.join(" ");
  renderBook(row, room);
  for (const f of hooks.room) f(id, room);
}

function canBook(row, room) {
  if (!token || row.dataset.bookable !== "true") return false;
  if (room.booking === "seat") return room.seats_free == null || room.seats_free > 0;  // free seats: bookable even when occupied
  return room.status === "free" || room.status === "unknown";
}

function renderBook(row, room) {
  const cell = row.querySelector(".book");
  const mine = token && room.next_booking && room.next_booking.mine;
  if (demo && mine && room.doors && room.doors.length) { renderTap(row, room, cell); return; }
  if (!canBook(row, room)) { cell.replaceChildren(); return; }
  if (cell.querySelector("button.book-button")) return;  // keep a pending confirmation
  const button = document.createElement("button");
  button.type = "button";
  button.className = "book-button";
  button.textContent = t().book;
  button.setAttribute("aria-label", `${t().book} — ${roomName(row.dataset.room)}`);
  const note = document.createElement("span");
  note.className = "note";
  button.addEventListener("click", () => askOrBook(button, note, {space: row.dataset.room, duration_minutes: 60, fit: true}));
  cell.replaceChildren(button, note);
}

// First tap: what would be booked (preview); second tap: book exactly that.
async function askOrBook(button, note, body) {
  const name = roomName(body.space);
  if (button.getAttribute("aria-busy") === "true") return;
  if (!button.dataset.start) {
    button.dataset.label = button.textContent;
    button.setAttribute("aria-busy", "true");  // not disabled: a disabled button loses the keyboard's focus
    const r = await fetch("/api/v1/bookings/preview", {method: "POST", headers: authHeaders(true), body: JSON.stringify(body)}).catch(() => null);
    button.removeAttribute("aria-busy");
    if (!r) return;
    const p = await r.json().catch(() => ({}));
    if (r.status === 401) { expired(p); return; }
    if (!r.ok) { say(`${t().failed} : ${reason(p, r.status)}`, true); return; }
    button.dataset.start = p.start; button.dataset.end = p.end;
    button.classList.add("confirm");
    button.textContent = `${t().confirm} ${hhmm(p.start)}–${hhmm(p.end)}`;
    button.setAttribute("aria-label", t().confirmLabel(name, span(p.start, p.end)) + (p.note ? `. ${p.note}` : ""));
    note.textContent = p.note || "";
    return;
  }
  button.setAttribute("aria-busy", "true");
  const ok = await submitBooking({space: body.space, start: button.dataset.start, end: button.dataset.end,
                                  ...(body.attendees ? {attendees: body.attendees} : {})});
  button.removeAttribute("aria-busy");
  delete button.dataset.start; button.classList.remove("confirm");  // done either way: the views redraw
  if (!ok) {
             button.textContent = button.dataset.label || t().book; note.textContent = ""; }
}

async function submitBooking(body) {  // also what the tests drive to see each refusal's sentence
  const r = await fetch("/api/v1/bookings", {method: "POST", headers: authHeaders(true), body: JSON.stringify(body)}).catch(() => null);
  if (!r) return false;
  const b = await r.json().catch(() => ({}));
  if (r.status === 401) { expired(b); return false; }
  if (!r.ok) { say(`${t().failed} : ${reason(b, r.status)}`, true); return false; }
  say(`${t().booked}: ${roomName(b.space)} ${span(b.start, b.end)}`, true);
  const cell = document.querySelector(`tr[data-room="${b.space}"] .book`);
  if (cell) cell.replaceChildren();
  refresh();
  return true;
}

function renderTap(row, room, cell) {
  // station demo only: present the member's (simulated) badge at the space's door
  if (cell.querySelector("button.tap")) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tap";
  button.textContent = t().tapBadge;
  button.setAttribute("aria-label", `${t().tapBadge} — ${roomName(row.dataset.room)}`);
  button.addEventListener("click", () => presentBadge(row, room, button));
  cell.replaceChildren(button);
}

async function presentBadge(row, room, button) {
  const cards = await (await fetch("/api/v1/demo/cards", {headers: authHeaders(true)})).json().catch(() => ({cards: []}));
  if (!cards.cards || !cards.cards.length) return;
  button.disabled = true;
  say(t().tapping);
  const r = await fetch("/api/v1/demo/badge", {method: "POST", headers: authHeaders(true),
                                              body: JSON.stringify({door: room.doors[0], card_number: cards.cards[0]})});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { say(`${t().refused}: ${reason(body, r.status)}`, true); button.disabled = false; return; }
  taps.set(body.tap, row.dataset.room);
  setTimeout(() => pollTap(body.tap, button, 0), 300);  // the SSE stream usually answers first
}

async function pollTap(id, button, n) {
  if (!taps.has(id)) { button.disabled = false; return; }
  const r = await fetch(`/api/v1/demo/badge/${id}`).catch(() => null);
  const body = r && r.ok ? await r.json() : null;
  if (body && body.answered) { tapAnswered(body); button.disabled = false; return; }
  if (n < 20) setTimeout(() => pollTap(id, button, n + 1), 300); else button.disabled = false;
}

function tapAnswered(result) {
  const room = taps.get(result.tap);
  if (room === undefined) return;
  taps.delete(result.tap);
  say(result.granted ? `${t().opened} — ${roomName(room)}` : `${t().refused} — ${roomName(room)} (${result.reason || ""})`, true);
  refreshMine();
}

function bookingItem(b, now) {
  const li = document.createElement("li");
  const holding = b.status === "confirmed" || b.status === "checked_in";
  let state = t()[b.status] || b.status;
  if (b.status === "checked_in" && b.checked_in_at) state = `${t().checkedIn} ${hhmm(b.checked_in_at)}`;
  if (b.status === "no_show") { state = t().noShow(hhmm(b.ended_at || b.end)); li.className = "no_show"; }
  const what = `${roomName(b.space)}, ${dayText(b.start)} ${span(b.start, b.end)}`;
  const text = document.createElement("span");
  text.textContent = `${what} : ${state}`;
  li.append(text);
  li.dataset.booking = b.id; li.dataset.status = b.status;
  if (holding && new Date(b.end).getTime() > now) {
    const cancel = document.createElement("button");
    cancel.type = "button"; cancel.className = "secondary cancel";
    cancel.textContent = t().cancel;
    cancel.setAttribute("aria-label", t().cancelLabel(what));
    cancel.addEventListener("click", () => cancelBooking(b, cancel));
    li.append(cancel);
  }
  return li;
}

async function cancelBooking(b, button) {
  button.disabled = true;
  const r = await fetch(`/api/v1/bookings/${b.id}`, {method: "DELETE", headers: authHeaders()}).catch(() => null);
  const body = r ? await r.json().catch(() => ({})) : {};
  if (r && r.status === 401) { expired(body); return; }
  say(r && r.ok ? `${t().cancelledMsg} : ${roomName(b.space)} ${span(b.start, b.end)}` : `${t().failed} : ${reason(body, r && r.status)}`, true);
  refresh();
}

async function refreshMine() {
  if (!token) { $("#mine").hidden = true; return; }
  const r = await fetch("/api/v1/bookings", {headers: authHeaders()}).catch(() => null);
  if (!(await answered(r)) || !r || !r.ok) return;
  const now = serverNow();
  const list = (await r.json()).filter((b) => new Date(b.end).getTime() > now - 7 * 86400 * 1000);
  const holding = (b) => b.status === "confirmed" || b.status === "checked_in";
  const upcoming = list.filter((b) => holding(b) && new Date(b.end).getTime() > now);
  const past = list.filter((b) => !upcoming.includes(b)).reverse();
  for (const [ul, items] of [[$("#mine-list"), upcoming], [$("#past-list"), past]]) {
    const keep = focusKey(ul);
    ul.replaceChildren(...(items.length ? items.map((b) => bookingItem(b, now)) : [Object.assign(document.createElement("li"), {textContent: t().none, className: "none"})]));
    restoreFocus(ul, keep);
  }
  $("#mine").hidden = false;
}

function applyLanguage() {
  document.documentElement.lang = lang;
  document.title = t().title;
  for (const el of document.querySelectorAll("[data-i18n]")) if (typeof t()[el.dataset.i18n] === "string") el.textContent = t()[el.dataset.i18n];
  for (const opt of document.querySelectorAll("#kind-filter option[value]")) if (opt.value) opt.textContent = t().kinds[opt.value];
  for (const row of document.querySelectorAll("tr[data-room]")) {
    row.querySelector(".kind").textContent = t().kinds[row.dataset.kind];
    row.querySelector(".book").replaceChildren();
  }
  $("#views").setAttribute("aria-label", lang === "fr" ? "Vues" : "Views");
  $("#lang").textContent = t().langButton;
  $("#lang").setAttribute("aria-label", t().switchTo);
  setLive(live);
  for (const id of rooms.keys()) render(id);
  for (const f of hooks.language) f();
}

function applyFilters() {
  const site = $("#site-filter").value, kind = $("#kind-filter").value;
  for (const el of document.querySelectorAll("tr[data-room], li[data-day-room]")) {
    el.hidden = Boolean((site && el.dataset.site !== site) || (kind && el.dataset.kind !== kind));
  }
}

async function refresh() {
  try {
    const r = await fetch("/api/v1/rooms", {headers: authHeaders()});
    if (!(await answered(r))) return;  // asked again as a visitor
    const list = await r.json();
    for (const room of list) {
      rooms.set(room.id, {status: room.status, free_until: room.free_until, co2_ppm: room.occupancy.co2_ppm,
                          people_estimate: room.occupancy.people_estimate, next_booking: room.next_booking,
                          doors: room.doors, booking: room.booking, seats_free: room.seats_free, name: room.name,
                          floor: room.floor, site: room.site, kind: room.kind, bookable: room.bookable});
      render(room.id);
    }
    for (const f of hooks.refresh) f();
    refreshMine();
  } catch (e) { /* the API is restarting: keep the last view, SSE reconnects */ }
}

let refreshTimer = null;
function refreshSoon() {  // many changes in a second: one request
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, 500);
}

function setLive(state) { live = state; $("#live").textContent = state ? t()[state] : ""; }

function listen() {
  const source = new EventSource("/api/v1/stream");
  source.addEventListener("hello", () => { setLive("connected"); refresh(); });
  source.addEventListener("room", (e) => {
    const data = JSON.parse(e.data);
    const known = rooms.get(data.id) || {};
    rooms.set(data.id, {...known, status: data.status, free_until: data.free_until, co2_ppm: data.co2_ppm,
                        people_estimate: data.people_estimate, seats_free: data.seats_free});
    render(data.id);
    if (token) refreshSoon();  // my bookings and names come with the personal list
  });
  source.addEventListener("schedule", () => refreshSoon());
  source.addEventListener("tap", (e) => tapAnswered(JSON.parse(e.data)));
  source.addEventListener("booking", () => { if (token) refreshMine(); });
  source.onerror = () => {
    setLive("reconnecting");  // EventSource retries by itself after a dropped stream...
    if (source.readyState === EventSource.CLOSED) setTimeout(listen, 2000);  // ...but not after an HTTP error
  };
}

async function showSession(focus) {
  $("#login-hint").hidden = Boolean(token);
  if (!token) { $("#login").hidden = false; $("#session").hidden = true; for (const f of hooks.session) f(); return; }
  const r = await fetch("/api/v1/members/me", {headers: authHeaders()}).catch(() => null);
  if (!(await answered(r))) return;
  if (!r || !r.ok) { if (r) logout(); return; }
  const me = await r.json();
  $("#who").textContent = `${t().hello} ${me.name}`;
  $("#login").hidden = true; $("#session").hidden = false;
  if (focus) $("#who").focus();  // not back to <body>: the greeting, then the rooms
  for (const f of hooks.session) f();
  await refresh();
}

function logout() {
  token = null; localStorage.removeItem("station.token");
  for (const cell of document.querySelectorAll(".book")) cell.replaceChildren();
  $("#mine").hidden = true;
  $("#calendar-box").hidden = true;
  showSession();
  $("#email").focus();
}

async function showCalendar(rotate) {
  const r = await fetch(rotate ? "/api/v1/members/me/calendar/rotate" : "/api/v1/members/me/calendar",
                        {method: rotate ? "POST" : "GET", headers: authHeaders()}).catch(() => null);
  if (!(await answered(r)) || !r || !r.ok) return;
  $("#calendar-url").value = (await r.json()).url;
  $("#calendar-box").hidden = false;
  if (rotate) say(t().calendarRotated, false);
  $("#calendar-url").focus(); $("#calendar-url").select();
}

$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const device = localStorage.getItem("station.device") || undefined;  // this browser logged in before
  const r = await fetch("/api/v1/auth/login", {method: "POST", headers: {"Content-Type": "application/json", "Accept-Language": lang},
                                              body: JSON.stringify({email: $("#email").value, password: $("#password").value,
                                                                    device_token: device})});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { say(`${t().loginFailed} : ${reason(body, r.status)}`, true); return; }
  token = body.access_token; localStorage.setItem("station.token", token);
  if (body.device_token) localStorage.setItem("station.device", body.device_token);
  $("#password").value = ""; say("");
  await showSession(true);
});
$("#logout").addEventListener("click", async () => {
  if (token) await fetch("/api/v1/auth/logout", {method: "POST", headers: authHeaders()}).catch(() => null);
  logout();
});
$("#lang").addEventListener("click", () => { lang = lang === "fr" ? "en" : "fr"; localStorage.setItem("station.lang", lang); applyLanguage(); showSession(); });
$("#site-filter").addEventListener("change", applyFilters);
$("#kind-filter").addEventListener("change", applyFilters);
$("#calendar-show").addEventListener("click", () => showCalendar(false));
$("#calendar-rotate").addEventListener("click", () => showCalendar(true));

applyLanguage();
refresh().then(() => showSession(false));
listen();
setInterval(refresh, 30000);  // a safety net should an event be missed
