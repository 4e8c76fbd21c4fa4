// The board's two drawings, on top of board.js (its rooms, hooks and helpers):
// - the floor plan: the station's spaces drawn from /api/v1/plan as SVG, each shape
//   coloured AND labelled by its live status (a pattern too: colour is never the only
//   signal), updated by the same SSE events as the list; the mini-stations and the bus
//   as small cards (the bus with online / last seen);
// - the day view: one timeline per space from /api/v1/schedule (bookings without
//   names, mine highlighted, closures and programmed events, the occupancy band, now),
//   and booking by picking a slot (previewed, then confirmed, like the two-tap booking).
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const V = {
  fr: {online: "En ligne", offline: "Hors ligne", lastSeen: "vu à", never: "pas encore de nouvelles",
       floorPlan: (n) => `Plan : ${n}`, slot: "Début", length: "Durée", pick: "Réserver ce créneau", closed: "Fermé ce jour",
       mineLabel: "ma réservation", busy: "réservé", occupiedNow: "occupée maintenant", nothing: "aucune réservation",
       occupiedBand: "présence"},
  en: {online: "Online", offline: "Offline", lastSeen: "last seen", never: "not heard from yet",
       floorPlan: (n) => `Plan: ${n}`, slot: "Start", length: "Length", pick: "Book this slot", closed: "Closed this day",
       mineLabel: "my booking", busy: "booked", occupiedNow: "occupied now", nothing: "no bookings",
       occupiedBand: "presence"},
};
const v = () => V[lang];
let plan = null;
let schedule = null;

function el(name, attrs = {}, text) {
  const node = name.startsWith("svg:") ? document.createElementNS(SVG, name.slice(4)) : document.createElement(name);
  for (const [k, val] of Object.entries(attrs)) node.setAttribute(k, val);
  if (text != null) node.textContent = text;
  return node;
}

// -- the floor plan ------------------------------------------------------------------
async function loadPlan() {
  const r = await fetch("/api/v1/plan").catch(() => null);
  if (!r || !r.ok) return;
  plan = await r.json();
  drawPlan();
}

function nameLines(name, width, size) {  // wrap a space's name into the shape's width
  const perLine = Math.max(4, Math.floor(width / (size * 0.56)));
  const lines = [];
  for (const word of name.split(" ")) {
    const last = lines[lines.length - 1];
    if (last && (last + " " + word).length <= perLine) lines[lines.length - 1] = last + " " + word; else lines.push(word);
  }
  return lines.slice(0, 3);
}

function drawPlan() {
  const box = $("#plan");
  box.replaceChildren();
  if (!plan || !plan.plan) { $("#plan-section").hidden = !plan || !plan.sites.length; drawSites(); return; }
  for (const floor of plan.plan.floors) {
    const id = `plan-floor-${floor.floor}`;
    const figure = el("figure", {class: "floor"});
    figure.append(el("figcaption", {id}, floor.name));
    // on a phone the plan scrolls sideways inside its frame (the page never does): by keyboard too
    const scroll = el("div", {class: "plan-scroll", tabindex: "0", role: "region", "aria-labelledby": id});
    const svg = el("svg:svg", {viewBox: `0 0 ${floor.width} ${floor.height}`, role: "group", "aria-labelledby": id, class: "plan"});
    svg.append(patterns());
    for (const a of floor.areas) {
      const g = el("svg:g", {class: "plan-area", "aria-hidden": "true"});
      g.append(el("svg:rect", {x: a.x, y: a.y, width: a.w, height: a.h}));
      g.append(el("svg:text", {x: a.x + a.w / 2, y: a.y + a.h / 2, "text-anchor": "middle", "font-size": 1.1}, a.name));
      svg.append(g);
    }
    for (const s of floor.spaces) {
      const g = el("svg:g", {"data-plan-room": s.space, class: "plan-room", role: "img"});
      g.append(el("svg:rect", {x: s.x + 0.15, y: s.y + 0.15, width: s.w - 0.3, height: s.h - 0.3, rx: 0.4, class: "shape"}));
      g.append(el("svg:rect", {x: s.x + 0.15, y: s.y + 0.15, width: s.w - 0.3, height: s.h - 0.3, rx: 0.4, class: "pattern"}));
      const size = Math.max(0.8, Math.min(1.5, s.w / 6));
      const lines = nameLines(roomName(s.space), s.w - 0.6, size);
      const text = el("svg:text", {x: s.x + s.w / 2, y: s.y + s.h / 2 - (lines.length * size) / 2 + size * 0.3,
                                   "text-anchor": "middle", "font-size": size, class: "label"});
      lines.forEach((line, i) => text.append(el("svg:tspan", {x: s.x + s.w / 2, dy: i ? size * 1.05 : 0}, line)));
      text.append(el("svg:tspan", {x: s.x + s.w / 2, dy: size * 1.2, class: "state", "font-weight": 700}));
      g.append(text);
      svg.append(g);
    }
    scroll.append(svg);
    figure.append(scroll);
    box.append(figure);
  }
  for (const id of rooms.keys()) planRoom(id, rooms.get(id));
  drawSites();
}

