"""The slave side of an MCP3008 on gpiozero mock SPI pins, so gpiozero's real ``MCP3008`` code runs in tests."""

from __future__ import annotations

from typing import Callable

from gpiozero.pins.mock import MockSPIDevice


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
