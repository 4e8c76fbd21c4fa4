"""Air-quality sensors that are not single GPIO pins sit behind small protocols.

A sensor that stops answering raises :class:`SensorFault`; the node reports the fault
by name and sends ``null`` for the reading, never a zero.
"""

from __future__ import annotations

from typing import Protocol


class SensorFault(Exception):
    """The sensor did not answer, or answered nonsense."""


class Co2Sensor(Protocol):
    def read_ppm(self) -> float: ...


class ClimateSensor(Protocol):
    def read_climate(self) -> tuple[float, float]:
        """(temperature °C, relative humidity %)."""
        ...


class LightMeter(Protocol):
    def read_lux(self) -> float: ...
