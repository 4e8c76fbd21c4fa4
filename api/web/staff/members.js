// /staff/members: search, enrol, suspend / reinstate, roles (administrators), and one
// member's file: badges, trainings, bookings, recent accesses (?id=N).
"use strict";
S.page({
  name: "members",
  title: {fr: "Membres", en: "Members"},
  strings: {
    fr: {find: "Trouver un membre", q: "Nom ou e-mail", role: "Rôle", status: "Statut", results: "Membres trouvés",
         name: "Nom", email: "E-mail", open: "Ouvrir la fiche", create: "Inscrire un membre",
         password: "Mot de passe (facultatif, 10 caractères au moins)", enrol: "Inscrire",
         enrolled: (n) => `${n} est inscrit·e.`, file: (n) => `Fiche de ${n}`, suspend: "Suspendre",
         reinstate: "Rétablir", suspendQ: (n) => `Suspendre ${n} ?`,
         suspendText: "Ses badges cessent d'ouvrir les portes dans la seconde. Vous pourrez rétablir le compte.",
         reinstateQ: (n) => `Rétablir ${n} ?`, reinstateText: "Ses badges ouvrent de nouveau les portes auxquelles il ou elle a droit.",
         changeRole: "Changer le rôle", roleQ: (n, r) => `Donner le rôle « ${r} » à ${n} ?`,
         roleText: "Le personnel et les administrateurs ouvrent toutes les portes et voient les noms.",
         adminOnly: "Seul un administrateur change les comptes du personnel et des administrateurs.",
         badges: "Badges", label: "Libellé", hash: "Empreinte", state: "État", active: "actif", revoked: "révoqué",
         revoke: "Révoquer", revokeQ: "Révoquer ce badge ?", revokeText: "Il cesse d'ouvrir les portes dès la nouvelle liste (une seconde).",
         cardNumber: "Numéro de carte", addBadge: "Enrôler par numéro", byTap: "Enrôler une carte présentée à un lecteur",
         trainings: "Formations", machine: "Machine", space: "Espace", until: "Valide jusqu'au", add: "Ajouter",
         bookings: "Réservations", when: "Quand", accesses: "Accès récents", action: "Action", door: "Porte",
         at: "Date", granted: "ouverte", denied: "refusée", checkedIn: "badgeage", noBadges: "Aucun badge.",
         noTrainings: "Aucune formation.", noBookings: "Aucune réservation.", noAccess: "Aucun accès récent.",
         none: "Aucun membre ne correspond.", withdraw: "Retirer", withdrawQ: "Retirer cette formation ?",
         withdrawText: "La porte du fab lab ne s'ouvre plus pour cette formation.", back: "Retour à la recherche",
         you: "(vous)", erase: "Effacer (RGPD)", eraseQ: (n) => `Effacer définitivement ${n} ?`,
         eraseText: "Badges révoqués à l'instant, nom, e-mail, badges et formations effacés ; les réservations restent anonymes (comptabilité), le journal sans l'identité. Irréversible.",
         erased: (n) => `Compte effacé. Gardé anonyme : ${n}.`},
    en: {find: "Find a member", q: "Name or email", role: "Role", status: "Status", results: "Members found",
         name: "Name", email: "Email", open: "Open the file", create: "Enrol a member",
         password: "Password (optional, 10 characters or more)", enrol: "Enrol",
         enrolled: (n) => `${n} is enrolled.`, file: (n) => `${n}'s file`, suspend: "Suspend", reinstate: "Reinstate",
         suspendQ: (n) => `Suspend ${n}?`, suspendText: "Their badges stop opening doors within a second. You can reinstate the account.",
         reinstateQ: (n) => `Reinstate ${n}?`, reinstateText: "Their badges open the doors they are entitled to again.",
         changeRole: "Change the role", roleQ: (n, r) => `Give ${n} the role “${r}”?`,
         roleText: "Staff and administrators open every door and see names.",
         adminOnly: "Only an administrator changes staff and administrator accounts.",
         badges: "Badges", label: "Label", hash: "Hash", state: "State", active: "active", revoked: "revoked",
         revoke: "Revoke", revokeQ: "Revoke this badge?", revokeText: "It stops opening doors with the next list (a second).",
         cardNumber: "Card number", addBadge: "Enrol by number", byTap: "Enrol a card tapped at a reader",
         trainings: "Trainings", machine: "Machine", space: "Space", until: "Valid until", add: "Add",
         bookings: "Bookings", when: "When", accesses: "Recent accesses", action: "Action", door: "Door",
         at: "Date", granted: "opened", denied: "refused", checkedIn: "check-in", noBadges: "No badge.",
         noTrainings: "No training.", noBookings: "No booking.", noAccess: "No recent access.",
         none: "No member matches.", withdraw: "Withdraw", withdrawQ: "Withdraw this training?",
         withdrawText: "The fab lab's door no longer opens for this training.", back: "Back to the search",
         you: "(you)", erase: "Erase (GDPR)", eraseQ: (n) => `Erase ${n} for good?`,
         eraseText: "Badges revoked at once; name, email, badges and trainings erased; bookings stay anonymous (accounts), the log without the identity. Cannot be undone.",
         erased: (n) => `Account erased. Kept anonymised: ${n}.`},
  },
  results: null,
  file: null,
  async load() {
    const id = Number(new URLSearchParams(location.search).get("id"));
    if (id) await this.open(id, false);
    else await this.search();
  },
  async search() {
    const q = this.q || "";
    const role = this.role || "";
    const status = this.status || "";
    this.results = await S.api(`/api/v1/staff/members?limit=100&q=${encodeURIComponent(q)}${role ? `&role=${role}` : ""}${status ? `&status=${status}` : ""}`);
    this.file = null;
    this.render();
  },
  async open(id, push = true) {
    this.file = await S.api(`/api/v1/staff/members/${id}`);
    if (push) history.pushState({}, "", `/staff/members?id=${id}`);
    this.render();
    document.getElementById("file-title").focus();
  },
  render() {
    if (this.file) this.renderFile(); else this.renderSearch();
  },
  roleOptions(selected) {
    return ["member", "staff", "admin"].map((r) => S.h("option", {value: r, selected: r === selected,
      disabled: r !== "member" && !S.isAdmin()}, S.label("roles", r)));
  },
  renderSearch() {
    const {h, t} = S;
    const q = h("input", {type: "search", value: this.q || ""});
    const role = h("select", {}, h("option", {value: ""}, t("all")),
      ...["member", "staff", "admin"].map((r) => h("option", {value: r, selected: this.role === r}, S.label("roles", r))));
    const status = h("select", {}, h("option", {value: ""}, t("all")),
      ...["active", "suspended"].map((s) => h("option", {value: s, selected: this.status === s}, S.label("statuses", s))));
    const find = h("form", {class: "filters", role: "search", onsubmit: (e) => {
      e.preventDefault();
      Object.assign(this, {q: q.value, role: role.value, status: status.value});
      this.search().catch((err) => S.say(err.message, true));
    }}, S.field("member-q", t("q"), q), S.field("member-role", t("role"), role),
       S.field("member-status", t("status"), status), h("button", {type: "submit"}, t("search")));
    const rows = (this.results || []).map((m) => h("tr", {dataset: {member: m.id}},
      h("th", {scope: "row"}, m.name), h("td", {}, m.email), h("td", {}, S.label("roles", m.role)),
      h("td", {}, S.badge(m.status, S.label("statuses", m.status))),
      h("td", {}, h("button", {type: "button", class: "secondary", "aria-label": `${t("open")} — ${m.name}`,
                               onclick: () => this.open(m.id)}, t("open")))));
    const name = h("input", {type: "text", required: true, maxlength: 120, autocomplete: "off"});
    const email = h("input", {type: "email", required: true, maxlength: 254, autocomplete: "off"});
    const newRole = h("select", {}, this.roleOptions("member"));
    const password = h("input", {type: "password", minlength: 10, maxlength: 1024, autocomplete: "new-password"});
    const create = h("form", {id: "create-member", class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const body = {name: name.value.trim(), email: email.value.trim(), role: newRole.value};
      if (password.value) body.password = password.value;
      const m = await S.act(S.api("/api/v1/members", {method: "POST", body}), t("enrolled", body.name));
      if (m) await this.open(m.id);
    }}, S.field("new-name", t("name"), name), S.field("new-email", t("email"), email),
       S.field("new-role", t("role"), newRole), S.field("new-password", t("password"), password),
       h("div", {}, h("button", {type: "submit"}, t("enrol"))));
    S.fill(S.section("find-title", t("find"), find,
                     S.table(t("results"), [t("name"), t("email"), t("role"), t("status"), ""], rows, t("none"))),
           S.section("create-title", t("create"), create));
  },
  renderFile() {
    const {h, t} = S;
    const f = this.file;
    const m = f.member;
    const self = S.state.me && S.state.me.id === m.id;
    const managed = S.isAdmin() || m.role === "member";
    const reload = () => this.open(m.id, false);
    const head = h("div", {class: "file-head"},
      h("h2", {id: "file-title", tabindex: "-1"}, t("file", m.name), self ? ` ${t("you")}` : ""),
      h("p", {}, `${m.email} — ${S.label("roles", m.role)} — `, S.badge(m.status, S.label("statuses", m.status))),
      h("p", {}, h("a", {href: "/staff/members", onclick: (e) => { e.preventDefault(); history.pushState({}, "", "/staff/members"); this.search(); }}, t("back"))));
    const actions = h("div", {class: "controls"});
    if (!managed) actions.append(h("p", {class: "note"}, t("adminOnly")));
    if (managed && !self) {
      const suspended = m.status === "suspended";
      actions.append(h("button", {type: "button", class: suspended ? "" : "danger", id: "status-action", onclick: async () => {
        const ok = await S.confirm(suspended ? t("reinstateQ", m.name) : t("suspendQ", m.name),
                                   suspended ? t("reinstateText") : t("suspendText"), suspended ? t("reinstate") : t("suspend"));
        if (ok && await S.act(S.api(`/api/v1/members/${m.id}/${suspended ? "reinstate" : "suspend"}`, {method: "POST"}), t("saved"))) reload();
      }}, suspended ? t("reinstate") : t("suspend")));
      actions.append(h("button", {type: "button", class: "danger", id: "erase-action", onclick: async () => {
        if (!await S.confirm(t("eraseQ", m.name), t("eraseText"), t("erase"))) return;
        const done = await S.act(S.api(`/api/v1/members/${m.id}/erase`, {method: "POST"}));
        if (done) {
          S.say(t("erased", done.kept.map((k) => `${k.what} (${k.rows})`).join(", ") || "—"));
          history.pushState({}, "", "/staff/members");
          this.search();
        }
      }}, t("erase")));
    }
    if (S.isAdmin() && !self) {
      const role = h("select", {}, this.roleOptions(m.role));
      actions.append(S.field("role-change", t("role"), role), h("button", {type: "button", class: "secondary", onclick: async () => {
        if (role.value === m.role) return;
        const ok = await S.confirm(t("roleQ", m.name, S.label("roles", role.value)), t("roleText"), t("changeRole"));
        if (ok && await S.act(S.api(`/api/v1/staff/members/${m.id}/role`, {method: "PUT", body: {role: role.value}}), t("saved"))) reload();
      }}, t("changeRole")));
    }
    const badgeRows = f.badges.map((b) => h("tr", {dataset: {badge: b.id}},
      h("th", {scope: "row"}, b.label || `#${b.id}`), h("td", {}, h("code", {}, b.credential_hash.slice(0, 12) + "…")),
      h("td", {}, b.active ? S.badge("active", t("active")) : S.badge("suspended", `${t("revoked")} ${S.dateTime(b.revoked_at)}`)),
      h("td", {}, b.active && managed ? h("button", {type: "button", class: "danger", "aria-label": `${t("revoke")} — ${b.label || b.id}`, onclick: async () => {
        if (await S.confirm(t("revokeQ"), t("revokeText"), t("revoke"))
            && await S.act(S.api(`/api/v1/badges/${b.id}/revoke`, {method: "POST"}), t("saved"))) reload();
      }}, t("revoke")) : "")));
    const card = h("input", {type: "text", inputmode: "numeric", pattern: "[0-9]{1,10}", required: true, autocomplete: "off"});
    const cardLabel = h("input", {type: "text", maxlength: 80});
    const addBadge = managed ? h("form", {class: "filters", onsubmit: async (e) => {
      e.preventDefault();
      if (await S.act(S.api(`/api/v1/members/${m.id}/badges`, {method: "POST", body: {card_number: card.value.trim(), label: cardLabel.value}}), t("saved"))) reload();
    }}, S.field("card-number", t("cardNumber"), card), S.field("card-label", t("label"), cardLabel),
       h("button", {type: "submit"}, t("addBadge")),
       h("a", {href: `/staff/badges?member=${m.id}`}, t("byTap"))) : "";
    const trainingRows = f.trainings.map((tr) => h("tr", {dataset: {training: tr.id}},
      h("th", {scope: "row"}, tr.machine), h("td", {}, tr.space), h("td", {}, S.day(tr.valid_until)),
      h("td", {}, tr.revoked ? t("revoked") : (managed ? h("button", {type: "button", class: "danger", onclick: async () => {
        if (await S.confirm(t("withdrawQ"), t("withdrawText"), t("withdraw"))
            && await S.act(S.api(`/api/v1/trainings/${tr.id}/revoke`, {method: "POST"}), t("saved"))) reload();
      }}, t("withdraw")) : ""))));
    const bookingRows = f.bookings.map((b) => h("tr", {dataset: {booking: b.id}},
      h("td", {}, `${S.dateTime(b.start)}–${S.hhmm(b.end)}`), h("th", {scope: "row"}, b.space),
      h("td", {}, S.label("bookingStatus", b.status))));
    const accessLabel = {access_granted: t("granted"), access_denied: t("denied"), booking_checked_in: t("checkedIn")};
    const accessRows = f.accesses.map((a) => h("tr", {},
      h("td", {}, S.dateTime(a.ts)), h("th", {scope: "row"}, accessLabel[a.action] || a.action),
      h("td", {}, a.door || a.space || ""), h("td", {}, (a.detail && a.detail.reason) || "")));
    S.fill(head, actions,
      S.section("badges-title", t("badges"), S.table(t("badges"), [t("label"), t("hash"), t("state"), ""], badgeRows, t("noBadges")), addBadge),
      S.section("trainings-title", t("trainings"), S.table(t("trainings"), [t("machine"), t("space"), t("until"), ""], trainingRows, t("noTrainings")),
                h("p", {}, h("a", {href: `/staff/trainings?member=${m.id}`}, t("add")))),
      S.section("bookings-title", t("bookings"), S.table(t("bookings"), [t("when"), t("space"), t("status")], bookingRows, t("noBookings"))),
      S.section("accesses-title", t("accesses"), S.table(t("accesses"), [t("at"), t("action"), t("door"), ""], accessRows, t("noAccess"))));
  },
});
window.addEventListener("popstate", () => { if (S.state.page) S.state.page.load(); });
