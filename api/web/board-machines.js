// The fab labs' machines on the board, on top of board.js (its helpers and hooks):
// each machine with its live status in words (free, in use, booked, out of order,
// offline) and what it needs; a logged-in member books one in two taps (the first
// proposes now to one hour — or the machine's longest session — the second books it;
// refusals are the API's own sentences: not trained, taken, closed…); in `station demo`
// they tap their badge at the machine and see it power on (or why not).
"use strict";
const M = {
  fr: {title: "Machines des fab labs", machine: "Machine", lab: "Fab lab", state: "État", action: "Réserver",
       free: "Libre", in_use: "En marche", booked: "Réservée", out_of_order: "Hors service", offline: "Hors ligne",
       until: "jusqu'à", next: "prochaine réservation", needs: "formation", book: "Réserver",
       confirm: "Confirmer", tap: "Badger à la machine", on: "Machine allumée", off: "Machine éteinte",
       refused: "Machine refusée", booked_ok: "Machine réservée", failed: "Réservation impossible",
       bookOnly: "sur réservation", caption: "Machines et disponibilité"},
  en: {title: "Fab-lab machines", machine: "Machine", lab: "Fab lab", state: "Status", action: "Book",
       free: "Free", in_use: "In use", booked: "Booked", out_of_order: "Out of order", offline: "Offline",
       until: "until", next: "next booking", needs: "training", book: "Book", confirm: "Confirm",
       tap: "Badge at the machine", on: "Machine on", off: "Machine off", refused: "Machine refused",
       booked_ok: "Machine booked", failed: "Booking refused", bookOnly: "booking only",
       caption: "Machines and availability"},
};
const m = () => M[lang];
let machines = [];

function machineStatus(x) {
  let text = m()[x.status] || x.status;
  if (x.status === "booked" && x.booked_until) text += ` ${m().until} ${hhmm(x.booked_until)}`;
  if (x.status === "out_of_order" && x.out_of_order_reason) text += ` (${x.out_of_order_reason})`;
  if (x.status === "free" && x.next_booking_start) text += ` · ${m().next} ${hhmm(x.next_booking_start)}`;
  return text;
}

function drawMachines() {
  document.querySelector("#machines-title").textContent = m().title;
  document.querySelector("#machines-caption").textContent = m().caption;
  for (const [i, key] of ["machine", "lab", "state", "action"].entries())
    document.querySelectorAll("#machines-table thead th")[i].textContent = m()[key];
  const body = document.querySelector("#machines");
  if (body.querySelector(".book-button.confirm")) return;  // a member is about to confirm a slot: not under their thumb
  const keep = focusKey(body);
  body.replaceChildren(...machines.map((x) => {
    const tr = document.createElement("tr");
    tr.dataset.machine = x.id; tr.dataset.status = x.status; tr.className = `status-${x.status === "in_use" ? "occupied" : x.status === "free" ? "free" : "reserved"}`;
    const name = document.createElement("th"); name.scope = "row"; name.className = "name"; name.textContent = x.name;
    const needs = document.createElement("span"); needs.className = "note";
    needs.textContent = ` ${m().needs} : ${x.training}${x.free_to_use ? "" : ` · ${m().bookOnly}`}`;
    name.append(needs);
    const lab = document.createElement("td"); lab.textContent = (rooms.get(x.space) || {}).name || x.space;
    const state = document.createElement("td"); state.className = "status"; state.textContent = machineStatus(x);
    const cell = document.createElement("td"); cell.className = "book";
    if (token && x.bookable && x.status !== "out_of_order") cell.append(bookButton(x));
    if (token && demo) cell.append(tapButton(x));
    tr.append(name, lab, state, cell);
    return tr;
  }));
  restoreFocus(body, keep);
}

function bookButton(x) {
  const button = document.createElement("button");
  button.type = "button"; button.className = "book-button"; button.textContent = m().book;
  button.setAttribute("aria-label", `${m().book} — ${x.name}`);
  button.addEventListener("click", () => bookMachine(x, button));
  return button;
}

async function bookMachine(x, button) {  // first tap: the slot; second tap: book it
  if (!button.dataset.start) {
    const start = new Date(serverNow()), end = new Date(start.getTime() + Math.min(60, x.max_session_minutes) * 60000);
    button.dataset.start = start.toISOString(); button.dataset.end = end.toISOString();
    button.classList.add("confirm");
    button.textContent = `${m().confirm} ${hhmm(button.dataset.start)}–${hhmm(button.dataset.end)}`;
    button.setAttribute("aria-label", `${m().confirm} — ${x.name}, ${span(button.dataset.start, button.dataset.end)}`);
    return;
  }
  button.setAttribute("aria-busy", "true");
  const r = await fetch("/api/v1/machine-bookings", {method: "POST", headers: authHeaders(true),
    body: JSON.stringify({machine: x.id, start: button.dataset.start, end: button.dataset.end})}).catch(() => null);
  button.removeAttribute("aria-busy");
  delete button.dataset.start; button.classList.remove("confirm"); button.textContent = m().book;
  if (!r) return;
  const b = await r.json().catch(() => ({}));
  if (r.status === 401) { expired(b); return; }
  if (!r.ok) { say(`${m().failed} : ${reason(b, r.status)}`, true); return; }
  say(`${m().booked_ok}: ${x.name} ${span(b.start, b.end)}`, true);
  loadMachines();
}

function tapButton(x) {
  const button = document.createElement("button");
  button.type = "button"; button.className = "tap"; button.textContent = m().tap;
  button.setAttribute("aria-label", `${m().tap} — ${x.name}`);
  button.addEventListener("click", () => tapMachine(x, button));
  return button;
}

async function tapMachine(x, button) {
  const cards = await (await fetch("/api/v1/demo/cards", {headers: authHeaders(true)})).json().catch(() => ({cards: []}));
  if (!cards.cards || !cards.cards.length) return;
  button.disabled = true;
  const r = await fetch("/api/v1/demo/badge", {method: "POST", headers: authHeaders(true),
                                              body: JSON.stringify({machine: x.id, card_number: cards.cards[0]})});
  const tap = await r.json().catch(() => ({}));
  if (!r.ok) { say(`${m().refused}: ${reason(tap, r.status)}`, true); button.disabled = false; return; }
  for (let n = 0; n < 20; n++) {
    await new Promise((done) => setTimeout(done, 300));
    const a = await (await fetch(`/api/v1/demo/badge/${tap.tap}`)).json().catch(() => ({}));
    if (a.answered) {
      const off = (a.reason || "").startsWith("switched off");
      say(a.granted ? `${m().on} — ${x.name}` : off ? `${m().off} — ${x.name}` : `${m().refused} — ${x.name} (${a.reason || ""})`, true);
      break;
    }
  }
  button.disabled = false;
  loadMachines();
}

async function loadMachines() {
  const r = await fetch("/api/v1/machines").catch(() => null);
  if (!r || !r.ok) return;
  machines = await r.json();
  drawMachines();
}

hooks.refresh.push(loadMachines);
hooks.language.push(drawMachines);
hooks.session.push(drawMachines);
