"""Site brokers bridged to the central one: nothing lost across an outage, grants flow down.

Both brokers run from the files `station broker gen` wrote, on free loopback ports.
The outage lasts ``STATION_BRIDGE_OUTAGE_S`` seconds (default 60, the issue's figure;
set it lower for a quick local run): the site broker queues QoS 1 messages for a
bridge whose peer is gone, the persistent sessions hold on both sides, the bridge
reconnects.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.broker.dev import free_port
from station.broker.gen import GenOptions, generate
from station.broker.probe import Probe
from station.contract import topics
from station.contract.models import EventKind, GrantList, NodeEvent
from station.access import Signer, sign
from tests.conftest import wait_until

from .conftest import start

pytestmark = pytest.mark.mosquitto
SITE = "bus-fablab"
OUTAGE_S = float(os.environ.get("STATION_BRIDGE_OUTAGE_S", "60"))


class Pair:
    """A central broker and the bus's site broker, from one generated directory."""

    def __init__(self, root, inventory, tls: bool = False, site_tls: bool = False):
        self.root = root
        self.central_port, self.site_port = free_port(), free_port()
        self.result = generate(inventory, root / "broker", GenOptions(
            port=self.central_port, bind="127.0.0.1", central_host="127.0.0.1",
            site_port=self.site_port, site_bind="127.0.0.1", bridge_restart=(1, 3),
            tls_dir=root / "tls" if tls else None, site_tls=site_tls))
        self.central_ca = self.result.tls.ca if tls else None
        self.site_ca = self.central_ca if site_tls else None
        self.site_conf = self.result.site_dirs[SITE] / "mosquitto.conf"
        self.inv = inventory
        self.central = self.site = None

    def start_central(self):
        self.central = start(self.result.config, self.central_port, self.root / "central.log")

    def start_site(self):
        self.site = start(self.site_conf, self.site_port, self.root / "site.log")

    def client(self, where: str, user: str, **kw) -> Probe:
        port = self.central_port if where == "central" else self.site_port
        ca = self.central_ca if where == "central" else self.site_ca
        p = Probe(user, self.result.credentials[user], port=port, timeout=5, ca=ca, **kw)
        assert p.connect().refused is False
        return p

    def stop(self):
        for b in (self.site, self.central):
            if b is not None:
                b.stop()


@pytest.fixture()
def pair(gen_root, inventory):
    p = Pair(gen_root, inventory)
    yield p
    p.stop()


def door_node(inventory):
    return next(n for s, n in inventory.nodes() if s.id == SITE and n.doors)


def event(node: str, seq: int) -> bytes:
    return NodeEvent(id=f"ev-{uuid.uuid4().hex[:16]}", seq=seq, node=node, kind=EventKind.motion).to_json()


def grants(door: str, version: int) -> bytes:
    g = GrantList(site=SITE, door=door, version=version,
                  expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1), entries=[], key_id="test")
    return sign(g, Signer(Ed25519PrivateKey.generate())).to_json()


def seqs(probe: Probe) -> set[int]:
    return {json.loads(p)["seq"] for t, p in probe.received if t.endswith("/events")}


def test_site_events_survive_a_central_outage_none_lost(pair):
    node = door_node(pair.inv)
    pair.start_central()
    pair.start_site()
    collector = pair.client("central", "collector", clean_start=False, session_expiry_s=3600)
    collector.subscribe(topics.subscription("nodes", "events"))
    publisher = pair.client("site", node.id)
    topic = topics.node_events(SITE, node.id)

    # Warm-up: the bridge is up when an event crosses it.
    assert publisher.publish(topic, event(node.id, 0)).refused is False
    wait_until(lambda: 0 in seqs(collector), timeout=15)

    sent = [0]
    for seq in range(1, 21):
        assert publisher.publish(topic, event(node.id, seq)).refused is False
        sent.append(seq)
    pair.central.stop()  # the link drops: the bus drives out of coverage
    deadline, seq = time.monotonic() + OUTAGE_S, len(sent)
    while time.monotonic() < deadline:
        assert publisher.publish(topic, event(node.id, seq)).refused is False  # the site broker takes it
        sent.append(seq)
        seq += 1
        time.sleep(0.1)
    # Doors keep working offline: a node reconnecting to the site broker meanwhile is served.
    assert pair.client("site", node.id).connack.code == 0
    pair.start_central()
    for _ in range(10):
        publisher.publish(topic, event(node.id, seq))
        sent.append(seq)
        seq += 1
    wait_until(lambda: seqs(collector) >= set(sent), timeout=30, interval=0.2)
    assert seqs(collector) == set(sent), f"lost: {sorted(set(sent) - seqs(collector))[:10]}"
    assert len(sent) > 20 + OUTAGE_S * 5
    publisher.close(), collector.close()


