"""Two API processes and two collector processes on one Mosquitto and one PostgreSQL.

Everything as deployed: the broker from ``station broker gen --api-instances 2
--collector-instances 2`` (each instance its own account, ACL block and session), the
processes started with ``python -m lastation … run`` from the generated env files, the
collectors each taking their partition of the sites (``STATION_PARTITION``). For
``STATION_SCALE_TEST_S`` seconds (default 20) nodes publish events and telemetry, staff
send door commands and enrol badges through both APIs alternately, and one API is
restarted in the middle. Then:

- no session was taken over (the broker logs none) and no door command was refused;
- every door command reached its node once and was answered and audited once;
- every event was stored exactly once, by the collector that owns its site;
- every door's grant list was published once per change — the restart and the other
  instance's sweeps published nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import create_engine, text

from station.access import generate_key_set
from station.contract import EventKind, NodeEvent, Telemetry, topics
from station.partition import assignment
from tests.broker.conftest import start_central
from tests.conftest import wait_until
from tests.utils.instances import ApiProcess, api_env, collector_env, collector_process, stored_event_ids

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres]
SECONDS = float(os.environ.get("STATION_SCALE_TEST_S", "20"))
ADMIN = ("admin@scale.test", "scale-test-password-1")


class Client:
    """A paho client on one generated account, recording what it receives."""

    def __init__(self, central, user: str):
        self.received: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.username_pw_set(user, central.password(user))
        self.client.max_inflight_messages_set(100)
        self.client.on_message = self._message
        self.on_message = None
        self.client.connect("127.0.0.1", central.port)
        self.client.loop_start()

    def _message(self, client, userdata, msg):
        with self.lock:
            self.received.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
        if self.on_message:
            self.on_message(msg)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture()
def database(postgres):
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def root():
    path = Path(tempfile.mkdtemp(prefix="station-scale-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_two_apis_and_two_collectors_share_the_work_without_stepping_on_each_other(inventory, database, root):
    # api-3 is an extra API account used only to watch every door's grants and commands.
    central = start_central(root, inventory, apis=3, collectors=2)
    broker_dir = central.result.out
    keys = root / "keys"
    generate_key_set(keys)
    procs, clients = [], []
    try:
        watcher = Client(central, "api-3")
        clients.append(watcher)
        watcher.subscribe(topics.subscription("doors", "grants"))
        watcher.subscribe(topics.subscription("doors", "command"))

        door_node = next(n for s, n in inventory.nodes() if s.id == "la-station" and n.doors)
        door = door_node.doors[0]
        node = Client(central, door_node.id)
        clients.append(node)
        commands_seen: list[str] = []
        answer_seq = iter(range(1, 10**6))

        def answer(msg):
            if not msg.topic.endswith("/command"):
                return
            command = json.loads(msg.payload)
            commands_seen.append(command["id"])
            event = NodeEvent(id=f"ans-{command['id']}", seq=next(answer_seq), node=door_node.id,
                              kind=EventKind.command_applied, door=door, command=command["id"])
            threading.Thread(target=node.publish, args=(topics.node_events("la-station", door_node.id),
                                                        event.to_json()), daemon=True).start()

        node.on_message = answer
        node.subscribe(topics.door_command("la-station", door))

        # Both APIs start at once on an empty database: migrations, seed and first lists take turns.
        apis = [ApiProcess(f"api-{k}", api_env(broker_dir, f"api-{k}", mqtt_port=central.port,
                                               database_url=database, keys_dir=keys, admin=ADMIN,
                                               sweep_interval_s="1"), root / f"api-{k}.log") for k in (1, 2)]
        for api in apis:
            procs.append(api.start())
        sites = [s.id for s in inventory.sites]
        parts = assignment(sites, 2)
        collectors = []
        for k in (1, 2):
            c = collector_process(f"collector-{k}", collector_env(broker_dir, f"collector-{k}", mqtt_port=central.port,
                                                                  state_dir=root / f"collector-{k}"),
                                  root / f"collector-{k}.log")
            procs.append(c.start())
            collectors.append(c)
        for api in apis:
            api.wait_ready()
        doors = [d.id for _, d in inventory.doors()]
        wait_until(lambda: {t.split("/")[4] for t, _, _ in watcher.received if t.endswith("/grants")} >= set(doors),
                   timeout=30)

        # Nodes: a La Station room node on its own account and a mini-station's node through
        # its bridge's account — one site of each collector's partition.
        site_a = "la-station"
        owner_a = 1 if site_a in parts[1] else 2
        site_b = next(s for s in parts[3 - owner_a] if s != "la-station")
        streams = []
        for site_id in (site_a, site_b):
            n = next(x for x in inventory.site(site_id).nodes if x.space)
            account = n.id if site_id == "la-station" else f"bridge-{site_id}"
            streams.append((site_id, n, Client(central, account)))
            clients.append(streams[-1][2])
        sent: dict[str, list[str]] = defaultdict(list)
        stop = threading.Event()

        def publish_stream(site_id, n, client):
            seq = 0
            while not stop.is_set():
                seq += 1
                now = datetime.now(timezone.utc)
                event = NodeEvent(id=f"scale-{n.id}-{seq}", seq=seq, node=n.id, kind=EventKind.motion,
                                  space=n.space, ts=now)
                client.publish(topics.node_events(site_id, n.id), event.to_json())
                sent[site_id].append(event.id)
                if seq % 5 == 0:
                    tel = Telemetry(node=n.id, space=n.space, co2_ppm=500 + seq % 300, ts=now)
                    client.publish(topics.node_telemetry(site_id, n.id), tel.to_json())
                time.sleep(0.05)

        threads = [threading.Thread(target=publish_stream, args=s, daemon=True) for s in streams]
        for t in threads:
            t.start()

        tokens = {}
        for api in apis:
            r = httpx.post(f"{api.url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}, timeout=10)
            assert r.status_code == 200, r.text
            tokens[api.name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = httpx.get(f"{apis[0].url}/api/v1/members/me", headers=tokens["api-1"], timeout=10).json()["id"]

        issued, statuses, badges, restarted = [], [], 0, False
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < SECONDS:
            api = apis[step % 2]
            if not api.alive() or api.name not in tokens:
                step += 1
                continue
            r = httpx.post(f"{api.url}/api/v1/doors/{door}/commands", json={"action": "unlock_once"},
                           headers=tokens[api.name], timeout=10)
            statuses.append(r.status_code)
            if r.status_code == 202:
                issued.append(r.json()["id"])
            if step % 3 == 1:  # a change of every door's list: a staff badge more
                r = httpx.post(f"{api.url}/api/v1/members/{me}/badges", json={"card_number": str(1000 + step)},
                               headers=tokens[api.name], timeout=10)
                assert r.status_code == 201, r.text
                badges += 1
            if not restarted and time.monotonic() - started > SECONDS / 2:
                # Restart API 2 mid-run: a new process, the same session; it must republish nothing.
                apis[1].stop()
                tokens.pop("api-2")
                apis[1] = ApiProcess("api-2", apis[1].env, root / "api-2.restarted.log")
                procs.append(apis[1].start())
                apis[1].wait_ready()
                r = httpx.post(f"{apis[1].url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]},
                               timeout=10)
                tokens["api-2"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
                restarted = True
            step += 1
            time.sleep(0.7)
        stop.set()
        for t in threads:
            t.join(10)
        assert restarted and badges >= 3 and len(issued) >= 8

        # Every command answered, once.
        wait_until(lambda: len(commands_seen) >= len(issued), timeout=15)
        for k, command_id in enumerate(issued):
            api = apis[k % 2]
            wait_until(lambda: httpx.get(f"{api.url}/api/v1/doors/{door}/commands/{command_id}",
                                         headers=tokens[api.name], timeout=10).json()["status"] == "applied",
                       timeout=15)
        time.sleep(3)  # both sweepers run a few more passes (1 s apart) after the last change
        engine = create_engine(database)
        with engine.connect() as conn:
            applied = Counter(conn.execute(text("SELECT event_id FROM audit WHERE action = 'command_applied'")).scalars())
            versions = dict(conn.execute(text("SELECT door_id, version FROM door_grants")).all())
        engine.dispose()

        # Every event stored once, by its site's collector.
        for c in collectors:
            assert c.stop() == 0, c.log_text()[-2000:]
        for api in apis:
            api.stop()
        got = {k: stored_event_ids(root / f"collector-{k}" / "history.sqlite") for k in (1, 2)}
        log = central.broker.log_text()
    finally:
        for p in procs:
            p.stop()
        for c in clients:
            c.close()
        central.broker.stop()

    # No takeover: each instance kept its own session.
    assert "already connected" not in log, [line for line in log.splitlines() if "already connected" in line]
    for name in ("api-1", "api-2", "collector-1", "collector-2"):
        assert f"as {name} (p5" in log
    # Door commands: accepted (never 503), delivered to the node once, answered and audited once.
    assert set(statuses) == {202}, Counter(statuses)
    assert Counter(commands_seen) == Counter({c: 1 for c in issued})
    assert applied == Counter({f"ans-{c}": 1 for c in issued})
    # Events: exactly once, by the owner of their site.
    sent["la-station"] += [f"ans-{c}" for c in issued]  # the door node's answers are events too
    by_owner = {k: sorted(i for s in (site_a, site_b) if s in parts[k] for i in sent[s]) for k in (1, 2)}
    assert sorted(got[1]) == by_owner[1] and sorted(got[2]) == by_owner[2]
    assert all(len(v) > 50 for v in by_owner.values())
    # Grant lists: every door's list published once per change (first issue + one per badge).
    live = defaultdict(list)
    for topic, payload, retained in watcher.received:
        if topic.endswith("/grants") and not retained:
            live[topic.split("/")[4]].append(json.loads(payload)["version"])
    for door_id in doors:
        assert len(live[door_id]) == len(set(live[door_id])) == badges + 1, (door_id, live[door_id])
        assert max(live[door_id]) == versions[door_id]
