// /staff/: today — live alerts (with since when and a link to the door or node), the day's
// bookings and no-shows, and the occupancy of each site.
"use strict";
const ALERT_LABELS = {
  fr: {door_forced: "Porte forcée", door_held_open: "Porte restée ouverte", fire_release: "Alarme incendie : porte libérée",
       node_offline: "Nœud hors ligne", node_stale: "Nœud silencieux", co2_high: "CO₂ élevé dans un espace occupé",
       tamper: "Boîtier ouvert (sabotage)", sensor_fault: "Capteur muet", outbox_alarm: "File d'attente du nœud pleine",
       reader_error: "Erreur du lecteur", grants_rejected: "Liste d'accès refusée par le nœud"},
  en: {door_forced: "Door forced", door_held_open: "Door held open", fire_release: "Fire alarm: door released",
       node_offline: "Node offline", node_stale: "Node silent", co2_high: "CO₂ high in an occupied space",
       tamper: "Enclosure opened (tamper)", sensor_fault: "Sensor silent", outbox_alarm: "Node outbox full",
       reader_error: "Reader error", grants_rejected: "Grant list refused by the node"},
};
S.page({
  name: "today",
  title: {fr: "Aujourd'hui", en: "Today"},
  strings: {
    fr: {alerts: "Alertes en cours", noAlerts: "Aucune alerte : tout va bien.", severity: "Gravité", what: "Quoi",
         where: "Où", sinceCol: "Depuis", detail: "Détail", critical: "critique", warning: "attention", info: "info",
         occupancy: "Occupation par site", spaces: "Espaces occupés", people: "Personnes (estimation)",
         capacity: "Capacité", unknownSpaces: "inconnus", bookings: "Réservations du jour", time: "Horaire",
         space: "Espace", status: "État", noBookings: "Aucune réservation aujourd'hui.",
         summary: (n, c, ns, up) => `${n} réservation(s) : ${c} badgée(s), ${ns} non honorée(s), ${up} à venir.`,
         checkedInAt: "badgée à", noShowAt: "libérée à", door: "porte", node: "nœud"},
    en: {alerts: "Current alerts", noAlerts: "No alert: all is well.", severity: "Severity", what: "What",
         where: "Where", sinceCol: "Since", detail: "Detail", critical: "critical", warning: "warning", info: "info",
         occupancy: "Occupancy by site", spaces: "Spaces occupied", people: "People (estimate)",
         capacity: "Capacity", unknownSpaces: "unknown", bookings: "Today's bookings", time: "Time",
         space: "Space", status: "Status", noBookings: "No booking today.",
         summary: (n, c, ns, up) => `${n} booking(s): ${c} checked in, ${ns} no-show(s), ${up} to come.`,
         checkedInAt: "checked in at", noShowAt: "released at", door: "door", node: "node"},
  },
  data: null,
  alerts: [],
  async load() {
    const [today, alerts] = await Promise.all([S.api("/api/v1/staff/today"), S.api("/api/v1/staff/alerts")]);
    S.setServerNow(today.now);
    this.data = today;
    this.alerts = alerts;
    this.render();
  },
  alertRow(a) {
    const {h, t} = S;
    const where = [];
    if (a.door) where.push(h("a", {href: `/staff/doors#door-${a.door}`}, `${t("door")} ${a.door}`));
    if (a.node) where.push(h("a", {href: `/staff/nodes#node-${a.node}`}, `${t("node")} ${a.node}`));
    if (!a.door && !a.node && a.space) where.push(h("a", {href: `/staff/bookings#space-${a.space}`}, a.space));
    const joined = where.flatMap((el, i) => (i ? [", ", el] : [el]));
    return h("tr", {class: `alert alert-${a.severity}`, dataset: {alert: a.id, kind: a.kind}},
      h("td", {}, S.badge(a.severity, t(a.severity))),
      h("th", {scope: "row"}, ALERT_LABELS[S.state.lang][a.kind] || a.kind),
      h("td", {}, joined), h("td", {}, S.sinceText(a.since)), h("td", {}, a.detail || ""));
  },
  render() {
    if (!this.data) return;
    const {h, t} = S;
    const alerts = S.section("alerts-title", t("alerts"),
      S.table(t("alerts"), [t("severity"), t("what"), t("where"), t("sinceCol"), t("detail")],
              this.alerts.map((a) => this.alertRow(a)), t("noAlerts")));
    alerts.id = "alerts";
    const sites = S.section("occupancy-title", t("occupancy"),
      S.table(t("occupancy"), [t("site"), t("spaces"), t("people"), t("capacity")], this.data.sites.map((s) =>
        h("tr", {dataset: {site: s.id}}, h("th", {scope: "row"}, `${s.name} (${S.label("siteKinds", s.kind)})`),
          h("td", {}, `${s.occupied} / ${s.spaces}${s.unknown ? ` (${s.unknown} ${t("unknownSpaces")})` : ""}`),
          h("td", {}, String(Math.round(s.people))), h("td", {}, String(s.capacity))))));
    const b = this.data.bookings;
    const nowMs = S.now();
    const counts = [b.length, b.filter((x) => x.status === "checked_in").length,
                    b.filter((x) => x.status === "no_show").length,
                    b.filter((x) => x.status === "confirmed" && new Date(x.start).getTime() > nowMs).length];
    const rows = b.map((x) => {
      let status = S.label("bookingStatus", x.status);
      if (x.status === "checked_in" && x.checked_in_at) status = `${t("checkedInAt")} ${S.hhmm(x.checked_in_at)}`;
      if (x.status === "no_show") status = `${S.label("bookingStatus", "no_show")} (${t("noShowAt")} ${S.hhmm(x.ended_at)})`;
      return h("tr", {class: `booking-${x.status}`, dataset: {booking: x.id}},
        h("td", {}, `${S.hhmm(x.start)}–${S.hhmm(x.end)}`), h("th", {scope: "row"}, x.space_name),
        h("td", {}, h("a", {href: `/staff/members?id=${x.member_id}`}, x.member_name)), h("td", {}, status));
    });
    const bookings = S.section("bookings-title", t("bookings"), h("p", {}, t("summary", ...counts)),
      S.table(t("bookings"), [t("time"), t("space"), t("member"), t("status")], rows, t("noBookings")));
    S.fill(alerts, sites, bookings);
  },
  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load().catch(() => null), 400);
  },
  on: {
    hello() { this.refreshSoon(); },
    alert() { this.refreshSoon(); },
    bookings() { this.refreshSoon(); },
  },
});
setInterval(() => { if (S.state.page && S.state.page.data) S.state.page.refreshSoon(); }, 30000);
