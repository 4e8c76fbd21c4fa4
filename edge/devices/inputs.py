"""Contacts that a door node watches besides the door: exit button, fire panel, tamper.

Wiring (all three): a dry contact between the GPIO and GND, internal pull-up on.

- Request-to-exit button: normally open; pressed = pin low.
- Fire-alarm input: a normally *closed* relay contact of the fire panel; alarm opens it
  (pin high). A cut wire therefore reads as an alarm, which releases fail-safe doors:
  the safe side for egress.
- Tamper switch: normally closed while the enclosure lid is on; opening it = pin high.

    >>> from gpiozero.pins.mock import MockFactory
    >>> with FireInput(23, pin_factory=MockFactory()) as fire:
    ...     fire.when_alarm = lambda: print("fire")
"""

from __future__ import annotations

from gpiozero import Button, DigitalInputDevice


class ExitButton(Button):
    """Request-to-exit button: ``when_pressed``."""

    def __init__(self, pin, *, bounce_time: float | None = 0.05, pin_factory=None):
        super().__init__(pin, pull_up=True, bounce_time=bounce_time, pin_factory=pin_factory)


class FireInput(DigitalInputDevice):
    """Fire-panel contact, normally closed: ``in_alarm``, ``when_alarm``, ``when_cleared``."""

    def __init__(self, pin, *, bounce_time: float | None = 0.05, pin_factory=None):
        super().__init__(pin, pull_up=True, bounce_time=bounce_time, pin_factory=pin_factory)

    @property
    def in_alarm(self) -> bool:
        return not self.is_active

    when_alarm = DigitalInputDevice.when_deactivated
    when_cleared = DigitalInputDevice.when_activated


class TamperSwitch(FireInput):
    """Enclosure tamper switch, normally closed: ``in_alarm`` when the lid is open."""
