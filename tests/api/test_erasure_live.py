"""Erasure at a real door: a real Mosquitto, the API, and a door node on mock pins. Within
a second of the erasure the member's card is refused at the door (the grant lists are
re-issued at once), and the node's own stores no longer hold the card's hash."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace


from station.mqtt import MqttSettings
from tests.conftest import wait_until
from tests.edge.rig import DoorRig

from .conftest import People, node_keys, at

ROOM, DOOR = "salle-aiguillage", "porte-salle-aiguillage"
CARD = 7654321




def test_an_erased_members_card_is_refused_at_the_door_within_a_second(live, clock, inventory, broker, tmp_path):
    app, client = live
    runtime = app.state.runtime
    people = People(client)
    staff = people.create("staff")
    alice = people.create(card=str(CARD), name="Alice Erasable")
    keys = node_keys(runtime)
    credential = keys.credential_hash(CARD)
    with DoorRig(inventory, MqttSettings(port=broker.port), SimpleNamespace(site=keys), tmp_path / "node",
                 clock=clock) as rig:
        assert client.post("/api/v1/bookings", headers=alice.headers,
                           json={"space": ROOM, "start": at(10), "end": at(11)}).status_code == 201
        wait_until(lambda: rig.node.grants.decide(DOOR, credential, clock.now()).granted, timeout=5)
        assert credential in (tmp_path / "node" / "grants" / f"{DOOR}.json").read_text()
        rig.badge(CARD)
        assert rig.controller.counters["granted"] == 1 and rig.unlocked

        # The request re-issues the lists of the doors that could admit her first, then all
        # the others: watch the door from here while it runs.
        answer = []
        erase = threading.Thread(target=lambda: answer.append(
            client.post(f"/api/v1/members/{alice.id}/erase", headers=staff.headers)))
        started = time.monotonic()
        erase.start()
        wait_until(lambda: not rig.node.grants.decide(DOOR, credential, clock.now()).granted, timeout=5.0,
                   interval=0.005)
        took = time.monotonic() - started
        erase.join(30)
        assert answer and answer[0].status_code == 200, answer and answer[0].text
        assert took < 1.0, took
        denied = rig.controller.counters["denied"]
        rig.badge(CARD)
        assert rig.controller.counters["denied"] == denied + 1 and rig.controller.counters["granted"] == 1
        print(f"erasure to refusal at the door: {took * 1000:.0f} ms")
        # the node's cached list (on disk) no longer holds the hash
        cached = tmp_path / "node" / "grants" / f"{DOOR}.json"
        wait_until(lambda: cached.exists() and credential not in cached.read_text(), timeout=2)
