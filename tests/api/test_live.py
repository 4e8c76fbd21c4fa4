"""The API on a real Mosquitto (a private one per test: retained lists must not leak) with a real door node on mock pins.

Booking → signed grant list (retained) → the node admits the badge → its
``access_granted`` event checks the booking in; revoking the badge → a new list → the
node refuses; availability is published retained; staff door commands reach the node.
"""

from __future__ import annotations

import json
import secrets
from types import SimpleNamespace

import pytest

from station.access import verify
from station.contract import GrantList, RoomAvailability
from station.mqtt import MqttBus, MqttSettings
from tests.conftest import wait_until
from tests.edge.rig import DoorRig

from .conftest import People, node_keys, at

ROOM, DOOR = "salle-aiguillage", "porte-salle-aiguillage"
CARD = 1234567




@pytest.fixture()
def retained(broker):
    """Every message seen on the availability and grant topics, by topic (last wins)."""
    seen: dict[str, bytes] = {}
    bus = MqttBus(f"spy-{secrets.token_hex(3)}", MqttSettings(port=broker.port))
    for pattern in ("station/v1/+/rooms/+/availability", "station/v1/+/doors/+/grants"):
        bus.subscribe(pattern, lambda topic, payload: seen.__setitem__(topic, payload))
    bus.start()
    yield seen
    bus.stop()


def test_booking_opens_the_door_node_and_revoking_closes_it(live, clock, inventory, broker, tmp_path, retained):
    app, client = live
    runtime = app.state.runtime
    people = People(client)
    alice = people.create(card=str(CARD))
    site_keys = node_keys(runtime)
    credential = site_keys.credential_hash(CARD)
    with DoorRig(inventory, MqttSettings(port=broker.port), SimpleNamespace(site=site_keys), tmp_path / "node",
                 clock=clock) as rig:
        wait_until(lambda: rig.node.grants.get(DOOR) is not None, timeout=10)
        assert not rig.node.grants.decide(DOOR, credential, clock.now()).granted
        booking = client.post("/api/v1/bookings", headers=alice.headers,
                              json={"space": ROOM, "start": at(10), "end": at(11)}).json()
        wait_until(lambda: rig.node.grants.decide(DOOR, credential, clock.now()).granted, timeout=5)

        rig.badge(CARD)
        assert rig.controller.counters["granted"] == 1
        wait_until(lambda: client.get(f"/api/v1/bookings/{booking['id']}",
                                      headers=alice.headers).json()["status"] == "checked_in", timeout=5)

        topic = f"station/v1/la-station/rooms/{ROOM}/availability"
        wait_until(lambda: topic in retained and RoomAvailability.model_validate_json(retained[topic]).status.value
                   == "reserved", timeout=5)
        grant = GrantList.model_validate_json(retained[f"station/v1/la-station/doors/{DOOR}/grants"])
        verify(grant, site_keys.ring)

        badge_id = client.get(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers).json()[0]["id"]
        client.post(f"/api/v1/badges/{badge_id}/revoke", headers=people.admin.headers)
        wait_until(lambda: not rig.node.grants.decide(DOOR, credential, clock.now()).granted, timeout=5)
        rig.badge(CARD)
        wait_until(lambda: client.get(f"/api/v1/audit?door={DOOR}&action=access_denied",
                                      headers=people.admin.headers).json(), timeout=5)

        r = client.post(f"/api/v1/doors/{DOOR}/commands", headers=people.admin.headers,
                        json={"action": "unlock_once", "ttl_s": 60})
        assert r.status_code == 202, r.text
        wait_until(lambda: client.get(f"/api/v1/audit?door={DOOR}&action=command_applied",
                                      headers=people.admin.headers).json(), timeout=5)
        actions = {e["action"] for e in client.get(f"/api/v1/audit?door={DOOR}", headers=people.admin.headers).json()}
        assert {"door_command", "access_granted", "access_denied", "command_applied"} <= actions


def test_grant_lists_are_retained_for_nodes_that_connect_later(live, broker):
    app, _ = live
    seen: dict[str, bytes] = {}
    bus = MqttBus(f"late-{secrets.token_hex(3)}", MqttSettings(port=broker.port))
    bus.subscribe(f"station/v1/la-station/doors/{DOOR}/grants", lambda t, p: seen.__setitem__(t, p))
    bus.start()
    current = app.state.runtime.grants.current(DOOR)
    try:
        wait_until(lambda: seen and GrantList.model_validate_json(next(iter(seen.values()))) == current, timeout=5)
    finally:
        bus.stop()
    assert json.loads(next(iter(seen.values())))["signature"] == current.signature
