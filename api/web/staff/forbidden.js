// The page a logged-in member gets at /staff/ (HTTP 403): what happened, and the way back.
"use strict";
S.page({
  name: "forbidden",
  title: {fr: "Accès refusé", en: "Access denied"},
  async load() { this.render(); },
  render() {
    const {h, t} = S;
    S.fill(h("p", {}, t("forbidden")), h("p", {}, h("a", {href: "/"}, t("toBoard"))));
  },
});
