"""Replays against a door node, across its restarts and across a key rotation, sent as
anyone on the network would: ``mosquitto_pub`` on a broker of the test's own (the
shared one holds other tests' retained lists on the same doors)."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import timedelta

import pytest

from station.access import KeyRing, NodeKeys
from station.contract import DoorAction, topics
from station.mqtt import MqttSettings
from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet
from tests.edge.rig import DOOR, FAIL_SAFE_DOOR, FAIL_SAFE_NODE, DoorRig
from tests.edge.test_door_access import publish_grants

pytestmark = pytest.mark.mosquitto
SITE, MEMBER = "la-station", 1001


def foreign_pub(settings: MqttSettings, topic: str, message) -> None:
    sent = subprocess.run(["mosquitto_pub", "-h", settings.host, "-p", str(settings.port), "-q", "1",
                           "-t", topic, "-s"], input=message.to_json(), capture_output=True, timeout=10)
    assert sent.returncode == 0, sent.stderr


@pytest.fixture()
def settings(broker):
    return MqttSettings(host=broker.host, port=broker.port)


def test_after_a_key_rotation_nothing_signed_by_the_dropped_key_changes_the_door(inventory, settings, tmp_path):
    old, new = KeySet(tmp_path / "old"), KeySet(tmp_path / "new")
    new.site = NodeKeys(KeyRing.of(new.signer.public_key), old.site.hmac_key)  # the next key; same site HMAC key
    data = tmp_path / "node"
    publish_grants(settings, old.grants(DOOR, 1, {str(MEMBER): "member"}))
    with DoorRig(inventory, settings, old, data) as rig:  # before the rotation
        wait_until(lambda: rig.node.grants.versions().get(DOOR) == 1, timeout=5)
        captured = old.command(DOOR, "release", seq=10**12)  # captured on the wire, still unexpired
    with EventListener(settings, "listener-rotation") as listener, DoorRig(inventory, settings, new, data) as rig:
        assert rig.node.grants.versions() == {}  # the cached list is the dropped key's: refused at boot
        foreign_pub(settings, topics.door_command(SITE, DOOR), captured)
        wait_until(lambda: listener.of("command_rejected"), timeout=5)
        assert not rig.unlocked and rig.controller.mode is DoorAction.normal
        publish_grants(settings, new.grants(DOOR, 2, {str(MEMBER): "member"}))
        wait_until(lambda: rig.node.grants.versions().get(DOOR) == 2, timeout=5)
        rig.badge(MEMBER)
        wait_until(lambda: rig.unlocked, timeout=2)
    assert "does not trust" in listener.of("command_rejected")[0].reason
    assert any("does not trust" in e.reason for e in listener.of("grants_rejected"))


def test_a_command_for_one_door_replayed_to_another_never_changes_it(inventory, settings, tmp_path):
    keys = KeySet(tmp_path / "keys")
    publish_grants(settings, keys.grants(FAIL_SAFE_DOOR, 1, {}))
    with EventListener(settings, "listener-other-door") as listener, \
            DoorRig(inventory, settings, keys, tmp_path / "node", node_id=FAIL_SAFE_NODE) as rig:
        wait_until(lambda: rig.node.grants.versions().get(FAIL_SAFE_DOOR) == 1, timeout=5)
        for_a = keys.command(DOOR, "release")
        foreign_pub(settings, topics.door_command(SITE, FAIL_SAFE_DOOR), for_a)  # on B's topic, as it is
        # ... and the same command with B's name put in (its signature then fails)
        foreign_pub(settings, topics.door_command(SITE, FAIL_SAFE_DOOR), for_a.model_copy(update={"door": FAIL_SAFE_DOOR}))
        wait_until(lambda: len(listener.of("command_rejected")) == 2, timeout=5)
        assert not rig.unlocked and rig.controller.mode is DoorAction.normal
    reasons = [e.reason for e in listener.of("command_rejected")]
    assert reasons[1] == "signature does not verify", reasons


def test_a_node_that_lost_its_ledger_takes_an_unexpired_captured_command_but_never_an_expired_one(
        inventory, settings, tmp_path):
    """The limit, documented in docs/security.md: a command ledger lost with the SD card
    (or deleted) forgets the last sequence applied, so a captured command still within
    its ``expires_at`` is taken again once. Past it, nothing is."""
    keys = KeySet(tmp_path / "keys")
    data = tmp_path / "node"
    publish_grants(settings, keys.grants(DOOR, 1, {}))
    release = keys.command(DOOR, "release", expires_in=timedelta(seconds=3))
    lockdown = keys.command(DOOR, "lockdown")
    with DoorRig(inventory, settings, keys, data) as rig:
        wait_until(lambda: rig.node.grants.versions().get(DOOR) == 1, timeout=5)
        assert rig.controller.apply_command(release) and rig.controller.apply_command(lockdown)
    shutil.rmtree(data / "commands")
    with EventListener(settings, "listener-lost-ledger") as listener, DoorRig(inventory, settings, keys, data) as rig:
        assert rig.controller.mode is DoorAction.normal  # the lockdown went with the ledger
        time.sleep(max(0.0, (release.expires_at - rig.node.clock.now()).total_seconds()) + 0.1)
        # (the first run's events still in the outbox arrive too: look at this run's, by time)
        replayed_at = rig.node.clock.now()
        foreign_pub(settings, topics.door_command(SITE, DOOR), release)
        wait_until(lambda: [e for e in listener.of("command_rejected") if e.ts >= replayed_at], timeout=5)
        assert not rig.unlocked
        assert [e.reason for e in listener.of("command_rejected") if e.ts >= replayed_at] == ["command expired"]
        foreign_pub(settings, topics.door_command(SITE, DOOR), lockdown)  # still unexpired: taken again
        wait_until(lambda: [e for e in listener.of("command_applied") if e.ts >= replayed_at], timeout=5)
        assert rig.controller.mode is DoorAction.lockdown


def test_a_grant_list_older_than_the_one_a_fresh_node_took_is_refused(inventory, settings, tmp_path):
    """A node whose cache was deleted takes the retained list; an older signed list
    replayed after it is refused (before it, it would be taken until the newer one comes)."""
    keys = KeySet(tmp_path / "keys")
    data = tmp_path / "node"
    older = keys.grants(DOOR, 1, {str(MEMBER): "member"})
    publish_grants(settings, keys.grants(DOOR, 2, {}))
    with DoorRig(inventory, settings, keys, data) as rig:
        wait_until(lambda: rig.node.grants.versions().get(DOOR) == 2, timeout=5)
    shutil.rmtree(data / "grants")
    with EventListener(settings, "listener-fresh-cache") as listener, DoorRig(inventory, settings, keys, data) as rig:
        wait_until(lambda: rig.node.grants.versions().get(DOOR) == 2, timeout=5)
        foreign_pub(settings, topics.door_grants(SITE, DOOR), older)
        wait_until(lambda: listener.of("grants_rejected"), timeout=5)
        rig.badge(MEMBER)
        time.sleep(0.2)
        assert not rig.unlocked and rig.node.grants.versions()[DOOR] == 2
    assert "older than the cached 2" in listener.of("grants_rejected")[0].reason
