"""A door node on mock pins against a real broker, with the hands of a person at the door."""

from __future__ import annotations

import time
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.access import AccessSettings
from edge.devices.wiegand import encode_frame, send_frame
from edge.node import EdgeNode
from station.clock import Clock

DOOR_NODE = "ls-porte-salle-aiguillage"  # fail-secure strike
DOOR = "porte-salle-aiguillage"
FAIL_SAFE_NODE = "ls-porte-coworking-quai"  # fail-safe maglock
FAIL_SAFE_DOOR = "porte-coworking-quai"


class DoorRig:
    """Start a door node, close its door and settle its fire and tamper contacts."""

    def __init__(self, inventory, settings, keys, data_dir: Path, *, node_id: str = DOOR_NODE,
                 clock: Clock | None = None, access: AccessSettings | None = None, wait: float | None = 10.0):
        self.factory = MockFactory()
        from edge.profiles import load_profile
        profile = load_profile(inventory.node(node_id)[1].profile.value)
        # Door-logic tests: a generous frame gap, so a loaded CI machine cannot split a frame
        # (the timing itself is tested in test_wiegand.py and measured in the bench).
        profile = profile.model_copy(update={"options": {**profile.options, "wiegand_frame_gap_s": 0.03}})
        self.node = EdgeNode(inventory, node_id, settings, pin_factory=self.factory, clock=clock, profile=profile,
                             data_dir=data_dir, keys=keys.site if keys else None, access=access)
        self.pins = self.node.profile.pins
        self.wait = wait
        self.started = False

    def start(self) -> "DoorRig":
        if self.started:
            return self
        self.started = True
        self.node.start(wait=self.wait)
        for name in ("door_contact", "fire_input", "tamper"):
            self.pin(name).drive_low()  # door closed, no fire, lid on
        return self

    def pin(self, name: str):
        return self.factory.pin(self.pins[name])

    @property
    def controller(self):
        return next(iter(self.node.controllers.values()))

    def badge(self, card: int, bits: int = 26) -> None:
        # Door-logic tests send the bits back to back (the reader path is the real one, from
        # the pin edges on); the Wiegand timing itself is tested in test_wiegand.py.
        send_frame(self.factory, self.pins["wiegand_d0"], self.pins["wiegand_d1"], encode_frame(card, bits),
                   pulse_s=0, interval_s=0)
        time.sleep(0.06)  # the reader closes the frame after 30 ms of silence here; nobody badges faster

    def open_door(self) -> None:
        self.pin("door_contact").drive_high()

    def close_door(self) -> None:
        self.pin("door_contact").drive_low()

    def press_exit(self) -> None:
        self.pin("exit_button").drive_low()
        self.pin("exit_button").drive_high()

    @property
    def unlocked(self) -> bool:
        return self.node.strike.is_unlocked

    def stop(self) -> None:
        self.node.stop()

    def __enter__(self) -> "DoorRig":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
