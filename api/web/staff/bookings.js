// /staff/bookings: a day of every space as a timeline — bookings (check-ins, no-shows),
// the live occupancy band, now — book for a member, cancel, filter by site, CSV export.
"use strict";
S.page({
  name: "bookings",
  title: {fr: "Réservations", en: "Bookings"},
  strings: {
    fr: {day: "Jour", prev: "Jour précédent", next: "Jour suivant", today: "Aujourd'hui", show: "Afficher",
         csv: "Exporter en CSV", timeline: "Journée des espaces", nowLabel: "Maintenant", occupied: "occupé (mesuré)",
         book: "Réserver pour un membre", space: "Espace", start: "Début", end: "Fin", attendees: "Personnes",
         title: "Objet (facultatif)", save: "Réserver", saved: "Réservation enregistrée.", cancel: "Annuler la réservation",
         cancelQ: (n, s) => `Annuler la réservation de ${n} (${s}) ?`,
         cancelText: "La salle redevient libre et la porte ne s'ouvre plus pour cette réservation.",
         cancelled: "Réservation annulée.", none: "Aucun espace.", legend: "Légende", statusLive: "État",
         noBookings: "aucune réservation", bookingsOf: (n) => `${n} réservation(s)`, closed: "fermé"},
    en: {day: "Day", prev: "Previous day", next: "Next day", today: "Today", show: "Show", csv: "Export as CSV",
         timeline: "The spaces' day", nowLabel: "Now", occupied: "occupied (measured)", book: "Book for a member",
         space: "Space", start: "Start", end: "End", attendees: "People", title: "Title (optional)", save: "Book",
         saved: "Booking saved.", cancel: "Cancel the booking", cancelQ: (n, s) => `Cancel ${n}'s booking (${s})?`,
         cancelText: "The room is free again and the door no longer opens for this booking.",
         cancelled: "Booking cancelled.", none: "No space.", legend: "Legend", statusLive: "Status",
         noBookings: "no booking", bookingsOf: (n) => `${n} booking(s)`, closed: "closed"},
  },
  data: null,
  bands: {},
  async load() {
    const params = new URLSearchParams(location.search);
    this.day = params.get("day") || null;
    this.site = params.get("site") || "";
    this.picker = S.memberPicker("booking-member");
    await this.refresh();
  },
  async refresh() {
    const params = new URLSearchParams();
    if (this.day) params.set("day", this.day);
    if (this.site) params.set("site", this.site);
    this.data = await S.api(`/api/v1/staff/bookings?${params}`);
    this.day = this.data.day;
    this.render();
    this.loadBands();
  },
  async loadBands() {  // the occupancy the collector measured, 15-minute buckets (when a history store exists)
    const {start, end} = this.bounds();
    const until = Math.min(end, S.now());
    if (until <= start) return;
    for (const space of this.data.spaces) {
      const q = `metric=occupied&start=${new Date(start).toISOString()}&end=${new Date(until).toISOString()}&every_minutes=15`;
      const r = await fetch(`/api/v1/rooms/${space.id}/history?${q}`).catch(() => null);
      if (!r || !r.ok) return;  // no history store: the live status stays the only band
      this.bands[space.id] = (await r.json()).points;
      this.drawBand(space.id);
    }
  },
  bounds() {
    const [y, m, d] = this.day.split("-").map(Number);
    const opens = (this.data.opens || "08:00").split(":").map(Number);
    const closes = (this.data.closes || "20:00").split(":").map(Number);
    const local = (hh, mm) => this.zoned(y, m, d, hh, mm);
    return {start: local(opens[0], opens[1]), end: local(closes[0], closes[1])};
  },
  zoned(y, m, d, hh, mm) {  // a local time of the site's zone, as epoch milliseconds
    const guess = Date.UTC(y, m - 1, d, hh, mm);
    const shown = new Date(guess).toLocaleString("en-US", {timeZone: S.tz, hour12: false, year: "numeric", month: "2-digit",
                                                           day: "2-digit", hour: "2-digit", minute: "2-digit"});
    const [md, time] = shown.split(", ");
    const [mo, da, ye] = md.split("/").map(Number);
    const [ho, mi] = time.split(":").map(Number);
    return guess - (Date.UTC(ye, mo - 1, da, ho % 24, mi) - guess);
  },
  pct(ms) {
    const {start, end} = this.bounds();
    return Math.max(0, Math.min(100, ((ms - start) / (end - start)) * 100));
  },
  drawBand(spaceId) {
    const band = document.querySelector(`[data-band="${spaceId}"]`);
    const points = this.bands[spaceId];
    if (!band || !Array.isArray(points)) return;
    band.replaceChildren(...points.filter((p) => p.value !== null && p.value > 0.5).map((p) => {
      const at = new Date(p.time).getTime();
      return S.h("span", {class: "occ", style: `left:${this.pct(at)}%;width:${this.pct(at + 900000) - this.pct(at)}%`});
    }));
  },
  shift(days) {
    const [y, m, d] = this.day.split("-").map(Number);
    const next = new Date(Date.UTC(y, m - 1, d + days));
    this.day = next.toISOString().slice(0, 10);
    history.replaceState({}, "", `/staff/bookings?day=${this.day}${this.site ? `&site=${this.site}` : ""}`);
    this.refresh();
  },
  render() {
    if (!this.data) return;
    const {h, t} = S;
    const day = h("input", {type: "date", value: this.day});
    const site = h("select", {}, ...S.siteOptions());
    site.value = this.site;
    const controls = h("form", {class: "filters", onsubmit: (e) => {
      e.preventDefault(); this.day = day.value || null; this.site = site.value; this.shift(0);
    }}, h("button", {type: "button", class: "secondary", onclick: () => this.shift(-1)}, `← ${t("prev")}`),
       S.field("day", t("day"), day), S.field("site", t("site"), site), h("button", {type: "submit"}, t("show")),
       h("button", {type: "button", class: "secondary", onclick: () => this.shift(1)}, `${t("next")} →`),
       h("button", {type: "button", class: "secondary", id: "export-bookings", onclick: () => S.act(
         S.download(`/api/v1/staff/bookings.csv?start=${this.day}${this.site ? `&site=${this.site}` : ""}`, `bookings-${this.day}.csv`))}, t("csv")));
    const {start, end} = this.bounds();
    const hours = [];
    for (let ms = start; ms <= end; ms += 3600000) hours.push(h("span", {class: "tick", style: `left:${this.pct(ms)}%`}, S.hhmm(new Date(ms).toISOString())));
    const nowMs = S.now();
    const rows = this.data.spaces.map((space) => {
      const blocks = space.bookings.map((b) => {
        const from = new Date(b.start).getTime(), to = new Date(b.end).getTime();
        const text = `${S.hhmm(b.start)}–${S.hhmm(b.end)} ${b.member_name} (${S.label("bookingStatus", b.status)})`;
        const holding = b.status === "confirmed" || b.status === "checked_in";
        return h("button", {type: "button", class: `block booking-${b.status}`, dataset: {booking: b.id},
                            style: `left:${this.pct(from)}%;width:${Math.max(1.5, this.pct(to) - this.pct(from))}%`,
                            title: text, "aria-label": text, disabled: !holding || to <= nowMs,
                            onclick: () => this.cancel(b, space)}, h("span", {"aria-hidden": "true"}, b.member_name));
      });
      const nowLine = nowMs > start && nowMs < end ? h("span", {class: "now", style: `left:${this.pct(nowMs)}%`, title: t("nowLabel")}) : "";
      return h("tr", {id: `space-${space.id}`, dataset: {space: space.id}},
        h("th", {scope: "row"}, space.name, h("br"), h("small", {}, `${S.label("kinds", space.kind)} · ${space.capacity}`)),
        h("td", {class: `status-${space.status}`}, h("span", {class: "status"}, S.label("roomStatus", space.status))),
        h("td", {class: "lane"}, h("div", {class: "track"}, ...blocks, nowLine, h("div", {class: "band", "data-band": space.id, "aria-hidden": "true"})),
          h("span", {class: "sr"}, space.bookings.length ? t("bookingsOf", space.bookings.length) : t("noBookings"))));
    });
    const timeline = h("table", {class: "timeline"},
      h("caption", {}, `${t("timeline")} — ${S.day(`${this.day}T12:00:00Z`)}`),
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, t("space")), h("th", {scope: "col"}, t("statusLive")),
                      h("th", {scope: "col"}, h("div", {class: "ticks"}, hours)))),
      h("tbody", {}, rows));
    const legend = h("p", {class: "legend"}, `${t("legend")} : `,
      ...["confirmed", "checked_in", "no_show", "cancelled"].map((s) => h("span", {class: `key booking-${s}`}, S.label("bookingStatus", s))),
      h("span", {class: "key occ"}, t("occupied")), h("span", {class: "key now-key"}, t("nowLabel")));
    S.fill(controls, legend, S.scroller(t("timeline"), timeline), S.section("book-title", t("book"), this.bookForm()));
    for (const id of Object.keys(this.bands)) this.drawBand(id);
  },
  bookForm() {
    const {h, t} = S;
    const spaces = this.data.spaces.filter((s) => s.bookable);
    const space = h("select", {required: true}, ...spaces.map((s) => h("option", {value: s.id}, s.name)));
    const start = h("input", {type: "time", required: true, value: "14:00", step: 900});
    const end = h("input", {type: "time", required: true, value: "15:00", step: 900});
    const attendees = h("input", {type: "number", min: 1, max: 10000, value: 1, required: true});
    const title = h("input", {type: "text", maxlength: 120});
    return h("form", {id: "book-for-member", class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const member = this.picker.value();
      if (!member) { S.say(S.t("pickMember"), true); return; }
      const [y, m, d] = this.day.split("-").map(Number);
      const at = (v) => { const [hh, mm] = v.split(":").map(Number); return new Date(this.zoned(y, m, d, hh, mm)).toISOString(); };
      const body = {member_id: member, space: space.value, start: at(start.value), end: at(end.value),
                    attendees: Number(attendees.value), title: title.value};
      if (await S.act(S.api("/api/v1/staff/bookings", {method: "POST", body}), t("saved"))) this.refresh();
    }}, this.picker, S.field("book-space", t("space"), space), S.field("book-start", t("start"), start),
       S.field("book-end", t("end"), end), S.field("book-attendees", t("attendees"), attendees),
       S.field("book-title", t("title"), title), h("div", {}, h("button", {type: "submit"}, t("save"))));
  },
  async cancel(b, space) {
    const {t} = S;
    if (!await S.confirm(t("cancelQ", b.member_name, `${space.name}, ${S.hhmm(b.start)}–${S.hhmm(b.end)}`), t("cancelText"), t("cancel"))) return;
    if (await S.act(S.api(`/api/v1/bookings/${b.id}`, {method: "DELETE"}), t("cancelled"))) this.refresh();
  },
  on: {
    bookings() { clearTimeout(this.timer); this.timer = setTimeout(() => this.refresh(), 500); },
  },
});
