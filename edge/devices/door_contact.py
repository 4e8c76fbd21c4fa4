"""Door contact (reed switch).

Wiring: reed switch between the GPIO and GND; the internal pull-up holds the pin high
while the contact is open. A closed door closes the contact, so the pin reads low.
Use a surface-mount reed switch on the frame and its magnet on the leaf, gap < 10 mm.

    >>> from gpiozero.pins.mock import MockFactory
    >>> with DoorContact(27, pin_factory=MockFactory()) as door:
    ...     door.when_opened = lambda: print("opened")
"""

from __future__ import annotations

from gpiozero import DigitalInputDevice


class DoorContact(DigitalInputDevice):
    """A debounced reed switch: ``is_open``, ``when_opened``, ``when_closed``."""

    def __init__(self, pin, *, bounce_time: float | None = 0.02, pin_factory=None):
        # With the pull-up, gpiozero calls the pin "active" when it is low: contact closed,
        # door closed. A cut wire reads as an open door, which is the safe reading.
        super().__init__(pin, pull_up=True, bounce_time=bounce_time, pin_factory=pin_factory)

    @property
    def is_open(self) -> bool:
        return not self.is_active

    when_opened = DigitalInputDevice.when_deactivated
    when_closed = DigitalInputDevice.when_activated
