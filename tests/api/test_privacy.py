"""A member's own data and erasure (SQLite and PostgreSQL): the export holds exactly the
member's data and nothing of a second member; after erasure no store returns their
e-mail, name or card hash, bookings are kept anonymised, the grant lists drop the card."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import inspect, select, text

from api.db.models import AuditEntry, Booking
from api.retention import ANONYMOUS_EMAIL
from station.access import hash_credential
from station.contract import EventKind, NodeEvent

from .conftest import at
from .test_bookings import book
from .test_grants import grants

ROOM, DOOR, NODE = "salle-aiguillage", "porte-salle-aiguillage", "ls-porte-salle-aiguillage"
EVENTS = f"station/v1/la-station/nodes/{NODE}/events"


def card_hash(settings, card: str) -> str:
    return hash_credential(bytes.fromhex(settings.site_key), card)


def tap(runtime, settings, card: str, seq: int, kind=EventKind.access_granted) -> None:
    event = NodeEvent(ts=runtime.clock.now(), id=f"evt-{card}-{seq}", seq=seq, node=NODE, kind=kind, door=DOOR,
                      space=ROOM, credential_hash=card_hash(settings, card))
    runtime.access_log.handle(EVENTS, event.to_json())


def two_members(client, people, runtime, settings, clock):
    """Alice and Bob, each with a badge, a training, a booking, badge uses and audit rows."""
    alice = people.create(card="4242", name="Alice Martin")
    bob = people.create(card="5151", name="Bob Lefebvre")
    until = (clock.now() + timedelta(days=30)).isoformat()
    for person, machine in ((alice, "scie-format"), (bob, "cnc-shopbot")):
        r = client.post(f"/api/v1/members/{person.id}/trainings", headers=people.admin.headers,
                        json={"space": "fablab-bois", "machine": machine, "valid_until": until})
        assert r.status_code == 201, r.text
    assert book(client, alice, start=at(10, 5), end=at(11), title="Atelier Alice").status_code == 201
    assert book(client, bob, start=at(11), end=at(12), title="Réunion Bob").status_code == 201
    tap(runtime, settings, "4242", 1)
    tap(runtime, settings, "5151", 2)
    tap(runtime, settings, "5151", 3, EventKind.access_denied)
    with runtime.db.session() as s:  # a badge use of Alice's older than the retention: not exported
        s.add(AuditEntry(ts=clock.now() - timedelta(days=100), action="access_granted", actor=f"node:{NODE}",
                         member_id=alice.id, door_id=DOOR, event_id="evt-ancient", detail={}))
    return alice, bob


def test_export_holds_exactly_the_members_data_and_nothing_of_another(client, people, runtime, settings, clock):
    alice, bob = two_members(client, people, runtime, settings, clock)

    r = client.get("/api/v1/members/me/export", headers=alice.headers)

    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["profile"]["email"] == alice.email and data["profile"]["name"] == "Alice Martin"
    assert [b["credential_hash"] for b in data["badges"]] == [card_hash(settings, "4242")]
    assert [t["machine"] for t in data["trainings"]] == ["scie-format"]
    assert [b["title"] for b in data["bookings"]] == ["Atelier Alice"]
    assert [(e["action"], e["door"]) for e in data["access_events"]] == [("access_granted", DOOR),
                                                                         ("booking_checked_in", None)]
    actions = {a["action"] for a in data["audit"]}
    assert {"member_enrolled", "badge_enrolled", "training_recorded", "booking_created"} <= actions
    assert data["retention_days"]["access_events_days"] == 92
    raw = r.text
    for secret in (bob.email, "Bob Lefebvre", card_hash(settings, "5151"), "Réunion Bob",
                   "evt-ancient", "5151"):
        assert secret not in raw, secret
    assert f'"member_id": {bob.id}' not in raw


def test_export_as_csv_by_format_or_accept(client, people, runtime, settings, clock):
    alice, bob = two_members(client, people, runtime, settings, clock)
    by_format = client.get("/api/v1/members/me/export?format=csv", headers=alice.headers)
    by_accept = client.get("/api/v1/members/me/export", headers={**alice.headers, "Accept": "text/csv"})
    for r in (by_format, by_accept):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["section", "record", "field", "value"]
        assert ["profile", "0", "email", alice.email] in rows
        assert ["badges", "0", "credential_hash", card_hash(settings, "4242")] in rows
        assert bob.email not in r.text and card_hash(settings, "5151") not in r.text


def database_text(runtime) -> str:
    """Every row of every table of the API's database, as text."""
    out = []
    with runtime.db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(out)


