"""Hardware profiles: which device sits on which GPIO of a node (hardware/profiles/*.yaml).

Validation rejects a pin used twice, a pin that is not a GPIO of the 40-pin header, and
a pin claimed by a bus (UART, I2C, SPI) that the profile turns on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from station.yamlfile import load

PROFILE_DIR = Path(__file__).resolve().parents[1] / "hardware" / "profiles"
HEADER_GPIOS = frozenset(range(0, 28))  # BCM 0–27 are on the 40-pin header
RESERVED = {  # BCM pins of each bus
    "uart": {14, 15},
    "i2c1": {2, 3},
    "spi0": {7, 8, 9, 10, 11},
    "i2c0_eeprom": {0, 1},  # HAT ID EEPROM: never for general use
}
DOOR_PINS = ("wiegand_d0", "wiegand_d1", "strike_relay", "door_contact", "exit_button",
             "fire_input", "tamper", "led_green", "led_red", "buzzer")
ROOM_PINS = ("pir", "status_led")
MACHINE_PINS = ("wiegand_d0", "wiegand_d1", "power_relay", "estop", "extraction", "running", "led_green", "led_red",
                "buzzer")
PINS = {"door_node": DOOR_PINS, "room_node": ROOM_PINS, "machine_node": MACHINE_PINS}


class HardwareProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str = Field(pattern=r"^(door_node|room_node|machine_node)$")
    pins: dict[str, int]
    buses: dict[str, bool] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_pins(self) -> "HardwareProfile":
        expected = PINS[self.profile]
        missing = [p for p in expected if p not in self.pins]
        if missing:
            raise ValueError(f"{self.profile} needs pins {', '.join(missing)}")
        unknown = sorted(set(self.pins) - set(expected))
        if unknown:
            raise ValueError(f"unknown pin name(s) for a {self.profile}: {', '.join(unknown)}")
        for bus in self.buses:
            if bus not in RESERVED:
                raise ValueError(f"unknown bus {bus!r} (known: uart, i2c1, spi0)")
        formats = self.options.get("wiegand_formats", [26, 34])
        if not isinstance(formats, list) or not formats or any(f not in (26, 34) for f in formats):
            raise ValueError("options.wiegand_formats must be a list of 26 and/or 34")
        gap = self.options.get("wiegand_frame_gap_s", 0.010)
        if not isinstance(gap, (int, float)) or not 0.002 <= gap <= 0.5:
            raise ValueError("options.wiegand_frame_gap_s must be between 0.002 and 0.5 s")
        used: dict[int, str] = {}
        active = {b for b, on in self.buses.items() if on} | {"i2c0_eeprom"}
        for name, pin in self.pins.items():
            if pin not in HEADER_GPIOS:
                raise ValueError(f"pin {name}: GPIO{pin} is not on the 40-pin header (BCM 0–27)")
            if pin in used:
                raise ValueError(f"pin {name}: GPIO{pin} is already used by {used[pin]}")
            for bus in active:
                if pin in RESERVED[bus]:
                    raise ValueError(f"pin {name}: GPIO{pin} is reserved for {bus}")
            used[pin] = name
        return self


def load_profile(name_or_path: str | Path) -> HardwareProfile:
    """Load a profile by name (``door_node``) or by path; ConfigError names file:line: field."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    return load(path, HardwareProfile)
