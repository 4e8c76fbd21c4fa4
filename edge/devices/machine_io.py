"""What a machine node watches and drives besides its reader: safety contacts, the
"running" input, the CT clamp, the power relay's indicators.

Wiring (hardware/wiring-machine-node.md):

- **E-stop**: an auxiliary NC contact of the E-stop chain between the GPIO and GND,
  pull-up on. Chain closed = pin low = healthy; pressed (or a cut wire) = pin high =
  fault. The chain itself breaks the contactor coil in hardware: this input only lets
  the node report it and drop its relay too.
- **Extraction**: the airflow switch, or the extractor contactor's auxiliary NO
  contact, to GND. Extraction running = pin low; stopped or unplugged = fault.
- **Running**: the machine controller's "running" dry contact to GND (pin low = running).
- **CT clamp** (SCT-013-030, 30 A ↔ 1 V RMS) biased at half the reference on an MCP3008
  channel: :class:`CurrentClamp` samples it and gives the RMS current.

    >>> from gpiozero.pins.mock import MockFactory
    >>> with SafetyContact(27, pin_factory=MockFactory()) as estop:
    ...     estop.when_fault = lambda: print("E-stop")
"""

from __future__ import annotations

import math
import threading

from gpiozero import DigitalInputDevice

from .analog import AdcChannel
from .indicators import DoorIndicators


class SafetyContact(DigitalInputDevice):
    """A contact that must stay closed: ``healthy``, ``when_fault``, ``when_restored``.

    Closed = pin low (pull-up): a cut wire reads as a fault, the safe side.
    """

    def __init__(self, pin, *, bounce_time: float | None = None, pin_factory=None):
        super().__init__(pin, pull_up=True, bounce_time=bounce_time, pin_factory=pin_factory)

    @property
    def healthy(self) -> bool:
        return bool(self.is_active)

    when_fault = DigitalInputDevice.when_deactivated
    when_restored = DigitalInputDevice.when_activated


class RunningInput(DigitalInputDevice):
    """The machine's own "running" contact: ``running`` (pin low = running)."""

    def __init__(self, pin, *, pin_factory=None):
        super().__init__(pin, pull_up=True, pin_factory=pin_factory)

    @property
    def running(self) -> bool:
        return bool(self.is_active)


class CurrentClamp:
    """RMS current from a CT clamp biased at mid-reference on an ADC channel.

    ``samples`` reads are taken back to back (≈ 2 mains cycles on a Pi's SPI); the RMS
    of their deviation from their mean, in volts, times ``amps_per_volt``.
    """

    def __init__(self, adc: AdcChannel, *, amps_per_volt: float = 30.0, vref: float = 3.3, samples: int = 64):
        self.adc, self.amps_per_volt, self.vref, self.samples = adc, amps_per_volt, vref, max(8, samples)

    def read_amps(self) -> float:
        values = [self.adc.value for _ in range(self.samples)]
        mean = sum(values) / len(values)
        rms = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) * self.vref
        return round(rms * self.amps_per_volt, 3)


class MachineIndicators(DoorIndicators):
    """The door node's LEDs and buzzer, with the machine's patterns added.

    | situation | green | red | buzzer |
    | --- | --- | --- | --- |
    | powered | on steadily | off | one short beep |
    | warning (idle, session end, out of order) | blinking | off | a beep every second |
    | fault (E-stop, extraction) | off | on steadily | one long beep |

    Patterns are switched under one lock: gpiozero starts a blink's thread after
    assigning it, so an ``off()`` from another thread in between would fail.
    """

    def __init__(self, green_pin, red_pin, buzzer_pin, *, pin_factory=None):
        super().__init__(green_pin, red_pin, buzzer_pin, pin_factory=pin_factory)
        self._switching = threading.RLock()

    def denied(self) -> None:
        with self._switching:
            super().denied()

    def powered(self, on: bool) -> None:
        with self._switching:
            self._powered(on)

    def _powered(self, on: bool) -> None:
        self.pattern = "powered" if on else "idle"
        self.red.off()
        if on:
            self.green.on()
            self.buzzer.beep(on_time=0.1, off_time=0.1, n=1)
        else:
            self.green.off()
            self.buzzer.off()

    def warning(self) -> None:
        with self._switching:
            self.pattern = "warning"
            self.green.blink(on_time=0.25, off_time=0.25)
            self.buzzer.beep(on_time=0.2, off_time=0.8)

    def fault(self) -> None:
        with self._switching:
            self.pattern = "fault"
            self.green.off()
            self.red.on()
            self.buzzer.beep(on_time=1.0, off_time=0.1, n=1)
