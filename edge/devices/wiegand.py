"""Badge reader on the Wiegand interface (DATA0 / DATA1), 26- and 34-bit frames.

Wiring: the reader's DATA0 (green) and DATA1 (white) lines are 5 V open-collector
outputs; bring them to two GPIOs through a bidirectional level shifter (or a 4.7 kΩ /
10 kΩ divider), reader GND to the Pi's GND, reader +12 V from the strike supply.
Both lines idle high; the reader sends a 0 as a ~50 µs low pulse on DATA0 and a 1 as a
pulse on DATA1, ~1–2 ms apart. A frame ends when the lines stay quiet for
``frame_gap_s`` (10 ms: five times the slowest usual bit interval).

Frames: 26 bits = even parity over bits 1–12, 24 data bits, odd parity over bits
13–24; 34 bits = the same with 32 data bits (16 + 16). The card number handed to
``when_read`` is the decimal string of the data bits without the parity bits — the same
string the API enrols. A frame of another length, a failed parity check, or more
than ``MAX_BITS`` pulses is *malformed*: counted, reported to ``when_error``, never
raised.

    >>> from gpiozero.pins.mock import MockFactory
    >>> with WiegandReader(5, 6, pin_factory=MockFactory()) as reader:
    ...     reader.when_read = lambda card, bits: print(card, bits)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Callable

from gpiozero import DigitalInputDevice

log = logging.getLogger(__name__)

FORMATS = (26, 34)
MAX_BITS = 64


class WiegandError(ValueError):
    """A frame that is not a valid 26- or 34-bit Wiegand frame."""


def decode_frame(bits: list[int], formats: tuple[int, ...] = FORMATS) -> int:
    """Check the parity bits of a frame and return its data bits as an integer.

    The leading parity bit is even over the first half of the data bits, the trailing
    one odd over the second half. Raises WiegandError with the reason.
    """
    n = len(bits)
    if n not in formats:
        raise WiegandError(f"{n}-bit frame (expected {' or '.join(map(str, formats))})")
    data = bits[1:-1]
    half = len(data) // 2
    if (bits[0] + sum(data[:half])) % 2 != 0:
        raise WiegandError(f"{n}-bit frame: even parity fails")
    if (sum(data[half:]) + bits[-1]) % 2 != 1:
        raise WiegandError(f"{n}-bit frame: odd parity fails")
    value = 0
    for bit in data:
        value = (value << 1) | bit
    return value


def encode_frame(card_number: int, bits: int = 26) -> list[int]:
    """The frame a reader sends for ``card_number`` (for tests and the simulator)."""
    if bits not in FORMATS:
        raise ValueError("bits must be 26 or 34")
    width = bits - 2
    if not 0 <= card_number < (1 << width):
        raise ValueError(f"card number does not fit in {width} bits")
    data = [(card_number >> (width - 1 - i)) & 1 for i in range(width)]
    half = width // 2
    even = sum(data[:half]) % 2
    odd = 1 - sum(data[half:]) % 2
    return [even, *data, odd]


class WiegandReader:
    """Two-wire Wiegand receiver: ``when_read(card_number, bits)``, ``when_error(reason)``.

    Bits are collected in the pins' edge callbacks; a small thread closes the frame
    after ``frame_gap_s`` of silence — or at once when the longest of ``formats`` arrived
    and decodes (with ``formats=(26,)`` a 26-bit site skips the gap), or after
    ``MAX_BITS`` pulses — checks parity and calls the handler from that thread.
    ``counters`` holds ``frames``, ``malformed`` and one key per error reason.
    """

    MAX_BITS = MAX_BITS

    def __init__(self, data0_pin, data1_pin, *, frame_gap_s: float = 0.010,
                 formats: tuple[int, ...] = FORMATS, pin_factory=None):
        if not formats or any(f not in FORMATS for f in formats):
            raise ValueError("formats must be a non-empty subset of (26, 34)")
        self.frame_gap_s = frame_gap_s
        self.formats = tuple(sorted(formats))
        self.counters: Counter[str] = Counter()
        self.when_read: Callable[[str, int], None] | None = None
        self.when_error: Callable[[str], None] | None = None
        #: monotonic time of the last bit of the last frame (for latency measurements)
        self.last_bit_at: float = 0.0
        self._bits: list[int] = []
        self._last_bit = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._d0 = DigitalInputDevice(data0_pin, pull_up=True, pin_factory=pin_factory)
        self._d1 = DigitalInputDevice(data1_pin, pull_up=True, pin_factory=pin_factory)
        # pull-up: a low pulse is "active"
        self._d0.when_activated = lambda: self._bit(0)
        self._d1.when_activated = lambda: self._bit(1)
        self._thread = threading.Thread(target=self._frames, name="wiegand", daemon=True)
        self._thread.start()

    # -- bits (edge callbacks) ----------------------------------------------------------
    def _bit(self, value: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._bits.append(value)
            self._last_bit = now
        self._wake.set()

    # -- frames (own thread) ------------------------------------------------------------
    def _frames(self) -> None:
        while not self._closed.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._closed.is_set():
                with self._lock:
                    if not self._bits:
                        break
                    count, quiet = len(self._bits), time.monotonic() - self._last_bit
                    ready = (quiet >= self.frame_gap_s or count >= MAX_BITS
                             or (count == self.formats[-1] and self._valid(self._bits)))
                    if ready:
                        frame, last_at, self._bits = self._bits, self._last_bit, []
                if ready:
                    self._finish(frame, last_at)
                    break
                self._wake.wait(max(0.0002, self.frame_gap_s - quiet))
                self._wake.clear()

    def _valid(self, bits: list[int]) -> bool:
        try:
            decode_frame(bits, self.formats)
            return True
        except WiegandError:
            return False

    def _finish(self, bits: list[int], last_bit_at: float) -> None:
        self.last_bit_at = last_bit_at
        if len(bits) >= MAX_BITS:
            reason = f"more than {MAX_BITS} pulses (noise on the data lines?)"
            self._drain_noise()
        else:
            try:
                card = decode_frame(bits, self.formats)
            except WiegandError as exc:
                reason = str(exc)
            else:
                self.counters["frames"] += 1
                if self.when_read:
                    try:
                        self.when_read(str(card), len(bits))
                    except Exception:  # a handler bug must not kill the reader
                        log.exception("badge handler failed")
                return
        self.counters["malformed"] += 1
        self.counters["noise" if "pulses" in reason else "parity" if "parity" in reason else "length"] += 1
        log.warning("wiegand: malformed frame: %s", reason)
        if self.when_error:
            try:
                self.when_error(reason)
            except Exception:
                log.exception("badge error handler failed")

    def _drain_noise(self) -> None:
        """After a runaway frame, drop bits until the lines are quiet again."""
        while not self._closed.is_set():
            with self._lock:
                quiet = time.monotonic() - self._last_bit
                if quiet >= self.frame_gap_s:
                    self._bits = []
                    return
                self._bits = []
            time.sleep(self.frame_gap_s)

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=1)
        self._d0.close()
        self._d1.close()

    def __enter__(self) -> "WiegandReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def send_frame(factory, data0_pin: int, data1_pin: int, bits: list[int], *,
               pulse_s: float = 50e-6, interval_s: float = 0.0015) -> float:
    """Drive a frame onto mock pins with real Wiegand timing; return the last bit's time.

    Pulses and gaps are busy-waited: ``time.sleep`` cannot do 50 µs, and on a loaded
    machine it can oversleep a 1 ms gap past the frame timeout, splitting the frame.
    Used by the tests, the bench and the simulator.
    """
    d0, d1 = factory.pin(data0_pin), factory.pin(data1_pin)
    last = 0.0
    for i, bit in enumerate(bits):
        pin = d1 if bit else d0
        pin.drive_low()
        last = time.monotonic()
        end = last + pulse_s
        while time.monotonic() < end:
            pass
        pin.drive_high()
        if i < len(bits) - 1:
            end = last + interval_s
            while time.monotonic() < end:
                pass
    return last
