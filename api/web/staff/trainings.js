// /staff/trainings: who is trained on which fab-lab machine until when; the ones that
// expire soon first; record or withdraw a training.
"use strict";
S.page({
  name: "trainings",
  title: {fr: "Formations", en: "Trainings"},
  strings: {
    fr: {list: "Formations en cours", space: "Fab lab", machine: "Machine", until: "Valide jusqu'au", left: "Reste",
         expiring: "Seulement celles qui expirent sous 30 jours", filter: "Filtrer", days: (n) => `${n} j`,
         none: "Aucune formation ne correspond.", record: "Enregistrer une formation", save: "Enregistrer",
         saved: "Formation enregistrée.", withdraw: "Retirer", withdrawQ: (n, m) => `Retirer la formation « ${m} » de ${n} ?`,
         withdrawText: "La porte du fab lab ne s'ouvre plus pour cette formation.", soon: "expire bientôt"},
    en: {list: "Trainings in force", space: "Fab lab", machine: "Machine", until: "Valid until", left: "Left",
         expiring: "Only those expiring within 30 days", filter: "Filter", days: (n) => `${n} d`,
         none: "No training matches.", record: "Record a training", save: "Save", saved: "Training recorded.",
         withdraw: "Withdraw", withdrawQ: (n, m) => `Withdraw ${n}'s “${m}” training?`,
         withdrawText: "The fab lab's door no longer opens for this training.", soon: "expires soon"},
  },
  rows: [],
  labs: [],
  async load() {
    const rooms = await S.api("/api/v1/rooms?kind=fablab");
    this.labs = rooms;
    this.picker = S.memberPicker("training-member");
    const member = Number(new URLSearchParams(location.search).get("member"));
    if (member) {
      const file = await S.api(`/api/v1/staff/members/${member}`).catch(() => null);
      if (file) await this.picker.set(file.member);
    }
    await this.refresh();
  },
  async refresh() {
    const params = new URLSearchParams();
    if (this.space) params.set("space", this.space);
    if (this.expiring) params.set("expiring_within_days", "30");
    this.rows = await S.api(`/api/v1/staff/trainings?${params}`);
    this.render();
  },
  render() {
    const {h, t} = S;
    if (!this.picker) return;
    const labOptions = () => this.labs.map((l) => h("option", {value: l.id, selected: this.space === l.id}, l.name));
    const space = h("select", {}, h("option", {value: ""}, t("all")), ...labOptions());
    const expiring = h("input", {type: "checkbox", checked: !!this.expiring});
    const filters = h("form", {class: "filters", onsubmit: (e) => {
      e.preventDefault(); this.space = space.value; this.expiring = expiring.checked; this.refresh();
    }}, S.field("filter-space", t("space"), space),
       h("div", {class: "field check"}, expiring, h("label", {for: "filter-expiring"}, t("expiring"))),
       h("button", {type: "submit"}, t("filter")));
    expiring.id = "filter-expiring";
    const names = new Map(this.labs.map((l) => [l.id, l.name]));
    const rows = this.rows.map((r) => h("tr", {dataset: {training: r.id}, class: r.expires_in_days <= 30 ? "soon" : null},
      h("th", {scope: "row"}, h("a", {href: `/staff/members?id=${r.member_id}`}, r.member_name)),
      h("td", {}, names.get(r.space) || r.space), h("td", {}, r.machine), h("td", {}, S.day(r.valid_until)),
      h("td", {}, t("days", Math.floor(r.expires_in_days)), r.expires_in_days <= 30 ? [" ", S.badge("warning", t("soon"))] : ""),
      h("td", {}, h("button", {type: "button", class: "danger", "aria-label": `${t("withdraw")} — ${r.member_name}, ${r.machine}`, onclick: async () => {
        if (await S.confirm(t("withdrawQ", r.member_name, r.machine), t("withdrawText"), t("withdraw"))
            && await S.act(S.api(`/api/v1/trainings/${r.id}/revoke`, {method: "POST"}), S.t("saved"))) this.refresh();
      }}, t("withdraw")))));
    const lab = h("select", {required: true}, ...this.labs.map((l) => h("option", {value: l.id}, l.name)));
    const machine = h("input", {type: "text", required: true, maxlength: 80});
    const inAYear = new Date(S.now() + 365 * 86400000).toISOString().slice(0, 10);
    const until = h("input", {type: "date", required: true, value: inAYear});
    const record = h("form", {id: "record-training", class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const member = this.picker.value();
      if (!member) { S.say(S.t("pickMember"), true); return; }
      const body = {space: lab.value, machine: machine.value.trim(), valid_until: new Date(`${until.value}T23:59:00`).toISOString()};
      if (await S.act(S.api(`/api/v1/members/${member}/trainings`, {method: "POST", body}), t("saved"))) this.refresh();
    }}, this.picker, S.field("training-space", t("space"), lab), S.field("training-machine", t("machine"), machine),
       S.field("training-until", t("until"), until), h("div", {}, h("button", {type: "submit"}, t("save"))));
    S.fill(S.section("list-title", t("list"), filters,
                     S.table(t("list"), [t("member"), t("space"), t("machine"), t("until"), t("left"), ""], rows, t("none"))),
           S.section("record-title", t("record"), record));
  },
});
