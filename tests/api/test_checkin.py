"""Check-in by badge at the door, no-show release, and node events in the audit log."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from station.contract import EventKind, NodeEvent, RoomOccupancy
from station.access import hash_credential

from .conftest import at
from .test_bookings import book
from .test_grants import grants

ROOM, DOOR, NODE = "salle-aiguillage", "porte-salle-aiguillage", "ls-porte-salle-aiguillage"
EVENTS = f"station/v1/la-station/nodes/{NODE}/events"


def badge_event(runtime, settings, card, kind=EventKind.access_granted, seq=1, event_id=None):
    event = NodeEvent(ts=runtime.clock.now(), id=event_id or f"evt-{seq:08d}", seq=seq, node=NODE, kind=kind,
                      door=DOOR, space=ROOM, credential_hash=hash_credential(bytes.fromhex(settings.site_key), card))
    runtime.access_log.handle(EVENTS, event.to_json())


def test_badge_at_the_door_during_the_booking_checks_it_in(client, people, runtime, settings, clock):
    alice = people.create(card="1001")
    b = book(client, alice, start=at(10, 5), end=at(11)).json()
    clock.advance(minutes=2)  # 10:02, within the ten minutes before the start
    badge_event(runtime, settings, "1001")
    got = client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()
    assert got["status"] == "checked_in" and got["checked_in_at"] is not None
    clock.advance(minutes=30)
    assert runtime.sweeper.sweep() == []


def test_no_check_in_and_no_occupancy_releases_the_booking_after_15_minutes(client, people, runtime, settings, clock):
    alice = people.create(card="1002")
    b = book(client, alice, start=at(10), end=at(11)).json()
    assert client.get(f"/api/v1/rooms/{ROOM}").json()["status"] == "reserved"
    version = grants(client, people).version
    clock.advance(minutes=14)
    assert runtime.sweeper.sweep() == []
    clock.advance(minutes=1, seconds=1)
    assert runtime.sweeper.sweep() == [b["id"]]
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "no_show"
    runtime.occupancy.handle(f"station/v1/la-station/rooms/{ROOM}/occupancy",
                         RoomOccupancy(ts=clock.now(), room=ROOM, occupied=False, confidence=0.9).to_json())
    assert client.get(f"/api/v1/rooms/{ROOM}").json()["status"] == "free"
    g = grants(client, people)
    assert g.version > version
    assert hash_credential(bytes.fromhex(settings.site_key), "1002") not in {e.credential_hash for e in g.entries}
    actions = [e["action"] for e in client.get(f"/api/v1/audit?member={alice.id}", headers=people.admin.headers).json()]
    assert "booking_no_show" in actions


def test_occupancy_evidence_keeps_a_booking_without_check_in(client, people, runtime, clock):
    alice = people.create(card="1003")
    b = book(client, alice, start=at(10), end=at(11)).json()
    clock.advance(minutes=5)
    runtime.occupancy.handle(f"station/v1/la-station/rooms/{ROOM}/occupancy",
                         RoomOccupancy(ts=clock.now(), room=ROOM, occupied=True, confidence=0.8).to_json())
    clock.advance(minutes=20)
    assert runtime.sweeper.sweep() == []
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "confirmed"


def test_access_events_are_audited_once_and_the_audit_log_is_staff_only(client, people, runtime, settings):
    alice = people.create(card="2001")
    badge_event(runtime, settings, "2001", EventKind.access_denied, seq=7, event_id="denied-0007")
    badge_event(runtime, settings, "2001", EventKind.access_denied, seq=7, event_id="denied-0007")  # replay
    staff = client.get(f"/api/v1/audit?door={DOOR}&action=access_denied", headers=people.admin.headers).json()
    assert len(staff) == 1 and staff[0]["member_id"] == alice.id and staff[0]["actor"] == f"node:{NODE}"
    assert client.get("/api/v1/audit", headers=alice.headers).status_code == 403
    key = client.post("/api/v1/api-keys", headers=people.admin.headers,
                      json={"name": "billing export", "role": "integration"}).json()["api_key"]
    assert client.get("/api/v1/audit", headers={"X-API-Key": key}).status_code == 403


def test_malformed_event_is_logged_counted_and_dead_lettered(client, runtime, caplog):
    from sqlalchemy import select

    from api.db.models import DeadLetter

    with caplog.at_level(logging.WARNING, logger="api.access_log"):
        runtime.access_log.handle(EVENTS, b"{not json")
        runtime.access_log.handle(EVENTS, b'{"v": 1, "kind": "access_granted"}')
    assert sum(runtime.access_log.rejected.values()) == 2
    assert "refused event" in caplog.text
    metrics = client.get("/metrics").text
    assert sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("station_api_rejected_messages{")) == 2
    with runtime.db.session() as s:
        letters = s.execute(select(DeadLetter)).scalars().all()
    assert [d.excerpt for d in letters] == ["{not json", '{"v": 1, "kind": "access_granted"}']
    assert all(d.topic == EVENTS and len(d.sha256) == 64 for d in letters)


def test_occupancy_seen_after_the_start_keeps_the_booking_even_once_the_room_is_empty(client, people, runtime, clock):
    alice = people.create(card="1004")
    b = book(client, alice, start=at(10), end=at(11)).json()
    topic = f"station/v1/la-station/rooms/{ROOM}/occupancy"
    clock.advance(minutes=3)
    runtime.occupancy.handle(topic, RoomOccupancy(ts=clock.now(), room=ROOM, occupied=True, confidence=0.8).to_json())
    clock.advance(minutes=5)
    runtime.occupancy.handle(topic, RoomOccupancy(ts=clock.now(), room=ROOM, occupied=False, confidence=0.8).to_json())
    clock.advance(minutes=10)
    assert runtime.sweeper.sweep() == []
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "confirmed"


def test_a_check_in_committed_while_the_no_show_sweep_looks_is_kept(client, people, runtime, settings, clock):
    """The sweep reads the late bookings, then judges each; a badge-in committed in between
    (the access log's thread, or another API instance) must win: the member is inside, and
    a ``no_show`` written over it would take their card off the door."""
    alice = people.create(card="4242")
    b = book(client, alice, start=at(10), end=at(11)).json()
    clock.advance(minutes=15, seconds=1)
    event = NodeEvent(ts=clock.now() - timedelta(seconds=2), id="evt-at-the-wire", seq=1, node=NODE,
                      kind=EventKind.access_granted, door=DOOR, space=ROOM,
                      credential_hash=hash_credential(bytes.fromhex(settings.site_key), "4242"))
    looked, outcomes = threading.Event(), []
    judge = runtime.occupancy.get

    def badge_in_meanwhile(space):  # the sweep asks the occupancy after it read the bookings
        if not looked.is_set():
            looked.set()
            t = threading.Thread(target=lambda: outcomes.append(runtime.access_log.handle(EVENTS, event.to_json())))
            t.start()
            t.join(10)
        return judge(space)
    runtime.occupancy.get = badge_in_meanwhile
    assert runtime.sweeper.release_no_shows(clock.now()) == []
    assert outcomes and outcomes[0]["checked_in"] == b["id"]
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "checked_in"
    actions = [e["action"] for e in client.get(f"/api/v1/audit?member={alice.id}", headers=people.admin.headers).json()]
    assert "booking_checked_in" in actions and "booking_no_show" not in actions
    assert hash_credential(bytes.fromhex(settings.site_key), "4242") in {e.credential_hash for e in grants(client, people).entries}


def node_says(runtime, state):
    from station.contract import NodeStatus

    runtime.fleet.handle(f"station/v1/la-station/nodes/{NODE}/status",
                         NodeStatus(ts=runtime.clock.now(), node=NODE, state=state, uptime_s=60).to_json())


def test_a_booking_is_not_released_while_its_door_cannot_be_heard(client, people, runtime, settings, clock):
    """The door works offline: a member who badges in while its node is cut off is inside,
    and the API hears it only when the node's outbox comes through. Until then (the node
    offline or silent, and a moment after it is back) the booking is not a no-show."""
    alice = people.create(card="5150")
    b = book(client, alice, start=at(10), end=at(11)).json()
    node_says(runtime, "online")
    clock.advance(minutes=1)
    node_says(runtime, "offline")  # its last will: the link went down at 10:01
    clock.advance(minutes=4)
    badged = NodeEvent(ts=clock.now(), id="evt-offline-1", seq=7, node=NODE, kind=EventKind.access_granted,
                       door=DOOR, space=ROOM, credential_hash=hash_credential(bytes.fromhex(settings.site_key), "5150"))
    clock.advance(minutes=12)  # 10:17: past the no-show time, nothing heard from the door
    assert runtime.sweeper.sweep() == []
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "confirmed"
    node_says(runtime, "online")  # back; its outbox follows
    assert runtime.sweeper.sweep() == []
    runtime.access_log.handle(EVENTS, badged.to_json())
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "checked_in"


def test_a_booking_is_released_once_its_door_is_heard_again_and_nobody_badged(client, people, runtime, clock):
    alice = people.create(card="5151")
    b = book(client, alice, start=at(10), end=at(11)).json()
    node_says(runtime, "offline")
    clock.advance(minutes=20)
    assert runtime.sweeper.sweep() == []
    node_says(runtime, "online")
    clock.advance(seconds=runtime.sweeper.BACK_ONLINE_S + 1)
    assert runtime.sweeper.sweep() == [b["id"]]
