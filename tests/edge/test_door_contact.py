"""The door contact under attack and wear: a reed switch that chatters, a door held or
forced open while the strike is released, a release while the door stands open."""

import time

import pytest

from edge.access import AccessSettings
from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet
from tests.edge.rig import DOOR
from tests.edge.test_door_access import rig_with_grants

pytestmark = pytest.mark.mosquitto
MEMBER = 1001


@pytest.fixture()
def keys(tmp_path):
    return KeySet(tmp_path / "keys")


@pytest.fixture()
def listener(mqtt_settings):
    with EventListener(mqtt_settings, "listener-contact") as listener:
        yield listener


def chatter(rig, times=3, every_s=0.03):
    """A reed switch at the edge of its gap as the leaf moves: slower than the 20 ms debounce."""
    for _ in range(times):
        rig.open_door()
        time.sleep(every_s)
        rig.close_door()
        time.sleep(every_s)
    rig.open_door()


def test_a_chattering_contact_on_a_granted_passage_is_no_forced_door(inventory, mqtt_settings, keys, tmp_path,
                                                                      listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}) as rig:
        rig.badge(MEMBER)
        wait_until(lambda: rig.unlocked, timeout=2)
        chatter(rig)
        time.sleep(0.2)
        rig.close_door()
        assert not rig.unlocked  # relocked at the first close, as before
        wait_until(lambda: listener.kinds().count("door_closed") >= 5, timeout=5)
        time.sleep(0.6)  # past the settling time: an opening now is forced
        rig.open_door()
        wait_until(lambda: listener.of("door_forced"), timeout=5)
    assert len(listener.of("door_forced")) == 1
    again = [e for e in listener.of("door_opened") if e.reason]
    assert len(again) == 3 and all("within" in e.reason for e in again)  # said, not hidden


def test_a_door_forced_open_while_locked_is_forced_even_when_it_chatters(inventory, mqtt_settings, keys, tmp_path,
                                                                         listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}) as rig:
        chatter(rig)
        wait_until(lambda: listener.of("door_forced"), timeout=5)
        assert not rig.unlocked
    assert len(listener.of("door_forced")) == 4  # never granted: every opening is forced


def test_a_released_door_opened_and_held_is_neither_forced_nor_held_open(inventory, mqtt_settings, keys, tmp_path,
                                                                         listener):
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {}) as rig:
        assert rig.controller.apply_command(keys.command(DOOR, "release"))
        rig.open_door()
        time.sleep(0.1)
        assert rig.unlocked and rig.controller.is_open
        assert rig.controller.apply_command(keys.command(DOOR, "normal"))  # normal while the door stands open
        assert not rig.unlocked
        rig.close_door()
        wait_until(lambda: "door_closed" in listener.kinds()[-1:], timeout=5)
    kinds = listener.kinds()
    assert "door_forced" not in kinds and "door_held_open" not in kinds


def test_a_release_while_the_door_stands_open_holds_past_the_close(inventory, mqtt_settings, keys, tmp_path,
                                                                   listener):
    access = AccessSettings(unlock_s=0.3)
    with rig_with_grants(inventory, mqtt_settings, keys, tmp_path, {str(MEMBER): "member"}, access=access) as rig:
        rig.badge(MEMBER)
        rig.open_door()
        assert rig.controller.apply_command(keys.command(DOOR, "release"))
        time.sleep(0.5)  # past the badge's unlock time
        rig.close_door()
        assert rig.unlocked  # released until normal: neither the close nor the badge's timer relocked it
        rig.open_door()
        rig.close_door()
        wait_until(lambda: listener.kinds().count("door_closed") >= 3, timeout=5)
    assert "door_forced" not in listener.kinds()
