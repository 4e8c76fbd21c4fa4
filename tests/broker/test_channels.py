"""The ACL is the channel table: a real Mosquitto, started from `station broker gen`, allows
each role exactly what `station.contract.topics.CHANNELS` says, and every subscription and
publication the real components make.

- Publish: every account publishes on every channel, in its own scope and outside it;
  the MQTT v5 PUBACK says 0x00 exactly when the table makes the role a sender
  (0x87 Not authorized otherwise).
- Subscribe: Mosquitto 2.0 grants every SUBACK and filters on delivery, so every account
  subscribes to ``#`` and the test publishes a marker on every channel and scope (as
  an account allowed to): what arrives must be exactly what the table lets the role read.
- Components: the real collector and edge nodes, built with their own accounts; every
  topic filter they subscribe to (``MqttBus.subscriptions``) delivers, and every
  message they publish is acknowledged with a success code.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from station.contract import CHANNELS, Role, topics
from station.contract.topics import parse
from station.mqtt import MqttSettings
from tests.conftest import wait_until

from .conftest import Central

pytestmark = pytest.mark.mosquitto
SITE, BRIDGED = "la-station", "mini-arques"
DOOR_NODE, DOOR, ROOM = "ls-porte-salle-aiguillage", "porte-salle-aiguillage", "salle-aiguillage"
ROOM_NODE = "ls-salle-salle-aiguillage"
OTHER_NODE, OTHER_DOOR = "ls-porte-guichet", "porte-guichet"
MACHINE_NODE, MACHINE, OTHER_MACHINE = "ls-machine-laser-trotec", "laser-trotec", "cnc-shopbot"
IDS = {SITE: {"nodes": (DOOR_NODE, OTHER_NODE, MACHINE_NODE), "doors": (DOOR, OTHER_DOOR), "rooms": (ROOM,),
              "machines": (MACHINE, OTHER_MACHINE)},
       BRIDGED: {"nodes": ("arques-porte",), "doors": ("porte-arques-coworking",), "rooms": ("arques-coworking",),
                 "machines": ()},
       "mini-aire": {"nodes": ("aire-porte",), "doors": ("porte-aire-coworking",), "rooms": ("aire-coworking",),
                     "machines": ()}}
#: Every topic the matrix tries: each channel, on ids inside and outside each account's scope.
TOPICS = [c.pattern(site, ident) for c in CHANNELS for site, scopes in IDS.items() for ident in scopes[c.scope]]
OFF_CONTRACT = [f"station/v1/{SITE}/nodes/{DOOR_NODE}/debug", "station/v2/anything", "$SYS/broker/x"]


@dataclass(frozen=True)
class Account:
    username: str
    role: Role | str  # "bridge" for a site broker's bridge
    site: str | None = None
    node: str | None = None
    doors: tuple[str, ...] = ()
    machines: tuple[str, ...] = ()

    def in_scope(self, topic: str) -> bool:
        p = parse(topic)
        if self.role == Role.node:
            return p.site == self.site and (p.scope == "nodes" and p.ident == self.node
                                            or p.scope == "doors" and p.ident in self.doors
                                            or p.scope == "machines" and p.ident in self.machines)
        return self.site is None or p.site == self.site

    def may(self, action: str, topic: str) -> bool:
        """What the table says, nothing taken from the generated ACL."""
        try:
            channel = parse(topic).channel
        except ValueError:
            return False
        if not self.in_scope(topic):
            return False
        if self.role == "bridge":  # carries up what the site's nodes send, down what they and its boards read
            return (Role.node in channel.senders if action == "publish"
                    else any(r in channel.receivers for r in (Role.node, Role.dashboard)))
        return self.role in (channel.senders if action == "publish" else channel.receivers)


ACCOUNTS = [Account(DOOR_NODE, Role.node, SITE, DOOR_NODE, (DOOR,)), Account(ROOM_NODE, Role.node, SITE, ROOM_NODE),
            Account(OTHER_NODE, Role.node, SITE, OTHER_NODE, (OTHER_DOOR,)),
            Account(MACHINE_NODE, Role.node, SITE, MACHINE_NODE, machines=(MACHINE,)),
            Account("collector-1", Role.collector), Account("collector-2", Role.collector),
            Account("api", Role.api), Account("dashboard", Role.dashboard),
            Account(f"bridge-{BRIDGED}", "bridge", BRIDGED), Account("bridge-mini-aire", "bridge", "mini-aire")]


@pytest.fixture(scope="module")
def central(inventory):
    import shutil
    import tempfile
    from pathlib import Path

    from .conftest import start_central

    root = Path(tempfile.mkdtemp(prefix="station-broker-"))
    root.chmod(0o755)
    c = start_central(root, inventory, collectors=2)
    yield c
    c.broker.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_every_role_publishes_exactly_the_channels_the_table_makes_it_send(central: Central):
    wrong = []
    for account in ACCOUNTS:
        probe = central.probe(account.username)
        for topic in TOPICS + OFF_CONTRACT:
            answer = probe.publish(topic, b"matrix")  # 0x00, or 0x10 No matching subscribers: accepted
            if answer.code is None or (not answer.refused) != account.may("publish", topic):
                wrong.append((account.username, topic, str(answer)))
            elif answer.refused:
                assert answer.code == 0x87, answer
        probe.close()
    assert wrong == []


def sender_for(topic: str) -> str:
    """An account that may publish ``topic`` (by the table), to put a marker there."""
    return next(a.username for a in ACCOUNTS if a.may("publish", topic))


def test_every_role_reads_exactly_the_channels_the_table_makes_it_receive(central: Central):
    readers = {}
    for account in ACCOUNTS:
        probe = central.probe(account.username)
        assert probe.subscribe("#").code is not None
        readers[account] = probe
    by_name = {account.username: probe for account, probe in readers.items()}  # client id = username: one each
    for topic in TOPICS:
        assert not by_name[sender_for(topic)].publish(topic, f"marker {topic}".encode()).refused, topic
    wait_until(lambda: any(p.received for p in readers.values()), timeout=3)
    time.sleep(0.5)
    for account, probe in readers.items():
        got = {topic for topic, payload in probe.received if payload.startswith(b"marker ")}
        assert got == {t for t in TOPICS if account.may("read", t)}, account.username
    for probe in readers.values():
        probe.close()


def test_the_collector_reads_room_availability_for_the_boards(central: Central):
    """The hole of issue #12: the collector subscribed but the ACL did not grant it."""
    collector = central.probe("collector-1")
    collector.subscribe(topics.subscription("rooms", "availability"))
    api = central.probe("api")
    api.publish(topics.room_availability(SITE, ROOM), b"availability")
    wait_until(lambda: collector.received, timeout=3)
    assert collector.received == [(topics.room_availability(SITE, ROOM), b"availability")]
    collector.close(), api.close()


