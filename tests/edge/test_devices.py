"""Edge devices on gpiozero's MockFactory, and hardware profile validation."""

import pytest
from gpiozero.pins.mock import MockFactory

from edge.devices import DoorContact, MotionDetector
from edge.profiles import load_profile
from station.yamlfile import ConfigError


def test_door_contact_reports_open_and_closed():
    factory = MockFactory()
    events = []
    with DoorContact(27, bounce_time=None, pin_factory=factory) as door:
        pin = factory.pin(27)
        pin.drive_low()  # contact closed
        assert not door.is_open
        door.when_opened = lambda: events.append("opened")
        door.when_closed = lambda: events.append("closed")
        pin.drive_high()
        assert door.is_open
        pin.drive_low()
    assert events == ["opened", "closed"]


def test_motion_detector_reports_motion():
    factory = MockFactory()
    seen = []
    with MotionDetector(4, pin_factory=factory) as pir:
        pir.when_motion = lambda: seen.append(True)
        factory.pin(4).drive_high()
        assert pir.motion_detected
    assert seen == [True]


def test_shipped_profiles_are_valid():
    assert load_profile("door_node").pins["strike_relay"] == 17
    assert load_profile("room_node").buses["uart"] is True


@pytest.mark.parametrize("change,reason", [
    ("  buzzer: 26 ", "GPIO5 is already used by wiegand_d0"),
    ("  buzzer: 31 ", "GPIO31 is not on the 40-pin header"),
])
def test_profile_rejects_bad_pins(tmp_path, change, reason):
    source = load_profile.__globals__["PROFILE_DIR"] / "door_node.yaml"
    text = source.read_text().replace("  buzzer: 26 ", change.replace("26", "5") if "26" in change else change)
    path = tmp_path / "door.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason):
        load_profile(path)


def test_profile_rejects_a_pin_reserved_for_a_bus_in_use(tmp_path):
    source = load_profile.__globals__["PROFILE_DIR"] / "room_node.yaml"
    path = tmp_path / "room.yaml"
    path.write_text(source.read_text().replace("pir: 4 ", "pir: 14 "))
    with pytest.raises(ConfigError, match=r"room.yaml:\d+: .*GPIO14 is reserved for uart"):
        load_profile(path)


# --------------------------------------------------------------------------- door hardware
from edge.devices.indicators import DoorIndicators  # noqa: E402
from edge.devices.inputs import ExitButton, FireInput  # noqa: E402
from edge.devices.strike import DoorStrike  # noqa: E402
from station.clock import AcceleratedClock  # noqa: E402
from tests.conftest import wait_until  # noqa: E402


@pytest.mark.parametrize("lock,active_high,locked_level,unlocked_level", [
    ("fail_secure", True, False, True),   # strike powered to unlock
    ("fail_safe", True, True, False),     # maglock powered to hold
    ("fail_secure", False, True, False),  # active-low relay module
])
def test_strike_relay_levels_follow_lock_type_and_relay_polarity(lock, active_high, locked_level, unlocked_level):
    factory = MockFactory()
    with DoorStrike(17, lock=lock, active_high=active_high, pin_factory=factory) as strike:
        pin = factory.pin(17)
        assert pin.state == locked_level and not strike.is_unlocked
        strike.unlock(5)
        assert pin.state == unlocked_level and strike.is_unlocked
        strike.lock()
        assert pin.state == locked_level


def test_strike_never_stays_unlocked_longer_than_its_maximum():
    from datetime import datetime, timezone
    clock = AcceleratedClock(datetime.now(timezone.utc), speed=100)
    factory = MockFactory()
    with DoorStrike(17, max_unlock_s=5, clock=clock, pin_factory=factory) as strike:
        assert strike.unlock(3600) == 5
        wait_until(lambda: not strike.is_unlocked, timeout=1)  # 5 s of the clock = 50 ms
        factory.pin(17).assert_states([False, True, False])


def test_strike_release_holds_until_locked():
    factory = MockFactory()
    with DoorStrike(17, max_unlock_s=0.05, pin_factory=factory) as strike:
        strike.release()
        import time
        time.sleep(0.1)
        assert strike.is_unlocked and strike.released
        strike.lock()
        assert not strike.is_unlocked


def test_exit_button_and_fire_contact_report_their_events():
    factory = MockFactory()
    seen = []
    with ExitButton(22, bounce_time=None, pin_factory=factory) as button, \
            FireInput(23, bounce_time=None, pin_factory=factory) as fire:
        factory.pin(23).drive_low()  # the panel's contact closed: normal
        button.when_pressed = lambda: seen.append("exit")
        fire.when_alarm = lambda: seen.append("fire")
        fire.when_cleared = lambda: seen.append("cleared")
        factory.pin(22).drive_low()
        factory.pin(23).drive_high()
        assert fire.in_alarm
        factory.pin(23).drive_low()
    assert seen == ["exit", "fire", "cleared"]


def test_indicator_patterns_are_distinct():
    factory = MockFactory()
    with DoorIndicators(25, 16, 26, pin_factory=factory) as ui:
        ui.granted(0.2)
        wait_until(lambda: any(s.state for s in factory.pin(25).states), timeout=5)
        wait_until(lambda: len(factory.pin(26).states) >= 3, timeout=5)  # the beep went on and off
        assert not factory.pin(16).state
        ui.denied()
        wait_until(lambda: len(factory.pin(16).states) >= 6, timeout=5)  # red: three blinks
        assert not factory.pin(25).state
        ui.offline(True)
        assert ui.pattern == "offline"
        ui.offline(False)
        assert ui.pattern == "idle" and not factory.pin(16).state
    assert sum(1 for s in factory.pin(26).states if s.state) == 4  # one beep granted, three denied


@pytest.mark.parametrize("option,reason", [
    ("  wiegand_formats: [26, 37]", "wiegand_formats must be a list of 26 and/or 34"),
    ("  wiegand_frame_gap_s: 2", "wiegand_frame_gap_s must be between"),
])
def test_profile_rejects_bad_wiegand_options(tmp_path, option, reason):
    source = load_profile.__globals__["PROFILE_DIR"] / "door_node.yaml"
    lines = [line for line in source.read_text().splitlines() if not line.startswith(option.split(":")[0])]
    path = tmp_path / "door.yaml"
    path.write_text("\n".join(lines + [option]) + "\n")
    with pytest.raises(ConfigError, match=reason):
        load_profile(path)
