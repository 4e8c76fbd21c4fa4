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
