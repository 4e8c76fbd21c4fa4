"""A member who used the fab lab's machines: their export holds their machine bookings and
machine sessions (and nobody else's), and erasing them leaves neither their name on a
booking title nor their card hash on a machine session (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from api.db.machines import MachineBooking, MachineSession
from station.contract import EventKind, NodeEvent

from .conftest import at
from .test_grants import cred
from .test_machine_grants import FABLAB, LASER, train

NODE = "ls-machine-laser-trotec"


def used_the_laser(client, people, runtime, settings, clock, card: str, name: str, title: str):
    person = people.create(card=card, name=name)
    train(client, people, person, clock=clock)
    r = client.post("/api/v1/machine-bookings", headers=person.headers,
                    json={"machine": LASER, "start": at(11) if card == "101" else at(13),
                          "end": at(12) if card == "101" else at(14), "title": title})
    assert r.status_code == 201, r.text
    h = cred(settings, card)
    on = NodeEvent(id=uuid.uuid4().hex, seq=1, node=NODE, kind=EventKind.machine_on, machine=LASER, space=FABLAB,
                   credential_hash=h, ts=clock.now(), reason="free to use")
    runtime.access_log.record(on)
    clock.advance(minutes=5)
    off = NodeEvent(id=uuid.uuid4().hex, seq=2, node=NODE, kind=EventKind.machine_off, machine=LASER, space=FABLAB,
                    credential_hash=h, ts=clock.now(), reason="badge", duration_s=300)
    runtime.access_log.record(off)
    return person, h


def test_machine_bookings_and_sessions_are_exported_and_erased(client, people, runtime, settings, clock):
    alice, alice_hash = used_the_laser(client, people, runtime, settings, clock, "101", "Alice Martin", "Lampe d'Alice")
    bob, bob_hash = used_the_laser(client, people, runtime, settings, clock, "202", "Bob Durand", "Boîte de Bob")

    archive = client.get("/api/v1/members/me/export", headers=alice.headers).json()
    assert [(b["machine"], b["title"]) for b in archive["machine_bookings"]] == [(LASER, "Lampe d'Alice")]
    assert [(s["machine"], s["duration_s"]) for s in archive["machine_sessions"]] == [(LASER, 300)]
    text = client.get("/api/v1/members/me/export", headers=alice.headers).text
    assert "Boîte de Bob" not in text and bob_hash not in text and "Bob Durand" not in text

    r = client.post("/api/v1/members/me/erase", headers=alice.headers, json={"confirm": alice.email})
    assert r.status_code == 200, r.text
    assert r.json()["removed"].get("machine bookings anonymised") == 1
    with runtime.db.session() as s:
        titles = set(s.execute(select(MachineBooking.title)).scalars())
        sessions = s.execute(select(MachineSession.member_id, MachineSession.credential_hash)).all()
    assert titles == {"", "Boîte de Bob"}
    assert alice_hash not in {h for _, h in sessions} and alice.id not in {m for m, _ in sessions}
    assert (bob.id, bob_hash) in sessions  # Bob's use is untouched
    # Bob's export is still his, whole
    archive = client.get("/api/v1/members/me/export", headers=bob.headers).json()
    assert [b["title"] for b in archive["machine_bookings"]] == ["Boîte de Bob"]


def test_machine_bookings_and_sessions_lose_the_person_at_the_bookings_horizon(client, people, runtime, settings,
                                                                             clock):

    alice, alice_hash = used_the_laser(client, people, runtime, settings, clock, "101", "Alice Martin", "Lampe d'Alice")
    assert runtime.retention.sweep()["machine bookings anonymised"] == 0  # not yet
    clock.advance(days=settings.retention.bookings_anonymise_days + 1)
    done = runtime.retention.sweep()
    assert done["machine bookings anonymised"] == 1 and done["machine sessions anonymised"] == 1
    with runtime.db.session() as s:
        assert s.execute(select(MachineBooking.member_id, MachineBooking.title)).one()[1] == ""
        assert s.execute(select(MachineBooking.member_id)).scalar_one() != alice.id
        assert s.execute(select(MachineSession.member_id, MachineSession.credential_hash)).one() == (None, "")
        assert s.execute(select(MachineSession.duration_s)).scalar_one() == 300  # the minutes stay
    assert runtime.retention.sweep()["machine sessions anonymised"] == 0  # once
