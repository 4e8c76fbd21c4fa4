// /staff/badges: enrol a badge by tapping the card at any reader (the cards the doors
// refused as unknown, newest first, live) or by its number; in `station demo`, present a
// card at a simulated door from here.
"use strict";
S.page({
  name: "badges",
  title: {fr: "Badges", en: "Badges"},
  strings: {
    fr: {tapped: "Cartes présentées inconnues", intro: "Faites présenter la carte à n'importe quel lecteur : elle apparaît ici en quelques secondes, la plus récente en haut. Choisissez le membre, puis « Enrôler ».",
         door: "Porte", lastSeen: "Vue", times: "Fois", hash: "Empreinte", enrol: "Enrôler", forMember: "pour",
         enrolQ: (n) => `Enrôler cette carte pour ${n} ?`, enrolText: "Elle ouvrira les portes auxquelles ce membre a droit, dès la prochaine liste (une seconde).",
         enrolled: "Badge enrôlé.", none: "Aucune carte inconnue présentée récemment.", allDoors: "Toutes les portes",
         byNumber: "Enrôler par numéro de carte", cardNumber: "Numéro de carte", label: "Libellé",
         pickFirst: "Choisissez d'abord un membre.", demoTap: "Présenter une carte (démo)",
         demoIntro: "Dans la démo, une carte présentée ici passe par le vrai lecteur Wiegand simulé de la porte (26 bits : numéro jusqu'à 16777215).",
         present: "Présenter", presented: "Carte présentée : la porte répond…", newCard: "Nouvelle carte présentée"},
    en: {tapped: "Unknown cards tapped", intro: "Have the card tapped at any reader: it shows here within seconds, newest first. Choose the member, then “Enrol”.",
         door: "Door", lastSeen: "Seen", times: "Times", hash: "Hash", enrol: "Enrol", forMember: "for",
         enrolQ: (n) => `Enrol this card for ${n}?`, enrolText: "It will open the doors this member may open, with the next list (a second).",
         enrolled: "Badge enrolled.", none: "No unknown card tapped lately.", allDoors: "All doors",
         byNumber: "Enrol by card number", cardNumber: "Card number", label: "Label",
         pickFirst: "Choose a member first.", demoTap: "Present a card (demo)",
         demoIntro: "In the demo, a card presented here goes through the door's real simulated Wiegand reader (26 bits: numbers up to 16777215).",
         present: "Present", presented: "Card presented: the door answers…", newCard: "New card tapped"},
  },
  cards: [],
  doors: [],
  door: "",
  picker: null,
  async load() {
    this.doors = await S.api("/api/v1/doors");
    this.picker = S.memberPicker("badge-member");
    const member = Number(new URLSearchParams(location.search).get("member"));
    if (member) {
      const file = await S.api(`/api/v1/staff/members/${member}`).catch(() => null);
      if (file) await this.picker.set(file.member);
    }
    await this.refresh();
  },
  async refresh() {
    this.cards = await S.api(`/api/v1/staff/unknown-cards${this.door ? `?door=${encodeURIComponent(this.door)}` : ""}`);
    this.render();
  },
  memberName() {
    const select = document.getElementById("badge-member");
    return select && select.selectedOptions[0] ? select.selectedOptions[0].textContent.split(" — ")[0] : "";
  },
  async enrol(body) {
    const id = this.picker.value();
    if (!id) { S.say(S.t("pickFirst"), true); document.getElementById("badge-member-q").focus(); return; }
    if (!await S.confirm(S.t("enrolQ", this.memberName()), S.t("enrolText"), S.t("enrol"))) return;
    if (await S.act(S.api(`/api/v1/members/${id}/badges`, {method: "POST", body}), S.t("enrolled"))) await this.refresh();
  },
  render() {
    const {h, t} = S;
    if (!this.picker) return;
    if (this.built !== S.state.lang) {  // built once per language: the member picker keeps its state
      this.built = S.state.lang;
      const doorFilter = h("select", {onchange: (e) => { this.door = e.target.value; this.refresh(); }},
        h("option", {value: ""}, t("allDoors")), ...this.doors.map((d) => h("option", {value: d.id}, d.name)));
      const card = h("input", {type: "text", inputmode: "numeric", pattern: "[0-9]{1,10}", required: true, autocomplete: "off"});
      const label = h("input", {type: "text", maxlength: 80});
      const byNumber = h("form", {class: "filters", onsubmit: (e) => { e.preventDefault(); this.enrol({card_number: card.value.trim(), label: label.value}); }},
        S.field("card-number", t("cardNumber"), card), S.field("card-label", t("label"), label), h("button", {type: "submit"}, t("enrol")));
      this.list = h("div", {id: "unknown-cards", "aria-live": "polite"});
      const parts = [h("div", {class: "panel"}, this.picker),
        S.section("tapped-title", t("tapped"), h("p", {}, t("intro")), h("div", {class: "filters"}, S.field("door-filter", t("door"), doorFilter)), this.list),
        S.section("number-title", t("byNumber"), byNumber)];
      if (S.demo) parts.push(this.demoSection());
      S.fill(...parts);
    }
    const rows = this.cards.map((c, i) => h("tr", {dataset: {card: c.id, door: c.door}, class: i === 0 ? "newest" : null},
      h("th", {scope: "row"}, c.door_name), h("td", {}, S.dateTime(c.last_seen)), h("td", {}, String(c.times)),
      h("td", {}, h("code", {}, `${c.credential_hash.slice(0, 12)}…`)),
      h("td", {}, h("button", {type: "button", class: "enrol", "aria-label": `${t("enrol")} — ${c.door_name} ${S.dateTime(c.last_seen)}`,
                               onclick: () => this.enrol({unknown_card_id: c.id})}, t("enrol")))));
    this.list.replaceChildren(S.table(t("tapped"), [t("door"), t("lastSeen"), t("times"), t("hash"), ""], rows, t("none")));
  },
  demoSection() {
    const {h, t} = S;
    const door = h("select", {}, ...this.doors.map((d) => h("option", {value: d.id}, d.name)));
    const card = h("input", {type: "text", inputmode: "numeric", pattern: "[0-9]{1,10}", required: true, autocomplete: "off",
                             value: String(10000000 + Math.floor(Math.random() * 6000000))});
    return S.section("demo-title", t("demoTap"), h("p", {}, t("demoIntro")),
      h("form", {id: "demo-tap", class: "filters", onsubmit: async (e) => {
        e.preventDefault();
        await S.act(S.api("/api/v1/demo/badge", {method: "POST", body: {door: door.value, card_number: card.value.trim()}}), t("presented"));
      }}, S.field("demo-door", t("door"), door), S.field("demo-card", t("cardNumber"), card), h("button", {type: "submit"}, t("present"))));
  },
  on: {
    hello() { this.refresh(); },
    unknown_card() { S.say(S.t("newCard")); this.refresh(); },
  },
});
