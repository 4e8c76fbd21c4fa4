"""Status LEDs and buzzer of a door node, with one pattern per situation.

Wiring: green and red LEDs through 330 Ω resistors from two GPIOs to GND (anode on the
GPIO); an active 5 V buzzer switched by an NPN transistor (2N2222, 1 kΩ to the base)
from a third GPIO. Patterns:

| situation | green | red | buzzer |
| --- | --- | --- | --- |
| granted | on for the unlock time | off | one short beep |
| denied | off | 3 blinks | three short beeps |
| reader locked out | off | fast blinking for the lockout | one long beep |
| offline (no broker) | off | one short blink every 2 s | silent |
| released (fire / command) | on steadily | off | silent |

    >>> from gpiozero.pins.mock import MockFactory
    >>> with DoorIndicators(25, 16, 26, pin_factory=MockFactory()) as ui:
    ...     ui.granted(5)
"""

from __future__ import annotations

from gpiozero import LED, Buzzer


class DoorIndicators:
    """``granted(s)``, ``denied()``, ``locked_out(s)``, ``offline(on)``, ``released(on)``."""

    def __init__(self, green_pin, red_pin, buzzer_pin, *, pin_factory=None):
        self.green = LED(green_pin, pin_factory=pin_factory)
        self.red = LED(red_pin, pin_factory=pin_factory)
        self.buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        self.pattern = "idle"
        self._offline = False

    def granted(self, seconds: float) -> None:
        self.pattern = "granted"
        self.red.off()
        self.green.blink(on_time=seconds, off_time=0, n=1)
        self.buzzer.beep(on_time=0.1, off_time=0.1, n=1)

    def denied(self) -> None:
        self.pattern = "denied"
        self.green.off()
        self.red.blink(on_time=0.15, off_time=0.15, n=3)
        self.buzzer.beep(on_time=0.08, off_time=0.08, n=3)

    def locked_out(self, seconds: float) -> None:
        self.pattern = "locked_out"
        self.green.off()
        self.red.blink(on_time=0.05, off_time=0.05, n=max(1, int(seconds * 10)))
        self.buzzer.beep(on_time=1.0, off_time=0.1, n=1)

    def offline(self, on: bool) -> None:
        """Slow red blink while the node cannot reach the broker (doors still work)."""
        if on == self._offline:
            return
        self._offline = on
        if on:
            self.pattern = "offline"
            self.red.blink(on_time=0.1, off_time=1.9)
        else:
            self.pattern = "idle"
            self.red.off()

    def released(self, on: bool) -> None:
        self.pattern = "released" if on else "idle"
        if on:
            self.green.on()
        else:
            self.green.off()

    def close(self) -> None:
        for device in (self.green, self.red, self.buzzer):
            device.close()

    def __enter__(self) -> "DoorIndicators":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
