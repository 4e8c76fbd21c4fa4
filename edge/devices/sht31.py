"""SHT31 temperature and humidity sensor on I²C (address 0x44), CRC checked.

Wiring: breakout VIN to 3.3 V (pin 1), GND to GND, SDA to GPIO 2 (pin 3), SCL to GPIO 3
(pin 5); the breakout carries the pull-ups. Enable I²C (``raspi-config nonint do_i2c 0``);
the bus is ``/dev/i2c-1``.

Protocol: write ``24 00`` (single shot, high repeatability, no clock stretching), wait
15 ms, read 6 bytes ``T_msb T_lsb T_crc H_msb H_lsb H_crc``; CRC-8 (poly 0x31, init
0xFF) over each pair. T = −45 + 175·raw/65535 °C, RH = 100·raw/65535 %. No answer (the
kernel's EREMOTEIO) or a bad CRC raise :class:`SensorFault`.

    >>> sensor = SHT31(LinuxI2c(1))
    >>> sensor.read_climate()
    (21.4, 48.2)
"""

from __future__ import annotations

import fcntl
import os
import time
from collections import Counter
from typing import Protocol

from .sensors import SensorFault

MEASURE = bytes([0x24, 0x00])
I2C_SLAVE = 0x0703


def crc8(data: bytes) -> int:
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class I2cBus(Protocol):
    """Plain I²C writes and reads to a device address."""

    def write(self, address: int, data: bytes) -> None: ...

    def read(self, address: int, size: int) -> bytes: ...


class LinuxI2c:
    """``/dev/i2c-N`` through the kernel's I2C_SLAVE ioctl (no extra package)."""

    def __init__(self, bus: int = 1):
        self.fd = os.open(f"/dev/i2c-{bus}", os.O_RDWR)

    def write(self, address: int, data: bytes) -> None:
        fcntl.ioctl(self.fd, I2C_SLAVE, address)
        os.write(self.fd, data)

    def read(self, address: int, size: int) -> bytes:
        fcntl.ioctl(self.fd, I2C_SLAVE, address)
        return os.read(self.fd, size)

    def close(self) -> None:
        os.close(self.fd)


class SHT31:
    """``read_climate()`` → (°C, %RH); ``counters`` counts reads and failures."""

    def __init__(self, bus: I2cBus, address: int = 0x44, *, wait_s: float = 0.015):
        self.bus, self.address, self.wait_s = bus, address, wait_s
        self.counters: Counter[str] = Counter()

    def read_climate(self) -> tuple[float, float]:
        try:
            self.bus.write(self.address, MEASURE)
            time.sleep(self.wait_s)
            data = self.bus.read(self.address, 6)
        except OSError as exc:
            self.counters["no_answer"] += 1
            raise SensorFault(f"SHT31 at 0x{self.address:02x}: no answer ({exc.strerror or exc})") from exc
        if len(data) != 6:
            self.counters["short"] += 1
            raise SensorFault(f"SHT31: {len(data)} of 6 bytes")
        if crc8(data[0:2]) != data[2] or crc8(data[3:5]) != data[5]:
            self.counters["bad_crc"] += 1
            raise SensorFault(f"SHT31: bad CRC in {data.hex(' ')}")
        self.counters["reads"] += 1
        t_raw, h_raw = data[0] << 8 | data[1], data[3] << 8 | data[4]
        return round(-45 + 175 * t_raw / 65535, 2), round(100 * h_raw / 65535, 1)
