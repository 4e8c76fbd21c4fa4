"""The simulated building against a real broker: badges for visits, sensors, ground truth."""

import csv
import threading

import pytest

from edge.simulator import BuildingSimulator
from edge.simulator.badges import card_number
from station.clock import AcceleratedClock
from station.contract import Telemetry, topics
from station.demo import demo_start
from station.mqtt import MqttBus
from tests.conftest import wait_until
from tests.edge.helpers import EventListener

pytestmark = pytest.mark.mosquitto


def test_simulated_members_badge_in_and_nodes_report_sensors_and_truth(inventory, broker, tmp_path):
    from station.mqtt import MqttSettings
    mqtt_settings = MqttSettings(host=broker.host, port=broker.port)  # a broker of its own: no retained lists

    clock = AcceleratedClock(demo_start(inventory), speed=300)
    truth = tmp_path / "truth.csv"
    telemetry: list[Telemetry] = []
    lock = threading.Lock()
    watcher = MqttBus("watch-sim", mqtt_settings)
    watcher.subscribe(topics.subscription("nodes", "telemetry", "la-station"),
                      lambda t, p: (lock.acquire(), telemetry.append(Telemetry.model_validate_json(p)), lock.release()))
    watcher.start()
    with EventListener(mqtt_settings, "listener-sim", site="la-station") as listener, \
            BuildingSimulator(inventory, mqtt_settings, clock=clock, sites=["la-station"], truth_csv=truth,
                              telemetry_interval_s=60, keys_dir=tmp_path / "keys") as sim:
        wait_until(lambda: all(n.grants.versions() for n in sim.nodes.values() if n.grants is not None), timeout=10)
        wait_until(lambda: len(listener.of("access_granted")) >= 3, timeout=30)
        wait_until(lambda: any(t.co2_ppm for t in telemetry) and any(t.light_lux for t in telemetry), timeout=10)
        counters = dict(sim.counters)
        people = {space: sim.people(space) for space in sim.worlds}
    watcher.stop()
    kinds = listener.kinds()
    assert "door_forced" not in kinds and "grants_rejected" not in kinds
    assert counters.get("badge_refused", 0) == 0 and counters["badge_in"] >= 3
    granted = listener.of("access_granted")[0]
    holders = {sim.access.keys.credential_hash(card_number(s, v)) for s, w in sim.worlds.items() for v in w.visits}
    assert granted.credential_hash in holders
    co2 = [t.co2_ppm for t in telemetry if t.co2_ppm is not None]
    assert all(400 <= c <= 5000 for c in co2)
    rows = list(csv.DictReader(truth.open()))
    assert {r["space"] for r in rows} == set(sim.worlds)
    assert any(int(r["people"]) > 0 for r in rows)
    assert sum(people.values()) > 0


def test_edge_simulate_command_runs_a_site_and_writes_truth(broker, tmp_path):
    """A broker of its own: the API's tests leave retained lists signed with other keys."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from station.mqtt import MqttSettings
    mqtt_settings = MqttSettings(host=broker.host, port=broker.port)
    truth = tmp_path / "truth.csv"
    root = Path(__file__).resolve().parents[2]
    with EventListener(mqtt_settings, "listener-simulate", site="mini-arques") as listener:
        proc = subprocess.Popen([sys.executable, "-m", "station.cli", "edge", "simulate", "--mqtt-port",
                                 str(broker.port), "--site", "mini-arques", "--speed", "600", "--truth", str(truth),
                                 "--keys-dir", str(tmp_path / "keys")], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: truth.exists() and len(truth.read_text().splitlines()) > 3, timeout=20)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert (tmp_path / "keys" / "site-signing.pub.pem").exists()
    rows = list(csv.DictReader(truth.open()))
    assert {r["site"] for r in rows} == {"mini-arques"}
    assert "grants_rejected" not in listener.kinds()
