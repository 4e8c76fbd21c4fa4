"""A door node on mock pins with a real broker: badges, the door state machine, fire, commands."""

from datetime import datetime, timedelta, timezone

import pytest

from edge.access import AccessSettings
from station.clock import AcceleratedClock
from station.contract import topics
from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet
from tests.edge.rig import DOOR, FAIL_SAFE_DOOR, FAIL_SAFE_NODE, DoorRig

pytestmark = pytest.mark.mosquitto
MEMBER, STAFF, STRANGER = 1001, 9001, 6666


@pytest.fixture()
def keys(tmp_path):
    return KeySet(tmp_path / "keys")


@pytest.fixture()
def listener(mqtt_settings):
    with EventListener(mqtt_settings, "listener-access") as listener:
        yield listener


def publish_grants(settings, grants, retain=True):
    from station.mqtt import MqttBus
    bus = MqttBus("api-test", settings).start()
    bus.publish(topics.door_grants("la-station", grants.door), grants, retain=retain).wait_for_publish(2)
    bus.stop()


def rig_with_grants(inventory, mqtt_settings, keys, tmp_path, cards, **kw):
    grants = keys.grants(kw.pop("door", DOOR), 1, cards)
    publish_grants(mqtt_settings, grants)
    rig = DoorRig(inventory, mqtt_settings, keys, tmp_path / "node", **kw).start()
    wait_until(lambda: rig.node.grants.versions().get(grants.door) == 1, timeout=5)
    return rig


def test_granted_badge_unlocks_then_relocks_when_the_door_closes(inventory, mqtt_settings, keys, tmp_path,
                                                                 listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}) as rig:
        rig.badge(MEMBER)
        wait_until(lambda: rig.unlocked, timeout=2)
        assert rig.node.indicators.pattern == "granted"
        rig.open_door()
        rig.close_door()
        assert not rig.unlocked
        wait_until(lambda: "door_closed" in listener.kinds(), timeout=5)
    granted = listener.of("access_granted")[0]
    assert granted.credential_hash == keys.credential(MEMBER) and granted.door == DOOR
    assert granted.space == "salle-aiguillage"
    assert str(MEMBER) not in granted.model_dump_json()  # the card number never leaves the node
    assert "door_forced" not in listener.kinds()
    assert listener.kinds()[-3:] == ["access_granted", "door_opened", "door_closed"]


def test_unlock_relocks_by_itself_after_the_unlock_time(inventory, mqtt_settings, keys, tmp_path):
    access = AccessSettings(unlock_s=0.3)
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}, access=access) as rig:
        rig.badge(MEMBER)
        wait_until(lambda: rig.unlocked, timeout=2)
        wait_until(lambda: not rig.unlocked, timeout=2)


def test_unknown_badge_is_denied_and_reported(inventory, mqtt_settings, keys, tmp_path, listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}) as rig:
        rig.badge(STRANGER)
        wait_until(lambda: listener.of("access_denied"), timeout=5)
        assert not rig.unlocked
        assert rig.node.indicators.pattern == "denied"
    denied = listener.of("access_denied")[0]
    assert denied.credential_hash == keys.credential(STRANGER) and denied.reason == "unknown badge"


def test_door_opened_while_locked_is_forced(inventory, mqtt_settings, keys, tmp_path, listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {}) as rig:
        rig.open_door()
        wait_until(lambda: listener.of("door_forced"), timeout=5)
    assert listener.kinds()[-2:] == ["door_opened", "door_forced"]


def test_door_left_open_is_reported_held_open_once(inventory, mqtt_settings, keys, tmp_path, listener):
    clock = AcceleratedClock(datetime.now(timezone.utc), speed=240)  # 60 s held-open limit → 0.25 s
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {}, clock=clock) as rig:
        rig.press_exit()  # unlocks for 5 s of the clock: 20 ms here
        rig.open_door()
        wait_until(lambda: listener.of("door_held_open"), timeout=5)
        rig.close_door()
        wait_until(lambda: listener.of("door_closed"), timeout=5)
    assert len(listener.of("door_held_open")) == 1
    assert "door_forced" not in listener.kinds()


