"""The API and a machine node on a real Mosquitto: training → signed list → power → usage minutes.

The node's on-time (its clock, from relay on to relay off) is what the API's usage log
shows, to the second.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from station.mqtt import MqttSettings
from tests.conftest import wait_until
from tests.edge.helpers import EventListener
from tests.edge.machine_rig import LASER, MachineRig

from .conftest import People, node_keys
from .test_machine_grants import train

pytestmark = pytest.mark.mosquitto
CARD = 2718281




def test_usage_minutes_in_the_api_equal_the_nodes_on_time(live, clock, inventory, broker, tmp_path):
    app, client = live
    runtime = app.state.runtime
    people = People(client)
    alice = people.create(card=str(CARD))
    keys = node_keys(runtime)
    with EventListener(MqttSettings(port=broker.port), "listener-usage") as listener, \
            MachineRig(inventory, MqttSettings(port=broker.port), SimpleNamespace(site=keys), tmp_path / "node",
                       clock=clock) as rig:
        wait_until(lambda: rig.node.grants.get(LASER) is not None, timeout=10)
        rig.badge(CARD)
        assert not rig.relay_on  # not trained yet
        train(client, people, alice, clock=clock)
        wait_until(lambda: rig.node.grants.decide(LASER, keys.credential_hash(CARD), clock.now()).granted, timeout=5)
        wait_until(lambda: client.get(f"/api/v1/machines/{LASER}").json()["status"] == "free", timeout=10)
        rig.amps = 4.0
        rig.badge(CARD)
        assert rig.relay_on
        wait_until(lambda: client.get(f"/api/v1/machines/{LASER}").json()["status"] == "in_use", timeout=10)
        clock.advance(minutes=37, seconds=12)
        rig.badge(CARD)
        assert not rig.relay_on
        wait_until(lambda: client.get("/api/v1/machines/usage", headers=people.admin.headers).json(), timeout=10)
        wait_until(lambda: listener.of("machine_off"), timeout=5)
    on_time = listener.of("machine_off")[0].duration_s  # the node's own count
    assert on_time == 37 * 60 + 12
    usage = client.get("/api/v1/machines/usage", headers=people.admin.headers).json()
    assert usage == [{"member_id": alice.id, "member_name": usage[0]["member_name"], "machine": LASER,
                      "sessions": 1, "minutes": round(on_time / 60, 2)}]
    denied = [e for e in client.get("/api/v1/audit", headers=people.admin.headers).json()
              if e["action"] == "machine_denied"]
    assert denied and denied[0]["detail"]["reason"] == "not trained on this machine"
