"""What the API tells a person, in French and English: one table, keyed by rule code.

Every refusal of a booking carries a rule code (``api.booking_rules``); this table turns
the code and its parameters into a sentence in the member's language. The API answers in
the language the request prefers (``Accept-Language``; English when it names neither),
and the board sends its own language — so the board and every other client read the
same sentences, from here. Times are always written with the site's zone
("10:00-11:00 (heure de Paris)"): a member abroad, or a calendar in another zone, can
never mistake them.

Parameters are raw values (names, numbers, aware datetimes with the ``tz`` they are to
be shown in); :func:`render` formats them for the language.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "en"

#: rule code -> language -> sentence. ``{span}`` is a start-end pair with the zone,
#: ``{at}`` / ``{start}`` one time with the zone, ``{day}`` a weekday.
MESSAGES: dict[str, dict[str, str]] = {
    # 422: the request cannot be a booking
    "not_bookable": {"fr": "{space} ne se réserve pas.",
                     "en": "{space} cannot be booked."},
    "not_trained": {"fr": "{space} : il faut une formation en cours de validité ({training}) pour le réserver.",
                    "en": "{space}: booking it needs a valid training ({training})."},
    "end_before_start": {"fr": "La réservation doit finir après son début.",
                         "en": "The booking must end after it starts."},
    "in_the_past": {"fr": "La réservation commence dans le passé ({start}).",
                    "en": "The booking starts in the past ({start})."},
    "too_far_ahead": {"fr": "On réserve au plus {days} jours à l'avance.",
                      "en": "Bookings open {days} days ahead at most."},
    "too_long": {"fr": "{space} se réserve {max} minutes au plus (demandé : {asked}).",
                 "en": "{space} can be booked {max} minutes at most (asked {asked})."},
    "over_capacity": {"fr": "{space} accueille {capacity} personnes au plus (demandé : {asked}).",
                      "en": "{space} holds {capacity} people (asked {asked})."},
    "outside_opening_hours": {"fr": "{span} est en dehors des horaires de {space} le {day} ({hours}).",
                              "en": "{span} is outside the opening hours of {space} on {day} ({hours})."},
    "closed": {"fr": "{space} : fermeture {span} ({reason}).",
               "en": "{space} is closed {span} ({reason})."},
    # 409: it could be a booking, but the space is taken
    "conflict": {"fr": "{space} : déjà réservé {span}.",
                 "en": "{space} is already booked {span}."},
    "full": {"fr": "{space} n'a que {free} place(s) libre(s) à {at} (demandé : {asked}).",
             "en": "{space} has {free} seat(s) free at {at} (asked {asked})."},
    "not_holding": {"fr": "Cette réservation est déjà {status}.",
                    "en": "This booking is already {status}."},
    "already_ended": {"fr": "Cette réservation est déjà terminée.",
                      "en": "This booking has already ended."},
    # notes shown before confirming a booking that was shortened to fit
    "shortened_closing": {"fr": "Raccourcie : {space} ferme à {at}.",
                          "en": "Shortened: {space} closes at {at}."},
    "shortened_next_booking": {"fr": "Raccourcie : une autre réservation de {space} commence à {at}.",
                               "en": "Shortened: another booking of {space} starts at {at}."},
    "shortened_closure": {"fr": "Raccourcie : fermeture de {space} à {at} ({reason}).",
                          "en": "Shortened: {space} is closed from {at} ({reason})."},
    # 401 / 403 before any rule (api.deps): the board shows these too
    "log_in_first": {"fr": "Connectez-vous d'abord (Authorization: Bearer <jeton>).",
                     "en": "log in first (Authorization: Bearer <token>)"},
    "token_invalid": {"fr": "Session invalide ou expirée : reconnectez-vous.",
                      "en": "invalid or expired token: log in again"},
    "account_suspended": {"fr": "Ce compte est suspendu.",
                          "en": "This account is suspended."},
    # calendars (CalDAV events a member created in a room's calendar)
    "unknown_organizer": {"fr": "Aucun membre n'a l'adresse {email}.",
                          "en": "No member has the address {email}."},
    "no_organizer": {"fr": "L'événement n'a ni organisateur ni participant connu.",
                     "en": "The event has no organizer or attendee we know."},
    "recurring": {"fr": "Les événements répétés ne deviennent pas des réservations.",
                  "en": "Recurring events do not become bookings."},
    "member_suspended": {"fr": "Le compte de {email} est suspendu.",
                         "en": "The account of {email} is suspended."},
    # 422: a field the API refuses whatever the operation (api.fields); {field} names it
    "control_character": {"fr": "{field} : le caractère de contrôle {char} (position {position}) n'est pas accepté "
                                "dans un texte.",
                          "en": "{field}: the control character {char} (position {position}) is not allowed in "
                                "text."},
    "not_identifier": {"fr": "{field} : un identifiant s'écrit en minuscules, chiffres et tirets (1 à 63 caractères, "
                             "sans tiret au début).",
                       "en": "{field}: an identifier is lowercase letters, digits and dashes (1 to 63 characters, "
                             "not starting with a dash)."},
    "not_email": {"fr": "{field} : une adresse électronique est attendue (nom@domaine).",
                  "en": "{field}: an e-mail address is expected (name@domain)."},
    "card_number_too_wide": {"fr": "{field} : un numéro de carte vaut au plus {most} (les lecteurs lisent les "
                                   "cartes Wiegand de 26 et 34 bits).",
                             "en": "{field}: a card number is at most {most} (the readers take 26- and 34-bit "
                                   "Wiegand cards)."},
    "datetime_out_of_range": {"fr": "{field} : une heure entre {earliest} et {latest} (UTC) est attendue.",
                              "en": "{field}: a time between {earliest} and {latest} (UTC) is expected."},
    "date_out_of_range": {"fr": "{field} : un jour du {earliest} au {latest} (exclu) est attendu.",
                          "en": "{field}: a day from {earliest} to {latest} (excluded) is expected."},
}

WEEKDAYS = {"fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
            "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
STATUSES = {"fr": {"cancelled": "annulée", "released": "libérée", "no_show": "libérée (personne n'a badgé)",
                   "confirmed": "confirmée", "checked_in": "commencée"},
            "en": {"cancelled": "cancelled", "released": "released", "no_show": "released (nobody badged in)",
                   "confirmed": "confirmed", "checked_in": "checked in"}}
CLOSED_ALL_DAY = {"fr": "fermé", "en": "closed"}


def zone_label(tz: ZoneInfo, lang: str) -> str:
    """``heure de Paris`` / ``Paris time`` for Europe/Paris; the zone's key otherwise."""
    city = str(tz.key).rsplit("/", 1)[-1].replace("_", " ")
    return f"heure de {city}" if lang == "fr" else f"{city} time"


