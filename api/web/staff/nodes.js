// /staff/nodes: the fleet — every node online / offline / silent, last seen, software
// version, config hash, uptime, outbox depth, grant versions, sensor health; by site, with
// the mini-stations and the bus shown as such.
"use strict";
S.page({
  name: "nodes",
  title: {fr: "Nœuds", en: "Nodes"},
  strings: {
    fr: {node: "Nœud", state: "État", lastSeen: "Dernier message", version: "Version", config: "Config",
         uptime: "Allumé depuis", outbox: "File d'envoi", grants: "Listes d'accès", health: "Santé",
         door_node: "porte", room_node: "salle", ok: "rien à signaler", behind: "en retard", upToDate: "à jour",
         clear: "Effacer", clearQ: (n) => `Effacer les défauts signalés par ${n} ?`,
         clearText: "À faire après avoir vérifié le nœud sur place : les défauts ne reviennent que s'il les signale de nouveau.",
         cleared: "Défauts effacés.", stateFilter: "État", stop: "Arrêter (démo)", stopQ: (n) => `Arrêter le nœud simulé ${n} ?`,
         stopText: "Comme si on le débranchait proprement : il publie « hors ligne » et se tait. Il revient au prochain lancement de la démo.",
         stopped: "Nœud arrêté : la console le voit passer hors ligne.", silentFor: (d) => `silencieux depuis ${d}`,
         none: "Aucun nœud ne correspond.", summary: (on, n) => `${on} en ligne sur ${n}`},
    en: {node: "Node", state: "State", lastSeen: "Last message", version: "Version", config: "Config",
         uptime: "Up for", outbox: "Outbox", grants: "Grant lists", health: "Health", door_node: "door",
         room_node: "room", ok: "nothing to report", behind: "behind", upToDate: "up to date", clear: "Clear",
         clearQ: (n) => `Clear the faults ${n} reported?`,
         clearText: "Do it after checking the node on site: faults come back only if it reports them again.",
         cleared: "Faults cleared.", stateFilter: "State", stop: "Stop (demo)", stopQ: (n) => `Stop the simulated node ${n}?`,
         stopText: "As if unplugged cleanly: it publishes “offline” and goes quiet. It comes back with the next demo run.",
         stopped: "Node stopped: the console sees it go offline.", silentFor: (d) => `silent for ${d}`,
         none: "No node matches.", summary: (on, n) => `${on} online of ${n}`},
  },
  nodes: [],
  async load() {
    const params = new URLSearchParams(location.search);
    this.site = params.get("site") || "";
    this.state = params.get("state") || "";
    await this.refresh();
    if (location.hash) { const el = document.querySelector(location.hash); if (el) el.scrollIntoView(); }
  },
  async refresh() {
    this.nodes = await S.api("/api/v1/nodes");
    this.render();
  },
  render() {
    const {h, t} = S;
    const site = h("select", {onchange: (e) => { this.site = e.target.value; this.render(); }}, ...S.siteOptions());
    site.value = this.site;
    const state = h("select", {onchange: (e) => { this.state = e.target.value; this.render(); }}, h("option", {value: ""}, t("all")),
      ...["online", "offline", "stale", "unknown"].map((s) => h("option", {value: s}, S.label("nodeStates", s))));
    state.value = this.state;
    const shown = this.nodes.filter((n) => (!this.site || n.site === this.site) && (!this.state || n.state === this.state));
    const bySite = new Map();
    for (const n of shown) { if (!bySite.has(n.site)) bySite.set(n.site, []); bySite.get(n.site).push(n); }
    const siteNames = new Map(S.siteOptions(false).map((o) => [o.value, o.textContent]));
    const sections = [...bySite.entries()].map(([siteId, nodes]) => {
      const kind = nodes[0].site_kind;
      const online = nodes.filter((n) => n.state === "online").length;
      const rows = nodes.map((n) => this.row(n));
      return S.section(`site-${siteId}`, `${siteNames.get(siteId) || siteId} — ${S.label("siteKinds", kind)}`,
        h("p", {}, t("summary", online, nodes.length)),
        S.table(`${siteNames.get(siteId) || siteId}`, [t("node"), t("state"), t("lastSeen"), t("version"), t("uptime"),
                                                       t("outbox"), t("grants"), t("health"), ""], rows));
    });
    S.fill(h("form", {class: "filters", onsubmit: (e) => e.preventDefault()},
             S.field("node-site", t("site"), site), S.field("node-state", t("stateFilter"), state)),
           ...(sections.length ? sections : [h("p", {class: "empty"}, t("none"))]));
  },
  row(n) {
    const {h, t} = S;
    const stateBadge = S.badge(n.state === "online" ? "active" : n.state === "unknown" ? "info" : "critical",
                               S.label("nodeStates", n.state));
    const grants = n.grants.map((g) => h("div", {}, `${g.door}: ${g.node_version ?? "—"} `,
      S.badge(g.behind ? "warning" : "active", g.behind ? t("behind") : t("upToDate"))));
    const faults = n.faults.length ? h("ul", {class: "faults"}, n.faults.map((f) => h("li", {},
      S.badge(f.kind === "tamper" ? "critical" : "warning", f.kind), ` ${f.reason || ""} — ${S.sinceText(f.since)}`))) : t("ok");
    const actions = [];
    if (n.faults.length) actions.push(h("button", {type: "button", class: "secondary", dataset: {action: "clear"},
      "aria-label": `${t("clear")} — ${n.id}`, onclick: async () => {
        if (await S.confirm(t("clearQ", n.id), t("clearText"), t("clear"))
            && await S.act(S.api(`/api/v1/nodes/${n.id}/faults/clear`, {method: "POST"}), t("cleared"))) this.refresh();
      }}, t("clear")));
    if (S.demo && n.state === "online") actions.push(h("button", {type: "button", class: "danger", dataset: {action: "stop"},
      "aria-label": `${t("stop")} — ${n.id}`, onclick: async () => {
        if (await S.confirm(t("stopQ", n.id), t("stopText"), t("stop"))
            && await S.act(S.api(`/api/v1/demo/nodes/${n.id}/stop`, {method: "POST"}), t("stopped"))) this.refresh();
      }}, t("stop")));
    const silent = n.state === "stale" && n.silent_s != null ? [h("br"), h("small", {}, t("silentFor", S.duration(n.silent_s)))] : "";
    return h("tr", {id: `node-${n.id}`, dataset: {node: n.id, state: n.state}},
      h("th", {scope: "row"}, n.id, h("br"), h("small", {}, `${t(n.profile)}${n.space ? ` · ${n.space}` : ""}`)),
      h("td", {}, stateBadge, n.since ? [h("br"), h("small", {}, S.sinceText(n.since))] : "", silent),
      h("td", {}, S.dateTime(n.last_seen)),
      h("td", {}, n.version || "—", h("br"), h("small", {title: n.config_hash || ""}, n.config_hash ? `${t("config")} ${n.config_hash.slice(0, 8)}` : "")),
      h("td", {}, S.duration(n.uptime_s)), h("td", {}, n.outbox_depth == null ? "—" : String(n.outbox_depth)),
      h("td", {}, grants.length ? grants : "—"), h("td", {}, faults), h("td", {}, actions));
  },
  refreshSoon() { clearTimeout(this.timer); this.timer = setTimeout(() => this.refresh(), 300); },
  on: {hello() { this.refreshSoon(); }, node() { this.refreshSoon(); }, alert() { this.refreshSoon(); }},
});
setInterval(() => { if (S.state.page && S.state.page.nodes) S.state.page.refreshSoon(); }, 15000);
