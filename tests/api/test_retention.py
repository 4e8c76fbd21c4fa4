"""Retention in the API database (SQLite and PostgreSQL): rows past their horizon go or are
anonymised after a sweep, rows inside are untouched, aggregates unchanged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from api.db.models import (AuditEntry, Booking, BookingStatus, DeadLetter, DoorCommandRow, LoginDevice, LoginFailure,
                           Member, Token, UnknownCard)
from api.retention import ANONYMOUS_EMAIL, anonymous_id

ROOM, DOOR = "salle-aiguillage", "porte-salle-aiguillage"


def seed(runtime, member_id: int, staff_id: int, now, age: timedelta, tag: str) -> None:
    """One row of every kind, ``age`` old."""
    t = now - age
    with runtime.db.session() as s:
        s.add(AuditEntry(ts=t, action="access_granted", actor="node:n", member_id=member_id, door_id=DOOR,
                         event_id=f"ev-{tag}", detail={}))
        s.add(AuditEntry(ts=t, action="login_failed", actor="someone@la-station.test", member_id=member_id))
        s.add(AuditEntry(ts=t, action="badge_enrolled", actor=f"member:{staff_id}", member_id=member_id))
        s.add(UnknownCard(door_id=DOOR, credential_hash=(tag * 64)[:64], first_seen=t, last_seen=t))
        s.add(LoginFailure(key=(tag * 64)[:64], at=t))
        s.add(Token(digest=("t" + tag * 64)[:64], member_id=member_id, kind="login", created_at=t - timedelta(hours=12),
                    expires_at=t))
        s.add(LoginDevice(member_id=member_id, digest=("d" + tag * 64)[:64], created_at=t, last_used_at=t))
        s.add(DoorCommandRow(id=f"cmd-{tag}", door_id=DOOR, seq=int(t.timestamp()), action="unlock_once",
                             issued_by=staff_id, issued_at=t, expires_at=t + timedelta(minutes=1)))
        s.add(DeadLetter(received_at=t, topic="station/v1/x", reason="malformed", detail="", excerpt=tag, size=1,
                         sha256="0" * 64))
        s.add(Booking(space_id=ROOM, member_id=member_id, start=t - timedelta(hours=2), end=t - timedelta(hours=1),
                      attendees=3, title=f"réunion {tag}", status=BookingStatus.checked_in, created_at=t))


def counts(runtime):
    with runtime.db.session() as s:
        return {m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (AuditEntry, UnknownCard, LoginFailure, LoginDevice, DoorCommandRow, DeadLetter, Booking)}


def test_sweep_removes_rows_past_their_horizon_keeps_the_rest_and_anonymises_old_bookings(client, people, runtime,
                                                                                          clock):
    member = people.create()
    staff = people.create("staff")
    now = clock.now()
    before = counts(runtime)
    seed(runtime, member.id, staff.id, now, timedelta(days=400), "a")  # past every horizon
    seed(runtime, member.id, staff.id, now, timedelta(days=60), "b")  # past 30 days, inside 92
    seed(runtime, member.id, staff.id, now, timedelta(days=1), "c")  # inside every horizon
    with runtime.db.session() as s:
        hours_by_space = s.execute(select(Booking.space_id, func.sum(Booking.attendees), func.count())
                                   .group_by(Booking.space_id)).all()
        old = s.execute(select(Booking).where(Booking.title == "réunion a")).scalar_one()
        old_slot = (old.space_id, old.start, old.end, old.attendees, old.status)

    done = runtime.retention.sweep(now)

    assert done["audit access events"] == 1 and done["audit other"] == 1
    assert done["audit failed logins"] == 2  # the 400- and the 60-day-old one
    assert done["unknown cards"] == 2 and done["login failures"] == 2
    assert done["door commands"] == 1 and done["dead letters"] == 1
    assert done["login devices"] == 1 and done["login tokens"] == 2
    assert done["bookings anonymised"] == 1
    with runtime.db.session() as s:
        actions = sorted(s.execute(select(AuditEntry.action, AuditEntry.event_id).where(
            AuditEntry.event_id.is_not(None))).all())
        assert actions == [("access_granted", "ev-b"), ("access_granted", "ev-c")]
        assert s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "login_failed", AuditEntry.ts < now - timedelta(days=30))).scalar_one() == 0
        assert {c.credential_hash[0] for c in s.execute(select(UnknownCard)).scalars()} == {"c"}
        assert {d.excerpt for d in s.execute(select(DeadLetter)).scalars()} == {"b", "c"}
        # the old booking: same space, times, attendees, status; no member, no title
        anon = anonymous_id(s)
        row = s.get(Booking, old.id)
        assert (row.space_id, row.start, row.end, row.attendees, row.status) == old_slot
        assert row.member_id == anon and row.title == ""
        assert s.get(Member, anon).email == ANONYMOUS_EMAIL
        kept = s.execute(select(Booking.title).where(Booking.member_id == member.id)).scalars().all()
        assert sorted(kept) == ["réunion b", "réunion c"]
        # aggregates: bookings (and attendees) per space unchanged
        assert s.execute(select(Booking.space_id, func.sum(Booking.attendees), func.count())
                         .group_by(Booking.space_id)).all() == hours_by_space
    after = counts(runtime)
    assert after["bookings"] == before["bookings"] + 3

    assert all(v == 0 for v in runtime.retention.sweep(now).values())  # idempotent


def test_held_reports_rows_and_the_oldest_per_table(client, people, runtime, clock):
    member = people.create()
    staff = people.create("staff")
    now = clock.now()
    seed(runtime, member.id, staff.id, now, timedelta(days=100), "a")
    held = {h.what: h for h in runtime.retention.held(now)}
    access = held["audit access events"]
    assert access.rows == 1 and access.past_horizon == 1 and access.horizon_days == 92
    assert access.oldest == now - timedelta(days=100)
    assert held["bookings with a member"].past_horizon == 0
    runtime.retention.sweep(now)
    held = {h.what: h for h in runtime.retention.held(now)}
    assert held["audit access events"].rows == 0 and held["audit access events"].oldest is None


def test_the_sweeper_runs_retention_at_its_interval(client, people, runtime, clock):
    member = people.create()
    staff = people.create("staff")
    seed(runtime, member.id, staff.id, clock.now(), timedelta(days=100), "a")
    runtime.sweeper.sweep()
    assert counts(runtime)["dead_letters"] == 0
    seed(runtime, member.id, staff.id, clock.now(), timedelta(days=100), "b")
    clock.advance(seconds=10)  # inside sweep_interval_s (3600): nothing
    runtime.sweeper.sweep()
    assert counts(runtime)["dead_letters"] == 1
    clock.advance(hours=1)
    runtime.sweeper.sweep()
    assert counts(runtime)["dead_letters"] == 0
