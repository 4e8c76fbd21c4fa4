"""Erasure (GDPR art. 17): a member's personal data removed or anonymised in the API's stores.

:func:`erase_member` does it in the caller's transaction; the caller commits, then
re-issues every door's grant list at once (:meth:`api.grants.GrantPublisher.refresh_all`,
the same path as any badge change), so the card is refused at the doors as soon as the
nodes receive their new list.

| what | becomes |
| --- | --- |
| the account (e-mail, name, password hash) | deleted |
| badges (card hashes), trainings, login tokens, known devices, calendar feeds | deleted |
| unknown cards and dead letters carrying one of the card hashes | deleted |
| bookings | **kept, anonymised** (space, times, attendees, status; the member and title removed): billing records (code de commerce art. L123-22); bookings still to come are cancelled first |
| machine bookings | the same as bookings: kept without the member and title, the future ones cancelled first |
| machine sessions (on-times from the nodes) | **kept, anonymised** (machine, times, minutes; the member and card hash removed): usage and billing counts stay right |
| door commands the person issued (staff) | kept, their author the anonymous placeholder |
| audit rows about or by the person | kept without the identity (no member id; actor ``erased``): the building's security log stays whole, counts stay right |
| failed-login counters of the account | deleted |

One audit row ``member_erased`` records the erasure, with counts and who asked, never the
erased identity. The grant lists (``door_grants``) stop holding the hashes when they are
re-issued, just after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from . import audit
from .db.calendars import CalDavEvent, CalendarFeed
from .db.machines import MachineBooking, MachineSession
from .db.models import (HOLDING, STAFF_ROLES, AuditEntry, Badge, Booking, BookingStatus, DeadLetter, DoorCommandRow, LoginDevice,
                        LoginFailure, Member, Token, Training, UnknownCard)
from .retention import ANONYMOUS_EMAIL, anonymous_id
from .security import digest

ERASED = "erased"
KEPT_BOOKINGS = ("billing: bookings are accounting records (code de commerce art. L123-22); kept with their space, "
                 "times, attendees and status, without the person")
KEPT_MACHINE_SESSIONS = ("usage and billing: a machine's on-times stay (machine, times, minutes) without the "
                         "person or their card hash")
KEPT_AUDIT = ("security log: audit rows stay (retention 92 days) without the identity, so that counts and "
              "the building's history stay right")


@dataclass
class Erasure:
    removed: dict[str, int] = field(default_factory=dict)
    kept: list[dict] = field(default_factory=list)
    spaces: set[str] = field(default_factory=set)  # whose bookings changed
    machines: set[str] = field(default_factory=set)  # whose machine bookings changed
    #: The spaces whose doors could admit the person (holding bookings, trainings), whose
    #: lists are re-issued first; None for staff and admins (every door).
    doors_first: set[str] | None = None


def erase_member(session: Session, member: Member, now: datetime, *, by: str) -> Erasure:
    """Erase ``member`` (not committed). ``by`` is the actor of the ``member_erased`` row:
    the staff member's ``member:<id>``, or ``self`` when the member asked for it."""
    if member.email == ANONYMOUS_EMAIL:
        raise ValueError("the anonymous placeholder is not a person")
    mid, email = member.id, member.email
    anon = anonymous_id(session)
    out = Erasure()
    hashes = list(session.execute(select(Badge.credential_hash).where(Badge.member_id == mid)).scalars())

    def run(name: str, statement) -> int:
        n = session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0
        out.removed[name] = out.removed.get(name, 0) + n
        return n

    if member.role in STAFF_ROLES:
        out.doors_first = None
    else:
        out.doors_first = set(session.execute(select(Booking.space_id).where(
            Booking.member_id == mid, Booking.status.in_(HOLDING), Booking.end > now)).scalars())
        out.doors_first |= set(session.execute(select(Training.space_id).where(Training.member_id == mid)).scalars())
    # bookings: future ones cancelled (the person will not come), all kept anonymised
    out.spaces = set(session.execute(select(Booking.space_id).where(Booking.member_id == mid)).scalars())
    run("future bookings cancelled", update(Booking).where(
        Booking.member_id == mid, Booking.status.in_(HOLDING), Booking.end > now)
        .values(status=BookingStatus.cancelled, ended_at=now))
    booked = run("bookings anonymised", update(Booking).where(Booking.member_id == mid)
                 .values(member_id=anon, title=""))
    if booked:
        out.kept.append({"what": "bookings", "rows": booked, "why": KEPT_BOOKINGS})
    # machine bookings: the same; machine sessions keep their minutes, not the person
    out.machines = set(session.execute(select(MachineBooking.machine_id).where(MachineBooking.member_id == mid))
                       .scalars())
    run("future machine bookings cancelled", update(MachineBooking).where(
        MachineBooking.member_id == mid, MachineBooking.status.in_(HOLDING), MachineBooking.end > now)
        .values(status=BookingStatus.cancelled))
    booked = run("machine bookings anonymised", update(MachineBooking).where(MachineBooking.member_id == mid)
                 .values(member_id=anon, title=""))
    if booked:
        out.kept.append({"what": "machine bookings", "rows": booked, "why": KEPT_BOOKINGS})
    used = run("machine sessions anonymised", update(MachineSession).where(
        or_(MachineSession.member_id == mid, *([MachineSession.credential_hash.in_(hashes)] if hashes else [])))
        .values(member_id=None, credential_hash=""))
    if used:
        out.kept.append({"what": "machine sessions", "rows": used, "why": KEPT_MACHINE_SESSIONS})
    run("door commands anonymised", update(DoorCommandRow).where(DoorCommandRow.issued_by == mid)
        .values(issued_by=anon))
    # the audit log: the rows stay, the identity goes
    audited = run("audit rows anonymised", update(AuditEntry).where(AuditEntry.member_id == mid)
                  .values(member_id=None))
    # rows they wrote (a staff member's actions, a failed login with their e-mail): the
    # actor goes, the subject (perhaps someone else) stays
    audited += run("audit rows anonymised", update(AuditEntry).where(
        AuditEntry.actor.in_((audit.actor_of(member), email))).values(actor=ERASED))
    if audited:
        out.kept.append({"what": "audit rows", "rows": audited, "why": KEPT_AUDIT})
    if hashes:
        run("unknown cards", delete(UnknownCard).where(UnknownCard.credential_hash.in_(hashes)))
        run("dead letters", delete(DeadLetter).where(or_(*[DeadLetter.excerpt.contains(h) for h in hashes])))
    run("caldav reasons", update(CalDavEvent).where(CalDavEvent.reason.contains(email)).values(reason=None))
    run("failed-login counters", delete(LoginFailure).where(LoginFailure.key == digest(f"account:{email}")))
    for name, model in (("badges", Badge), ("trainings", Training), ("login tokens", Token),
                        ("login devices", LoginDevice), ("calendar feeds", CalendarFeed)):
        run(name, delete(model).where(model.member_id == mid))
    session.execute(delete(Member).where(Member.id == mid).execution_options(synchronize_session=False))
    if member in session:
        session.expunge(member)
    out.removed["account"] = 1
    audit.record(session, now, "member_erased", by, detail={
        "removed": {k: v for k, v in out.removed.items() if v}, "kept": {k["what"]: k["rows"] for k in out.kept}})
    return out
