"""A node account's ``$share`` subscription gets nothing and takes nothing from the collectors.

Against a real Mosquitto started from ``station broker gen --collector-instances 2``: two
real collectors, each a plain persistent subscription to the sites of its partition
(``station.partition``), and a foreign client — a room node's own account, a stolen Pi —
joining shared groups on every topic. Every event is stored exactly once, by the collector
that owns its site; the foreign client receives nothing. The same foreign client *does*
take its turns from a ``$share`` group of two collector accounts (measured in the same
test), which is why the collectors never use one.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from station.contract import EventKind, NodeEvent, topics
from station.mqtt import MqttSettings
from station.partition import assignment
from tests.broker.conftest import start_central
from tests.conftest import wait_until
from tests.utils.instances import stored_event_ids

pytestmark = pytest.mark.mosquitto
SHARES = ["$share/collectors/station/v1/+/nodes/+/events", "$share/g/#", "$share/collectors/#",
          "$share/x/station/v1/+/nodes/+/telemetry"]


@pytest.fixture(scope="module")
def central(inventory):
    root = Path(tempfile.mkdtemp(prefix="station-scale-"))
    root.chmod(0o755)
    c = start_central(root, inventory, collectors=2)
    yield c
    c.broker.stop()
    shutil.rmtree(root, ignore_errors=True)


def room_node(inventory, site_id: str):
    """A node of the site that measures a space: (publishing account, node, space)."""
    site = inventory.site(site_id)
    node = next(n for n in site.nodes if n.space)
    return node, node.space


def events(node, space: str, n: int, tag: str) -> list[tuple[str, bytes, str]]:
    start = datetime.now(timezone.utc).replace(microsecond=0)
    out = []
    for k in range(n):
        ev = NodeEvent(id=f"{tag}-{node.id}-{k}", seq=k + 1, node=node.id, kind=EventKind.motion, space=space,
                       ts=start + timedelta(microseconds=k))
        out.append((ev.id, ev.to_json(), node.id))
    return out


def test_a_node_joining_shared_groups_gets_nothing_and_takes_nothing(central, inventory, tmp_path):
    from collector.service import Collector
    from collector.settings import CollectorSettings

    sites = [s.id for s in inventory.sites]
    parts = assignment(sites, 2)
    # One site owned by each collector, both on the central broker (la-station) or through a bridge.
    site_of = {1: parts[1][0], 2: parts[2][0]}
    collectors = {}
    for k in (1, 2):
        name = f"collector-{k}"
        settings = CollectorSettings(mqtt=MqttSettings(port=central.port, username=name,
                                                       password=central.password(name)),
                                     state_dir=tmp_path / name, partition=f"{k}/2")
        collectors[k] = Collector.from_settings(settings, inventory)
        assert collectors[k].sites == parts[k] and collectors[k].bus.client_id == name
    attacker_node = next(n for s, n in inventory.nodes() if s.id == "la-station" and n.space)
    with collectors[1], collectors[2]:
        thief = central.probe(attacker_node.id)
        for share in SHARES:
            assert thief.subscribe(share).code is not None  # Mosquitto 2.0 grants the SUBACK…
        sent: dict[int, list[str]] = {1: [], 2: []}
        for k, site_id in site_of.items():
            node, space = room_node(inventory, site_id)
            bridged = site_id != "la-station"
            publisher = central.probe(f"bridge-{site_id}" if bridged else node.id)
            for event_id, payload, _ in events(node, space, 30, f"share{k}"):
                answer = publisher.publish(topics.node_events(site_id, node.id), payload)
                assert not answer.refused, answer
                sent[k].append(event_id)
            publisher.close()
        wait_until(lambda: all(collectors[k].stored_messages >= len(sent[k]) for k in (1, 2)), timeout=15)
        time.sleep(0.5)
        assert thief.received == []  # … and delivers nothing it forbids
        thief.close()
    for k in (1, 2):
        ids = stored_event_ids(tmp_path / f"collector-{k}" / "history.sqlite")
        assert sorted(ids) == sorted(sent[k])  # every event of its sites, once, and no other


def test_the_same_node_steals_turns_from_a_shared_group(central, inventory):
    """The hazard the partition avoids, measured on the same broker: a node in the
    collectors' ``$share`` group takes its round-robin turns and the messages are dropped."""
    group = "$share/collectors/" + topics.subscription("nodes", "events")
    members = [central.probe(name) for name in ("collector-1", "collector-2")]
    for m in members:
        m.subscribe(group)
    node, other = [n for s, n in inventory.nodes() if s.id == "la-station" and n.space][:2]
    publisher, thief = central.probe(node.id), central.probe(other.id)
    thief.subscribe(group)
    time.sleep(0.3)
    for event_id, payload, _ in events(node, node.space, 30, "steal"):
        assert not publisher.publish(topics.node_events("la-station", node.id), payload).refused
    time.sleep(1.0)
    delivered = sum(len(m.received) for m in members)
    assert thief.received == []
    assert delivered < 30, "the shared group lost nothing: the hazard is gone (revisit docs/scaling.md)"
    for p in members + [thief, publisher]:
        p.close()
