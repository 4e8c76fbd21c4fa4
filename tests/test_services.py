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
