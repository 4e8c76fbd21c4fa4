// /staff/login: log in (the same account as on the board), then keep the login as the
// console's cookie. A member is told the console is for staff; nothing is kept.
"use strict";
S.page({
  name: "login",
  title: {fr: "Connexion du personnel", en: "Staff login"},
  strings: {
    fr: {email: "E-mail", password: "Mot de passe", submit: "Se connecter", refused: "Connexion refusée",
         staffOnly: "Ce compte n'est pas un compte du personnel : la console lui est fermée.",
         intro: "Connectez-vous avec votre compte du personnel ou d'administrateur."},
    en: {email: "Email", password: "Password", submit: "Log in", refused: "Login refused",
         staffOnly: "This account is not a staff account: the console is closed to it.",
         intro: "Log in with your staff or administrator account."},
  },
  async load() {
    this.render();
    const token = S.state.token;
    if (token) await this.keep(token, true);  // logged in on the board already
  },
  render() {
    const {h, t} = S;
    const email = h("input", {type: "email", autocomplete: "username", required: true});
    const password = h("input", {type: "password", autocomplete: "current-password", required: true});
    const form = h("form", {id: "login", class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const device = localStorage.getItem("station.device") || undefined;
      const r = await fetch("/api/v1/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({email: email.value, password: password.value, device_token: device})}).catch(() => null);
      const body = r ? await r.json().catch(() => ({})) : {};
      if (!r || !r.ok) { S.say(`${t("refused")} : ${body.detail || (r ? r.status : "—")}`, true); return; }
      if (body.device_token) localStorage.setItem("station.device", body.device_token);
      password.value = "";
      await this.keep(body.access_token, false);
    }},
      h("p", {}, t("intro")),
      S.field("email", t("email"), email), S.field("password", t("password"), password),
      h("div", {}, h("button", {type: "submit"}, t("submit"))));
    S.fill(form);
  },
  async keep(token, quiet) {
    const r = await fetch("/api/v1/staff/session", {method: "POST", headers: {Authorization: `Bearer ${token}`}}).catch(() => null);
    if (r && r.status === 204) {
      localStorage.setItem("station.token", token);
      const next = new URLSearchParams(location.search).get("next") || "/staff/";
      location.assign(next.startsWith("/staff/") ? next : "/staff/");  // never off the console
      return;
    }
    if (r && r.status === 403) { S.say(S.t("staffOnly"), true); return; }
    if (r && r.status === 401) { localStorage.removeItem("station.token"); if (!quiet) S.say(S.t("refused"), true); return; }
    if (!quiet) S.say(`${S.t("refused")} : ${r ? r.status : "—"}`, true);
  },
});
