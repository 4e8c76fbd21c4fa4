"""Byte- and bit-level stand-ins for the buses a room node reads (the hardware seam).

``FakeMhz19Port`` answers the MH-Z19B's read command on a fake serial port with real
frames (or with none, a bad checksum, garbage); ``FakeSht31Bus`` is an I²C bus with an SHT31 on it; ``MockMcp3008`` is a gpiozero
``MockSPIDevice`` that answers the MCP3008's SPI conversation on mock pins, so the real
``gpiozero.MCP3008`` code runs. The simulator and the tests use both.
"""

from __future__ import annotations

from typing import Callable

from gpiozero.pins.mock import MockSPIDevice

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


class MockMcp3008(MockSPIDevice):
    """The slave side of an MCP3008 on mock SPI pins: ``channels[i]`` are volts."""

    def __init__(self, clock_pin=11, mosi_pin=10, miso_pin=9, select_pin=8, *, vref: float = 3.3, pin_factory=None):
        super().__init__(clock_pin, mosi_pin, miso_pin, select_pin, pin_factory=pin_factory)
        self.vref = vref
        self.channels: list[float | Callable[[], float]] = [0.0] * 8
        self.state = "idle"

    def on_start(self) -> None:
        super().on_start()
        self.state = "idle"

    def on_bit(self) -> None:
        if self.state == "idle":  # waiting for the start bit
            if self.rx_buf[-1]:
                self.state, self.rx_buf = "mode", []
        elif self.state == "mode":  # single-ended (1) or differential (0)
            self.state, self.rx_buf = ("single" if self.rx_buf[-1] else "diff"), []
        elif self.state in ("single", "diff"):
            if len(self.rx_buf) == 3:
                channel = self.rx_word()
                raw = self.channels[channel]
                volts = raw() if callable(raw) else raw
                code = int(max(0.0, min(self.vref, volts)) / self.vref * 1023)
                self.tx_word(code, 12)  # null bit + 10 bits, sent on the following clocks
                self.state = "result"
        elif self.state == "result" and not self.tx_buf:
            self.state, self.rx_buf = "idle", []


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
