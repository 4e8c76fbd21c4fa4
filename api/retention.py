"""Retention in the API's database: each table's horizon (:class:`station.privacy.RetentionPolicy`) enforced.

:meth:`Retention.sweep` removes or anonymises what crossed its horizon; the sweeper runs
it every ``retention.sweep_interval_s``:

| table | rows | past the horizon |
| --- | --- | --- |
| ``audit`` | access events and check-ins | deleted after ``access_events_days`` (92) |
| ``audit`` | failed logins | deleted after ``failed_logins_days`` (30) |
| ``audit`` | everything else | deleted after ``audit_days`` (92) |
| ``bookings`` | ended bookings | **anonymised** after ``bookings_anonymise_days`` (365): space, times, attendees, status kept; member replaced by the anonymous placeholder, title removed |
| ``machine_bookings`` | machine bookings | **anonymised** after ``bookings_anonymise_days``, as bookings |
| ``machine_sessions`` | a machine's on-times | after ``bookings_anonymise_days`` from their start: member and card hash removed, machine, times and minutes kept |
| ``unknown_cards`` | cards seen, not enrolled | deleted after ``unknown_cards_days`` (30) since last seen |
| ``login_failures`` | throttle counters | deleted after ``failed_logins_days`` |
| ``tokens`` | login tokens, expired | deleted ``tokens_days`` (7) after expiry |
| ``login_devices`` | known browsers | deleted ``login_devices_days`` (183) after last use |
| ``door_commands`` | staff commands | deleted after ``door_commands_days`` (92) |
| ``dead_letters`` | refused MQTT messages | deleted after ``dead_letters_days`` (92) |

The audit log is append-only for the application; only this module and erasure
(:mod:`api.erasure`) delete or rewrite its rows, with bulk statements.

:meth:`Retention.held` says, per table, how many rows and the oldest one
(``station privacy report``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from station.privacy import RetentionPolicy

from .db import Database
from .db.machines import MachineBooking, MachineSession
from .db.models import (AuditEntry, Booking, DeadLetter, DoorCommandRow, LoginDevice, LoginFailure, Member,
                        Token, UnknownCard)

log = logging.getLogger(__name__)

#: The placeholder that anonymised bookings (and an erased staff member's commands) point
#: to: an account of role ``integration``, suspended, without password or name, made by
#: migration 0007_privacy. People lists never show it (they list people's roles only).
ANONYMOUS_EMAIL = "anonymised@station.invalid"
ANONYMOUS_NAME = "(anonymisé)"

#: Audit actions that record a movement (a badge at a door, a check-in).
ACCESS_ACTIONS = ("access_granted", "access_denied", "booking_checked_in")
FAILED_LOGIN = "login_failed"


def anonymous_id(session: Session) -> int:
    """The placeholder's id (-1 in a database not yet migrated to 0007_privacy: no row is it)."""
    found = session.execute(select(Member.id).where(Member.email == ANONYMOUS_EMAIL)).scalar_one_or_none()
    return -1 if found is None else found


@dataclass(frozen=True)
class Held:
    """What one store holds of one kind of data."""

    store: str
    what: str
    rows: int
    oldest: datetime | None
    horizon_days: int | None  # None: kept (no person in it)
    past_horizon: int = 0  # rows the next sweep removes or anonymises

    def as_dict(self) -> dict:
        return {"store": self.store, "what": self.what, "rows": self.rows,
                "oldest": self.oldest.isoformat() if self.oldest else None,
                "horizon_days": self.horizon_days, "past_horizon": self.past_horizon}


