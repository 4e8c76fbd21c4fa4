// "Mes données": what the API holds about the logged-in member (GET /api/v1/members/me/export),
// downloads (JSON, CSV), erasure with confirmation, and the information notice (fr/en).
// The session is the board's (its token in localStorage), so the page needs no login of its own.
"use strict";
const T = {
  fr: {title: "Mes données", skip: "Aller à mes données", back: "← Retour au tableau", held: "Ce que La Station garde sur vous",
       loginNeeded: "Connectez-vous sur le tableau pour voir et télécharger vos données.", heldCaption: "Vos données, par catégorie",
       what: "Donnée", value: "Ce qui est gardé", accessTitle: "Vos passages de badge (dans la durée de conservation)",
       downloadJson: "Télécharger (JSON)", downloadCsv: "Télécharger (CSV, tableur)", eraseTitle: "Effacer mon compte",
       eraseText: "Vos badges cessent d'ouvrir les portes à l'instant ; votre nom, votre e-mail, vos badges et vos formations sont effacés. Vos réservations restent, anonymes, pour la comptabilité. Cette action est définitive.",
       eraseConfirm: "Tapez votre e-mail pour confirmer", eraseButton: "Effacer définitivement",
       noticeTitle: "Information sur vos données", langButton: "English", switchTo: "Switch to English",
       profile: "Profil", badges: "Badges (empreintes seulement)", trainings: "Formations", bookings: "Réservations",
       accessEvents: "Passages de badge", audit: "Journal (actions vous concernant)", devices: "Navigateurs connus",
       none: "Aucun", granted: "entrée", denied: "refusé", checkin: "arrivée", erased: "Compte effacé. Réservations gardées anonymes pour la comptabilité.",
       refusedConfirm: "L'e-mail ne correspond pas : rien n'a été effacé.", failed: "Impossible pour le moment",
       sessionExpired: "Session expirée, reconnectez-vous sur le tableau",
       n: (k) => `${k} ligne${k > 1 ? "s" : ""}`, retention: (d) => `gardé ${d} jours`},
  en: {title: "My data", skip: "Skip to my data", back: "← Back to the board", held: "What La Station keeps about you",
       loginNeeded: "Log in on the board to see and download your data.", heldCaption: "Your data, by category",
       what: "Data", value: "What is kept", accessTitle: "Your badge uses (within the retention period)",
       downloadJson: "Download (JSON)", downloadCsv: "Download (CSV, spreadsheet)", eraseTitle: "Erase my account",
       eraseText: "Your badges stop opening doors at once; your name, e-mail, badges and trainings are erased. Your bookings stay, anonymous, for the accounts. This cannot be undone.",
       eraseConfirm: "Type your e-mail to confirm", eraseButton: "Erase for good",
       noticeTitle: "About your data", langButton: "Français", switchTo: "Passer en français",
       profile: "Profile", badges: "Badges (fingerprints only)", trainings: "Trainings", bookings: "Bookings",
       accessEvents: "Badge uses", audit: "Log (actions about you)", devices: "Known browsers",
       none: "None", granted: "admitted", denied: "refused", checkin: "check-in", erased: "Account erased. Bookings kept anonymous for the accounts.",
       refusedConfirm: "The e-mail does not match: nothing was erased.", failed: "Not possible right now",
       sessionExpired: "Session expired, please log in again on the board",
       n: (k) => `${k} row${k === 1 ? "" : "s"}`, retention: (d) => `kept ${d} days`},
};
const $ = (s) => document.querySelector(s);
const noticeFr = $("#notice-text").innerHTML;
let noticeEn = null;
let lang = localStorage.getItem("station.lang") || "fr";
let token = localStorage.getItem("station.token");
let archive = null;
const t = () => T[lang];
function headers(extra) { return {...(token ? {Authorization: `Bearer ${token}`} : {}), "Accept-Language": lang, ...extra}; }
function say(text) { const m = $("#message"); m.textContent = text; m.focus(); }
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
function reason(body, status) {  // the server's own sentence, whatever the shape of detail
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d) && d.length) return d.map((e) => e.msg).join(" ");
  return String(status);
}
function loggedOut() { token = null; archive = null; localStorage.removeItem("station.token"); $("#mine").hidden = true; $("#login-needed").hidden = false; }
async function refused(r) {  // a refusal in the page's language with the server's reason; a 401 ends the session
  const body = r ? await r.json().catch(() => ({})) : {};
  if (r && r.status === 401) { loggedOut(); say(`${t().sessionExpired} (${reason(body, 401)})`); return; }
  say(r ? `${t().failed} : ${reason(body, r.status)}` : t().failed);
}
function paragraphs(text) {
  const div = document.createElement("div");
  for (const p of text.split("\n\n")) { const el = document.createElement("p"); el.textContent = p; div.append(el); }
  return div.innerHTML;
}

