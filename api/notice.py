"""The information notice (GDPR art. 13; CNIL norme simplifiée n° 42): what is collected, why, how
long, whom to ask — in French and English, its text in configuration.

Each text may use ``{controller}``, ``{contact}``, ``{access_days}``, ``{bookings_days}``,
``{failed_logins_days}`` and ``{unknown_cards_days}``; :func:`render` fills them from the
settings, so a changed retention changes the notice too. Served by
``GET /api/v1/privacy/notice`` (api/routers/privacy.py), shown on the board's
"Mes données" page and on the staff console; the printable notice for the readers is
``hardware/privacy-notice.md``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

FR = """\
{controller} gère l'accès aux espaces par badge et les réservations.

Ce qui est collecté : votre nom, votre e-mail, l'empreinte (HMAC) de votre badge — jamais son numéro —, vos formations machines, vos réservations, et chaque passage de badge (porte, heure, accepté ou refusé).

Pourquoi : ouvrir les portes à qui a réservé ou est formé, la sécurité des biens et des personnes, la facturation des réservations. Base légale : l'exécution de votre contrat d'adhésion et notre intérêt légitime à sécuriser les locaux.

Combien de temps : passages de badge et journal d'audit {access_days} jours ; tentatives de connexion échouées {failed_logins_days} jours ; badges inconnus {unknown_cards_days} jours ; réservations {bookings_days} jours, puis anonymisées (salle et horaires gardés, sans votre nom) ; votre compte tant que vous êtes adhérent·e. Les comptages (occupation, CO2) ne contiennent aucune personne.

Qui y a accès : l'équipe d'accueil et de gestion du lieu, pour ce que sa mission demande ; personne d'autre. Aucune donnée n'est vendue ni transférée hors de l'Union européenne.

Vos droits : accès, copie (page « Mes données »), rectification, effacement, opposition, limitation. Écrivez à {contact}. Vous pouvez aussi saisir la CNIL (www.cnil.fr)."""

EN = """\
{controller} runs badge access to its spaces and room bookings.

What is collected: your name, your e-mail, the fingerprint (HMAC) of your badge — never its number —, your machine trainings, your bookings, and each badge use (door, time, admitted or refused).

Why: to open doors to whoever booked or is trained, the safety of people and property, billing of bookings. Legal basis: your membership contract and our legitimate interest in securing the premises.

How long: badge uses and the audit log {access_days} days; failed logins {failed_logins_days} days; unknown cards {unknown_cards_days} days; bookings {bookings_days} days, then anonymised (room and times kept, without your name); your account while you are a member. Counts (occupancy, CO2) hold no person.

Who sees it: the venue's front-desk and management staff, as far as their task needs; nobody else. No data is sold or transferred outside the European Union.

Your rights: access, a copy ("My data" page), rectification, erasure, objection, restriction. Write to {contact}. You may also complain to the CNIL (www.cnil.fr)."""

SHORT_FR = ("Accès par badge : {controller} enregistre chaque passage (porte, heure) {access_days} jours "
            "pour la sécurité des locaux. Vos droits : {contact}.")
SHORT_EN = ("Badge access: {controller} records each badge use (door, time) for {access_days} days "
            "to secure the premises. Your rights: {contact}.")


class PrivacyNotice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    controller: str = Field(default="La Station (tiers-lieu de Saint-Omer)",
                            description="Who is responsible for the processing (responsable de traitement).")
    contact: str = Field(default="dpo@la-station.example", description="Whom to write to (the DPO or the referent).")
    text_fr: str = FR
    text_en: str = EN
    short_fr: str = Field(default=SHORT_FR, description="The line shown under the board and beside the readers.")
    short_en: str = SHORT_EN


def render(notice: PrivacyNotice, retention) -> dict:
    """The notice's texts with every placeholder filled (fr and en)."""
    values = {"controller": notice.controller, "contact": notice.contact,
              "access_days": retention.access_events_days, "bookings_days": retention.bookings_anonymise_days,
              "failed_logins_days": retention.failed_logins_days,
              "unknown_cards_days": retention.unknown_cards_days}
    return {"controller": notice.controller, "contact": notice.contact,
            "fr": {"text": notice.text_fr.format(**values), "short": notice.short_fr.format(**values)},
            "en": {"text": notice.text_en.format(**values), "short": notice.short_en.format(**values)}}


def reader_sign(notice: PrivacyNotice, retention) -> str:
    """The printable notice posted beside each badge reader (CNIL norme simplifiée n° 42: people are
    told near the readers), French then English, in Markdown (``station api privacy-sign``;
    hardware/privacy-notice.md holds the default one)."""
    n = render(notice, retention)
    return "\n".join([
        "## Contrôle d'accès par badge — Badge access control",
        "",
        f"**{n['fr']['short']}**",
        "",
        f"*{n['en']['short']}*",
        "",
        f"- Responsable / Controller : {notice.controller}",
        "- Données / Data : badge (empreinte, jamais le numéro / fingerprint, never the number), porte, heure, "
        "accepté ou refusé / door, time, admitted or refused",
        "- Finalité / Purpose : sécurité des locaux, accès aux salles réservées / securing the premises, access to "
        "booked rooms",
        f"- Conservation / Kept : {retention.access_events_days} jours / days",
        f"- Vos droits / Your rights : {notice.contact} · www.cnil.fr",
        "- Notice complète / Full notice : tableau de La Station, page « Mes données » / the board, \"My data\" page",
        "",
    ])
