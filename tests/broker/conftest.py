"""Brokers started from `station broker gen` output, on free loopback ports.

Generated directories live under a world-traversable temporary directory: Mosquitto
started as root drops to the ``mosquitto`` user before it reads its password file
and ACL, exactly as on a server.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from station.broker.dev import BrokerError, free_port, mosquitto_binary
from station.broker.gen import GenOptions, GenResult, generate
from station.broker.probe import Probe
from station.broker.process import ConfiguredBroker
from tests.utils.services import unavailable


@pytest.fixture()
def gen_root():
    root = Path(tempfile.mkdtemp(prefix="station-broker-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class Central:
    result: GenResult
    broker: ConfiguredBroker
    tls_ca: Path | None = None

    @property
    def port(self) -> int:
        return self.broker.port

    def password(self, user: str) -> str:
        return self.result.credentials[user]

    def probe(self, user: str | None, password: str | None = None, **kw) -> Probe:
        if user is not None and password is None:
            password = self.password(user)
        kw.setdefault("ca", self.tls_ca)
        kw.setdefault("timeout", 3.0)
        p = Probe(user, password, port=self.port, **kw)
        p.connect()
        return p


def start(config: Path, port: int, log: Path) -> ConfiguredBroker:
    try:
        mosquitto_binary()
    except BrokerError as exc:
        unavailable("mosquitto", str(exc))
    try:
        return ConfiguredBroker(config, port=port, log=log).start()
    except BrokerError as exc:
        pytest.fail(str(exc))


def start_central(root: Path, inventory, **options) -> Central:
    port = free_port()
    result = generate(inventory, root / "broker", GenOptions(port=port, bind="127.0.0.1", **options))
    broker = start(result.config, port, root / "central.log")
    return Central(result, broker, result.tls.ca if result.tls else None)


@pytest.fixture(scope="module")
def central(inventory):
    """One central broker (no TLS) shared by a module's ACL tests; each test opens its own clients."""
    root = Path(tempfile.mkdtemp(prefix="station-broker-"))
    root.chmod(0o755)
    c = start_central(root, inventory)
    yield c
    c.broker.stop()
    shutil.rmtree(root, ignore_errors=True)


def credentials_file(result: GenResult) -> dict[str, str]:
    return json.loads((result.out / "credentials.json").read_text())["users"]


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
