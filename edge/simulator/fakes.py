"""Byte- and bit-level stand-ins for the buses a room node reads (the hardware seam).

``FakeMhz19Port`` answers the MH-Z19B's read command on a fake serial port with real
frames (or with none, a bad checksum, garbage); ``FakeSht31Bus`` is an I²C bus with an
SHT31 on it; ``FakeAdcChannel`` is an MCP3008 channel at the ``AdcChannel`` seam. The
simulator and the tests use them. (gpiozero's own ``MCP3008`` code on mock SPI pins is
tested in ``tests/edge/test_sensors.py``.)
"""

from __future__ import annotations

from typing import Callable

from ..devices.mhz19 import READ_CO2, checksum
from ..devices.sht31 import crc8


class FakeMhz19Port:
    """A serial port with an MH-Z19B behind it; ``mode``: ok, dead, bad_checksum, garbage, short."""

    def __init__(self, ppm: Callable[[], float]):
        self.ppm = ppm
        self.mode = "ok"
        self.written = bytearray()
        self._rx = bytearray()

    def write(self, data: bytes) -> int:
        self.written += data
        if bytes(data) == READ_CO2 and self.mode != "dead":
            value = max(0, min(0xFFFF, int(round(self.ppm()))))
            frame = bytearray([0xFF, 0x86, value >> 8, value & 0xFF, 0x47, 0, 0, 0, 0])
            frame[8] = checksum(frame)
            if self.mode == "bad_checksum":
                frame[8] ^= 0x5A
            elif self.mode == "garbage":
                frame = bytearray(b"\x00\x13\x37" * 3)
            elif self.mode == "short":
                frame = frame[:4]
            self._rx += frame
        return len(data)

    def read(self, size: int = 1) -> bytes:
        out, self._rx = bytes(self._rx[:size]), self._rx[size:]
        return out  # fewer bytes than asked = pyserial's timeout

    def reset_input_buffer(self) -> None:
        self._rx.clear()

    def close(self) -> None:
        pass


class FakeAdcChannel:
    """An ADC channel (:class:`edge.devices.analog.AdcChannel`): ``value`` from a callable, 0.0–1.0."""

    def __init__(self, fraction: Callable[[], float]):
        self.fraction = fraction

    @property
    def value(self) -> float:
        return max(0.0, min(1.0, float(self.fraction())))

    def close(self) -> None:
        pass


class FakeSht31Bus:
    """An I²C bus with an SHT31 at 0x44; ``mode``: ok, dead (EREMOTEIO), bad_crc."""

    def __init__(self, climate: Callable[[], tuple[float, float]], address: int = 0x44):
        self.climate, self.address = climate, address
        self.mode = "ok"
        self._pending = b""

    def write(self, address: int, data: bytes) -> None:
        import errno
        import os

        if address != self.address or self.mode == "dead":
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        if bytes(data) == bytes([0x24, 0x00]):
            t, h = self.climate()
            t_raw = max(0, min(65535, round((t + 45) / 175 * 65535)))
            h_raw = max(0, min(65535, round(h / 100 * 65535)))
            t_b, h_b = t_raw.to_bytes(2, "big"), h_raw.to_bytes(2, "big")
            t_crc, h_crc = crc8(t_b), crc8(h_b)
            if self.mode == "bad_crc":
                h_crc ^= 0xFF
            self._pending = t_b + bytes([t_crc]) + h_b + bytes([h_crc])

    def read(self, address: int, size: int) -> bytes:
        import errno
        import os

        if address != self.address or self.mode == "dead":
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


def ct_clamp_signal(amps: Callable[[], float], *, amps_per_volt: float = 30.0, vref: float = 3.3,
                    steps_per_cycle: int = 32) -> Callable[[], float]:
    """What a CT clamp biased at mid-reference shows an ADC: a mains sine of ``amps()`` RMS,
    sampled ``steps_per_cycle`` times a cycle (for :class:`FakeAdcChannel`)."""
    import math

    phase = [0]

    def fraction() -> float:
        phase[0] = (phase[0] + 1) % steps_per_cycle
        peak = amps() / amps_per_volt * math.sqrt(2) / vref
        return 0.5 + peak * math.sin(2 * math.pi * phase[0] / steps_per_cycle)

    return fraction
