"""The heart of the product, end to end: staff enrol, a member books, the door opens, nothing is lost.

Everything real but the pins: Mosquitto (a private one per test), the API over HTTP
(uvicorn; SQLite and PostgreSQL), the collector, a door node and a room node on
gpiozero mock pins, one key set made by the same code `station api keys` runs.
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from gpiozero.pins.mock import MockFactory

from api.settings import ApiSettings
from collector.service import Collector
from edge.node import EdgeNode
from station.access import generate_key_set, load_node_keys
from station.settings import MqttSettings
from tests.conftest import wait_until
from tests.edge.rig import DoorRig
from tests.utils.api_server import ApiServer
from tests.utils.clocks import FromClock

pytestmark = pytest.mark.mosquitto
ROOM, DOOR, ROOM_NODE = "salle-aiguillage", "porte-salle-aiguillage", "ls-salle-salle-aiguillage"
ADMIN = ("admin@la-station.test", "admin-password-123")
CARD = 4_200_042
# Staff enrolment hashes a password (argon2): give a loaded machine time, as a member would wait.
HTTP = httpx.Client(timeout=30)


class Keys:
    def __init__(self, directory):
        self.paths = generate_key_set(directory)
        self.site = load_node_keys(self.paths.public, self.paths.hmac)


def api_settings(database_url, keys, broker, client_id, **extra) -> ApiSettings:
    return ApiSettings(environment="production", database_url=database_url, signing_key_file=keys.paths.private,
                       site_key_file=keys.paths.hmac, admin_email=ADMIN[0], admin_password=ADMIN[1],
                       mqtt=MqttSettings(port=broker.port, client_id=client_id), sweep_interval_s=0.2, **extra)


def login(api, email, password) -> dict:
    r = HTTP.post(f"{api.url}/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def enrol(api, staff: dict, card: int = CARD) -> tuple[dict, int]:
    """Staff create a member and their badge; the member logs in."""
    r = HTTP.post(f"{api.url}/api/v1/members", headers=staff,
                   json={"email": "alice@la-station.test", "name": "Alice", "password": "alice-password-1"})
    assert r.status_code == 201, r.text
    member = r.json()["id"]
    r = HTTP.post(f"{api.url}/api/v1/members/{member}/badges", headers=staff, json={"card_number": str(card)})
    assert r.status_code == 201, r.text
    return login(api, "alice@la-station.test", "alice-password-1"), member


def test_staff_enrol_the_member_books_the_door_opens_the_booking_checks_in_and_a_suspension_closes_it(
        inventory, broker, tmp_path, database_url):
    keys, clock = Keys(tmp_path / "keys"), FromClock()
    mqtt = MqttSettings(port=broker.port)
    settings = api_settings(database_url, keys, broker, f"api-{secrets.token_hex(3)}")
    room_pins = MockFactory()
    with ApiServer(settings, clock=clock) as api, \
            Collector(inventory, mqtt, clock=clock, client_id=f"collector-{secrets.token_hex(3)}"), \
            DoorRig(inventory, mqtt, keys, tmp_path / "door", clock=clock) as door, \
            EdgeNode(inventory, ROOM_NODE, mqtt, pin_factory=room_pins, clock=clock, telemetry_interval_s=3600) as room:
        staff = login(api, *ADMIN)
        alice, member = enrol(api, staff)
        credential = keys.site.credential_hash(CARD)
        wait_until(lambda: door.node.grants.get(DOOR) is not None, timeout=10)
        assert not door.node.grants.decide(DOOR, credential, clock.now()).granted  # no booking yet

        r = HTTP.post(f"{api.url}/api/v1/bookings", headers=alice, json={"space": ROOM, "duration_minutes": 60})
        assert r.status_code == 201, r.text
        booking = r.json()
        wait_until(lambda: door.node.grants.decide(DOOR, credential, clock.now()).granted, timeout=2)

        strike = door.pin("strike_relay")
        assert strike.state == 0  # fail-secure strike: unpowered, locked
        door.badge(CARD)
        assert strike.state == 1  # the relay was driven, before anything went on the network
        door.open_door()
        room_pins.pin(room.profile.pins["pir"]).drive_high()  # someone moves in the room

        def audited():
            r = HTTP.get(f"{api.url}/api/v1/audit?door={DOOR}&action=access_granted", headers=staff)
            return r.json()
        entry = wait_until(audited, timeout=5)[0]
        assert entry["member_id"] == member and entry["actor"] == f"node:{door.node.node.id}"
        wait_until(lambda: HTTP.get(f"{api.url}/api/v1/bookings/{booking['id']}", headers=alice)
                   .json()["status"] == "checked_in", timeout=5)
        wait_until(lambda: HTTP.get(f"{api.url}/api/v1/rooms/{ROOM}").json()["status"] == "occupied", timeout=5)
        door.close_door()

        r = HTTP.post(f"{api.url}/api/v1/members/{member}/suspend", headers=staff)
        assert r.status_code == 200
        started = time.monotonic()
        wait_until(lambda: not door.node.grants.decide(DOOR, credential, clock.now()).granted, timeout=1.0)
        assert time.monotonic() - started < 1.0
        time.sleep(1.0)  # the reader's frame gap and the strike's relock
        door.badge(CARD)
        assert not door.unlocked
        denied = wait_until(lambda: HTTP.get(f"{api.url}/api/v1/audit?door={DOOR}&action=access_denied",
                                              headers=staff).json(), timeout=5)
        assert denied[0]["member_id"] == member


def test_a_badge_while_the_api_is_down_is_audited_after_its_restart_and_checks_the_booking_in(
        inventory, broker, tmp_path, database_url):
    """Nothing lost across a restart, and the no-show sweep waits for the backlog."""
    keys, clock = Keys(tmp_path / "keys"), FromClock()
    mqtt = MqttSettings(port=broker.port)
    settings = api_settings(database_url, keys, broker, "api-restart")  # the same session, both lives
    with DoorRig(inventory, mqtt, keys, tmp_path / "door", clock=clock) as door:
        with ApiServer(settings, clock=clock) as api:
            staff = login(api, *ADMIN)
            alice, member = enrol(api, staff)
            booking = HTTP.post(f"{api.url}/api/v1/bookings", headers=alice,
                                 json={"space": ROOM, "duration_minutes": 120}).json()
            wait_until(lambda: door.node.grants.decide(DOOR, keys.site.credential_hash(CARD), clock.now()).granted,
                       timeout=5)
        # The API is down. The member badges: the door decides alone; the event waits in the broker.
        door.badge(CARD)
        assert door.unlocked
        wait_until(lambda: door.node.outbox.depth == 0, timeout=5)  # the broker took it (PUBACK)
        clock.jump(minutes=20)  # the API comes back long after the no-show delay
        with ApiServer(settings, clock=clock) as api:
            staff = login(api, *ADMIN)
            wait_until(lambda: HTTP.get(f"{api.url}/api/v1/bookings/{booking['id']}", headers=staff)
                       .json()["status"] != "confirmed", timeout=10)
            assert HTTP.get(f"{api.url}/api/v1/bookings/{booking['id']}", headers=staff).json()["status"] == \
                "checked_in"
            time.sleep(1.5)  # several sweeps later: still checked in, never released as a no-show
            assert HTTP.get(f"{api.url}/api/v1/bookings/{booking['id']}", headers=staff).json()["status"] == \
                "checked_in"
            granted = HTTP.get(f"{api.url}/api/v1/audit?action=access_granted", headers=staff).json()
            assert [e["member_id"] for e in granted] == [member]
            assert api.runtime.access_log.drained
