// The board: live over Server-Sent Events, French first with an English switch,
// filters by site and kind, and booking in two taps for a logged-in member.
"use strict";
const T = {
  fr: {title: "La Station — salles libres maintenant", email: "E-mail", password: "Mot de passe", login: "Se connecter",
       logout: "Se déconnecter", filters: "Filtres", site: "Site", kind: "Type", all: "Tous", space: "Espace",
       status: "État", booking: "Réserver", caption: "Espaces et disponibilité", free: "Libre", occupied: "Occupée",
       reserved: "Réservée", unknown: "Inconnu", until: "jusqu'à", book: "Réserver 1 h", confirm: "Confirmer",
       booked: "Réservé", failed: "Réservation impossible", connected: "En direct", reconnecting: "Reconnexion…",
       hello: "Connecté·e :", loginFailed: "Connexion refusée", switchTo: "Switch to English", langButton: "English",
       good: "bon", fair: "moyen", poor: "mauvais",
       kinds: {fablab: "Fab lab", coworking: "Coworking", meeting: "Réunion", ticket_office: "Billetterie", shop: "Boutique", venue: "Salle de spectacle"}},
  en: {title: "La Station — rooms free now", email: "Email", password: "Password", login: "Log in", logout: "Log out",
       filters: "Filters", site: "Site", kind: "Kind", all: "All", space: "Space", status: "Status", booking: "Book",
       caption: "Spaces and availability", free: "Free", occupied: "Occupied", reserved: "Reserved", unknown: "Unknown",
       until: "until", book: "Book 1 h", confirm: "Confirm", booked: "Booked", failed: "Booking refused",
       connected: "Live", reconnecting: "Reconnecting…", hello: "Logged in:", loginFailed: "Login refused",
       switchTo: "Passer en français", langButton: "Français", good: "good", fair: "fair", poor: "poor",
       kinds: {fablab: "Fab lab", coworking: "Coworking", meeting: "Meeting room", ticket_office: "Ticket office", shop: "Shop", venue: "Venue"}},
};
let lang = localStorage.getItem("station.lang") || "fr";
let token = localStorage.getItem("station.token");
const rooms = new Map();  // id -> last known {status, free_until, co2_ppm}
const tz = document.body.dataset.tz;
let live = null;  // "connected" or "reconnecting", shown translated
const $ = (sel) => document.querySelector(sel);

function hhmm(iso) {
  return new Date(iso).toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB", {hour: "2-digit", minute: "2-digit", timeZone: tz});
}
function co2Level(ppm) { return ppm < 800 ? "good" : ppm < 1200 ? "fair" : "poor"; }

function render(id) {
  const row = document.querySelector(`tr[data-room="${id}"]`);
  const room = rooms.get(id);
  if (!row || !room) return;
  const t = T[lang];
  row.className = `status-${room.status}`;
  row.dataset.status = room.status;
  row.querySelector(".status").textContent = t[room.status] + (room.free_until ? ` ${t.until} ${hhmm(room.free_until)}` : "");
  const co2 = row.querySelector(".co2");
  if (room.co2_ppm == null) { co2.className = "co2"; co2.textContent = "—"; }
  else {
    const level = co2Level(room.co2_ppm);
    co2.className = `co2 co2-${level}`;
    co2.innerHTML = `<span class="dot" aria-hidden="true"></span>${Math.round(room.co2_ppm)} ppm <span class="sr">(${t[level]})</span>`;
  }
  renderBook(row, room);
}

function renderBook(row, room) {
  const cell = row.querySelector(".book");
  const canBook = token && row.dataset.bookable === "true" && (room.status === "free" || room.status === "unknown");
  if (!canBook) { cell.replaceChildren(); return; }
  if (cell.querySelector("button")) return;  // keep a pending confirmation
  const button = document.createElement("button");
  button.type = "button";
  button.className = "book-button";
  button.textContent = T[lang].book;
  button.setAttribute("aria-label", `${T[lang].book} — ${row.querySelector(".name").textContent}`);
  button.addEventListener("click", () => tap(row, button));
  cell.replaceChildren(button);
}