# -- the real components ---------------------------------------------------------------
class Publications:
    """Every publish a bus makes and the broker's PUBACK for it (MQTT v5 reason code)."""

    def __init__(self, bus):
        self.topics: dict[int, str] = {}
        self.codes: dict[int, int] = {}
        publish, previous = bus.client.publish, bus.client.on_publish

        def recording_publish(topic, payload=None, qos=0, retain=False, properties=None):
            info = publish(topic, payload, qos, retain, properties)
            self.topics[info.mid] = topic
            return info

        def on_publish(client, userdata, mid, reason_code, properties):
            self.codes[mid] = reason_code.value
            if previous is not None:
                previous(client, userdata, mid, reason_code, properties)

        bus.client.publish = recording_publish
        bus.client.on_publish = on_publish

    def answered(self) -> list[tuple[str, int]]:
        return [(topic, self.codes[mid]) for mid, topic in self.topics.items() if mid in self.codes]


@contextmanager
def collector_component(central: Central, inventory, tmp_path):
    from collector.service import Collector

    c = Collector(inventory, MqttSettings(port=central.port, username="collector-1",
                                          password=central.password("collector-1")),
                  client_id="collector-1", state_dir=tmp_path / "collector-1")
    sent = Publications(c.bus)
    with c:
        yield Account("collector-1", Role.collector), c.bus, sent, lambda: sum(c.received.values()) + sum(
            c.rejected.values())