function renderHeld() {
  if (!archive) return;
  const a = archive, days = a.retention_days, rows = [
    [t().profile, `${a.profile.name} · ${a.profile.email} · ${a.profile.role}`],
    [t().badges, a.badges.map((b) => b.credential_hash.slice(0, 12) + "…").join(", ") || t().none],
    [t().trainings, a.trainings.map((x) => x.machine).join(", ") || t().none],
    [t().bookings, `${t().n(a.bookings.length)} · ${t().retention(days.bookings_anonymise_days)}`],
    [t().accessEvents, `${t().n(a.access_events.length)} · ${t().retention(days.access_events_days)}`],
    [t().audit, `${t().n(a.audit.length)} · ${t().retention(days.audit_days)}`],
    [t().devices, t().n(a.login_devices.length)],
  ];
  $("#held").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr"); const th = document.createElement("th");
    th.scope = "row"; th.textContent = k; tr.append(th, cell(v)); return tr;
  }));
  const kinds = {access_granted: t().granted, access_denied: t().denied, booking_checked_in: t().checkin};
  $("#access").replaceChildren(...(a.access_events.length ? a.access_events.slice(-50).reverse().map((e) => {
    const li = document.createElement("li");
    li.textContent = `${new Date(e.ts).toLocaleString(lang)} · ${e.door || e.space || ""} · ${kinds[e.action] || e.action}`;
    return li;
  }) : [Object.assign(document.createElement("li"), {textContent: t().none})]));
}

async function load() {
  if (!token) { $("#mine").hidden = true; $("#login-needed").hidden = false; return; }
  const r = await fetch("/api/v1/members/me/export", {headers: headers()}).catch(() => null);
  if (!r || !r.ok) { $("#mine").hidden = true; $("#login-needed").hidden = false; return; }
  archive = await r.json();
  $("#login-needed").hidden = true; $("#mine").hidden = false;
  renderHeld();
}

async function download(format) {
  const r = await fetch(`/api/v1/members/me/export?format=${format}`, {headers: headers()}).catch(() => null);
  if (!r || !r.ok) { await refused(r); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = Object.assign(document.createElement("a"), {href: url, download: `mes-donnees.${format}`});
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function erase(event) {
  event.preventDefault();
  const r = await fetch("/api/v1/members/me/erase", {method: "POST", headers: headers({"Content-Type": "application/json"}),
                                                     body: JSON.stringify({confirm: $("#erase-confirm").value})});
  if (r.status === 422) { say(t().refusedConfirm); return; }
  if (!r.ok) { await refused(r); return; }
  loggedOut();
  say(t().erased);
}

async function applyLanguage() {
  document.documentElement.lang = lang;
  document.title = `${t().title} — La Station`;
  for (const el of document.querySelectorAll("[data-i18n]")) if (typeof t()[el.dataset.i18n] === "string") el.textContent = t()[el.dataset.i18n];
  $("#lang").textContent = t().langButton; $("#lang").setAttribute("aria-label", t().switchTo);
  if (lang === "en" && noticeEn === null) {
    const r = await fetch("/api/v1/privacy/notice").catch(() => null);
    if (r && r.ok) noticeEn = paragraphs((await r.json()).en.text);
  }
  $("#notice-text").innerHTML = lang === "en" && noticeEn ? noticeEn : noticeFr;
  $("#notice-text").lang = lang === "en" && noticeEn ? "en" : "fr";
  renderHeld();
}

$("#lang").addEventListener("click", () => { lang = lang === "fr" ? "en" : "fr"; localStorage.setItem("station.lang", lang); applyLanguage(); });
$("#download-json").addEventListener("click", () => download("json"));
$("#download-csv").addEventListener("click", () => download("csv"));
$("#erase-form").addEventListener("submit", erase);
applyLanguage();
load();