class Retention:
    def __init__(self, db: Database, policy: RetentionPolicy, clock):
        self.db, self.policy, self.clock = db, policy, clock
        self.last_sweep: datetime | None = None
        self.totals: dict[str, int] = {}

    # -- what each horizon selects -------------------------------------------------------
    def _rules(self, now: datetime, anon: int):
        """(name, model, time column, extra condition, horizon field) for every deletion."""
        other = AuditEntry.action.not_in((*ACCESS_ACTIONS, FAILED_LOGIN))
        return [
            ("audit access events", AuditEntry, AuditEntry.ts, AuditEntry.action.in_(ACCESS_ACTIONS),
             "access_events_days"),
            ("audit failed logins", AuditEntry, AuditEntry.ts, AuditEntry.action == FAILED_LOGIN, "failed_logins_days"),
            ("audit other", AuditEntry, AuditEntry.ts, other, "audit_days"),
            ("unknown cards", UnknownCard, UnknownCard.last_seen, None, "unknown_cards_days"),
            ("login failures", LoginFailure, LoginFailure.at, None, "failed_logins_days"),
            ("login tokens", Token, Token.expires_at, Token.kind == "login", "tokens_days"),
            ("login devices", LoginDevice, LoginDevice.last_used_at, None, "login_devices_days"),
            ("door commands", DoorCommandRow, DoorCommandRow.issued_at, None, "door_commands_days"),
            ("dead letters", DeadLetter, DeadLetter.received_at, None, "dead_letters_days"),
        ]

    def sweep(self, now: datetime | None = None) -> dict[str, int]:
        """One pass: how many rows each rule removed (``bookings anonymised`` too)."""
        now = now or self.clock.now()
        done: dict[str, int] = {}
        with self.db.session() as s:
            anon = anonymous_id(s)
            for name, model, column, extra, field in self._rules(now, anon):
                cond = [column < self.policy.horizon(now, field)]
                if extra is not None:
                    cond.append(extra)
                done[name] = s.execute(delete(model).where(*cond).execution_options(
                    synchronize_session=False)).rowcount or 0
            done["bookings anonymised"] = s.execute(
                update(Booking).where(Booking.end < self.policy.horizon(now, "bookings_anonymise_days"),
                                      Booking.member_id != anon)
                .values(member_id=anon, title="").execution_options(synchronize_session=False)).rowcount or 0
            # machine bookings and sessions: billing records too, the same horizon
            horizon = self.policy.horizon(now, "bookings_anonymise_days")
            done["machine bookings anonymised"] = s.execute(
                update(MachineBooking).where(MachineBooking.end < horizon, MachineBooking.member_id != anon)
                .values(member_id=anon, title="").execution_options(synchronize_session=False)).rowcount or 0
            done["machine sessions anonymised"] = s.execute(
                update(MachineSession).where(MachineSession.started_at < horizon,
                                             or_(MachineSession.member_id.is_not(None),
                                                 MachineSession.credential_hash != ""))
                .values(member_id=None, credential_hash="").execution_options(synchronize_session=False)).rowcount or 0
        self.last_sweep = now
        for k, v in done.items():
            self.totals[k] = self.totals.get(k, 0) + v
        if any(done.values()):
            log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in done.items() if v))
        return done

    def maybe_sweep(self, now: datetime) -> dict[str, int] | None:
        """Sweep when ``sweep_interval_s`` has passed since the last one (the sweeper's call)."""
        if not self.policy.sweep_due(self.last_sweep, now):
            return None
        return self.sweep(now)

    # -- what is held ---------------------------------------------------------------------
    def held(self, now: datetime | None = None) -> list[Held]:
        now = now or self.clock.now()
        out: list[Held] = []
        with self.db.session() as s:
            anon = anonymous_id(s)
            for name, model, column, extra, field in self._rules(now, anon):
                cond = [] if extra is None else [extra]
                rows, oldest = s.execute(select(func.count(), func.min(column)).select_from(model).where(*cond)).one()
                past = s.execute(select(func.count()).select_from(model).where(
                    *cond, column < self.policy.horizon(now, field))).scalar_one()
                out.append(Held("database", name, rows, _aware(oldest), getattr(self.policy, field), past))
            horizon = self.policy.horizon(now, "bookings_anonymise_days")
            rows, oldest = s.execute(select(func.count(), func.min(Booking.start)).where(
                Booking.member_id != anon)).one()
            past = s.execute(select(func.count()).select_from(Booking).where(
                Booking.member_id != anon, Booking.end < horizon)).scalar_one()
            out.append(Held("database", "bookings with a member", rows, _aware(oldest),
                            self.policy.bookings_anonymise_days, past))
            rows, oldest = s.execute(select(func.count(), func.min(Booking.start)).where(
                Booking.member_id == anon)).one()
            out.append(Held("database", "bookings anonymised (space, times, no person)", rows, _aware(oldest), None))
            rows, oldest = s.execute(select(func.count(), func.min(Member.created_at)).where(
                Member.email != ANONYMOUS_EMAIL)).one()
            out.append(Held("database", "accounts (kept while the person may enter; erased on request)", rows,
                            _aware(oldest), None))
        return out


def _aware(value):
    """A min() of a UtcDateTime column comes back naive (no column type on an aggregate)."""
    from datetime import timezone

    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):  # SQLite returns the stored text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc)