def clock_time(at: datetime, tz: ZoneInfo, lang: str, *, date: bool = False) -> str:
    local = at.astimezone(tz)
    text = f"{local:%Y-%m-%d %H:%M}" if date else f"{local:%H:%M}"
    return f"{text} ({zone_label(tz, lang)})"


def span(start: datetime, end: datetime, tz: ZoneInfo, lang: str) -> str:
    return f"{start.astimezone(tz):%H:%M}-{end.astimezone(tz):%H:%M} ({zone_label(tz, lang)})"


def render(code: str, lang: str, params: dict) -> str:
    """The sentence for ``code`` in ``lang``; ``params`` may hold ``tz`` and the raw values
    ``start``/``end`` (a span), ``at`` (a time), ``weekday`` (0 = Monday), ``status``."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    values = dict(params)
    tz = values.pop("tz", None)
    if "start" in values and "end" in values and tz is not None:
        values["span"] = span(values["start"], values["end"], tz, lang)
    if isinstance(values.get("start"), datetime) and tz is not None:
        values["start"] = clock_time(values["start"], tz, lang, date=True)
    if isinstance(values.get("at"), datetime) and tz is not None:
        values["at"] = clock_time(values["at"], tz, lang)
    if "weekday" in values:
        values["day"] = WEEKDAYS[lang][values.pop("weekday")]
    if "hours" in values and not values["hours"]:
        values["hours"] = CLOSED_ALL_DAY[lang]
    if "status" in values:
        values["status"] = STATUSES[lang].get(values["status"], values["status"])
    return MESSAGES[code][lang].format(**values)


def language(accept_language: str | None) -> str:
    """The language an ``Accept-Language`` header prefers among ours (RFC 9110 q-values),
    from its first 4 KiB (however long the header, it is a preference, not a refusal)."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, part in enumerate((accept_language or "")[:4096].split(",")):
        tag, _, rest = part.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        q = 1.0
        if rest.strip().startswith("q="):
            try:
                q = float(rest.strip()[2:])
            except ValueError:
                q = 0.0
        q -= position * 1e-6  # equal weights: the first listed wins
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best
