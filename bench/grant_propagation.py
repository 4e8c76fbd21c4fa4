"""Grant propagation: from an API call to the door node's decision, through a real Mosquitto.

Everything real and on loopback: Mosquitto (the project's dev config), the API served
by uvicorn over HTTP (SQLite, its sweeper and MQTT client running), a door node on
gpiozero mock pins with its grant cache. One round:

1. a member's new badge is enrolled, then a booking of the door's room is created with
   ``POST /api/v1/bookings`` — timed until the node's cache admits the badge;
2. the badge is revoked with ``POST /api/v1/badges/{id}/revoke`` — timed until the
   node refuses it; the booking is then cancelled (not timed) for the next round.

Baseline, measured in the same run: a grant list signed in advance and published
retained straight to the broker, timed until the node has cached it — the transport
and verification floor under the API's work (compute, store, sign, publish).

Prints one JSON object on its last line: p50/p99 of both paths, the baseline's, and
the ratios. Target: p99 ≤ 1,000 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import ApiSettings  # noqa: E402
from edge.node import EdgeNode  # noqa: E402
from station.broker.dev import DevBroker, free_port  # noqa: E402
from station.clock import Clock  # noqa: E402
from station.contract import GrantEntry, GrantList, topics  # noqa: E402
from station.access import KeyRing, NodeKeys, sign  # noqa: E402
from station.inventory import DEFAULT_INVENTORY, load_inventory  # noqa: E402
from station.mqtt import MqttBus, MqttSettings  # noqa: E402

NODE, DOOR, ROOM = "ls-porte-salle-aiguillage", "porte-salle-aiguillage", "salle-aiguillage"
ADMIN = ("bench@la-station.test", "bench-password-123")


class WednesdayClock(Clock):
    """Wednesday 10:00 in Saint-Omer, moving at wall speed (bookings need opening hours)."""

    def __init__(self):
        self._t0 = time.monotonic()
        self._start = datetime(2026, 6, 10, 8, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


def wait_for(predicate, timeout: float = 10.0) -> float:
    """Poll every 0.5 ms; return the seconds it took, or raise."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not met")
        time.sleep(0.0005)
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()

    inventory = load_inventory(DEFAULT_INVENTORY)
    clock = WednesdayClock()
    work = Path(tempfile.mkdtemp(prefix="bench-grants-"))
    with DevBroker(work / "mqtt") as broker:
        mqtt = MqttSettings(port=broker.port)
        settings = ApiSettings(environment="development", database_url=f"sqlite:///{work / 'api.db'}",
                               mqtt=MqttSettings(port=broker.port, client_id="api-bench"),
                               admin_email=ADMIN[0], admin_password=ADMIN[1])
        app = create_app(settings, clock=clock)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               timeout_graceful_shutdown=1))
        threading.Thread(target=server.run, daemon=True).start()
        wait_for(lambda: server.started and app.state.runtime.bus.connected.is_set(), 20)
        keys = app.state.runtime.keys
        site_keys = NodeKeys(KeyRing.of(serialization.load_pem_public_key(keys.public_pem().encode())), keys.site_key)
        factory = MockFactory()
        node = EdgeNode(inventory, NODE, mqtt, pin_factory=factory, clock=clock, data_dir=work / "node",
                        keys=site_keys)
        factory.pin(node.profile.pins["door_contact"]).drive_low()
        node.start()
        wait_for(lambda: node.grants.get(DOOR) is not None, 20)
        admit, refuse, floor = [], [], []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            admin = {"Authorization": "Bearer " + client.post("/api/v1/auth/login", json={
                "email": ADMIN[0], "password": ADMIN[1]}).json()["access_token"]}
            client.post("/api/v1/members", headers=admin, json={"email": "m@la-station.test", "name": "M",
                                                                "password": "member-password"})
            member = {"Authorization": "Bearer " + client.post("/api/v1/auth/login", json={
                "email": "m@la-station.test", "password": "member-password"}).json()["access_token"]}
            member_id = client.get("/api/v1/members/me", headers=member).json()["id"]
            for n in range(args.rounds):
                card = 100000 + n
                credential = site_keys.credential_hash(card)
                badge = client.post(f"/api/v1/members/{member_id}/badges", headers=admin,
                                    json={"card_number": str(card)}).json()
                decide = lambda: node.grants.decide(DOOR, credential, clock.now()).granted  # noqa: E731
                t0 = time.perf_counter()
                r = client.post("/api/v1/bookings", headers=member, json={"space": ROOM, "duration_minutes": 30})
                assert r.status_code == 201, r.text
                wait_for(decide)
                admit.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                client.post(f"/api/v1/badges/{badge['id']}/revoke", headers=admin)
                wait_for(lambda: not decide())
                refuse.append(time.perf_counter() - t0)
                client.delete(f"/api/v1/bookings/{r.json()['id']}", headers=member)
        # Baseline: a pre-signed list published straight to the broker.
        publisher = MqttBus("bench-publisher", mqtt).start()
        signer, version = keys.signer, node.grants.get(DOOR).version
        for n in range(args.rounds):
            version += 1
            grant = sign(GrantList(ts=clock.now(), site="la-station", door=DOOR, version=version,
                                   expires_at=clock.now() + timedelta(hours=1), key_id=keys.key_id,
                                   entries=[GrantEntry(credential_hash=site_keys.credential_hash(9_000_000 + n))]),
                         signer)
            t0 = time.perf_counter()
            publisher.publish(topics.door_grants("la-station", DOOR), grant, qos=1, retain=True)
            wait_for(lambda: node.grants.get(DOOR).version == version)
            floor.append(time.perf_counter() - t0)
        publisher.stop()
        node.stop()
        server.should_exit = True
    result = {
        "bench": "grant_propagation", "rounds": args.rounds,
        "admit_p50_ms": round(pct(admit, 50), 1), "admit_p99_ms": round(pct(admit, 99), 1),
        "refuse_p50_ms": round(pct(refuse, 50), 1), "refuse_p99_ms": round(pct(refuse, 99), 1),
        "baseline_publish_p50_ms": round(pct(floor, 50), 1), "baseline_publish_p99_ms": round(pct(floor, 99), 1),
        "admit_p50_ratio_to_baseline": round(pct(admit, 50) / max(pct(floor, 50), 1e-6), 1),
        "target_p99_ms": 1000,
        "meets_target": max(pct(admit, 99), pct(refuse, 99)) <= 1000,
        "mean_admit_ms": round(statistics.mean(admit) * 1000, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