def test_exit_button_unlocks_without_a_badge(inventory, mqtt_settings, keys, tmp_path, listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {}) as rig:
        rig.press_exit()
        assert rig.unlocked
        rig.open_door()
        rig.close_door()
        wait_until(lambda: listener.of("door_closed"), timeout=5)
    assert listener.kinds()[-3:] == ["exit_request", "door_opened", "door_closed"]


def test_lockout_after_repeated_denials_refuses_even_a_good_badge(inventory, mqtt_settings, keys, tmp_path,
                                                                  listener):
    access = AccessSettings(lockout_after=3, lockout_window_s=30, lockout_s=60)
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}, access=access) as rig:
        for card in (STRANGER, STRANGER + 1, STRANGER + 2):
            rig.badge(card)
        wait_until(lambda: listener.of("reader_lockout"), timeout=5)
        rig.badge(MEMBER)
        wait_until(lambda: listener.of("access_denied")[-1].reason == "reader locked out", timeout=5)
        assert not rig.unlocked
        assert rig.controller.locked_out
    assert "3 denials" in listener.of("reader_lockout")[0].reason


def test_fire_alarm_releases_a_fail_safe_door_until_it_clears(inventory, mqtt_settings, keys, tmp_path, listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {}, node_id=FAIL_SAFE_NODE,
                         door=FAIL_SAFE_DOOR) as rig:
        assert not rig.unlocked
        rig.pin("fire_input").drive_high()  # the fire panel opens its contact
        assert rig.unlocked
        rig.open_door()  # people leave: not forced
        rig.pin("fire_input").drive_low()
        assert not rig.unlocked
        wait_until(lambda: listener.of("fire_cleared"), timeout=5)
    assert "door_forced" not in listener.kinds()
    assert "released" in listener.of("fire_release")[0].reason


def test_fire_alarm_on_a_fail_secure_door_is_reported_without_releasing(inventory, mqtt_settings, keys, tmp_path,
                                                                        listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {}) as rig:
        rig.pin("fire_input").drive_high()
        wait_until(lambda: listener.of("fire_release"), timeout=5)
        assert not rig.unlocked
    assert "mechanical egress" in listener.of("fire_release")[0].reason


def test_signed_commands_are_applied_and_forged_or_expired_ones_rejected(inventory, mqtt_settings, keys, tmp_path,
                                                                        listener):
    from station.mqtt import MqttBus
    api = MqttBus("api-commands", mqtt_settings).start()
    topic = topics.door_command("la-station", DOOR)
    try:
        with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member",
                                                                        str(STAFF): "staff"}) as rig:
            api.publish(topic, keys.command(DOOR, "release", ident="cmd-release"))
            wait_until(lambda: rig.unlocked, timeout=5)
            api.publish(topic, keys.command(DOOR, "lockdown", ident="cmd-lockdown"))
            wait_until(lambda: not rig.unlocked, timeout=5)
            rig.badge(MEMBER)
            wait_until(lambda: listener.of("access_denied"), timeout=5)
            assert listener.of("access_denied")[-1].reason == "door in lockdown"
            rig.badge(STAFF)
            wait_until(lambda: rig.unlocked, timeout=5)
            forged = keys.command(DOOR, "release", ident="cmd-forged").model_copy(update={"issued_by": "mallory"})
            api.publish(topic, forged)
            expired = keys.command(DOOR, "unlock_once", ident="cmd-expired", expires_in=timedelta(seconds=-1))
            api.publish(topic, expired)
            api.publish(topic, b"{not json")
            wait_until(lambda: len(listener.of("command_rejected")) == 3, timeout=5)
    finally:
        api.stop()
    reasons = [e.reason for e in listener.of("command_rejected")]
    assert reasons[0] == "signature does not verify" and reasons[1] == "command expired"
    assert reasons[2].startswith("malformed command")
    assert [e.reason for e in listener.of("command_applied")] == ["release by staff:alice", "lockdown by staff:alice"]


