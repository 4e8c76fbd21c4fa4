"""Session fixtures: a real Mosquitto (the project's dev config) and a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from gpiozero import Device

from station.broker.dev import BrokerError, DevBroker
from station.inventory import DEFAULT_INVENTORY, load_inventory
from station.mqtt import MqttSettings
from tests.utils.services import PostgresServer, unavailable

OWN_PROCESS = "STATION_TEST_OWN_PROCESS"


def pytest_configure(config):
    config.addinivalue_line("markers", "own_process: run in a pytest process of its own (see pytest_pyfunc_call)")


def pytest_pyfunc_call(pyfuncitem):
    """A test marked ``own_process`` runs in a fresh ``python -m pytest`` of its own.

    The simulator tests start 40-odd nodes (paho clients, outboxes, threads) inside the
    test process: late in a full run, in a process that has run 800 tests, they lost their
    broker connections all at once, while alone (and in a process of their own) they pass.
    Until that process-wide exhaustion is found, they get a clean process.
    """
    if pyfuncitem.get_closest_marker("own_process") is None or os.environ.get(OWN_PROCESS):
        return None
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", pyfuncitem.nodeid],
                            cwd=root, env={**os.environ, OWN_PROCESS: "1"}, capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0:
        pytest.fail(f"{pyfuncitem.nodeid} failed in its own process:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}",
                    pytrace=False)
    return True


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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, empty database per test: a SQLite file, or a new database on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    server = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
    while True:  # looked at least once, also with no time left
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
