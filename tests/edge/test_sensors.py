"""Room sensors: MH-Z19B over a byte-level fake serial port, and the MCP3008 analog path."""

import pytest
from gpiozero.pins.mock import MockFactory

from edge.devices.analog import AnalogCo2, LdrLight
from edge.devices.mhz19 import MHZ19B, READ_CO2, checksum
from edge.devices.sensors import SensorFault
from edge.simulator.fakes import FakeMhz19Port
from tests.edge.mcp3008 import MockMcp3008


def test_checksum_of_the_datasheet_read_command():
    assert checksum(READ_CO2) == 0x79


def test_mhz19b_reads_ppm_from_a_valid_frame():
    port = FakeMhz19Port(lambda: 1234)
    sensor = MHZ19B(port)
    assert sensor.read_ppm() == 1234.0
    assert bytes(port.written) == READ_CO2
    assert sensor.counters["reads"] == 1


@pytest.mark.parametrize("mode,message,counter", [
    ("dead", "no answer", "timeout"),
    ("short", "no answer (4 of 9 bytes", "timeout"),
    ("bad_checksum", "bad checksum", "bad_checksum"),
    ("garbage", "unexpected answer", "bad_frame"),
])
def test_mhz19b_failures_are_sensor_faults_never_zero(mode, message, counter):
    port = FakeMhz19Port(lambda: 800)
    sensor = MHZ19B(port)
    port.mode = mode
    with pytest.raises(SensorFault, match=message.replace("(", r"\(")):
        sensor.read_ppm()
    assert sensor.counters[counter] == 1
    port.mode = "ok"  # the sensor comes back: the next read is good (no stale bytes)
    assert sensor.read_ppm() == 800.0


def test_mhz19b_over_a_real_pty_with_pyserial():
    """The driver opens a real serial device by name (a pseudo-terminal here)."""
    import os
    import threading

    master, slave = os.openpty()
    import tty
    tty.setraw(slave)

    def sensor_side():
        data = os.read(master, 9)
        if data == READ_CO2:
            frame = bytearray([0xFF, 0x86, 0x02, 0x58, 0, 0, 0, 0, 0])
            frame[8] = checksum(frame)
            os.write(master, bytes(frame))

    t = threading.Thread(target=sensor_side)
    t.start()
    with MHZ19B(os.ttyname(slave), timeout_s=1.0) as sensor:
        assert sensor.read_ppm() == 600.0
    t.join(2)
    with MHZ19B(os.ttyname(slave), timeout_s=0.2) as sensor:  # nobody answers now
        with pytest.raises(SensorFault, match="no answer"):
            sensor.read_ppm()
    os.close(master)
    os.close(slave)


@pytest.fixture()
def adc():
    """gpiozero's real MCP3008 code on mock SPI pins (its software SPI bus reads the global
    pin factory while it is built: a test may set it; the autouse fixture resets it)."""
    from gpiozero import MCP3008, Device

    factory = MockFactory()
    Device.pin_factory = factory
    chip = MockMcp3008(pin_factory=factory)
    return (lambda channel: MCP3008(channel=channel, clock_pin=11, mosi_pin=10, miso_pin=9, select_pin=8,
                                    pin_factory=factory)), chip


def test_analog_co2_through_gpiozero_mcp3008(adc):
    mcp3008, chip = adc
    chip.channels[1] = 0.4 + 1.6 * 900 / 5000  # 900 ppm on the MH-Z19B's Vo
    co2 = AnalogCo2(mcp3008(1))
    assert co2.read_ppm() == pytest.approx(900, abs=10)  # 10-bit ADC: ~5 ppm per step


def test_analog_co2_with_no_sensor_is_a_fault(adc):
    mcp3008, chip = adc
    chip.channels[1] = 0.0
    with pytest.raises(SensorFault, match="unpowered or wire cut"):
        AnalogCo2(mcp3008(1)).read_ppm()


def test_ldr_light_through_the_mcp3008(adc):
    mcp3008, chip = adc
    ldr = LdrLight(mcp3008(0))
    chip.channels[0] = 3.3 * LdrLight.fraction_for_lux(300)
    assert ldr.read_lux() == pytest.approx(300, rel=0.05)
    chip.channels[0] = 3.3 * LdrLight.fraction_for_lux(5)
    assert ldr.read_lux() == pytest.approx(5, rel=0.1)
    chip.channels[0] = 0.0  # LDR open
    with pytest.raises(SensorFault, match="open or shorted"):
        ldr.read_lux()


def test_the_adc_seam_takes_any_channel_with_a_value():
    from edge.simulator.fakes import FakeAdcChannel

    assert AnalogCo2(FakeAdcChannel(lambda: (0.4 + 1.6 * 500 / 5000) / 3.3)).read_ppm() == pytest.approx(500, abs=1)
    assert LdrLight(FakeAdcChannel(lambda: LdrLight.fraction_for_lux(120))).read_lux() == pytest.approx(120, rel=0.01)


# --------------------------------------------------------------------------- SHT31 (I2C)
from edge.devices.sht31 import SHT31, crc8  # noqa: E402
from edge.simulator.fakes import FakeSht31Bus  # noqa: E402


def test_sht31_crc_of_the_datasheet_example():
    assert crc8(bytes([0xBE, 0xEF])) == 0x92


def test_sht31_reads_temperature_and_humidity():
    bus = FakeSht31Bus(lambda: (21.5, 47.0))
    t, h = SHT31(bus, wait_s=0).read_climate()
    assert t == pytest.approx(21.5, abs=0.01) and h == pytest.approx(47.0, abs=0.1)


@pytest.mark.parametrize("mode,message", [("dead", "no answer"), ("bad_crc", "bad CRC")])
def test_sht31_failures_are_sensor_faults(mode, message):
    bus = FakeSht31Bus(lambda: (21.5, 47.0))
    sensor = SHT31(bus, wait_s=0)
    bus.mode = mode
    with pytest.raises(SensorFault, match=message):
        sensor.read_climate()
