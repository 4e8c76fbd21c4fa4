"""No event lost and the door keeps working when the broker goes away (real Mosquitto)."""

import threading
import time

import pytest

from station.contract import topics
from station.mqtt import MqttBus
from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet
from tests.edge.rig import DOOR, DOOR_NODE, DoorRig

pytestmark = pytest.mark.mosquitto
OUTAGE_S = 30


@pytest.fixture()
def persistent_broker(broker):
    """The private broker of tests/conftest.py, whose persistence works as root too: a
    restart keeps queued messages (see station.broker.dev.DevBroker)."""
    yield broker
    assert "Permission denied" not in broker.log_path.read_text(), "the broker could not save its database"


@pytest.fixture()
def keys(tmp_path):
    return KeySet(tmp_path / "keys")


def durable_listener(settings, name):
    """A subscriber with a persistent session: the broker queues for it while it is away."""
    listener = EventListener(settings, name)
    listener.bus = MqttBus(name, settings, clean_start=False, session_expiry_s=3600)
    listener.bus.client.reconnect_delay_set(min_delay=1, max_delay=2)  # back soon after the broker
    listener.bus.subscribe(topics.subscription("nodes", "events"), listener._on_event)
    return listener


def settings_of(broker):
    from station.mqtt import MqttSettings
    return MqttSettings(host=broker.host, port=broker.port)


def test_broker_down_30_s_every_event_arrives_once_in_order(inventory, persistent_broker, keys, tmp_path):
    broker = persistent_broker
    settings = settings_of(broker)
    with durable_listener(settings, "listener-outage") as listener, \
            DoorRig(inventory, settings, keys, tmp_path / "node") as rig:
        stop = threading.Event()

        def people_at_the_door():
            while not stop.is_set():
                rig.open_door()
                rig.close_door()
                stop.wait(0.25)

        walker = threading.Thread(target=people_at_the_door)
        walker.start()
        time.sleep(1.0)
        broker.stop()
        time.sleep(OUTAGE_S)
        depth_during_outage = rig.node.outbox.depth
        broker.start()
        time.sleep(1.0)
        stop.set()
        walker.join()
        last = rig.node.outbox.last_seq
        wait_until(lambda: rig.node.outbox.depth == 0, timeout=30)
        try:
            wait_until(lambda: len(listener.unique()) >= last, timeout=15)
        except AssertionError:
            got = {e.seq for e in listener.unique()}
            missing = sorted(set(range(1, last + 1)) - got)
            raise AssertionError(f"missing {len(missing)} of {last}: {missing[:20]}...{missing[-5:]}; "
                                 f"listener connected={listener.bus.connected.is_set()}") from None
    events = listener.unique()
    assert depth_during_outage > 100  # the outage really held events back
    assert [e.seq for e in events] == list(range(1, last + 1))  # every one, in order
    assert len({e.id for e in events}) == len(events)
    assert {e.node for e in events} == {DOOR_NODE}


def publish(settings, message, topic):
    bus = MqttBus("api-grants", settings).start()
    bus.publish(topic, message, retain=True).wait_for_publish(2)
    bus.stop()


def test_with_the_broker_down_cached_grants_still_decide(inventory, broker, keys, tmp_path):
    settings = settings_of(broker)
    member, revoked, intruder = 1001, 1002, 6666
    topic = topics.door_grants("la-station", DOOR)
    with durable_listener(settings, "listener-offline") as listener:
        rig = DoorRig(inventory, settings, keys, tmp_path / "node").start()
        publish(settings, keys.grants(DOOR, 1, {str(member): "member", str(revoked): "member"}), topic)
        wait_until(lambda: rig.node.grants.versions() == {DOOR: 1}, timeout=5)
        publish(settings, keys.grants(DOOR, 2, {str(member): "member"}), topic)  # revocation
        wait_until(lambda: rig.node.grants.versions() == {DOOR: 2}, timeout=5)
        tampered = keys.grants(DOOR, 3, {str(member): "member"})
        tampered = tampered.model_copy(update={"entries": tampered.entries + [
            tampered.entries[0].model_copy(update={"credential_hash": keys.credential(intruder)})]})
        publish(settings, tampered, topic)
        wait_until(lambda: listener.of("grants_rejected"), timeout=5)
        assert rig.node.grants.versions() == {DOOR: 2}

        broker.stop()
        wait_until(lambda: not rig.node.bus.connected.is_set(), timeout=5)
        rig.badge(member)
        assert rig.unlocked
        rig.node.strike.lock()
        rig.badge(revoked)
        rig.badge(intruder)
        assert not rig.unlocked
        wait_until(lambda: rig.node.indicators.pattern == "offline", timeout=3)
        rig.stop()
        # a power cut and a reboot with the broker still down: the list is read back from disk
        rebooted = DoorRig(inventory, settings, keys, tmp_path / "node", wait=None).start()
        assert rebooted.node.grants.versions() == {DOOR: 2}
        rebooted.badge(member)
        assert rebooted.unlocked
        broker.start()
        wait_until(lambda: rebooted.node.outbox.depth == 0, timeout=20)
        wait_until(lambda: len(listener.of("access_granted")) == 2, timeout=10)
        rebooted.stop()
    assert "signature does not verify" in listener.of("grants_rejected")[0].reason
    denied = {e.credential_hash: e.reason for e in listener.of("access_denied")}
    assert denied == {keys.credential(revoked): "unknown badge", keys.credential(intruder): "unknown badge"}