def test_retained_grants_published_centrally_reach_the_site_nodes(pair):
    node = door_node(pair.inv)
    door = node.doors[0]
    pair.start_central()
    pair.start_site()
    api = pair.client("central", "api")
    listener = pair.client("site", node.id)
    listener.subscribe(topics.door_grants(SITE, door))
    assert api.publish(topics.door_grants(SITE, door), grants(door, 1), retain=True).refused is False
    wait_until(lambda: listener.received, timeout=15)
    assert json.loads(listener.received[0][1])["version"] == 1
    listener.close()

    # The site broker is down (the bus is off); a new version is published centrally meanwhile.
    pair.site.stop()
    assert api.publish(topics.door_grants(SITE, door), grants(door, 2), retain=True).refused is False
    pair.start_site()
    late = pair.client("site", node.id)
    late.subscribe(topics.door_grants(SITE, door))
    wait_until(lambda: any(json.loads(p)["version"] == 2 for _, p in late.received), timeout=15, interval=0.1)

    # Central gone: the site broker still serves the retained list to a node that restarts.
    pair.central.stop()
    offline = pair.client("site", node.id)
    offline.subscribe(topics.door_grants(SITE, door))
    wait_until(lambda: offline.received, timeout=5)
    assert json.loads(offline.received[-1][1])["version"] == 2

    # The central broker persists retained grants across a restart.
    api.close()
    pair.start_central()
    reader = pair.client("central", "api")
    reader.subscribe(topics.door_grants(SITE, door))
    wait_until(lambda: reader.received, timeout=5)
    assert json.loads(reader.received[-1][1])["version"] == 2
    for p in (late, offline, reader):
        p.close()


def test_site_broker_confines_its_nodes_to_their_own_topics(pair):
    node = door_node(pair.inv)
    pair.start_central()
    pair.start_site()
    p = pair.client("site", node.id)
    assert p.publish(topics.node_events("mini-arques", "arques-porte"), b"x").code == 0x87
    assert p.publish(topics.door_grants(SITE, node.doors[0]), b"x").code == 0x87
    room = next(n for s, n in pair.inv.nodes() if s.id == SITE and not n.doors)
    assert p.publish(topics.node_events(SITE, room.id), b"x").code == 0x87
    anon = Probe(None, None, port=pair.site_port, timeout=3)
    assert anon.connect().refused
    p.close(), anon.close()


def test_bridge_to_a_tls_central_broker_verifies_it_with_the_generated_ca(gen_root, inventory):
    pair = Pair(gen_root, inventory, tls=True)
    try:
        node = door_node(inventory)
        pair.start_central()
        pair.start_site()
        conf = pair.site_conf.read_text()
        assert "bridge_cafile" in conf and "bridge_insecure false" in conf
        collector = pair.client("central", "collector")
        collector.subscribe(topics.subscription("nodes", "events"))
        publisher = pair.client("site", node.id)
        publisher.publish(topics.node_events(SITE, node.id), event(node.id, 7))
        wait_until(lambda: 7 in seqs(collector), timeout=15)
        publisher.close(), collector.close()
    finally:
        pair.stop()


def test_check_runs_against_a_site_broker(pair):
    from lastation.cli import app
    from tests.utils.cli import flat, invoke

    pair.start_central()
    pair.start_site()
    res = invoke(app, ["broker", "check", "--config", str(pair.result.out), "--site", SITE, "--host", "127.0.0.1",
                       "--timeout", "2"])
    assert res.exit_code == 0, res.output
    out = flat(res.output)
    assert "bus-porte" in out and "Not authorized (0x87)" in out
    assert "collector" not in out  # the site broker has only the site's node accounts


def test_site_broker_with_tls_serves_its_nodes_over_tls_only(gen_root, inventory):
    pair = Pair(gen_root, inventory, tls=True, site_tls=True)
    try:
        node = door_node(inventory)
        pair.start_central()
        pair.start_site()
        collector = pair.client("central", "collector")
        collector.subscribe(topics.subscription("nodes", "events"))
        publisher = pair.client("site", node.id)  # with the CA: the certificate names 127.0.0.1
        publisher.publish(topics.node_events(SITE, node.id), event(node.id, 3))
        wait_until(lambda: 3 in seqs(collector), timeout=15)
        plain = Probe(node.id, pair.result.credentials[node.id], port=pair.site_port, timeout=2)
        assert plain.connect().code is None  # no CONNACK for plain MQTT on a TLS listener
        plain.close(), publisher.close(), collector.close()
    finally:
        pair.stop()
