"""A room node against a real broker: motion, telemetry through the outbox, a dead CO2 sensor."""

import threading
import time
from datetime import datetime, timezone

import pytest
from gpiozero.pins.mock import MockFactory

from edge.devices.analog import LdrLight
from edge.devices.mhz19 import MHZ19B
from edge.node import EdgeNode, RoomSensors
from edge.simulator.fakes import FakeAdcChannel, FakeMhz19Port
from station.clock import AcceleratedClock
from station.contract import Telemetry, topics
from station.mqtt import MqttBus
from tests.conftest import wait_until
from tests.edge.helpers import EventListener

pytestmark = pytest.mark.mosquitto
NODE, SPACE = "ls-salle-salle-aiguillage", "salle-aiguillage"


def test_dead_co2_sensor_is_reported_as_a_fault_not_as_zero(inventory, mqtt_settings, caplog):
    factory = MockFactory()
    port = FakeMhz19Port(lambda: 640)
    sensors = RoomSensors(co2=MHZ19B(port), light=LdrLight(FakeAdcChannel(lambda: LdrLight.fraction_for_lux(250))))
    clock = AcceleratedClock(datetime.now(timezone.utc), speed=600)  # telemetry every 60 s → 0.1 s
    received: list[Telemetry] = []
    lock = threading.Lock()

    def on_telemetry(topic, payload):
        with lock:
            received.append(Telemetry.model_validate_json(payload))

    watcher = MqttBus("watch-telemetry", mqtt_settings)
    watcher.subscribe(topics.node_telemetry("la-station", NODE), on_telemetry)
    watcher.start()
    with EventListener(mqtt_settings, "listener-room") as listener, \
            EdgeNode(inventory, NODE, mqtt_settings, pin_factory=factory, clock=clock, sensors=sensors,
                     telemetry_interval_s=60) as node:
        wait_until(lambda: received, timeout=5)
        factory.pin(node.profile.pins["pir"]).drive_high()
        wait_until(lambda: listener.of("motion"), timeout=5)
        port.mode = "dead"
        wait_until(lambda: received[-1].faults == ["co2"], timeout=5)
        wait_until(lambda: listener.of("sensor_fault"), timeout=5)
        port.mode = "ok"
        wait_until(lambda: received[-1].faults == [] and received[-1].co2_ppm == 640, timeout=5)
        wait_until(lambda: listener.of("sensor_recovered"), timeout=5)
    watcher.stop()
    good = received[0]
    assert good.co2_ppm == 640 and good.light_lux == pytest.approx(250, rel=0.05) and good.space == SPACE
    faulty = next(t for t in received if t.faults)
    assert faulty.co2_ppm is None and faulty.light_lux is not None
    assert len(listener.of("sensor_fault")) == 1  # reported once per failure, not every minute
    assert [e.reason for e in listener.of("sensor_recovered")] == ["co2 sensor answering again"]
    assert "co2 sensor fault: MH-Z19B: no answer" in caplog.text


def test_a_pir_held_high_is_reported_again_at_each_telemetry_tick(inventory, mqtt_settings):
    """A crowd keeps a retriggering PIR high: no new rising edge, yet the room is busy."""
    factory = MockFactory()
    clock = AcceleratedClock(datetime.now(timezone.utc), speed=600)  # 60 s of telemetry → 0.1 s
    with EventListener(mqtt_settings, "listener-still") as listener, \
            EdgeNode(inventory, NODE, mqtt_settings, pin_factory=factory, clock=clock,
                     telemetry_interval_s=60) as node:
        pin = factory.pin(node.profile.pins["pir"])
        pin.drive_high()
        wait_until(lambda: len(listener.of("motion")) >= 4, timeout=10)
        pin.drive_low()
        held = listener.of("motion")
        assert held[0].reason is None
        assert {e.reason for e in held[1:]} == {"still active"}
        count = len(listener.of("motion"))
        clock.sleep(300)  # five more ticks with the PIR low
        assert len(listener.of("motion")) <= count + 1  # at most one in flight when it went low


def test_the_status_led_is_steady_while_connected_and_blinks_when_the_broker_is_gone(inventory, broker):
    from station.settings import MqttSettings

    factory = MockFactory()
    node = EdgeNode(inventory, NODE, MqttSettings(port=broker.port), pin_factory=factory, telemetry_interval_s=3600)
    led = factory.pin(node.profile.pins["status_led"])
    with node:
        wait_until(lambda: led.state == 1, timeout=3)
        broker.stop()
        changes = set()
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and changes != {0, 1}:
            changes.add(led.state)
            time.sleep(0.02)
        assert changes == {0, 1}  # blinking
        broker.start()
        wait_until(lambda: node.bus.connected.is_set(), timeout=15)
        time.sleep(1.5)
        seen = set()
        for _ in range(40):  # two seconds: a blink would show a 0
            seen.add(led.state)
            time.sleep(0.05)
        assert seen == {1}  # steady again