function patterns() {
  const defs = el("svg:defs");
  const hatch = el("svg:pattern", {id: "hatch", width: 1.2, height: 1.2, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)"});
  hatch.append(el("svg:line", {x1: 0, y1: 0, x2: 0, y2: 1.2, stroke: "#fff", "stroke-width": 0.45, "stroke-opacity": 0.55}));
  const dots = el("svg:pattern", {id: "dots", width: 1.4, height: 1.4, patternUnits: "userSpaceOnUse"});
  dots.append(el("svg:circle", {cx: 0.7, cy: 0.7, r: 0.22, fill: "#fff", "fill-opacity": 0.6}));
  defs.append(hatch, dots);
  return defs;
}

function statusText(room) {
  let text = t()[room.status];
  if (room.free_until) text += ` ${t().until} ${hhmm(room.free_until)}`;
  if (room.seats_free != null) text += ` · ${t().seats(room.seats_free)}`;
  return text;
}

function planRoom(id, room) {
  const g = document.querySelector(`[data-plan-room="${id}"]`);
  if (g && room) {
    g.setAttribute("class", `plan-room plan-${room.status}`);
    g.dataset.status = room.status;
    g.querySelector(".state").textContent = t()[room.status];
    g.setAttribute("aria-label", `${roomName(id)} : ${statusText(room)}`);
  }
  const card = document.querySelector(`[data-site-room="${id}"]`);
  if (card && room) { card.textContent = `${roomName(id)} : ${statusText(room)}`; card.dataset.status = room.status; }
}

function drawSites() {
  const ul = $("#sites");
  ul.replaceChildren();
  for (const site of (plan && plan.sites) || []) {
    const li = el("li", {class: `site-card site-${site.kind}`, "data-site-card": site.id});
    li.append(el("h4", {}, site.name));
    const link = site.online == null ? v().never
      : `${site.online ? v().online : v().offline}${site.last_seen ? ` — ${v().lastSeen} ${dayText(site.last_seen)} ${hhmm(site.last_seen)}` : ""}`;
    li.append(el("p", {class: `link ${site.online == null ? "unheard" : site.online ? "online" : "offline"}`}, link));
    for (const space of site.spaces) {
      const p = el("p", {"data-site-room": space});
      li.append(p);
    }
    ul.append(li);
  }
  for (const id of rooms.keys()) planRoom(id, rooms.get(id));
}

// -- the day view --------------------------------------------------------------------
async function loadDay() {
  const date = $("#day-date").value;  // none yet: the server's today, on the server's clock
  const r = await fetch(`/api/v1/schedule${date ? `?date=${date}` : ""}`, {headers: authHeaders()}).catch(() => null);
  if (!r || !r.ok) return;
  schedule = await r.json();
  serverOffset = new Date(schedule.now).getTime() - Date.now();
  if (!$("#day-date").value) $("#day-date").value = schedule.date;
  drawDay();
}

function minutes(iso, origin) { return (new Date(iso).getTime() - origin) / 60000; }

function drawDay() {
  const ul = $("#day");
  if (ul.querySelector(".slot-button.confirm")) return;  // a member is about to confirm a slot: not under their thumb
  const keep = focusKey(ul);
  ul.replaceChildren();
  if (!schedule) return;
  const now = new Date(schedule.now).getTime();
  for (const day of schedule.spaces) {
    const room = rooms.get(day.id) || {};
    const li = el("li", {"data-day-room": day.id, "data-site": room.site || "", "data-kind": room.kind || "", class: "day-space"});
    const titleId = `day-${day.id}`;
    li.append(el("h3", {id: titleId}, roomName(day.id)));
    if (!day.opening.length) { li.append(el("p", {class: "hint"}, v().closed)); ul.append(li); continue; }
    const origin = new Date(day.opening[0].start).getTime();
    const total = Math.max(60, minutes(day.opening[day.opening.length - 1].end, origin));
    const svg = el("svg:svg", {viewBox: `0 0 ${total} 30`, preserveAspectRatio: "none", class: "timeline", "aria-hidden": "true"});
    svg.append(el("svg:rect", {x: 0, y: 0, width: total, height: 22, class: "tl-open"}));
    for (let m = 0; m <= total; m += 60) svg.append(el("svg:line", {x1: m, x2: m, y1: 0, y2: 22, class: "tl-hour"}));
    const spoken = [];
    for (const p of day.blocked) {
      svg.append(el("svg:rect", {x: Math.max(0, minutes(p.start, origin)), y: 0, width: Math.max(1, minutes(p.end, origin) - Math.max(0, minutes(p.start, origin))), height: 22, class: "tl-blocked"}));
      spoken.push(`${p.summary || t().kinds.venue} ${span(p.start, p.end)}`);
    }
    for (const b of day.bookings) {
      svg.append(el("svg:rect", {x: Math.max(0, minutes(b.start, origin)), y: 2, width: Math.max(1, minutes(b.end, origin) - Math.max(0, minutes(b.start, origin))), height: 18, class: b.mine ? "tl-mine" : "tl-busy"}));
      spoken.push(`${b.mine ? v().mineLabel : v().busy} ${span(b.start, b.end)}`);
    }
    for (const o of day.occupied) svg.append(el("svg:rect", {x: minutes(o.start, origin), y: 24, width: minutes(o.end, origin) - minutes(o.start, origin), height: 6, class: "tl-occupied"}));
    const nowAt = minutes(schedule.now, origin);
    if (nowAt >= 0 && nowAt <= total) {
      if (day.occupied_now) svg.append(el("svg:rect", {x: Math.max(0, nowAt - 10), y: 24, width: 10, height: 6, class: "tl-occupied"}));
      svg.append(el("svg:line", {x1: nowAt, x2: nowAt, y1: 0, y2: 30, class: "tl-now"}));
    }
    li.append(svg);
    const hours = el("p", {class: "tl-hours", "aria-hidden": "true"});
    hours.append(el("span", {}, hhmm(day.opening[0].start)), el("span", {}, hhmm(day.opening[day.opening.length - 1].end)));
    li.append(hours);
    if (day.occupied_now) spoken.push(v().occupiedNow);
    li.append(el("p", {class: "sr"}, spoken.length ? spoken.join(" ; ") : v().nothing));
    if (token && room.bookable) li.append(slotPicker(day, now));
    ul.append(li);
  }
  applyFilters();
  restoreFocus(ul, keep);
}

function slotPicker(day, now) {
  const form = el("div", {class: "slot"});
  const selectId = `slot-${day.id}`, lengthId = `length-${day.id}`;
  const select = el("select", {id: selectId});
  const seat = (rooms.get(day.id) || {}).booking === "seat";
  for (const o of day.opening) {
    for (let at = new Date(o.start).getTime(); at + 30 * 60000 <= new Date(o.end).getTime(); at += 30 * 60000) {
      if (at + 30 * 60000 <= now) continue;
      const iso = new Date(at).toISOString();
      const taken = day.blocked.some((p) => new Date(p.start).getTime() <= at && at < new Date(p.end).getTime())
        || (!seat && day.bookings.some((b) => new Date(b.start).getTime() <= at && at < new Date(b.end).getTime()));
      if (!taken) select.append(el("option", {value: iso}, hhmm(iso)));
    }
  }
  if (!select.options.length) return el("span");
  const length = el("select", {id: lengthId});
  for (const m of [30, 60, 90, 120, 180]) {
    length.append(el("option", {value: m}, m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60}` : ""}`));
  }
  length.value = "60";
  const button = el("button", {type: "button", class: "book-button slot-button", id: `pick-${day.id}`}, v().pick);
  const note = el("span", {class: "note"});
  const reset = () => { delete button.dataset.start; button.classList.remove("confirm"); button.textContent = v().pick; note.textContent = ""; };
  select.addEventListener("change", reset); length.addEventListener("change", reset);
  button.addEventListener("click", () => {
    const start = select.value;
    const end = new Date(new Date(start).getTime() + Number(length.value) * 60000).toISOString();
    askOrBook(button, note, {space: day.id, start, end});
  });
  form.append(el("label", {for: selectId}, v().slot), select, el("label", {for: lengthId}, v().length), length, button, note);
  return form;
}

hooks.room.push(planRoom);
hooks.refresh.push(() => { loadDay(); if (plan) drawSites(); });
hooks.language.push(() => { if (plan) drawPlan(); drawDay(); });
hooks.session.push(() => drawDay());
$("#day-date").addEventListener("change", loadDay);
loadPlan();
setInterval(() => { if (plan) loadPlan(); }, 60000);  // the bus's last-seen
