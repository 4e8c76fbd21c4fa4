// /staff/doors: every door live (closed / open / held / forced, lock mode, fire, its node
// and grant list), its last events, and staff commands with a confirmation, followed
// until the node applied (or refused) them.
"use strict";
const DOOR_EVENTS = {
  fr: {door_opened: "ouverte", door_closed: "fermée", door_forced: "forcée", door_held_open: "restée ouverte",
       fire_release: "alarme incendie", fire_cleared: "fin d'alarme incendie", command_applied: "commande appliquée",
       command_rejected: "commande refusée", access_granted: "badge accepté", access_denied: "badge refusé",
       reader_lockout: "lecteur bloqué", exit_request: "bouton de sortie", tamper: "boîtier ouvert"},
  en: {door_opened: "opened", door_closed: "closed", door_forced: "forced", door_held_open: "held open",
       fire_release: "fire alarm", fire_cleared: "fire alarm over", command_applied: "command applied",
       command_rejected: "command refused", access_granted: "badge accepted", access_denied: "badge refused",
       reader_lockout: "reader locked out", exit_request: "exit button", tamper: "enclosure opened"},
};
S.page({
  name: "doors",
  title: {fr: "Portes", en: "Doors"},
  strings: {
    fr: {doors: "Portes", door: "Porte", state: "État", lock: "Verrouillage", node: "Nœud", grants: "Liste d'accès",
         events: "Derniers événements", commands: "Commandes", closed: "fermée", open: "ouverte", held: "restée ouverte",
         forced: "forcée", unknown: "inconnu", normal: "normal", lockdown: "confinement", release: "libérée",
         fire: "alarme incendie", upToDate: "à jour", behind: "en retard", onNode: "sur le nœud", api: "API",
         unlock_once: "Déverrouiller une fois", lockdownAction: "Confiner", releaseAction: "Libérer",
         normalAction: "Retour à la normale",
         questions: {unlock_once: "Déverrouiller une fois", lockdown: "Confiner", release: "Libérer", normal: "Revenir à la normale"},
         explain: {unlock_once: "La gâche s'ouvre quelques secondes, puis se referme.",
                   lockdown: "Seuls les badges du personnel ouvriront cette porte jusqu'au retour à la normale. Le bouton de sortie reste actif.",
                   release: "La porte reste déverrouillée pour tout le monde jusqu'au retour à la normale.",
                   normal: "La porte reprend ses règles habituelles."},
         q: (a, d) => `${a} : ${d} ?`, sent: "Commande envoyée, en attente du nœud…",
         pending: "en attente du nœud", applied: (t, s) => `appliquée par le nœud à ${t} (${s})`,
         rejected: (r) => `refusée par le nœud : ${r}`, expired: "expirée : le nœud ne l'a pas appliquée à temps",
         none: "Aucun événement depuis le démarrage.", filter: "Filtrer"},
    en: {doors: "Doors", door: "Door", state: "State", lock: "Lock mode", node: "Node", grants: "Grant list",
         events: "Last events", commands: "Commands", closed: "closed", open: "open", held: "held open",
         forced: "forced", unknown: "unknown", normal: "normal", lockdown: "lockdown", release: "released",
         fire: "fire alarm", upToDate: "up to date", behind: "behind", onNode: "on the node", api: "API",
         unlock_once: "Unlock once", lockdownAction: "Lock down", releaseAction: "Release", normalAction: "Back to normal",
         questions: {unlock_once: "Unlock once", lockdown: "Lock down", release: "Release", normal: "Back to normal"},
         explain: {unlock_once: "The strike opens for a few seconds, then locks again.",
                   lockdown: "Only staff badges will open this door until it is back to normal. The exit button still works.",
                   release: "The door stays unlocked for everyone until it is back to normal.",
                   normal: "The door follows its usual rules again."},
         q: (a, d) => `${a}: ${d}?`, sent: "Command sent, waiting for the node…", pending: "waiting for the node",
         applied: (t, s) => `applied by the node at ${t} (${s})`, rejected: (r) => `refused by the node: ${r}`,
         expired: "expired: the node did not apply it in time", none: "No event since the start.", filter: "Filter"},
  },
  doors: [],
  commands: {},  // door id → the last command sent from this page
  async load() {
    this.site = new URLSearchParams(location.search).get("site") || "";
    await this.refresh();
    if (location.hash) { const el = document.querySelector(location.hash); if (el) el.scrollIntoView(); }
  },
  async refresh() {
    this.doors = await S.api("/api/v1/doors");
    this.render();
  },
  commandText(c) {
    const {t} = S;
    if (c.status === "pending") return t("pending");
    if (c.status === "applied") {
      const took = (new Date(c.answered_at) - new Date(c.issued_at)) / 1000;
      return t("applied", new Date(c.answered_at).toLocaleTimeString(S.state.lang === "fr" ? "fr-FR" : "en-GB", {timeZone: S.tz}),
               `${took.toFixed(1)} s`);
    }
    if (c.status === "rejected") return t("rejected", c.reason || "");
    return t("expired");
  },
  async send(door, action) {
    const {t} = S;
    const ok = await S.confirm(t("q", t("questions")[action], door.name), t("explain")[action], t("questions")[action]);
    if (!ok) return;
    const command = await S.act(S.api(`/api/v1/doors/${door.id}/commands`, {method: "POST", body: {action}}), t("sent"));
    if (!command) return;
    this.commands[door.id] = command;
    this.render();
    this.follow(door.id, command.id, 0);
  },
  async follow(doorId, id, n) {  // pushed by the stream ("command"), polled as a safety net
    const c = await S.api(`/api/v1/doors/${doorId}/commands/${id}`).catch(() => null);
    if (c) { this.commands[doorId] = c; this.render(); }
    if ((!c || c.status === "pending") && n < 120) setTimeout(() => this.follow(doorId, id, n + 1), 1000);
    else if (c) { S.say(`${this.doors.find((d) => d.id === doorId).name} — ${S.t(c.action === "unlock_once" ? "unlock_once" : c.action + "Action")} : ${this.commandText(c)}`); this.refresh(); }
  },
  render() {
    const {h, t} = S;
    const site = h("select", {onchange: (e) => { this.site = e.target.value; this.render(); }}, ...S.siteOptions());
    site.value = this.site;
    const rows = this.doors.filter((d) => !this.site || d.site === this.site).map((d) => {
      const live = d.live || {};
      const state = h("span", {class: `door-state door-${live.state}`}, t(live.state || "unknown"));
      const behind = d.grant_version && live.node_grant_version !== d.grant_version;
      const grants = h("span", {}, `${t("onNode")} ${live.node_grant_version ?? "—"} / ${t("api")} ${d.grant_version ?? "—"} `,
                       S.badge(behind ? "warning" : "active", behind ? t("behind") : t("upToDate")));
      const events = (live.last_events || []).slice(0, 5).map((e) => h("li", {}, `${S.hhmm(e.ts)} ${DOOR_EVENTS[S.state.lang][e.kind] || e.kind}${e.reason ? ` (${e.reason})` : ""}`));
      const command = this.commands[d.id];
      const buttons = [["unlock_once", "unlock_once"], ["lockdown", "lockdownAction"], ["release", "releaseAction"], ["normal", "normalAction"]]
        .map(([action, key]) => h("button", {type: "button", class: action === "normal" ? "secondary" : action === "unlock_once" ? "" : "danger",
                                             dataset: {action}, "aria-label": `${t(key)} — ${d.name}`,
                                             onclick: () => this.send(d, action)}, t(key)));
      return h("tr", {id: `door-${d.id}`, dataset: {door: d.id, state: live.state, lock: live.lock_mode}},
        h("th", {scope: "row"}, d.name, h("br"), h("small", {}, d.id)),
        h("td", {}, state, live.since ? h("br") : "", live.since ? h("small", {}, S.sinceText(live.since)) : "",
          live.fire ? [h("br"), S.badge("critical", `${t("fire")} ${S.sinceText(live.fire_since)}`)] : ""),
        h("td", {}, S.badge(live.lock_mode === "normal" ? "active" : "warning", t(live.lock_mode || "normal")),
          live.lock_mode !== "normal" && live.lock_mode_since ? [h("br"), h("small", {}, S.sinceText(live.lock_mode_since))] : ""),
        h("td", {}, live.node ? h("a", {href: `/staff/nodes#node-${live.node}`}, live.node) : "—", h("br"),
          h("small", {}, S.label("nodeStates", live.node_state) || live.node_state)),
        h("td", {}, grants),
        h("td", {}, events.length ? h("ul", {class: "events"}, events) : h("small", {}, t("none"))),
        h("td", {class: "commands"}, h("div", {class: "buttons"}, buttons),
          command ? h("p", {class: `command command-${command.status}`, "aria-live": "polite", dataset: {command: command.id, status: command.status}},
                      `${t(command.action === "unlock_once" ? "unlock_once" : `${command.action}Action`)} : ${this.commandText(command)}`) : ""));
    });
    S.fill(h("form", {class: "filters", onsubmit: (e) => e.preventDefault()}, S.field("door-site", t("site"), site)),
      S.table(t("doors"), [t("door"), t("state"), t("lock"), t("node"), t("grants"), t("events"), t("commands")], rows));
  },
  refreshSoon() { clearTimeout(this.timer); this.timer = setTimeout(() => this.refresh(), 300); },
  on: {
    hello() { this.refreshSoon(); },
    door() { this.refreshSoon(); },
    node() { this.refreshSoon(); },
    command(data) { const c = this.commands[data.door]; if (c && c.id === data.id) this.follow(data.door, data.id, 1000); },
  },
});
