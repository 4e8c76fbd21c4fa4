"""A stolen node's account against the generated broker, the attacks the other tests do not try.

One Mosquitto from ``station broker gen --api-instances 2 --collector-instances 2``; the
attacker holds one room-door node's password and speaks MQTT 3.1, 3.1.1 and 5 with paho,
or raw bytes where paho would refuse to send the packet. Each test carries a control
that the same path works for the node's own topics, so silence means refused, not broken.

- its last will on another node's status, or on its own door's grants / commands (retained);
- a client id taken from a service instance, a bridge or another node: no takeover;
- ``#``, ``$SYS/#`` and ``$share`` with odd group names (empty, ``+``, ``$SYS``, UTF-8, the
  services' names): only its own door's grants and commands arrive;
- topics joined with NUL, overlong or invalid UTF-8, look-alike letters, extra levels.
- an empty retained payload (a deletion) on its own door's grants or another node's status.
"""

from __future__ import annotations

import shutil
import socket
import struct
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from station.contract import topics
from tests.broker.conftest import Central, start_central
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
SITE = "la-station"
THIEF, OTHER = "ls-porte-guichet", "ls-porte-boutique"  # two door nodes of the main site
MY_DOOR, OTHER_DOOR = "porte-guichet", "porte-boutique"
PROTOCOLS = {"3.1": MQTTProtocolVersion.MQTTv31, "3.1.1": MQTTProtocolVersion.MQTTv311,
             "5": MQTTProtocolVersion.MQTTv5}


@pytest.fixture(scope="module")
def central(inventory):
    root = Path(tempfile.mkdtemp(prefix="station-attacks-"))
    root.chmod(0o755)
    c = start_central(root, inventory, apis=2, collectors=2)
    site = inventory.site(SITE)
    assert {n.id: list(n.doors) for n in site.nodes if n.id in (THIEF, OTHER)} == {THIEF: [MY_DOOR],
                                                                                  OTHER: [OTHER_DOOR]}
    yield c
    c.broker.stop()
    shutil.rmtree(root, ignore_errors=True)


def marker() -> str:
    return uuid.uuid4().hex[:12]


def payloads(probe) -> list[bytes]:
    return [bytes(p) for _, p in probe.received]


