"""PIR motion detector (HC-SR501 or AM312).

Wiring: VCC to 5 V (pin 2), GND to GND, OUT to the GPIO (the module's output is
3.3 V logic). Set the HC-SR501 to retrigger mode (jumper H) and its hold time to the
minimum; the node keeps its own hold time. A PIR misses people who sit still: the
collector fuses it with CO2 and the door, never trusts it alone for "vacant".

    >>> from gpiozero.pins.mock import MockFactory
    >>> with MotionDetector(4, pin_factory=MockFactory()) as pir:
    ...     pir.when_motion = lambda: print("motion")
"""

from __future__ import annotations

from gpiozero import DigitalInputDevice


class MotionDetector(DigitalInputDevice):
    """``motion_detected``, ``when_motion``, ``when_no_motion``."""

    def __init__(self, pin, *, pin_factory=None):
        super().__init__(pin, pull_up=False, pin_factory=pin_factory)

    @property
    def motion_detected(self) -> bool:
        return bool(self.is_active)

    when_motion = DigitalInputDevice.when_activated
    when_no_motion = DigitalInputDevice.when_deactivated