def test_status_carries_grant_versions_and_a_malformed_list_is_reported(inventory, mqtt_settings, keys, tmp_path,
                                                                       listener):
    from station.contract import NodeStatus
    from station.mqtt import MqttBus
    statuses: list[NodeStatus] = []
    watcher = MqttBus("watch-door-status", mqtt_settings)
    watcher.subscribe(topics.node_status("la-station", "ls-porte-salle-aiguillage"),
                      lambda t, p: statuses.append(NodeStatus.model_validate_json(p)))
    watcher.start()
    try:
        with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}) as rig:
            wait_until(lambda: statuses and statuses[-1].grant_versions == {DOOR: 1}, timeout=5)
            assert statuses[-1].state.value == "online" and statuses[-1].outbox_depth is not None
            api = MqttBus("api-garbage", mqtt_settings).start()
            api.publish(topics.door_grants("la-station", DOOR), b'{"v": 1, "door": 42}', retain=False)
            api.stop()
            wait_until(lambda: listener.of("grants_rejected"), timeout=5)
            rig.badge(MEMBER)  # the cached list still works
            wait_until(lambda: rig.unlocked, timeout=5)
            assert rig.node.counters.rejected_messages == {"invalid_payload": 1}
    finally:
        watcher.stop()
    assert listener.of("grants_rejected")[0].reason.startswith("malformed grant list")
    assert statuses[-1].state.value == "offline"


def test_a_replayed_command_is_refused_even_after_the_node_restarts(inventory, mqtt_settings, keys, tmp_path,
                                                                    listener):
    """The attack from the field: a captured, signed, unexpired `release` sent again later."""
    from station.mqtt import MqttBus

    api = MqttBus("api-replay", mqtt_settings).start()
    topic = topics.door_command("la-station", DOOR)
    release, normal = keys.command(DOOR, "release"), keys.command(DOOR, "normal")
    assert normal.seq > release.seq
    try:
        with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}) as rig:
            api.publish(topic, release)
            wait_until(lambda: rig.unlocked, timeout=5)
            api.publish(topic, normal)  # staff end the release
            wait_until(lambda: not rig.unlocked, timeout=5)
            api.publish(topic, release)  # replayed at once: refused, the door stays locked
            wait_until(lambda: len(listener.of("command_rejected")) == 1, timeout=5)
            assert not rig.unlocked
        with DoorRig(inventory, mqtt_settings, keys, tmp_path / "node") as rig:  # a reboot, same SD card
            api.publish(topic, release)
            wait_until(lambda: len(listener.of("command_rejected")) == 2, timeout=5)
            assert not rig.unlocked and rig.controller.mode.value == "normal"
    finally:
        api.stop()
    rejected = listener.of("command_rejected")
    assert all(e.command == release.id and "is not newer than the last applied" in e.reason for e in rejected)
    assert [e.command for e in listener.of("command_applied")] == [release.id, normal.id]


def test_a_lockdown_survives_a_power_cut_of_the_node(inventory, mqtt_settings, keys, tmp_path, listener):
    """Pulling a node's plug must not lift a lockdown staff put on its door."""
    from station.mqtt import MqttBus

    api = MqttBus("api-lockdown", mqtt_settings).start()
    try:
        with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member",
                                                                        str(STAFF): "staff"}):
            api.publish(topics.door_command("la-station", DOOR), keys.command(DOOR, "lockdown"))
            wait_until(lambda: listener.of("command_applied"), timeout=5)
        with DoorRig(inventory, mqtt_settings, keys, tmp_path / "node") as rig:
            assert rig.controller.mode.value == "lockdown"
            rig.badge(MEMBER)
            wait_until(lambda: listener.of("access_denied"), timeout=5)
            assert listener.of("access_denied")[-1].reason == "door in lockdown"
            rig.badge(STAFF)
            wait_until(lambda: rig.unlocked, timeout=5)
    finally:
        api.stop()
