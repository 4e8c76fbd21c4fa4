"""The simulated building against a real broker and a real API: people who book and badge."""

import csv
import secrets
import threading

import httpx
import pytest

from api.settings import ApiSettings
from edge.simulator import ApiPeople, BuildingSimulator
from station.access import generate_key_set
from station.clock import AcceleratedClock, weekday_morning
from station.contract import Telemetry, topics
from station.mqtt import MqttBus
from station.settings import MqttSettings
from tests.conftest import wait_until
from tests.edge.helpers import EventListener
from tests.utils.api_server import ApiServer

pytestmark = pytest.mark.mosquitto
ADMIN = ("admin@la-station.test", "admin-password-123")


@pytest.mark.own_process
def test_simulated_people_are_members_who_book_and_badge_through_the_api(inventory, broker, tmp_path):
    mqtt = MqttSettings(host=broker.host, port=broker.port)  # a broker of its own: no retained lists
    keys = generate_key_set(tmp_path / "keys")
    clock = AcceleratedClock(weekday_morning(inventory.sites[0].timezone), speed=120)
    settings = ApiSettings(environment="production", database_url=f"sqlite:///{tmp_path / 'api.db'}",
                           mqtt=MqttSettings(port=broker.port, client_id=f"api-{secrets.token_hex(3)}"),
                           signing_key_file=keys.private, site_key_file=keys.hmac,
                           admin_email=ADMIN[0], admin_password=ADMIN[1])
    truth = tmp_path / "truth.csv"
    telemetry: list[Telemetry] = []
    lock = threading.Lock()
    watcher = MqttBus("watch-sim", mqtt)
    watcher.subscribe(topics.subscription("nodes", "telemetry", "la-station"),
                      lambda t, p: (lock.acquire(), telemetry.append(Telemetry.model_validate_json(p)), lock.release()))
    watcher.start()
    with ApiServer(settings, clock=clock) as api, \
            EventListener(mqtt, "listener-sim", site="la-station") as listener:
        people = ApiPeople(api.url, *ADMIN, inventory)
        with BuildingSimulator(inventory, mqtt, clock=clock, sites=["la-station"], truth_csv=truth,
                               telemetry_interval_s=60, keys_dir=tmp_path / "keys", people=people) as sim:
            wait_until(lambda: all(n.grants.versions() for n in sim.nodes.values() if n.grants is not None),
                       timeout=10)
            wait_until(lambda: len(listener.of("access_granted")) >= 3, timeout=60)
            wait_until(lambda: any(t.co2_ppm for t in telemetry) and any(t.light_lux for t in telemetry), timeout=10)
            counters = dict(sim.counters)
            occupied = {space: sim.people(space) for space in sim.worlds}
            held: dict[str, list] = {}
            for (space, visit), person in people.holder.items():
                if person.role == "member":
                    held.setdefault(person.email, []).append((space, visit))
            bookings = len(people.booked)
        admin = {"Authorization": "Bearer " + httpx.post(f"{api.url}/api/v1/auth/login", json={
            "email": ADMIN[0], "password": ADMIN[1]}).json()["access_token"]}
        badges = {b["credential_hash"] for m in httpx.get(f"{api.url}/api/v1/members", headers=admin).json()
                  for b in httpx.get(f"{api.url}/api/v1/members/{m['id']}/badges", headers=admin).json()}
        checked_in = [b for b in httpx.get(f"{api.url}/api/v1/bookings", headers=admin).json()
                      if b["status"] == "checked_in"]
    watcher.stop()
    kinds = listener.kinds()
    assert "door_forced" not in kinds and "grants_rejected" not in kinds
    overlapping = [(who, sa, a.start.time(), a.end.time(), sb, b.start.time(), b.end.time())
                   for who, visits in held.items() for sa, a in visits for sb, b in visits
                   if a is not b and a.start < b.end and b.start < a.end]
    assert len(overlapping) <= 0.05 * sum(map(len, held.values())), overlapping[:6]  # one place at a time
    assert counters["badge_in"] >= 3 and counters.get("badge_refused", 0) == 0
    assert bookings > 0 and checked_in  # they booked through the API and their badges checked them in
    assert {e.credential_hash for e in listener.of("access_granted")} <= badges  # every badge is an API badge
    co2 = [t.co2_ppm for t in telemetry if t.co2_ppm is not None]
    assert all(400 <= c <= 5000 for c in co2)
    rows = list(csv.DictReader(truth.open()))
    assert {r["space"] for r in rows} == set(sim.worlds)
    assert any(int(r["people"]) > 0 for r in rows)
    assert sum(occupied.values()) > 0