async function tap(row, button) {
  const id = row.dataset.room;
  if (!button.classList.contains("confirm")) {  // first tap: say what will be booked
    button.classList.add("confirm");
    const room = rooms.get(id);
    button.textContent = T[lang].confirm + (room && room.free_until ? ` (${T[lang].until} ${hhmm(room.free_until)})` : " (1 h)");
    return;
  }
  button.disabled = true;  // second tap: book
  const r = await fetch("/api/v1/bookings", {method: "POST", headers: {"Content-Type": "application/json", Authorization: `Bearer ${token}`},
                                             body: JSON.stringify({space: id, duration_minutes: 60, fit: true})});  // from now, on the server's clock
  const body = await r.json().catch(() => ({}));
  $("#message").textContent = r.ok ? `${T[lang].booked}: ${row.querySelector(".name").textContent} ${hhmm(body.start)}–${hhmm(body.end)}`
                                   : `${T[lang].failed}: ${typeof body.detail === "string" ? body.detail : r.status}`;
  row.querySelector(".book").replaceChildren();
  if (r.status === 401) logout();
  refresh();
}

function applyLanguage() {
  const t = T[lang];
  document.documentElement.lang = lang;
  document.title = t.title;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t[el.dataset.i18n];
  for (const opt of document.querySelectorAll("#kind-filter option[value]")) if (opt.value) opt.textContent = t.kinds[opt.value];
  for (const row of document.querySelectorAll("tr[data-room]")) {
    row.querySelector(".kind").textContent = t.kinds[row.dataset.kind];
    row.querySelector(".book").replaceChildren();
  }
  $("#lang").textContent = t.langButton;
  $("#lang").setAttribute("aria-label", t.switchTo);
  setLive(live);
  for (const id of rooms.keys()) render(id);
}

function applyFilters() {
  const site = $("#site-filter").value, kind = $("#kind-filter").value;
  for (const row of document.querySelectorAll("tr[data-room]")) {
    row.hidden = (site && row.dataset.site !== site) || (kind && row.dataset.kind !== kind);
  }
}

async function refresh() {
  try {
    const headers = token ? {Authorization: `Bearer ${token}`} : {};
    const list = await (await fetch("/api/v1/rooms", {headers})).json();
    for (const room of list) {
      rooms.set(room.id, {status: room.status, free_until: room.free_until, co2_ppm: room.occupancy.co2_ppm});
      render(room.id);
    }
  } catch (e) { /* the API is restarting: keep the last view, SSE reconnects */ }
}

function setLive(state) { live = state; $("#live").textContent = state ? T[lang][state] : ""; }

function listen() {
  const source = new EventSource("/api/v1/stream");
  source.addEventListener("hello", () => { setLive("connected"); refresh(); });
  source.addEventListener("room", (e) => {
    const data = JSON.parse(e.data);
    rooms.set(data.id, {status: data.status, free_until: data.free_until, co2_ppm: data.co2_ppm});
    render(data.id);
  });
  source.onerror = () => {
    setLive("reconnecting");  // EventSource retries by itself after a dropped stream...
    if (source.readyState === EventSource.CLOSED) setTimeout(listen, 2000);  // ...but not after an HTTP error
  };
}

async function showSession() {
  if (!token) { $("#login").hidden = false; $("#session").hidden = true; return; }
  const r = await fetch("/api/v1/members/me", {headers: {Authorization: `Bearer ${token}`}}).catch(() => null);
  if (!r || !r.ok) { if (r) logout(); return; }
  const me = await r.json();
  $("#who").textContent = `${T[lang].hello} ${me.name}`;
  $("#login").hidden = true; $("#session").hidden = false;
  for (const id of rooms.keys()) render(id);
}

function logout() {
  token = null; localStorage.removeItem("station.token");
  for (const cell of document.querySelectorAll(".book")) cell.replaceChildren();
  showSession();
}

$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch("/api/v1/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                              body: JSON.stringify({email: $("#email").value, password: $("#password").value})});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { $("#message").textContent = `${T[lang].loginFailed}: ${body.detail || r.status}`; return; }
  token = body.access_token; localStorage.setItem("station.token", token);
  $("#password").value = ""; $("#message").textContent = "";
  await showSession();
});
$("#logout").addEventListener("click", async () => {
  if (token) await fetch("/api/v1/auth/logout", {method: "POST", headers: {Authorization: `Bearer ${token}`}}).catch(() => null);
  logout();
});
$("#lang").addEventListener("click", () => { lang = lang === "fr" ? "en" : "fr"; localStorage.setItem("station.lang", lang); applyLanguage(); showSession(); });
$("#site-filter").addEventListener("change", applyFilters);
$("#kind-filter").addEventListener("change", applyFilters);

applyLanguage();
refresh().then(showSession);
listen();
setInterval(refresh, 30000);  // a safety net should an event be missed