def connected(central: Central, user: str, protocol: str, *, client_id: str = "", will=None) -> mqtt.Client:
    """A paho client of ``protocol``, connected and driven by hand (no thread, no reconnect)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=PROTOCOLS[protocol])
    c.username_pw_set(user, central.password(user))
    if will:
        c.will_set(*will)
    answers = []
    c.on_connect = lambda client, userdata, flags, rc, props: answers.append(rc)
    c.connect("127.0.0.1", central.port, keepalive=30)
    deadline = time.monotonic() + 5
    while not answers and time.monotonic() < deadline:
        c.loop(0.05)
    assert answers and not answers[0].is_failure, f"{user} over MQTT {protocol}: {answers}"
    return c


def dropped(client: mqtt.Client) -> None:
    """Gone without a DISCONNECT (a Pi unplugged): the broker publishes the will."""
    client.socket().close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_node_leaves_no_last_will_on_anothers_topics(central: Central, protocol):
    tag = marker()
    forged = {topics.node_status(SITE, OTHER): f"{tag}-other-status",
              topics.node_events(SITE, OTHER): f"{tag}-other-event",
              topics.door_grants(SITE, MY_DOOR): f"{tag}-my-door-grants",
              topics.door_command(SITE, MY_DOOR): f"{tag}-my-door-command",
              topics.door_grants(SITE, OTHER_DOOR): f"{tag}-other-door-grants"}
    watcher = central.probe("api-1")
    assert watcher.subscribe(f"{topics.ROOT}/#").refused is False
    for topic, payload in forged.items():
        dropped(connected(central, THIEF, protocol, will=(topic, payload, 1, True)))
    control = f"{tag}-own-status"  # the node's own will goes through: wills did fire
    dropped(connected(central, THIEF, protocol, will=(topics.node_status(SITE, THIEF), control, 1, True)))
    assert wait_until(lambda: control.encode() in payloads(watcher), 5), "the node's own will never came"
    assert not [p for p in payloads(watcher) if p.startswith(tag.encode()) and p != control.encode()]
    late = central.probe("api-2")  # a subscriber arriving afterwards: nothing forged was retained
    late.subscribe(f"{topics.ROOT}/#")
    assert wait_until(lambda: control.encode() in payloads(late), 5)
    assert [p for p in payloads(late) if p.startswith(tag.encode())] == [control.encode()]
    thief = central.probe(THIEF)
    thief.publish(topics.node_status(SITE, THIEF), b"", retain=True)  # clear the control
    for p in (watcher, late, thief):
        p.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_node_taking_a_services_client_id_takes_over_nothing(central: Central, protocol):
    services = {name: central.probe(name, client_id=name) for name in ("api-1", "api-2", "collector-1")}
    for probe in services.values():
        assert probe.subscribe(topics.subscription("nodes", "events", SITE)).refused is False
    log_before = central.broker.log_text()
    tags = []
    for client_id in ("api-1", "api-2", "collector-1", "collector-2", "bridge-mini-arques", OTHER, "dashboard"):
        thief = connected(central, THIEF, protocol, client_id=client_id)
        tag = f"{marker()}-as-{client_id}"
        thief.publish(topics.node_events(SITE, THIEF), tag, qos=1)
        thief.publish(topics.node_events(SITE, OTHER), f"{tag}-forged", qos=1)
        for _ in range(10):
            thief.loop(0.05)
        thief.disconnect()
        tags.append(tag.encode())
    for name, probe in services.items():
        assert wait_until(lambda: all(t in payloads(probe) for t in tags), 5), f"{name} missed the node's events"
        assert not [p for p in payloads(probe) if p.endswith(b"-forged")]
        assert probe.connected and not probe.wait_disconnected(0.1), f"{name} was taken over"
    new_log = central.broker.log_text()[len(log_before):]
    assert "already connected" not in new_log.replace(f"Client {THIEF} already connected", "")
    assert f"as {THIEF} (p" in new_log and "as api-1 (p" not in new_log
    for probe in services.values():
        probe.close()


ODD_FILTERS = ["#", "+/#", "$SYS/#", "station/#", f"{topics.ROOT}/+/+/+/+",
               "$share/g/#", "$share//#", "$share/+/#", "$share/$SYS/#", "$share/g/$SYS/#", "$share/é/#",
               "$share/api-1/#", "$share/collector-1/station/v1/+/nodes/+/events",
               f"$share/{THIEF}/{topics.ROOT}/+/doors/+/grants"]


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_wildcards_sys_and_odd_shared_groups_bring_a_node_only_its_own_door(central: Central, inventory, protocol):
    tag = marker()
    api = central.probe("api-1")
    mine = {topics.door_grants(SITE, MY_DOOR), topics.door_command(SITE, MY_DOOR)}
    results = {}
    for flt in ODD_FILTERS:
        thief = central.probe(THIEF) if protocol == "5" else None
        if thief is None:
            thief = Legacy(central, THIEF)
        thief.subscribe(flt)
        time.sleep(0.1)
        api.publish(topics.door_grants(SITE, OTHER_DOOR), f"{tag}-other-grants".encode(), retain=True)
        api.publish(topics.door_command(SITE, OTHER_DOOR), f"{tag}-other-command".encode())
        api.publish(topics.door_grants(SITE, MY_DOOR), f"{tag}-my-grants".encode(), retain=True)
        api.publish(topics.door_command(SITE, MY_DOOR), f"{tag}-my-command".encode())
        other = central.probe(OTHER)
        other.publish(topics.node_events(SITE, OTHER), f"{tag}-other-event".encode())
        other.publish(topics.node_status(SITE, OTHER), f"{tag}-other-status".encode(), retain=True)
        other.close()
        if flt in ("#", "$share/g/#"):  # the control: these filters do match the node's own door
            assert wait_until(lambda: f"{tag}-my-command".encode() in payloads(thief), 5)
        else:
            time.sleep(0.3)
        results[flt] = {t for t, _ in thief.received}
        thief.close()
    assert {flt: got - mine for flt, got in results.items() if got - mine} == {}
    for topic in (topics.door_grants(SITE, OTHER_DOOR), topics.door_grants(SITE, MY_DOOR)):
        api.publish(topic, b"", retain=True)
    other = central.probe(OTHER)
    other.publish(topics.node_status(SITE, OTHER), b"", retain=True)
    other.close(), api.close()


class Legacy:
    """An MQTT 3.1.1 subscriber with the Probe's few methods (Probe speaks MQTT 5 only)."""

    def __init__(self, central: Central, user: str):
        self.received: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
        self.client.username_pw_set(user, central.password(user))
        self.client.on_message = lambda c, u, msg: self.received.append((msg.topic, bytes(msg.payload)))
        self.client.connect("127.0.0.1", central.port)
        self.client.loop_start()
        assert wait_until(self.client.is_connected, 5)

    def subscribe(self, flt: str) -> None:
        self.client.subscribe(flt, 1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _string(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def _length(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def raw_publish(central: Central, user: str, topic: bytes, payload: bytes) -> None:
    """CONNECT (MQTT 3.1.1) and one retained QoS 1 PUBLISH of exactly these topic bytes."""
    with socket.create_connection(("127.0.0.1", central.port), timeout=3) as sock:
        body = _string(b"MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 30)
        body += _string(b"raw") + _string(user.encode()) + _string(central.password(user).encode())
        sock.sendall(b"\x10" + _length(len(body)) + body)
        assert sock.recv(4) == b"\x20\x02\x00\x00", "CONNACK refused"
        body = _string(topic) + struct.pack("!H", 1) + payload
        sock.sendall(b"\x33" + _length(len(body)) + body)
        try:
            sock.recv(4)  # PUBACK (also for a refused publish in 3.1.1), or the broker hangs up
        except (socket.timeout, ConnectionError):
            pass


def test_malformed_and_lookalike_topics_reach_no_one(central: Central):
    tag = marker()
    own = topics.node_status(SITE, THIEF).encode()
    other = topics.node_status(SITE, OTHER).encode()
    tricks = {
        "plain": other, "nul-joined": own + b"\x00" + other, "nul-after-other": other + b"\x00",
        "overlong-slash": other.replace(b"/status", b"\xc0\xafstatus"), "invalid-utf8": other + b"\xff",
        "surrogate": other + b"\xed\xa0\x80", "cyrillic-e": other.replace(b"e", "е".encode(), 1),
        "upper-case": other.upper(), "trailing-slash": own + b"/", "empty-level": own.replace(b"/status", b"//status"),
        "extra-level": own + b"/x", "deep": own + b"/a" * 20_000, "long": own + b"/" + b"a" * 60_000,
        "bom": "\ufeff".encode() + other, "plus": other.replace(OTHER.encode(), b"+"), "sys": b"$SYS/broker/uptime",
    }
    watcher = central.probe("api-1")
    watcher.subscribe("#")
    for name, topic in tricks.items():
        raw_publish(central, THIEF, topic, f"{tag}-{name}".encode())
    control = f"{tag}-control".encode()
    raw_publish(central, THIEF, topics.node_events(SITE, THIEF).encode(), control)
    assert wait_until(lambda: control in payloads(watcher), 5), "the raw client's own publish did not arrive"
    late = central.probe("api-2")
    late.subscribe("#")
    time.sleep(0.5)
    assert [p for p in payloads(watcher) + payloads(late) if p.startswith(tag.encode())] == [control, control]
    thief = central.probe(THIEF)
    thief.publish(topics.node_events(SITE, THIEF), b"", retain=True)  # clear the retained control
    for p in (watcher, late, thief):
        p.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_node_erases_no_retained_message_but_its_own(central: Central, protocol):
    """An empty retained payload deletes what the broker keeps: a node's own door list stays."""
    tag = marker().encode()
    api, other = central.probe("api-1"), central.probe(OTHER)
    kept = {topics.door_grants(SITE, MY_DOOR): tag + b"-my-grants", topics.door_grants(SITE, OTHER_DOOR): tag + b"-other",
            topics.node_status(SITE, OTHER): tag + b"-other-status"}
    for topic, payload in kept.items():
        (other if "/nodes/" in topic else api).publish(topic, payload, retain=True)
    thief = connected(central, THIEF, protocol)
    thief.publish(topics.node_status(SITE, THIEF), tag + b"-own-status", qos=1, retain=True)
    for qos in (0, 1, 2):
        for topic in kept:
            thief.publish(topic, b"", qos=qos, retain=True)
    thief.publish(topics.node_status(SITE, THIEF), b"", qos=1, retain=True)  # the control: its own is cleared
    for _ in range(20):
        thief.loop(0.05)
    thief.disconnect()
    late = central.probe("api-2")
    late.subscribe(f"{topics.ROOT}/#")
    assert wait_until(lambda: len([p for p in payloads(late) if p.startswith(tag)]) >= len(kept), 5)
    time.sleep(0.3)
    assert sorted(p for p in payloads(late) if p.startswith(tag)) == sorted(kept.values())
    for topic in kept:
        (other if "/nodes/" in topic else api).publish(topic, b"", retain=True)
    for p in (api, other, late):
        p.close()