def test_edge_simulate_command_without_an_api_runs_a_site_and_nobody_badges(broker, tmp_path):
    """A broker of its own: the API's tests leave retained lists signed with other keys."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    mqtt = MqttSettings(host=broker.host, port=broker.port)
    truth = tmp_path / "truth.csv"
    root = Path(__file__).resolve().parents[2]
    with EventListener(mqtt, "listener-simulate", site="mini-arques") as listener:
        proc = subprocess.Popen([sys.executable, "-m", "lastation.cli", "edge", "simulate", "--mqtt-port",
                                 str(broker.port), "--site", "mini-arques", "--speed", "600", "--truth", str(truth),
                                 "--keys-dir", str(tmp_path / "keys")], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: truth.exists() and len(truth.read_text().splitlines()) > 3, timeout=20)
            wait_until(lambda: "exit_request" in listener.kinds(), timeout=20)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert (tmp_path / "keys" / "signing.pub.pem").exists()
    rows = list(csv.DictReader(truth.open()))
    assert {r["site"] for r in rows} == {"mini-arques"}
    kinds = listener.kinds()
    assert "access_granted" not in kinds and "access_denied" not in kinds and "door_forced" not in kinds


@pytest.mark.own_process
def test_fab_lab_members_use_machines_booked_or_free_and_trip_an_emergency_stop(inventory, broker, tmp_path):
    mqtt = MqttSettings(host=broker.host, port=broker.port)
    keys = generate_key_set(tmp_path / "keys")
    clock = AcceleratedClock(weekday_morning(inventory.sites[0].timezone), speed=120)
    settings = ApiSettings(environment="production", database_url=f"sqlite:///{tmp_path / 'api.db'}",
                           mqtt=MqttSettings(port=broker.port, client_id=f"api-{secrets.token_hex(3)}"),
                           signing_key_file=keys.private, site_key_file=keys.hmac,
                           admin_email=ADMIN[0], admin_password=ADMIN[1])
    with ApiServer(settings, clock=clock) as api, \
            EventListener(mqtt, "listener-machines-sim", site="la-station") as listener:
        people = ApiPeople(api.url, *ADMIN, inventory)
        with BuildingSimulator(inventory, mqtt, clock=clock, sites=["la-station"], keys_dir=tmp_path / "keys",
                               people=people) as sim:
            sim.machine_users.ESTOP_HOUR = 0  # the day's emergency stop at the first powered machine
            sim.machine_users.USE_PROBABILITY = 1.0
            wait_until(lambda: listener.of("machine_on"), timeout=90)
            wait_until(lambda: listener.of("machine_fault"), timeout=30)
            wait_until(lambda: listener.of("machine_off"), timeout=30)
            counters = dict(sim.counters)
        admin = {"Authorization": "Bearer " + httpx.post(f"{api.url}/api/v1/auth/login", json={
            "email": ADMIN[0], "password": ADMIN[1]}).json()["access_token"]}
        wait_until(lambda: httpx.get(f"{api.url}/api/v1/machines/usage", headers=admin).json(), timeout=10)
        usage = httpx.get(f"{api.url}/api/v1/machines/usage", headers=admin).json()
    assert counters["machine_on"] >= 1 and counters["emergency_stop"] == 1
    assert listener.of("machine_fault")[0].reason == "emergency stop pressed; power cut"
    assert "estop" in {e.reason for e in listener.of("machine_off")}
    assert all(u["member_id"] is not None and u["minutes"] >= 0 for u in usage)  # every session a member's
    assert counters.get("machine_refused", 0) == 0  # trained, booked where needed: nobody refused
