"""A member's own data (GDPR art. 15 and 20): everything the API's database holds about them.

:func:`member_export` gathers, for one member: the profile, badges (hashes only: the card
number is never stored), trainings, bookings, machine bookings and machine sessions (the
on-times the nodes reported), calendar feeds (not their tokens), login devices and tokens
(dates only, never a secret), their access events within retention
(audit rows of their badges at doors) and the other audit rows about them or by them.
Rows by them about someone else keep the action and time and drop that person's id.

:func:`as_csv` flattens it (one row per field: ``section, record, field, value``), so a
spreadsheet opens it whatever the sections hold. What is not here, and why, is said in
``not_included``: the history holds counts and door events without a person.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from station.privacy import RetentionPolicy

from .db.calendars import CalendarFeed
from .db.machines import MachineBooking, MachineSession
from .db.models import AuditEntry, Badge, Booking, LoginDevice, Member, Token, Training
from .retention import ACCESS_ACTIONS

NOT_INCLUDED = {
    "card_number": "never stored: the reader hashes it with the site key; only the hash (above) is kept",
    "history": "the time series (occupancy, CO2, door events) hold no member; access events there carry no name "
               "and are folded into daily counts after the retention horizon",
    "passwords_and_tokens": "only salted hashes are stored; they are not personal data you could use, so not exported",
}


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def member_export(session: Session, member: Member, now: datetime, policy: RetentionPolicy) -> dict:
    mid = member.id
    badges = session.execute(select(Badge).where(Badge.member_id == mid).order_by(Badge.id)).scalars().all()
    trainings = session.execute(select(Training).where(Training.member_id == mid).order_by(Training.id)).scalars()
    bookings = session.execute(select(Booking).where(Booking.member_id == mid).order_by(Booking.start)).scalars()
    machine_bookings = session.execute(select(MachineBooking).where(MachineBooking.member_id == mid)
                                       .order_by(MachineBooking.start)).scalars()
    machine_sessions = session.execute(select(MachineSession).where(MachineSession.member_id == mid)
                                       .order_by(MachineSession.started_at)).scalars()
    feeds = session.execute(select(CalendarFeed).where(CalendarFeed.member_id == mid)).scalars()
    devices = session.execute(select(LoginDevice).where(LoginDevice.member_id == mid)).scalars()
    tokens = session.execute(select(Token).where(Token.member_id == mid).order_by(Token.id)).scalars()
    me = f"member:{mid}"
    audit_rows = session.execute(select(AuditEntry).where(
        or_(AuditEntry.member_id == mid, AuditEntry.actor == me, AuditEntry.actor == member.email))
        .order_by(AuditEntry.ts, AuditEntry.id)).scalars().all()
    horizon = policy.horizon(now, "access_events_days")
    access, others = [], []
    for row in audit_rows:
        about_me = row.member_id == mid
        entry = {"ts": _iso(row.ts), "action": row.action, "door": row.door_id, "space": row.space_id}
        if row.action in ACCESS_ACTIONS and about_me:
            if row.ts >= horizon:
                access.append({**entry, "by": row.actor})
            continue
        entry.update({"by": "you" if row.actor in (me, member.email) else row.actor,
                      "about": "you" if about_me else ("someone else" if row.member_id else None),
                      "detail": row.detail if about_me else {}})
        others.append(entry)
    return {
        "generated_at": now.isoformat(),
        "controller_note": "GDPR art. 15 and 20: the data the La Station API holds about you",
        "profile": {"id": member.id, "email": member.email, "name": member.name, "role": member.role.value,
                    "status": member.status.value, "created_at": _iso(member.created_at)},
        "badges": [{"id": b.id, "credential_hash": b.credential_hash, "label": b.label, "active": b.active,
                    "enrolled_at": _iso(b.enrolled_at), "revoked_at": _iso(b.revoked_at)} for b in badges],
        "trainings": [{"id": t.id, "space": t.space_id, "machine": t.machine, "valid_until": _iso(t.valid_until),
                       "revoked": t.revoked} for t in trainings],
        "bookings": [{"id": b.id, "space": b.space_id, "start": _iso(b.start), "end": _iso(b.end),
                      "attendees": b.attendees, "title": b.title, "status": b.status.value,
                      "created_at": _iso(b.created_at), "checked_in_at": _iso(b.checked_in_at),
                      "ended_at": _iso(b.ended_at)} for b in bookings],
        "machine_bookings": [{"id": b.id, "machine": b.machine_id, "start": _iso(b.start), "end": _iso(b.end),
                              "title": b.title, "status": b.status.value, "created_at": _iso(b.created_at)}
                             for b in machine_bookings],
        "machine_sessions": [{"machine": m.machine_id, "started_at": _iso(m.started_at), "ended_at": _iso(m.ended_at),
                              "duration_s": m.duration_s, "credential_hash": m.credential_hash}
                             for m in machine_sessions],
        "access_events": access,
        "audit": others,
        "calendar_feeds": [{"created_at": _iso(f.created_at), "revoked_at": _iso(f.revoked_at)} for f in feeds],
        "login_devices": [{"created_at": _iso(d.created_at), "last_used_at": _iso(d.last_used_at)} for d in devices],
        "sessions": [{"kind": t.kind, "label": t.label, "created_at": _iso(t.created_at),
                      "expires_at": _iso(t.expires_at), "revoked": t.revoked} for t in tokens],
        "retention_days": {k: v for k, v in policy.model_dump().items() if k.endswith("_days")},
        "not_included": NOT_INCLUDED,
    }


def as_csv(archive: dict) -> str:
    """``section, record, field, value`` rows; cells a spreadsheet would run are quoted."""
    from .routers.staff_bookings import csv_cell

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "record", "field", "value"])
    for section, value in archive.items():
        records = value if isinstance(value, list) else [value]
        for n, record in enumerate(records):
            if isinstance(record, dict):
                for field, cell in record.items():
                    writer.writerow([section, n, field, csv_cell(_flat(cell))])
            else:
                writer.writerow([section, n, "", csv_cell(_flat(record))])
    return out.getvalue()


def _flat(value) -> str:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)
