// The staff console's common part: language, session, API calls, the live stream, and
// small building blocks (tables, forms, confirmations, a member picker) for the pages.
// Every page script calls S.page({title, strings, load, render, on}) once.
"use strict";
const S = (() => {
  const body = document.body;
  const common = {
    fr: {skip: "Aller au contenu", brand: "La Station — console du personnel", logout: "Se déconnecter",
         loading: "Chargement…", cancel: "Annuler", actions: "Actions", live: "En direct", reconnecting: "Reconnexion…",
         langButton: "English", switchTo: "Switch to English", failed: "Échec", saved: "Enregistré",
         empty: "Rien pour l'instant.", unknown: "inconnu", never: "jamais", ago: (m) => `il y a ${m}`,
         since: "depuis", forbidden: "Cette console est réservée au personnel et aux administrateurs.",
         forbiddenTitle: "Accès refusé", toBoard: "Retour au tableau des salles", who: "Connecté·e :",
         member: "Membre", search: "Rechercher", pickMember: "Choisir un membre", noMatch: "Aucun membre trouvé",
         typeToSearch: "Tapez un nom ou un e-mail", site: "Site", all: "Tous", alertsN: (n) => `${n} alerte(s)`,
         roles: {member: "membre", staff: "personnel", admin: "administrateur"},
         statuses: {active: "actif", suspended: "suspendu"},
         bookingStatus: {confirmed: "confirmée", checked_in: "badgée", released: "libérée", cancelled: "annulée",
                         no_show: "non honorée"},
         kinds: {fablab: "Fab lab", coworking: "Coworking", meeting: "Réunion", ticket_office: "Billetterie",
                 shop: "Boutique", venue: "Salle de spectacle"},
         siteKinds: {main: "site principal", mini: "mini-station", mobile: "bus (mobile)"},
         roomStatus: {free: "libre", occupied: "occupée", reserved: "réservée", unknown: "inconnu"},
         nodeStates: {online: "en ligne", offline: "hors ligne", stale: "silencieux", unknown: "jamais entendu"}},
    en: {skip: "Skip to content", brand: "La Station — staff console", logout: "Log out", loading: "Loading…",
         actions: "Actions",
         cancel: "Cancel", live: "Live", reconnecting: "Reconnecting…", langButton: "Français",
         switchTo: "Passer en français", failed: "Failed", saved: "Saved", empty: "Nothing yet.", unknown: "unknown",
         never: "never", ago: (m) => `${m} ago`, since: "since",
         forbidden: "This console is for staff and administrators only.", forbiddenTitle: "Access denied",
         toBoard: "Back to the rooms board", who: "Logged in:", member: "Member", search: "Search",
         pickMember: "Choose a member", noMatch: "No member found", typeToSearch: "Type a name or an e-mail",
         site: "Site", all: "All", alertsN: (n) => `${n} alert(s)`,
         roles: {member: "member", staff: "staff", admin: "administrator"},
         statuses: {active: "active", suspended: "suspended"},
         bookingStatus: {confirmed: "confirmed", checked_in: "checked in", released: "released",
                         cancelled: "cancelled", no_show: "no-show"},
         kinds: {fablab: "Fab lab", coworking: "Coworking", meeting: "Meeting room", ticket_office: "Ticket office",
                 shop: "Shop", venue: "Venue"},
         siteKinds: {main: "main site", mini: "mini-station", mobile: "bus (mobile)"},
         roomStatus: {free: "free", occupied: "occupied", reserved: "reserved", unknown: "unknown"},
         nodeStates: {online: "online", offline: "offline", stale: "silent", unknown: "never heard"}},
  };
  const state = {lang: localStorage.getItem("station.lang") || "fr", token: localStorage.getItem("station.token"),
                 me: null, page: null, live: null, source: null};
  const tz = body.dataset.tz;
  const demo = body.dataset.demo === "true";
  const $ = (sel, root = document) => root.querySelector(sel);

  function t(key, ...args) {
    const page = state.page && state.page.strings ? state.page.strings[state.lang] || {} : {};
    const value = key in page ? page[key] : common[state.lang][key];
    if (value === undefined) return key;
    return typeof value === "function" ? value(...args) : value;
  }
  const label = (group, key) => (t(group) || {})[key] || key;

  // -- DOM -----------------------------------------------------------------------------
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  }
  function table(caption, headers, rows, empty) {
    if (!rows.length) return h("p", {class: "empty"}, empty || t("empty"));
    return scroller(caption, h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((c) => h("th", {scope: "col"}, c === "" ? h("span", {class: "sr"}, t("actions")) : c)))),
      h("tbody", {}, rows)));
  }
  function scroller(label, wide) {  // on a phone a wide table scrolls in its own box, not the whole page
    return h("div", {class: "scroller", role: "region", "aria-label": label, tabindex: "0"}, wide);
  }
  function field(id, text, input) {
    input.id = id;
    return h("div", {class: "field"}, h("label", {for: id}, text), input);
  }
  function section(id, title, ...children) {
    return h("section", {"aria-labelledby": id}, h("h2", {id}, title), ...children);
  }
  function badge(kind, text) { return h("span", {class: `badge badge-${kind}`}, text); }
  function say(text, bad = false) {
    const m = $("#message");
    m.textContent = text;
    m.classList.toggle("error", bad);
  }
  function siteOptions(withAll = true) {
    const opts = Array.from($("#site-options").content.querySelectorAll("option")).map((o) => o.cloneNode(true));
    return withAll ? [h("option", {value: ""}, t("all")), ...opts] : opts;
  }

  // -- time ----------------------------------------------------------------------------
  const locale = () => (state.lang === "fr" ? "fr-FR" : "en-GB");
  function hhmm(iso) {
    return iso ? new Date(iso).toLocaleTimeString(locale(), {hour: "2-digit", minute: "2-digit", timeZone: tz}) : "—";
  }
  function dateTime(iso) {
    return iso ? new Date(iso).toLocaleString(locale(), {day: "2-digit", month: "2-digit", hour: "2-digit",
                                                          minute: "2-digit", timeZone: tz}) : "—";
  }
  function day(iso) {
    return iso ? new Date(iso).toLocaleDateString(locale(), {day: "2-digit", month: "2-digit", year: "numeric",
                                                              timeZone: tz}) : "—";
  }
  function duration(seconds) {
    if (seconds == null) return "—";
    const s = Math.max(0, Math.round(seconds));
    if (s < 90) return `${s} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} j`;
  }
  let serverOffset = 0;  // the server's clock (accelerated in the demo) minus the browser's
  const now = () => Date.now() + serverOffset;
  function sinceText(iso) {
    if (!iso) return "—";
    return `${t("since")} ${dateTime(iso)} (${t("ago", duration((now() - new Date(iso).getTime()) / 1000))})`;
  }

  // -- API -----------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }
  function detailText(body, status) {
    if (!body || body.detail === undefined) return `HTTP ${status}`;
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
    return JSON.stringify(body.detail);
  }
  async function api(path, {method = "GET", body, raw = false} = {}) {
    const headers = {};
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      throw new ApiError(0, state.lang === "fr" ? "l'API ne répond pas" : "the API does not answer");
    }
    if (r.status === 401 && state.page && state.page.name !== "login") { toLogin(); throw new ApiError(401, "log in"); }
    if (raw) { if (!r.ok) throw new ApiError(r.status, `HTTP ${r.status}`); return r; }
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, detailText(data, r.status));
    return data;
  }
  async function download(path, filename) {
    const r = await api(path, {raw: true});
    const url = URL.createObjectURL(await r.blob());
    const a = h("a", {href: url, download: filename});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  async function act(promise, done) {  // run an action; say what happened
    try {
      const result = await promise;
      if (done) say(done);
      return result;
    } catch (e) {
      say(`${t("failed")} : ${e.message}`, true);
      return undefined;
    }
  }

  // -- focus across re-renders (live pages redraw often) -------------------------------
  const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";
  function focusKey(el) {
    if (!el || el === document.body || !$("#content").contains(el)) return null;
    if (el.id) return {id: el.id};
    const row = el.closest("tr[id], [data-door], [data-node]");
    const within = row && row.id ? Array.from(row.querySelectorAll(FOCUSABLE)).indexOf(el) : -1;
    return {row: row && row.id ? row.id : null, within, index: Array.from($("#content").querySelectorAll(FOCUSABLE)).indexOf(el)};
  }
  function refocus(key) {  // the same control after a redraw: by id, by its row's id, else by its rank
    if (!key) return;
    let el = key.id ? document.getElementById(key.id) : null;
    if (!el && key.row && key.within >= 0) {
      const row = document.getElementById(key.row);
      if (row) el = row.querySelectorAll(FOCUSABLE)[key.within];
    }
    if (!el && key.index >= 0) el = $("#content").querySelectorAll(FOCUSABLE)[key.index];
    if (el && el !== document.activeElement) el.focus();
  }

  // -- confirmations -------------------------------------------------------------------
  function confirm(title, text, okLabel) {
    const dialog = $("#confirm");
    $("#confirm-title").textContent = title;
    $("#confirm-text").textContent = text;
    $("#confirm-ok").textContent = okLabel;
    $("#confirm-cancel").textContent = t("cancel");
    const opener = document.activeElement;
    const key = focusKey(opener);
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "ok");
        if (opener && opener.isConnected) opener.focus(); else refocus(key);  // the page may have redrawn meanwhile
      }, {once: true});
      dialog.returnValue = "cancel";
      dialog.showModal();
      $("#confirm-cancel").focus();  // the safe choice has the focus
    });
  }

  // -- member picker -------------------------------------------------------------------
  function memberPicker(id, {roles = null} = {}) {
    const query = h("input", {type: "search", id: `${id}-q`, autocomplete: "off", placeholder: t("typeToSearch")});
    const select = h("select", {id, required: true}, h("option", {value: ""}, t("pickMember")));
    let timer = null;
    async function find() {
      const q = query.value.trim();
      const list = await api(`/api/v1/staff/members?limit=20&q=${encodeURIComponent(q)}`).catch(() => []);
      const shown = roles ? list.filter((m) => roles.includes(m.role)) : list;
      select.replaceChildren(h("option", {value: ""}, shown.length ? t("pickMember") : t("noMatch")),
        ...shown.map((m) => h("option", {value: m.id}, `${m.name} — ${m.email}${m.status === "suspended" ? ` (${label("statuses", "suspended")})` : ""}`)));
      if (shown.length === 1) select.value = String(shown[0].id);
    }
    query.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 250); });
    find();
    const el = h("div", {class: "picker"},
      h("div", {class: "field"}, h("label", {for: `${id}-q`}, `${t("search")} (${t("member").toLowerCase()})`), query),
      h("div", {class: "field"}, h("label", {for: id}, t("member")), select));
    el.value = () => Number(select.value) || null;
    el.set = async (member) => { query.value = member.email; await find(); select.value = String(member.id); };
    return el;
  }

  // -- session and page ----------------------------------------------------------------
  async function stillStaff() {  // the stream was refused: is this still a staff session?
    try { await api("/api/v1/staff/clock"); return true; } catch (e) {  // a 401 has gone to the login page
      if (e.status === 403) location.reload();  // no longer staff: the server's "access denied" page
      return e.status === 0 || e.status >= 500;  // the API restarting: listen again
    }
  }
  function toLogin() {
    const next = location.pathname + location.search;
    location.assign(`/staff/login?next=${encodeURIComponent(next)}`);
  }
  async function logout() {
    if (state.token) await fetch("/api/v1/auth/logout", {method: "POST", headers: {Authorization: `Bearer ${state.token}`}}).catch(() => null);
    await fetch("/api/v1/staff/session", {method: "DELETE"}).catch(() => null);
    localStorage.removeItem("station.token");
    state.token = null;
    location.assign("/staff/login");
  }
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const a of document.querySelectorAll("#nav a")) a.firstChild.textContent = a.dataset[state.lang];
    $("#lang").textContent = t("langButton");
    $("#lang").setAttribute("aria-label", t("switchTo"));
    const title = state.page && state.page.title ? state.page.title[state.lang] : document.title;
    $("#page-title").textContent = title;
    document.title = `${title} — ${t("brand")}`;
    if (state.me) $("#who").textContent = `${t("who")} ${state.me.name} (${label("roles", state.me.role)})`;
    setLive(state.live);
    showNotice();
  }
  // The information notice (issue 19): what the system collects and keeps, from the settings.
  let notice = null;
  async function showNotice() {
    if (notice === null) {
      const r = await fetch("/api/v1/privacy/notice").catch(() => null);
      notice = r && r.ok ? await r.json() : {};
    }
    if (!notice.fr) return;
    $("#notice-short").textContent = notice[state.lang].short;
    $("#notice-link").textContent = state.lang === "fr" ? "Information sur les données (RGPD)" : "About personal data (GDPR)";
  }
  function setLive(value) { state.live = value; $("#live").textContent = value ? t(value) : ""; }

  let alertCount = null;
  async function refreshAlertCount() {
    const list = await api("/api/v1/staff/alerts").catch(() => null);
    if (!list) return;
    alertCount = list.length;
    const link = $('#nav a[data-page="today"]');
    let count = link.querySelector(".count");
    if (!count) { count = h("span", {class: "count"}); link.append(count); }
    count.textContent = alertCount ? ` ${alertCount}` : "";
    count.setAttribute("aria-label", alertCount ? t("alertsN", alertCount) : "");
    count.hidden = !alertCount;
  }

  function listen(on) {
    const source = new EventSource("/api/v1/staff/stream");  // the console's cookie: no token in the URL
    state.source = source;
    source.addEventListener("hello", () => { setLive("live"); refreshAlertCount(); if (on.hello) on.hello.call(state.page); });
    for (const kind of ["alert", "door", "node", "unknown_card", "command", "bookings"]) {
      source.addEventListener(kind, (e) => {
        const data = JSON.parse(e.data);
        if (kind === "alert") refreshAlertCount();
        if (on[kind]) on[kind].call(state.page, data);
      });
    }
    source.onerror = () => {
      setLive("reconnecting");
      if (source.readyState === EventSource.CLOSED) setTimeout(() => stillStaff().then((yes) => { if (yes) listen(on); }), 3000);
    };
  }

  async function start(page) {
    state.page = page;
    $("#lang").addEventListener("click", () => {
      state.lang = state.lang === "fr" ? "en" : "fr";
      localStorage.setItem("station.lang", state.lang);
      applyLanguage();
      if (page.render) page.render();
    });
    $("#logout").addEventListener("click", logout);
    applyLanguage();
    if (page.name === "login" || page.name === "forbidden") {
      await page.load();
      $("#content").setAttribute("aria-busy", "false");
      return;
    }
    if (!state.token) { toLogin(); return; }
    try {
      state.me = await api("/api/v1/members/me");
    } catch (e) { return; }
    $("#logout").hidden = false;
    const clock = await api("/api/v1/staff/clock").catch(() => null);
    if (clock) serverOffset = new Date(clock.now).getTime() - Date.now();
    applyLanguage();
    try {
      await page.load();
    } catch (e) {
      say(`${t("failed")} : ${e.message}`, true);
    }
    $("#content").setAttribute("aria-busy", "false");
    listen(page.on || {});
  }

  return {t, label, h, table, scroller, field, section, badge, say, api, act, download, confirm, memberPicker, siteOptions,
          hhmm, dateTime, day, duration, sinceText, now, demo, tz, state, $, ApiError,
          setServerNow(iso) { serverOffset = new Date(iso).getTime() - Date.now(); },
          isAdmin: () => state.me && state.me.role === "admin",
          content: () => $("#content"),
          page(def) { document.addEventListener("DOMContentLoaded", () => start(def)); },
          fill(...children) {  // re-render, keeping the keyboard focus where it was
            const key = focusKey(document.activeElement);
            $("#content").replaceChildren(...children);
            refocus(key);
          }};
})();
