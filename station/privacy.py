"""Retention: how long each kind of personal data is kept, one settings section for every component.

The defaults follow the CNIL's guidance on access control at work premises (norme
simplifiée n° 42, délibération n° 2006-102) and its guidance on bookings and
authentication logs. Each field says why. Every component nests this model
(``STATION_RETENTION_AUDIT_DAYS=92`` for the API and the collector, ``retention:`` in an
edge node's YAML); each enforces the horizons of the stores it owns:

- the API: audit rows, unknown cards, failed logins, tokens, devices, door commands,
  dead letters; bookings anonymised (:mod:`api.retention`);
- the collector: person-linked events in the history (rolled up into per-day counts,
  then deleted) and its dead letters (:mod:`collector.retention`);
- an edge node: its outbox (delivered rows are overwritten on delete; undelivered
  events past the horizon dropped).

Aggregates without a person (occupancy, CO2, temperature, people counts, availability,
node status) are kept: they are not personal data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

#: Event kinds that follow a badge, i.e. a person (their time, door and id can be joined
#: with a booking or the audit log). Door contacts, motion, alarms and faults are not.
PERSON_EVENT_KINDS = ("access_granted", "access_denied")

THREE_MONTHS = 92  # days: "trois mois" whichever months they are


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_events_days: int = Field(default=THREE_MONTHS, ge=1, le=THREE_MONTHS,
                              description=("CNIL, norme simplifiée n° 42: records of people's movements (which door, which "
                                           "badge, when) are kept at most three months. Audit rows of door events, "
                                           "check-ins, and the history's access events."))
    audit_days: int = Field(default=THREE_MONTHS, ge=1, le=366,
                              description=("The rest of the audit log names a person too (enrolments, status changes,"
                                           " bookings made, staff commands): the same three months, so that the log "
                                           "never outlives the movements it explains."))
    dead_letters_days: int = Field(default=THREE_MONTHS, ge=1, le=THREE_MONTHS,
                              description=("Refused messages may carry a card's hash: a movement record like any "
                                           "other."))
    door_commands_days: int = Field(default=THREE_MONTHS, ge=1, le=366,
                              description=("Staff commands to doors (who unlocked what, when): a movement-related "
                                           "record."))
    bookings_anonymise_days: int = Field(default=365, ge=31, le=3653,
                              description=("Bookings are billing records (art. L123-22 code de commerce asks 10 years"
                                           " of the invoices, not of who sat where): after 12 months a booking keeps "
                                           "its space, times, attendees and status, the member and title are removed."))
    failed_logins_days: int = Field(default=30, ge=1, le=THREE_MONTHS,
                              description=("Failed logins serve the throttle and an incident's first days: one month "
                                           "(CNIL guidance on authentication logs: short and proportionate)."))
    unknown_cards_days: int = Field(default=30, ge=1, le=THREE_MONTHS,
                              description=("Cards nobody enrolled, seen at a door: staff enrol them within days; a "
                                           "month, then the hash (a pseudonymous identifier of a visitor) goes."))
    tokens_days: int = Field(default=7, ge=1, le=THREE_MONTHS,
                              description=("Expired or revoked login tokens: nothing to keep them for beyond a week."))
    login_devices_days: int = Field(default=183, ge=1, le=366,
                              description=("A browser that has not logged in for six months is forgotten (its token "
                                           "hash and last use): the throttle's \"known device\" then starts over."))
    sweep_interval_s: float = Field(default=3600, gt=0,
                              description=("Wall seconds between retention sweeps (each removes what crossed its "
                                           "horizon)."))

    def horizon(self, now: datetime, field: str) -> datetime:
        """The instant before which rows of ``field`` (e.g. ``"audit_days"``) go."""
        return now - timedelta(days=getattr(self, field))

    def sweep_due(self, last_sweep: datetime | None, now: datetime) -> bool:
        """Has ``sweep_interval_s`` passed since ``last_sweep`` (never swept: yes)?"""
        return last_sweep is None or (now - last_sweep).total_seconds() >= self.sweep_interval_s

    def reasons(self) -> dict[str, str]:
        """Each horizon and why, for ``station privacy report`` and the docs."""
        return {name: (info.description or "") for name, info in type(self).model_fields.items()}


def day_floor(at: datetime) -> datetime:
    """Midnight UTC of the day of ``at``: roll-ups cut at whole days, so a day's count is
    made once, from all of its events."""
    return at.replace(hour=0, minute=0, second=0, microsecond=0)
