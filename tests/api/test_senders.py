"""Events are checked against the inventory: a node speaks only for its own doors and spaces."""

from __future__ import annotations

from sqlalchemy import select

from api.db.models import DeadLetter
from station.access import hash_credential
from station.contract import EventKind, NodeEvent

from .conftest import at
from .test_bookings import book

ROOM_NODE = "ls-salle-salle-aiguillage"
FABLAB, FABLAB_DOOR = "fablab-bois", "porte-fablab-bois"


def test_a_room_node_cannot_check_a_fab_lab_booking_in(client, people, runtime, settings, clock):
    """The attack seen in the field: a room node's account publishing access_granted for a door it does not serve."""
    alice = people.create(card="3131")
    b = book(client, alice, space=FABLAB, start=at(10), end=at(12)).json()
    forged = NodeEvent(ts=clock.now(), id="forged-00000001", seq=1, node=ROOM_NODE, kind=EventKind.access_granted,
                       door=FABLAB_DOOR, space=FABLAB,
                       credential_hash=hash_credential(bytes.fromhex(settings.site_key), "3131"))
    assert runtime.access_log.handle(f"station/v1/la-station/nodes/{ROOM_NODE}/events", forged.to_json()) is None
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "confirmed"
    assert client.get("/api/v1/audit?action=access_granted", headers=people.admin.headers).json() == []
    assert sum(runtime.access_log.rejected.values()) == 1
    with runtime.db.session() as s:
        letter = s.execute(select(DeadLetter)).scalar_one()
    assert ROOM_NODE in letter.topic and FABLAB_DOOR in letter.detail


def test_an_event_published_under_another_nodes_name_is_refused(client, runtime, clock):
    event = NodeEvent(ts=clock.now(), id="spoof-00000001", seq=1, node="ls-porte-salle-aiguillage",
                      kind=EventKind.door_forced, door="porte-salle-aiguillage")
    topic = "station/v1/la-station/nodes/ls-salle-salle-aiguillage/events"  # the topic of another node
    assert runtime.access_log.handle(topic, event.to_json()) is None
    assert sum(runtime.access_log.rejected.values()) == 1


def test_one_sender_cannot_fill_the_dead_letter_table(client, runtime):
    topic = f"station/v1/la-station/nodes/{ROOM_NODE}/events"
    for n in range(runtime.access_log.dead_letters.PER_SENDER_PER_MIN + 40):
        runtime.access_log.handle(topic, b"junk %d" % n)
    with runtime.db.session() as s:
        kept = len(s.execute(select(DeadLetter.id)).scalars().all())
    assert kept == runtime.access_log.dead_letters.PER_SENDER_PER_MIN
    assert runtime.access_log.rejected["dead_letter_rate_limited"] == 40
