// /staff/audit: the audit log filtered by member, door, space, action and time; CSV export.
"use strict";
const AUDIT_ACTIONS = ["access_granted", "access_denied", "door_forced", "door_held_open", "door_command", "command_applied",
  "command_rejected", "booking_created", "booking_cancelled", "booking_released", "booking_checked_in", "booking_no_show",
  "member_enrolled", "member_suspended", "member_active", "member_role_changed", "badge_enrolled", "badge_revoked",
  "training_recorded", "training_revoked", "login_failed", "tamper", "fire_release", "fire_cleared", "reader_lockout",
  "grants_rejected", "node_faults_cleared", "api_key_created"];
S.page({
  name: "audit",
  title: {fr: "Journal d'audit", en: "Audit log"},
  strings: {
    fr: {filters: "Filtres", door: "Porte", space: "Espace", action: "Action", since: "Depuis", until: "Jusqu'à",
         show: "Afficher", csv: "Exporter en CSV", entries: "Entrées, les plus récentes d'abord", at: "Date",
         actor: "Par", detail: "Détail", more: "Afficher plus", none: "Aucune entrée ne correspond.",
         memberId: "Membre", anyMember: "Tous les membres", anyDoor: "Toutes les portes", anySpace: "Tous les espaces",
         anyAction: "Toutes les actions", count: (n) => `${n} entrée(s) affichée(s).`},
    en: {filters: "Filters", door: "Door", space: "Space", action: "Action", since: "Since", until: "Until",
         show: "Show", csv: "Export as CSV", entries: "Entries, newest first", at: "Date", actor: "By",
         detail: "Detail", more: "Show more", none: "No entry matches.", memberId: "Member",
         anyMember: "All members", anyDoor: "All doors", anySpace: "All spaces", anyAction: "All actions",
         count: (n) => `${n} entr(y/ies) shown.`},
  },
  entries: [],
  limit: 100,
  filters: {},
  async load() {
    const [doors, rooms] = await Promise.all([S.api("/api/v1/doors"), S.api("/api/v1/rooms")]);
    this.doors = doors;
    this.rooms = rooms;
    const params = new URLSearchParams(location.search);
    for (const k of ["member", "door", "space", "action"]) if (params.get(k)) this.filters[k] = params.get(k);
    this.picker = S.memberPicker("audit-member");
    await this.refresh();
  },
  query(limit) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(this.filters)) if (v) p.set(k, v);
    if (limit) p.set("limit", String(limit));
    return p.toString();
  },
  async refresh() {
    this.entries = await S.api(`/api/v1/audit?${this.query(this.limit)}`);
    this.render();
  },
  render() {
    const {h, t} = S;
    if (!this.doors) return;
    const door = h("select", {}, h("option", {value: ""}, t("anyDoor")), ...this.doors.map((d) => h("option", {value: d.id}, d.name)));
    door.value = this.filters.door || "";
    const space = h("select", {}, h("option", {value: ""}, t("anySpace")), ...this.rooms.map((r) => h("option", {value: r.id}, r.name)));
    space.value = this.filters.space || "";
    const action = h("select", {}, h("option", {value: ""}, t("anyAction")), ...AUDIT_ACTIONS.map((a) => h("option", {value: a}, a)));
    action.value = this.filters.action || "";
    const local = (iso) => iso ? new Date(new Date(iso).getTime() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : "";
    const since = h("input", {type: "datetime-local", value: local(this.filters.since)});
    const until = h("input", {type: "datetime-local", value: local(this.filters.until)});
    const form = h("form", {class: "filters", id: "audit-filters", onsubmit: (e) => {
      e.preventDefault();
      this.filters = {member: this.picker.value() || "", door: door.value, space: space.value, action: action.value,
                      since: since.value ? new Date(since.value).toISOString() : "",
                      until: until.value ? new Date(until.value).toISOString() : ""};
      this.limit = 100;
      this.refresh().catch((err) => S.say(err.message, true));
    }}, this.picker, S.field("audit-door", t("door"), door), S.field("audit-space", t("space"), space),
       S.field("audit-action", t("action"), action), S.field("audit-since", t("since"), since),
       S.field("audit-until", t("until"), until), h("button", {type: "submit"}, t("show")),
       h("button", {type: "button", class: "secondary", id: "export-audit",
                    onclick: () => S.act(S.download(`/api/v1/staff/audit.csv?${this.query()}`, "audit.csv"))}, t("csv")));
    const rows = this.entries.map((e) => h("tr", {dataset: {entry: e.id, action: e.action}},
      h("td", {}, S.dateTime(e.ts)), h("th", {scope: "row"}, e.action), h("td", {}, e.actor),
      h("td", {}, e.member_id ? h("a", {href: `/staff/members?id=${e.member_id}`}, `#${e.member_id}`) : ""),
      h("td", {}, e.door || ""), h("td", {}, e.space || ""),
      h("td", {}, h("code", {}, Object.entries(e.detail || {}).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ")))));
    const more = this.entries.length >= this.limit ? h("button", {type: "button", class: "secondary", onclick: () => { this.limit = Math.min(1000, this.limit + 200); this.refresh(); }}, t("more")) : "";
    S.fill(S.section("filters-title", t("filters"), form),
           S.section("entries-title", t("entries"), h("p", {}, t("count", this.entries.length)),
                     S.table(t("entries"), [t("at"), t("action"), t("actor"), t("memberId"), t("door"), t("space"), t("detail")], rows, t("none")), more));
  },
});