def test_staff_erase_a_member_everywhere_bookings_kept_anonymised(client, people, runtime, settings, clock):
    alice, bob = two_members(client, people, runtime, settings, clock)
    staff = people.create("staff")
    alice_hash = card_hash(settings, "4242")
    assert alice_hash in [e.credential_hash for e in grants(client, people).entries]
    before = grants(client, people).version
    with runtime.db.session() as s:
        slots = sorted(s.execute(select(Booking.space_id, Booking.start, Booking.end)).all())

    r = client.post(f"/api/v1/members/{alice.id}/erase", headers=staff.headers)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["erased"] is True and body["removed"]["badges"] == 1 and body["removed"]["account"] == 1
    assert {k["what"] for k in body["kept"]} == {"bookings", "audit rows"}
    assert "L123-22" in next(k["why"] for k in body["kept"] if k["what"] == "bookings")
    # the door's list no longer holds the card; a new version was issued at once
    now_list = grants(client, people)
    assert now_list.version > before and alice_hash not in [e.credential_hash for e in now_list.entries]
    assert card_hash(settings, "5151") in [e.credential_hash for e in now_list.entries]
    # the account is gone: its token and its password no longer work
    assert client.get("/api/v1/members/me", headers=alice.headers).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": alice.email, "password": "x" * 12}).status_code == 401
    # no API answer carries the e-mail, name or card hash
    day = clock.now().date().isoformat()
    for path in ("/api/v1/members", "/api/v1/staff/members", "/api/v1/audit", "/api/v1/staff/audit.csv",
                 f"/api/v1/doors/{DOOR}/grants", f"/api/v1/doors/{DOOR}/unknown-cards",
                 f"/api/v1/staff/bookings?day={day}", f"/api/v1/staff/bookings.csv?start={day}&days=1",
                 f"/api/v1/rooms/{ROOM}", f"/api/v1/schedule?date={day}", "/api/v1/staff/today"):
        got = client.get(path, headers=people.admin.headers)
        assert got.status_code == 200, (path, got.status_code, got.text[:200])
        for secret in (alice.email, "Alice Martin", alice_hash, "Atelier Alice"):
            assert secret not in got.text, (path, secret)
    # nor any row of any table
    everything = database_text(runtime)
    for secret in (alice.email, "Alice Martin", alice_hash, "Atelier Alice"):
        assert secret not in everything, secret
    assert bob.email in everything and "Bob Lefebvre" in everything  # Bob untouched
    # bookings kept: same spaces and times, Alice's now without a person
    with runtime.db.session() as s:
        assert sorted(s.execute(select(Booking.space_id, Booking.start, Booking.end)).all()) == slots
        erased = s.execute(select(AuditEntry).where(AuditEntry.action == "member_erased")).scalar_one()
        assert erased.member_id is None and erased.actor == f"member:{staff.id}"
        assert str(alice.id) not in json.dumps(erased.detail)
    # Bob's export does not change, and Alice's events still count (anonymised, not deleted)
    with runtime.db.session() as s:
        granted = s.execute(select(AuditEntry).where(AuditEntry.action == "access_granted")).scalars().all()
        assert len(granted) == 3 and sum(1 for g in granted if g.member_id is None) == 2
    assert ANONYMOUS_EMAIL not in client.get("/api/v1/members", headers=people.admin.headers).text


def test_a_member_erases_their_own_account_with_confirmation(client, people, runtime, settings, clock):
    alice, bob = two_members(client, people, runtime, settings, clock)
    wrong = client.post("/api/v1/members/me/erase", headers=alice.headers, json={"confirm": bob.email})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["type"] == "confirmation"
    assert client.get("/api/v1/members/me", headers=alice.headers).status_code == 200
    # a member cannot erase someone else
    assert client.post(f"/api/v1/members/{bob.id}/erase", headers=alice.headers).status_code == 403
    r = client.post("/api/v1/members/me/erase", headers=alice.headers, json={"confirm": alice.email.upper()})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/members/me", headers=alice.headers).status_code == 401
    with runtime.db.session() as s:
        erased = s.execute(select(AuditEntry).where(AuditEntry.action == "member_erased")).scalar_one()
        assert erased.actor == "self" and erased.member_id is None


def test_staff_cannot_erase_an_admin_and_the_last_admin_cannot_go(client, people):
    staff = people.create("staff")
    assert client.post(f"/api/v1/members/{people.admin.id}/erase", headers=staff.headers).status_code == 403
    r = client.post("/api/v1/members/me/erase", headers=people.admin.headers,
                    json={"confirm": people.admin.email})
    assert r.status_code == 409


def test_the_notice_is_public_in_both_languages_with_the_retention(client, settings):
    r = client.get("/api/v1/privacy/notice")
    assert r.status_code == 200
    notice = r.json()
    assert "92 jours" in notice["fr"]["text"] and "92 days" in notice["en"]["text"]
    assert settings.notice.contact in notice["fr"]["short"] and "CNIL" in notice["en"]["text"]
