"""Analog sensors on an MCP3008 ADC (SPI0): the MH-Z19B's analog CO2 output and an LDR.

Wiring: MCP3008 VDD and VREF to 3.3 V, AGND/DGND to GND, CLK to GPIO 11 (SCLK),
DOUT to GPIO 9 (MISO), DIN to GPIO 10 (MOSI), CS to GPIO 8 (CE0). Channel 0: LDR
(GL5528) from 3.3 V to the channel, 10 kΩ from the channel to GND. Channel 1: the
MH-Z19B's Vo pin (0.4 V = 0 ppm … 2.0 V = 5000 ppm) — below 3.3 V, no divider needed.

    >>> from gpiozero import MCP3008
    >>> co2 = AnalogCo2(MCP3008(channel=1))
    >>> co2.read_ppm()
"""

from __future__ import annotations

from typing import Protocol

from .sensors import SensorFault


class AdcChannel(Protocol):
    """gpiozero's ``MCP3008`` fits: ``value`` is 0.0–1.0 of the reference voltage."""

    @property
    def value(self) -> float: ...


class AnalogCo2:
    """MH-Z19B analog output: ppm = (V − 0.4) / 1.6 × range. Under 0.3 V means no sensor."""

    def __init__(self, adc: AdcChannel, *, vref: float = 3.3, range_ppm: float = 5000.0):
        self.adc, self.vref, self.range_ppm = adc, vref, range_ppm

    def read_ppm(self) -> float:
        volts = self.adc.value * self.vref
        if volts < 0.3:
            raise SensorFault(f"analog CO2 at {volts:.2f} V: sensor unpowered or wire cut")
        if volts > 2.1:
            raise SensorFault(f"analog CO2 at {volts:.2f} V: above the sensor's 2.0 V full scale")
        return round(max(0.0, (volts - 0.4) / 1.6 * self.range_ppm), 1)


class LdrLight:
    """Light from an LDR divider: R = R_fixed · (1/v − 1)... lux = 10 · (R / R10)^(−1/γ).

    GL5528: R10 ≈ 15 kΩ at 10 lux, γ ≈ 0.7. A reading stuck at a rail (open or shorted
    LDR) is a fault. Accuracy is ±30 %: enough to tell lamps on from dark.
    """

    def __init__(self, adc: AdcChannel, *, r_fixed_ohm: float = 10_000, r10_ohm: float = 15_000, gamma: float = 0.7):
        self.adc, self.r_fixed, self.r10, self.gamma = adc, r_fixed_ohm, r10_ohm, gamma

    def read_lux(self) -> float:
        v = self.adc.value  # LDR on top: v = R_fixed / (R_fixed + R_ldr)
        if v <= 0.002 or v >= 0.998:
            raise SensorFault(f"LDR reading stuck at {v:.3f} of the reference: open or shorted")
        r_ldr = self.r_fixed * (1.0 / v - 1.0)
        return round(10.0 * (r_ldr / self.r10) ** (-1.0 / self.gamma), 1)

    @staticmethod
    def fraction_for_lux(lux: float, r_fixed_ohm: float = 10_000, r10_ohm: float = 15_000,
                         gamma: float = 0.7) -> float:
        """The ADC fraction an LDR divider gives at ``lux`` (for the simulator)."""
        r_ldr = r10_ohm * (max(lux, 0.01) / 10.0) ** (-gamma)
        return r_fixed_ohm / (r_fixed_ohm + r_ldr)


def open_mcp3008(channel: int, *, pin_factory=None):
    """A ``gpiozero.MCP3008`` channel on the hardware SPI0 bus, CE0 (see the wiring above).

    Tests and the simulator do not come here: they hand :class:`LdrLight` and
    :class:`AnalogCo2` an :class:`AdcChannel` of their own (the seam), or build gpiozero's
    ``MCP3008`` on mock SPI pins themselves.
    """
    from gpiozero import MCP3008

    return MCP3008(channel=channel, pin_factory=pin_factory)
