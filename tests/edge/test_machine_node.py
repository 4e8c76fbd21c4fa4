"""A machine node on mock pins with a real broker: training-gated power, idle and safety cuts, offline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet
from tests.edge.machine_rig import LASER, MachineRig, machine_grants, publish_machine_grants
from tests.utils.clocks import ManualClock

pytestmark = pytest.mark.mosquitto
TRAINED, OTHER, UNTRAINED = 1001, 1002, 6666


@pytest.fixture()
def keys(tmp_path):
    return KeySet(tmp_path / "keys")


@pytest.fixture()
def clock():
    return ManualClock()


@pytest.fixture()
def listener(mqtt_settings):
    with EventListener(mqtt_settings, "listener-machines") as listener:
        yield listener


def started(inventory, settings, keys, tmp_path, clock, grants) -> MachineRig:
    publish_machine_grants(settings, grants)
    rig = MachineRig(inventory, settings, keys, tmp_path / "node", clock=clock).start()
    wait_until(lambda: rig.node.grants.versions().get(LASER) == grants.version, timeout=5)
    return rig


def test_untrained_member_is_refused_and_the_relay_stays_low(inventory, mqtt_settings, keys, tmp_path, clock,
                                                              listener):
    grants = machine_grants(keys, clock.now(), trained=[TRAINED])
    with started(inventory, mqtt_settings, keys, tmp_path, clock, grants) as rig:
        rig.badge(UNTRAINED)
        wait_until(lambda: listener.of("machine_denied"), timeout=5)
        assert not rig.relay_on and rig.node.indicators.pattern == "denied"
    denied = listener.of("machine_denied")[0]
    assert denied.machine == LASER and denied.space == "fablab-numerique"
    assert denied.credential_hash == keys.credential(UNTRAINED) and denied.reason == "not trained on this machine"
    assert "machine_on" not in listener.kinds()


def test_trained_member_powers_a_free_machine_and_badges_it_off(inventory, mqtt_settings, keys, tmp_path, clock,
                                                                listener):
    grants = machine_grants(keys, clock.now(), trained=[TRAINED])
    with started(inventory, mqtt_settings, keys, tmp_path, clock, grants) as rig:
        rig.amps = 4.0  # cutting
        rig.badge(TRAINED)
        assert rig.relay_on and rig.node.indicators.pattern == "powered"
        clock.advance(minutes=25)
        rig.badge(OTHER)  # someone else cannot switch it off, nor take it over
        assert rig.relay_on
        rig.badge(TRAINED)
        assert not rig.relay_on
        wait_until(lambda: listener.of("machine_off"), timeout=5)
    on, off = listener.of("machine_on")[0], listener.of("machine_off")[0]
    assert on.reason.startswith("free to use") and on.credential_hash == keys.credential(TRAINED)
    assert off.reason == "badge" and off.duration_s == pytest.approx(25 * 60)
    assert listener.of("machine_denied")[0].reason == "in use by another member"


def test_a_machine_booked_by_someone_else_is_refused_and_the_booker_admitted(inventory, mqtt_settings, keys, tmp_path,
                                                                             clock, listener):
    now = clock.now()
    grants = machine_grants(keys, now, trained=[TRAINED, OTHER], booked=[(OTHER, now - timedelta(minutes=5),
                                                                         now + timedelta(hours=1))])
    with started(inventory, mqtt_settings, keys, tmp_path, clock, grants) as rig:
        rig.badge(TRAINED)
        assert not rig.relay_on
        rig.badge(OTHER)
        assert rig.relay_on
        wait_until(lambda: listener.of("machine_on"), timeout=5)
    assert listener.of("machine_denied")[0].reason == "booked by someone else"
    assert listener.of("machine_on")[0].reason.startswith("booked")


def test_idle_machine_warns_first_then_is_cut_after_the_grace(inventory, mqtt_settings, keys, tmp_path, clock,
                                                              listener):
    _, laser = inventory.machine(LASER)
    grants = machine_grants(keys, clock.now(), trained=[TRAINED])
    with started(inventory, mqtt_settings, keys, tmp_path, clock, grants) as rig:
        rig.amps = 5.0
        rig.badge(TRAINED)
        clock.advance(minutes=laser.idle.after_min + 5)  # busy all along: no warning
        wait_until(lambda: rig.controller._active_at == clock.now(), timeout=2)
        assert rig.controller.warning is None
        rig.amps = 0.05  # job done, the tube idles
        clock.advance(minutes=laser.idle.after_min)
        wait_until(lambda: rig.controller.warning is not None, timeout=2)
        assert rig.relay_on and rig.node.indicators.pattern == "warning"
        rig.amps = 5.0  # someone starts a new job within the grace: the warning goes
        wait_until(lambda: rig.controller.warning is None, timeout=2)
        rig.amps = 0.05
        clock.advance(minutes=laser.idle.after_min)
        wait_until(lambda: rig.controller.warning is not None, timeout=2)
        clock.advance(seconds=laser.idle.grace_s - 5)
        assert rig.relay_on  # still within the grace
        clock.advance(seconds=6)
        wait_until(lambda: not rig.relay_on, timeout=2)
        wait_until(lambda: listener.of("machine_off"), timeout=5)
    off = listener.of("machine_off")[0]
    assert off.reason == "idle"
    assert off.duration_s == pytest.approx((laser.idle.after_min * 3 + 5) * 60 + laser.idle.grace_s + 1, abs=1)


def test_booking_end_warns_then_cuts(inventory, mqtt_settings, keys, tmp_path, clock, listener):
    now = clock.now()
    _, laser = inventory.machine(LASER)
    grants = machine_grants(keys, now, trained=[OTHER], booked=[(OTHER, now, now + timedelta(minutes=30))],
                            free=False)
    with started(inventory, mqtt_settings, keys, tmp_path, clock, grants) as rig:
        rig.amps = 5.0
        rig.badge(OTHER)
        clock.advance(minutes=30, seconds=-laser.idle.grace_s + 1)
        wait_until(lambda: rig.controller.warning is not None, timeout=2)
        assert rig.controller.warning[0] == "session_end" and rig.relay_on
        clock.advance(seconds=laser.idle.grace_s)
        wait_until(lambda: not rig.relay_on, timeout=2)
        wait_until(lambda: listener.of("machine_off"), timeout=5)
    assert listener.of("machine_off")[0].reason == "session_end"


def test_emergency_stop_cuts_at_once_and_is_reported(inventory, mqtt_settings, keys, tmp_path, clock, listener):
    grants = machine_grants(keys, clock.now(), trained=[TRAINED])
    with started(inventory, mqtt_settings, keys, tmp_path, clock, grants) as rig:
        rig.amps = 5.0
        rig.badge(TRAINED)
        assert rig.relay_on
        rig.pin("estop").drive_high()  # the chain opens
        assert not rig.relay_on  # in the pin's own callback: no tick, no grace
        assert rig.node.indicators.pattern == "fault"
        rig.badge(TRAINED)
        assert not rig.relay_on  # refused while the E-stop is pressed
        rig.pin("estop").drive_low()
        rig.pin("extraction").drive_high()  # extraction off: refused too
        rig.badge(TRAINED)
        assert not rig.relay_on
        wait_until(lambda: len(listener.of("machine_denied")) == 2, timeout=5)
    assert listener.of("machine_fault")[0].reason == "emergency stop pressed; power cut"
    assert listener.of("machine_off")[0].reason == "estop"
    assert [e.reason for e in listener.of("machine_denied")] == ["emergency stop pressed", "extraction not running"]
    assert listener.of("machine_fault")[1].reason == "extraction not running"


def test_out_of_order_list_refuses_and_warns_a_running_session(inventory, mqtt_settings, keys, tmp_path, clock,
                                                               listener):
    grants = machine_grants(keys, clock.now(), trained=[TRAINED])
    with started(inventory, mqtt_settings, keys, tmp_path, clock, grants) as rig:
        rig.amps = 5.0
        rig.badge(TRAINED)
        broken = machine_grants(keys, clock.now(), trained=[TRAINED], out_of_order=True, version=grants.version + 1)
        publish_machine_grants(mqtt_settings, broken)
        wait_until(lambda: rig.controller.warning is not None, timeout=5)
        assert rig.controller.warning[0] == "out_of_order" and rig.relay_on
        clock.advance(minutes=5)
        wait_until(lambda: not rig.relay_on, timeout=2)
        rig.badge(TRAINED)
        assert not rig.relay_on
        wait_until(lambda: listener.of("machine_denied"), timeout=5)
    assert listener.of("machine_off")[0].reason == "out_of_order"
    assert listener.of("machine_denied")[0].reason == "out of order"


def test_offline_the_cached_list_still_decides_and_events_wait_in_the_outbox(inventory, broker, keys, tmp_path,
                                                                            clock):
    from station.mqtt import MqttSettings

    settings = MqttSettings(host=broker.host, port=broker.port)
    grants = machine_grants(keys, clock.now(), trained=[TRAINED])
    rig = started(inventory, settings, keys, tmp_path, clock, grants)
    try:
        broker.stop()
        wait_until(lambda: not rig.node.bus.connected.is_set(), timeout=5)
        rig.badge(UNTRAINED)
        rig.badge(TRAINED)
        assert rig.relay_on
        clock.advance(minutes=12)
        rig.badge(TRAINED)
        assert not rig.relay_on
        assert rig.node.outbox.count("event") >= 3
        broker.start()
        with EventListener(settings, "listener-offline") as listener:
            wait_until(lambda: len(listener.of("machine_off")) == 1, timeout=15)
            assert [k for k in listener.kinds() if k.startswith("machine")] == ["machine_denied", "machine_on",
                                                                                "machine_off"]
            assert listener.of("machine_off")[0].duration_s == pytest.approx(12 * 60)
    finally:
        rig.stop()
    # and after a restart, the list comes from the disk (verified again) with no broker at all
    broker.stop()
    again = MachineRig(inventory, settings, keys, tmp_path / "node", clock=clock, wait=None).start()
    try:
        assert again.node.grants.versions() == {LASER: grants.version}
        again.badge(TRAINED)
        assert again.relay_on
    finally:
        again.stop()


def test_a_session_cut_by_a_power_loss_is_reported_at_the_next_start(inventory, mqtt_settings, keys, tmp_path,
                                                                      clock, listener):
    grants = machine_grants(keys, clock.now(), trained=[TRAINED])
    rig = started(inventory, mqtt_settings, keys, tmp_path, clock, grants)
    rig.amps = 4.0
    rig.badge(TRAINED)
    clock.advance(minutes=7)
    wait_until(lambda: rig.controller._noted_at == clock.now(), timeout=2)  # noted on disk each minute
    noted = (tmp_path / "node" / "machine-session.json").read_bytes()
    rig.stop()  # (a clean stop reports node_stop; the power cut below leaves the file behind)
    (tmp_path / "node" / "machine-session.json").write_bytes(noted)
    clock.advance(minutes=30)  # the power comes back later
    again = MachineRig(inventory, mqtt_settings, keys, tmp_path / "node", clock=clock).start()
    try:
        assert not again.relay_on  # never back on by itself
        wait_until(lambda: [e for e in listener.of("machine_off") if e.reason == "node_restart"], timeout=5)
    finally:
        again.stop()
    lost = next(e for e in listener.of("machine_off") if e.reason == "node_restart")
    assert lost.duration_s == pytest.approx(7 * 60) and lost.credential_hash == keys.credential(TRAINED)
    assert not (tmp_path / "node" / "machine-session.json").exists()
