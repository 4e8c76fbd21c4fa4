"""The walking skeleton over a real Mosquitto: mock pins → edge → broker → collector → API."""

import threading
import time

import httpx
import pytest
import uvicorn
from gpiozero.pins.mock import MockFactory

from api.app import create_app
from api.settings import ApiSettings
from station.settings import MqttSettings
from collector.service import Collector
from edge.node import EdgeNode
from station.broker.dev import free_port
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
SPACE = "salle-aiguillage"


@pytest.fixture()
def api_server(mosquitto):
    port = free_port()
    app = create_app(ApiSettings(mqtt=MqttSettings(port=mosquitto.port, client_id="api-e2e")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _room(base: str, room: str) -> dict:
    rooms = httpx.get(f"{base}/api/v1/rooms", timeout=2).json()
    return next(r for r in rooms if r["id"] == room)


def test_door_and_motion_on_mock_pins_make_the_space_occupied_in_the_api(inventory, mqtt_settings, api_server):
    door_factory, room_factory = MockFactory(), MockFactory()
    door_factory.pin(27).drive_low()  # the door starts closed
    with Collector(inventory, mqtt_settings, client_id="collector-e2e"), \
            EdgeNode(inventory, f"ls-porte-{SPACE}", mqtt_settings, pin_factory=door_factory) as door_node, \
            EdgeNode(inventory, f"ls-salle-{SPACE}", mqtt_settings, pin_factory=room_factory,
                     telemetry_interval_s=3600) as room_node:
        # Nodes say hello; the space is known and free before anyone comes in.
        wait_until(lambda: _room(api_server, SPACE)["status"] == "free", timeout=5)
        started = time.monotonic()
        door_factory.pin(door_node.profile.pins["door_contact"]).drive_high()  # door opens
        room_factory.pin(room_node.profile.pins["pir"]).drive_high()  # someone moves
        room = wait_until(lambda: (r := _room(api_server, SPACE))["status"] == "occupied" and r, timeout=2)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert room["occupancy"]["occupied"] is True
    assert room["free_until"] is None
    assert 0 < room["occupancy"]["confidence"] <= 1


def test_page_lists_every_space(api_server, inventory):
    page = httpx.get(f"{api_server}/", timeout=2)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for _, space in inventory.spaces():
        assert f'data-room="{space.id}"' in page.text
    assert httpx.get(f"{api_server}/healthz").json() == {"status": "ok"}
