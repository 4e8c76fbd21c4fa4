"""Session fixtures: a real Mosquitto (the project's dev config) and a real PostgreSQL."""

from __future__ import annotations

import time

import pytest
from gpiozero import Device

from station.broker.dev import BrokerError, DevBroker
from station.inventory import DEFAULT_INVENTORY, load_inventory
from station.mqtt import MqttSettings
from tests.utils.services import PostgresServer, unavailable


def started(service: str, server, errors: type[Exception] | tuple = Exception):
    """``server.start()``, or: clean up what it left and report ``service`` unavailable
    (a skip, or a failure under STATION_REQUIRE_SERVICES=1)."""
    try:
        server.start()
    except errors as exc:
        (getattr(server, "close", None) or server.stop)()
        unavailable(service, str(exc))
    return server


@pytest.fixture(scope="session")
def inventory():
    return load_inventory(DEFAULT_INVENTORY)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory):
    """A Mosquitto started with broker_config/mosquitto.dev.conf on a free loopback port."""
    broker = started("mosquitto", DevBroker(tmp_path_factory.mktemp("mosquitto")), BrokerError)
    yield broker
    broker.close()


@pytest.fixture()
def broker(tmp_path):
    """A private Mosquitto for a test that stops or kills its broker."""
    b = started("mosquitto", DevBroker(tmp_path / "mosquitto"), BrokerError)
    yield b
    b.close()


@pytest.fixture()
def mqtt_settings(mosquitto) -> MqttSettings:
    return MqttSettings(host=mosquitto.host, port=mosquitto.port)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A PostgreSQL server of our own (initdb on a free port); yields its SQLAlchemy URL."""
    import tempfile
    from pathlib import Path

    # Not under pytest's tmp (mode 0700 for root): the postgres user must reach its data.
    workdir = Path(tempfile.mkdtemp(prefix="station-pg-"))
    server = started("postgresql", PostgresServer(workdir))
    yield server
    server.stop()
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory):
    """Debian's InfluxDB 1.6 behind nginx (/api/v2/write → /write); see tests/utils/influx.py."""
    from tests.utils.influx import InfluxServer

    server = started("influxdb", InfluxServer(tmp_path_factory.mktemp("influxdb")))
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_global_pin_factory():
    """Devices must get their pin factory explicitly; reset gpiozero's global one after a test."""
    yield
    if Device.pin_factory is not None:
        Device.pin_factory.close()
        Device.pin_factory = None


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll ``predicate`` until it returns a truthy value; return it or raise AssertionError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
