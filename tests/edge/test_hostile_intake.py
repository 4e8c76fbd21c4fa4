"""A door node and a machine node under attack on their MQTT intake (property-based).

Someone who can publish on a node's topics — a broker without its ACL, a leaked API
account, a replay of captured traffic — sends batches of hostile grant lists and
commands: random bytes, JSON of the wrong shape, truncated lists, forged signatures,
keys the node does not trust, lists for another door or site, older versions, replayed
or expired commands, payloads over the contract's size. After each batch the API's good
list (and good commands) must be applied as if nothing had happened, and nothing
hostile may have changed anything: the node stays connected, a badge that only a
hostile list names never opens the door, and the node's retained status only ever
shows the good versions. Each test has a broker of its own: the shared one holds other
tests' retained lists on the same doors.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from edge.access import AccessSettings
from station.access import sign
from station.contract import NodeStatus, topics
from station.mqtt import MqttBus, MqttSettings
from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet
from tests.edge.machine_rig import LASER, MachineRig, machine_grants
from tests.edge.rig import DOOR, DOOR_NODE, DoorRig

pytestmark = pytest.mark.mosquitto
SITE = "la-station"
INTRUDER = 6666  # named by every hostile list, by no good one
GRANT_TOPIC, COMMAND_TOPIC = topics.door_grants(SITE, DOOR), topics.door_command(SITE, DOOR)
CONTRACT_MAX = 240 * 1024  # doors/<door>/grants and machines/<machine>/grants
COMMAND_MAX = 16 * 1024
EXAMPLES = 25

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def padded(payload: bytes, size: int) -> bytes:
    """The same JSON, blown up with whitespace to ``size`` bytes (still parses, still verifies)."""
    return payload[:-1] + b" " * (size - len(payload)) + b"}"


@dataclass
class Api:
    """What the real API has sent so far: the versions and commands a node may apply."""

    keys: KeySet
    attacker: KeySet
    version: int = 1
    commands: list = None

    def __post_init__(self):
        self.commands = []
        self.seq = itertools.count(int(datetime.now(timezone.utc).timestamp() * 1000))

    def command(self, action: str, **kw):
        return self.keys.command(DOOR, action, seq=next(self.seq), **kw)


def hostile_grants(draw, api: Api, intruder_list) -> bytes:
    """One hostile payload for a grant topic; ``intruder_list(keys, version, **kw)`` signs
    a list naming the intruder."""
    keys, attacker, v = api.keys, api.attacker, api.version
    kind = draw(st.sampled_from([
        "bytes", "json", "shape", "truncated", "forged", "unsigned", "untrusted", "lying_key_id", "other_door",
        "other_site", "older", "same_version", "oversized", "duplicate_key", "bad_base64", "other_canonical"]))
    good_next = intruder_list(keys, v + 1)
    if kind == "bytes":  # (not empty: an empty retained message clears the list, and is ignored)
        return draw(st.binary(min_size=1, max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "shape":  # a good list with one field replaced by anything
        data = json.loads(good_next.to_json())
        data[draw(st.sampled_from(sorted(data) + ["extra"]))] = draw(json_values)
        return json.dumps(data).encode()
    if kind == "truncated":
        raw = good_next.to_json()
        return raw[:1 + draw(st.integers(0, 10 ** 6)) % (len(raw) - 1)]
    if kind == "forged":  # signed, then an entry's credential changed
        data = json.loads(intruder_list(keys, v + 1, intruder=1001).to_json())
        data["entries"][0]["credential_hash"] = keys.credential(INTRUDER)
        return json.dumps(data).encode()
    if kind == "unsigned":
        return good_next.model_copy(update={"signature": ""}).to_json()
    if kind == "untrusted":
        return intruder_list(attacker, v + 1).to_json()
    if kind == "lying_key_id":  # signed by the attacker, claiming the site key's id
        forged = sign(good_next, attacker.signer).model_copy(update={"key_id": keys.signer.key_id})
        return forged.to_json()
    if kind == "other_door":  # genuine, for another resource, replayed here
        return intruder_list(keys, v + 1, other_resource=True).to_json()
    if kind == "other_site":
        return intruder_list(keys, v + 1, site="mini-station-arques").to_json()
    if kind == "older":  # genuine and signed, but older than the cached list
        return intruder_list(keys, max(1, v - draw(st.integers(1, 50)))).to_json()
    if kind == "same_version":  # genuine signature, the cached version, other content
        return intruder_list(keys, v).to_json()
    if kind == "oversized":  # genuine and newer, but larger than the channel allows
        return padded(good_next.to_json(), draw(st.integers(CONTRACT_MAX + 1, CONTRACT_MAX + 8 * 1024)))
    if kind == "duplicate_key":  # a genuine list, then "entries" again: the last one wins
        raw = intruder_list(keys, v + 1, intruder=1001).to_json()
        evil = json.dumps([{"credential_hash": keys.credential(INTRUDER), "role": "staff"}])
        return raw[:-1] + b', "entries": ' + evil.encode() + b"}"
    if kind == "other_canonical":  # the site's key, over the bytes as sent, not the canonical form
        data = good_next.model_dump(mode="json", exclude={"signature"})
        raw = json.dumps(data, sort_keys=False).encode()
        return json.dumps({**data, "signature": base64.b64encode(keys.signer.sign_bytes(raw)).decode()}).encode()
    data = json.loads(good_next.to_json())  # bad_base64
    data["signature"] = draw(st.sampled_from(["!!!!", "A" * 199, "é", "=" * 8]))
    return json.dumps(data).encode()


def hostile_command(draw, api: Api) -> bytes:
    keys, attacker = api.keys, api.attacker
    kind = draw(st.sampled_from(["bytes", "json", "shape", "truncated", "forged", "untrusted", "other_door",
                                 "replayed", "expired", "oversized", "far_seq", "future_ts", "far_expiry"]))
    release = api.command("release")
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "shape":
        data = json.loads(release.to_json())
        data[draw(st.sampled_from(sorted(data) + ["extra"]))] = draw(json_values)
        return json.dumps(data).encode()
    if kind == "truncated":
        raw = release.to_json()
        return raw[:1 + draw(st.integers(0, 10 ** 6)) % (len(raw) - 1)]
    if kind == "forged":
        return release.model_copy(update={"issued_by": "mallory"}).to_json()
    if kind == "untrusted":
        return attacker.command(DOOR, "release", seq=release.seq).to_json()
    if kind == "other_door":
        return keys.command("porte-guichet", "release", seq=release.seq).to_json()
    if kind == "replayed":
        pick = draw(st.integers(0, 1000))  # drawn alike whatever was sent before (hypothesis replays)
        return api.commands[pick % len(api.commands)].to_json() if api.commands else release.to_json()
    if kind == "expired":
        return api.command("release", expires_in=timedelta(seconds=-draw(st.integers(1, 10 ** 6)))).to_json()
    if kind == "oversized":
        return padded(release.to_json(), draw(st.integers(COMMAND_MAX + 1, 64 * 1024)))
    if kind == "future_ts":  # genuine, stamped more than a day ahead of the node's clock
        ahead = datetime.now(timezone.utc) + timedelta(days=draw(st.integers(2, 3650)))
        return sign(release.model_copy(update={"ts": ahead}), keys.signer).to_json()
    if kind == "far_expiry":  # genuine, but "valid" for more than the contract's ten years
        return sign(release.model_copy(update={"expires_at": datetime(2099, 1, 1, tzinfo=timezone.utc)}),
                    keys.signer).to_json()
    forged = release.model_copy(update={"seq": draw(st.sampled_from([2 ** 63, 2 ** 63 - 1, 10 ** 30]))})
    return forged.to_json()  # far_seq: signed for another seq, so it does not verify


class StatusWatcher:
    """Every grant version a node ever announces on its retained status."""

    def __init__(self, settings: MqttSettings, node: str, resource: str):
        self.seen: list[int] = []
        self._lock = threading.Lock()
        self.resource = resource
        self.bus = MqttBus(f"watch-{node}", settings)
        self.bus.subscribe(topics.node_status(SITE, node), self._on_status)

    def _on_status(self, topic: str, payload: bytes) -> None:
        version = NodeStatus.model_validate_json(payload).grant_versions.get(self.resource)
        with self._lock:
            if version is not None and (not self.seen or self.seen[-1] != version):
                self.seen.append(version)

    def __enter__(self):
        self.bus.start()
        return self

    def __exit__(self, *exc):
        self.bus.stop()


def badge(rig, card: int) -> bool:
    """A card read: straight to the reader's callback (what the Wiegand reader calls with a
    frame; its timing is tested in test_wiegand.py — here a loaded machine must not split
    frames). The strike or relay it switches is the mock pin."""
    return rig.node.reader.when_read(str(card), 26)


def hypothesis_settings():
    # No shrinking: every run changes the node (versions, sequences), and a failing example
    # replayed many times against a real broker would outlast the suite's budget.
    return settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))


def test_hostile_lists_and_commands_never_change_a_door_and_never_block_the_good_ones(inventory, broker, tmp_path):
    keys, attacker = KeySet(tmp_path / "keys"), KeySet(tmp_path / "attacker")
    api_state = Api(keys, attacker)
    mqtt = MqttSettings(host=broker.host, port=broker.port)
    api = MqttBus("api-hostile", mqtt).start()
    now = datetime.now(timezone.utc)

    def door_list(signer_keys, version, *, intruder=INTRUDER, other_resource=False, site=SITE, good=()):
        cards = {str(c): "member" for c in good} if good else {str(intruder): "staff"}
        return signer_keys.grants("porte-guichet" if other_resource else DOOR, version, cards, site=site, now=now)

    # Poison left retained before the node ever starts: it must start and take the good list.
    api.publish(GRANT_TOPIC, b"\xff\x00 not a list", retain=True).wait_for_publish(2)
    api.publish(COMMAND_TOPIC, attacker.command(DOOR, "release").to_json(), retain=True).wait_for_publish(2)
    access = AccessSettings(unlock_s=0.3, lockout_after=100, lockout_s=0)
    try:
        with StatusWatcher(mqtt, DOOR_NODE, DOOR) as status, EventListener(mqtt, "listen-hostile") as events, \
                DoorRig(inventory, mqtt, keys, tmp_path / "node", access=access) as rig:
            api.publish(GRANT_TOPIC, door_list(keys, 1, good=[1000]), retain=True).wait_for_publish(2)
            wait_until(lambda: rig.node.grants.versions().get(DOOR) == 1, timeout=5)
            assert rig.controller.mode.value == "normal"  # the retained forged release did nothing
            good_ids: set[str] = set()
            hostile = [0]

            @hypothesis_settings()
            @given(data=st.data())
            def attack(data):
                for _ in range(data.draw(st.integers(0, 6), label="hostile lists")):
                    api.publish(GRANT_TOPIC, hostile_grants(data.draw, api_state, door_list))
                    hostile[0] += 1
                for _ in range(data.draw(st.integers(0, 6), label="hostile commands")):
                    api.publish(COMMAND_TOPIC, hostile_command(data.draw, api_state))
                    hostile[0] += 1
                api_state.version += 1
                member = 2000 + api_state.version
                api.publish(GRANT_TOPIC, door_list(keys, api_state.version, good=[member]), retain=True)
                release = api_state.command("release")
                normal = api_state.command("normal")
                good_ids.update({release.id, normal.id})
                api.publish(COMMAND_TOPIC, release)
                wait_until(lambda: rig.controller.mode.value == "release" and rig.unlocked, timeout=5)
                api.publish(COMMAND_TOPIC, normal)
                wait_until(lambda: rig.controller.mode.value == "normal" and not rig.unlocked, timeout=5)
                api_state.commands += [release, normal]
                wait_until(lambda: rig.node.grants.versions().get(DOOR) == api_state.version, timeout=5)

                assert rig.node.bus.connected.is_set()
                assert not badge(rig, INTRUDER) and not rig.unlocked
                assert badge(rig, member) and rig.unlocked
                wait_until(lambda: not rig.unlocked, timeout=2)

            attack()
            wait_until(lambda: status.seen and status.seen[-1] == api_state.version, timeout=5)
            wait_until(lambda: normal_applied(events, api_state), timeout=5)
            # Every hostile message refused and counted, and the two left retained before the start.
            wait_until(lambda: refused(rig) == hostile[0] + 2, timeout=5)
    finally:
        api.stop()
    assert status.seen == sorted(set(status.seen)), "a version went backwards"
    assert set(status.seen) <= set(range(1, api_state.version + 1))
    assert all(e.command in good_ids for e in events.of("command_applied")), "a hostile command was applied"


def refused(rig) -> int:
    return sum(rig.node.counters.rejected_messages.values()) + rig.controller.counters["commands_rejected"]


def normal_applied(events: EventListener, api_state: Api) -> bool:
    return any(e.command == api_state.commands[-1].id for e in events.of("command_applied"))


def test_hostile_machine_lists_never_power_a_machine_and_never_block_the_good_one(inventory, broker, tmp_path):
    keys, attacker = KeySet(tmp_path / "keys"), KeySet(tmp_path / "attacker")
    api_state = Api(keys, attacker)
    mqtt = MqttSettings(host=broker.host, port=broker.port)
    topic = topics.machine_grants(SITE, LASER)
    api = MqttBus("api-hostile-machine", mqtt).start()
    now = datetime.now(timezone.utc)

    def laser_list(signer_keys, version, *, intruder=INTRUDER, other_resource=False, site=SITE, good=()):
        grants = machine_grants(signer_keys, now, trained=good or [intruder],
                                machine="imprimante-prusa-1" if other_resource else LASER)
        return sign(grants.model_copy(update={"version": version, "site": site}), signer_keys.signer)

    api.publish(topic, b'{"v": 1, "machine": [[[[[[[[[[]]]]]]]]]]}', retain=True).wait_for_publish(2)
    try:
        with StatusWatcher(mqtt, "ls-machine-laser-trotec", LASER) as status, \
                MachineRig(inventory, mqtt, keys, tmp_path / "node") as rig:
            api.publish(topic, laser_list(keys, 1, good=[1000]), retain=True).wait_for_publish(2)
            wait_until(lambda: rig.node.grants.versions().get(LASER) == 1, timeout=5)

            hostile = [0]

            @hypothesis_settings()
            @given(data=st.data())
            def attack(data):
                for _ in range(data.draw(st.integers(0, 6), label="hostile lists")):
                    api.publish(topic, hostile_grants(data.draw, api_state, laser_list))
                    hostile[0] += 1
                api_state.version += 1
                member = 2000 + api_state.version
                api.publish(topic, laser_list(keys, api_state.version, good=[member]), retain=True)
                wait_until(lambda: rig.node.grants.versions().get(LASER) == api_state.version, timeout=5)
                assert rig.node.bus.connected.is_set()
                assert not badge(rig, INTRUDER) and not rig.relay_on
                assert badge(rig, member) and rig.relay_on
                assert not badge(rig, member) and not rig.relay_on  # the same badge again: off

            attack()
            wait_until(lambda: status.seen and status.seen[-1] == api_state.version, timeout=5)
            wait_until(lambda: sum(rig.node.counters.rejected_messages.values()) == hostile[0] + 1, timeout=5)
    finally:
        api.stop()
    assert status.seen == sorted(set(status.seen)), "a version went backwards"
    assert set(status.seen) <= set(range(1, api_state.version + 1))


def test_a_list_or_command_over_the_contract_size_is_refused_unparsed_logged_and_counted(inventory, broker,
                                                                                      tmp_path, caplog):
    """Genuine, newer and signed — but larger than the channel allows: refused before it is
    parsed (a node's memory and its MQTT loop are not the attacker's to spend)."""
    keys = KeySet(tmp_path / "keys")
    mqtt = MqttSettings(host=broker.host, port=broker.port)
    api = MqttBus("api-oversized", mqtt).start()
    try:
        api.publish(GRANT_TOPIC, keys.grants(DOOR, 1, {"1000": "member"}), retain=True).wait_for_publish(2)
        with EventListener(mqtt, "listen-oversized") as events, \
                DoorRig(inventory, mqtt, keys, tmp_path / "node") as rig:
            wait_until(lambda: rig.node.grants.versions().get(DOOR) == 1, timeout=5)
            api.publish(GRANT_TOPIC, padded(keys.grants(DOOR, 2, {str(INTRUDER): "staff"}).to_json(),
                                            CONTRACT_MAX + 1))
            api.publish(COMMAND_TOPIC, padded(keys.command(DOOR, "release").to_json(), COMMAND_MAX + 1))
            wait_until(lambda: rig.node.counters.rejected_messages.get("too_large") == 2, timeout=5)
            assert rig.node.grants.versions() == {DOOR: 1} and rig.controller.mode.value == "normal"
            assert badge(rig, 1000) and rig.unlocked  # the cached list still decides
            wait_until(lambda: events.of("command_rejected") and events.of("grants_rejected"), timeout=5)
    finally:
        api.stop()
    assert "(too_large)" in events.of("grants_rejected")[0].reason
    assert "(too_large)" in events.of("command_rejected")[0].reason
    assert f"rejected message on {GRANT_TOPIC}: too_large" in caplog.text