def _edge(central, inventory, tmp_path, node_id: str, keys=None):
    from gpiozero.pins.mock import MockFactory

    from edge.node import EdgeNode

    factory = MockFactory()
    node = EdgeNode(inventory, node_id, MqttSettings(port=central.port, username=node_id,
                                                     password=central.password(node_id)),
                    pin_factory=factory, data_dir=tmp_path / node_id, keys=keys, telemetry_interval_s=1)
    return node, factory


@contextmanager
def door_node_component(central: Central, inventory, tmp_path):
    from station.access import generate_key_set, load_node_keys

    paths = generate_key_set(tmp_path / "keys")
    node, factory = _edge(central, inventory, tmp_path, DOOR_NODE, load_node_keys(paths.public, paths.hmac))
    sent = Publications(node.bus)
    node.start()
    pins = node.profile.pins
    for name in ("door_contact", "fire_input", "tamper"):
        factory.pin(pins[name]).drive_low()
    factory.pin(pins["door_contact"]).drive_high()  # the door opens: an event through the outbox
    try:
        yield (Account(DOOR_NODE, Role.node, SITE, DOOR_NODE, (DOOR,)), node.bus, sent,
               lambda: sum(node.counters.rejected_messages.values()))
    finally:
        node.stop()


@contextmanager
def room_node_component(central: Central, inventory, tmp_path):
    node, factory = _edge(central, inventory, tmp_path, ROOM_NODE)
    sent = Publications(node.bus)
    node.start()
    factory.pin(node.profile.pins["pir"]).drive_high()  # motion: an event
    try:
        yield Account(ROOM_NODE, Role.node, SITE, ROOM_NODE), node.bus, sent, lambda: 0
    finally:
        node.stop()


@contextmanager
def api_component(central: Central, inventory, tmp_path):
    """The real API (its runtime, with the broker account "api") on a SQLite file."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings

    app = create_app(ApiSettings(environment="development", database_url=f"sqlite:///{tmp_path / 'api.db'}",
                                 mqtt=MqttSettings(port=central.port, username="api", password=central.password("api"),
                                                   client_id="api")))
    runtime = app.state.runtime
    with TestClient(app):
        sent = Publications(runtime.bus)
        runtime.rooms.publish_all(runtime.clock.now())  # availability, as after every connect
        runtime.grants.refresh_all(runtime.clock.now())
        yield (Account("api", Role.api), runtime.bus, sent,
               lambda: sum(runtime.rejected().values()) + runtime.access_log.processed)


COMPONENTS = [collector_component, door_node_component, room_node_component, api_component]


def concrete(filter_: str, account: Account) -> str:
    """A topic inside the account's scope that ``filter_`` matches."""
    parts = filter_.split("/")
    site = account.site or SITE
    scope = parts[3]
    ident = IDS[site][scope][0] if parts[4] == "+" else parts[4]
    return "/".join([parts[0], parts[1], site if parts[2] == "+" else parts[2], scope, ident, parts[5]])


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda f: f.__name__.removesuffix("_component"))
def test_what_each_component_subscribes_to_and_publishes_is_allowed(central: Central, inventory, tmp_path, component):
    with component(central, inventory, tmp_path) as (account, bus, sent, heard):
        wait_until(lambda: bus.subscribed.is_set(), timeout=5)
        markers, probed = {}, 0
        for filter_ in bus.subscriptions:
            topic = concrete(filter_, account)
            assert account.may("read", topic), (filter_, topic)
            name = sender_for(topic)
            if name == account.username:
                continue  # its own publications read back (the API's grant lists): a probe would take its session
            if name not in markers:  # client id = username: one connection per account
                markers[name] = central.probe(name)
            assert not markers[name].publish(topic, b"not json: a marker").refused, topic
            probed += 1
        wait_until(lambda: heard() >= probed, timeout=5)  # a room node subscribes to nothing
        wait_until(lambda: {t.rsplit("/", 1)[1] for t, _ in sent.answered()} >= expected_publications(account),
                   timeout=10)
        for topic, code in sent.answered():
            assert code < 0x80 and account.may("publish", topic), (topic, code)
        for probe in markers.values():
            probe.close()


def expected_publications(account: Account) -> set[str]:
    """Channels the component must have published on during the test (at least)."""
    if account.role == Role.collector:
        return {"occupancy"}
    if account.role == Role.api:
        return {"availability"}
    return {"status", "events"} | ({"telemetry"} if not account.doors else set())
