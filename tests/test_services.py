"""The service fixtures start real servers of their own, not the machine's."""

import subprocess

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

pytestmark = [pytest.mark.mosquitto]


def test_mosquitto_fixture_runs_the_project_config_on_its_own_port(mosquitto):
    assert mosquitto.port != 1883
    conf = (mosquitto.workdir / "mosquitto.conf").read_text()
    assert f"listener {mosquitto.port} 127.0.0.1" in conf
    assert "max_queued_messages 100000" in conf  # from broker_config/mosquitto.dev.conf
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    assert client.connect(mosquitto.host, mosquitto.port) == 0
    client.disconnect()


@pytest.mark.postgres
def test_postgres_fixture_runs_a_private_server(postgres):
    assert postgres.port != 5432
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "station", "-d", "station",
                          "-Atc", "show port"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(postgres.port)


def test_private_broker_keeps_retained_messages_across_a_restart(broker):
    """Persistence works even as root, where Mosquitto drops to its own user."""
    import time

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish("station/v1/test/doors/d1/grants", b"kept", qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()
    broker.restart()
    got = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, msg: got.append(msg.payload)
    client.connect(broker.host, broker.port)
    client.subscribe("station/v1/test/doors/+/grants", 1)
    client.loop_start()
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    assert got == [b"kept"]
    assert "Permission denied" not in broker.log_path.read_text()
