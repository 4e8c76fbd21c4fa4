"""MH-Z19B CO2 sensor on the UART (9600 8N1), checksum verified.

Wiring: sensor Vin to 5 V (pin 4), GND to GND, sensor TX to GPIO 15 (RXD, pin 10),
sensor RX to GPIO 14 (TXD, pin 8); both are 3.3 V logic. Enable the UART and disable
the serial console (``raspi-config nonint do_serial_hw 0; do_serial_cons 1``); the port
is ``/dev/serial0``. Allow 3 minutes of warm-up after power-on.

Protocol: the host sends ``FF 01 86 00 00 00 00 00 79``; the sensor answers 9 bytes
``FF 86 HH LL .. .. .. .. CS`` with ppm = HH·256 + LL and CS = (0xFF − (sum of bytes
1–7) & 0xFF) + 1. No answer in time, a short answer, a wrong header or a bad checksum
raise :class:`SensorFault` — a dead sensor is reported as faulty, never as 0 ppm.

    >>> sensor = MHZ19B("/dev/serial0")          # or any object with write/read
    >>> sensor.read_ppm()
    612.0
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from .sensors import SensorFault

READ_CO2 = bytes([0xFF, 0x01, 0x86, 0x00, 0x00, 0x00, 0x00, 0x00, 0x79])


class SerialPort(Protocol):
    """What the driver needs of a serial port (pyserial's ``Serial`` fits)."""

    def write(self, data: bytes) -> int | None: ...

    def read(self, size: int = 1) -> bytes: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


def checksum(frame: bytes) -> int:
    return (0xFF - (sum(frame[1:8]) & 0xFF) + 1) & 0xFF


class MHZ19B:
    """``read_ppm()`` over a serial port; ``counters`` counts reads and each kind of failure."""

    def __init__(self, port: SerialPort | str, *, timeout_s: float = 1.0):
        if isinstance(port, str):
            import serial  # pyserial, only where a real port is opened

            port = serial.Serial(port, 9600, bytesize=8, parity="N", stopbits=1, timeout=timeout_s)
        self.port = port
        self.counters: Counter[str] = Counter()

    def read_ppm(self) -> float:
        try:
            self.port.reset_input_buffer()
            self.port.write(READ_CO2)
            answer = self.port.read(9)
        except OSError as exc:
            self.counters["io_error"] += 1
            raise SensorFault(f"MH-Z19B: serial port error: {exc}") from exc
        if len(answer) < 9:
            self.counters["timeout"] += 1
            raise SensorFault(f"MH-Z19B: no answer ({len(answer)} of 9 bytes before the timeout)")
        if answer[0] != 0xFF or answer[1] != 0x86:
            self.counters["bad_frame"] += 1
            raise SensorFault(f"MH-Z19B: unexpected answer {answer.hex(' ')}")
        if checksum(answer) != answer[8]:
            self.counters["bad_checksum"] += 1
            raise SensorFault(f"MH-Z19B: bad checksum in {answer.hex(' ')}")
        self.counters["reads"] += 1
        return float(answer[2] * 256 + answer[3])

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> "MHZ19B":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
