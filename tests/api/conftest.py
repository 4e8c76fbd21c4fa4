"""API fixtures: the app on SQLite and on a real PostgreSQL, a hand-driven clock, members.

``app`` builds the app without MQTT or sweeper (tests call ``runtime.sweeper.sweep()``);
``live_api`` (in test_mqtt.py) runs it against the real Mosquitto.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.utils.clocks import WEDNESDAY_10H, ManualClock
from station.settings import MqttSettings

ADMIN = ("admin@la-station.test", "admin-password-123")


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def signing_pem() -> str:
    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()).decode()


@pytest.fixture()
def settings(database_url, signing_pem) -> ApiSettings:
    return ApiSettings(environment="production", database_url=database_url, mqtt=MqttSettings(enabled=False),
                       signing_key=signing_pem, site_key=secrets.token_hex(32),
                       admin_email=ADMIN[0], admin_password=ADMIN[1])


@dataclass
class Person:
    id: int
    email: str
    headers: dict[str, str]


class People:
    """Creates members through the API itself and logs them in."""

    def __init__(self, client: TestClient):
        self.client = client
        self.admin = self.login(*ADMIN)
        self._n = 0

    def login(self, email: str, password: str) -> Person:
        r = self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = self.client.get("/api/v1/members/me", headers=headers).json()
        return Person(me["id"], email, headers)

    def create(self, role: str = "member", *, card: str | None = None, name: str | None = None) -> Person:
        self._n += 1
        email = f"{role}{self._n}@la-station.test"
        r = self.client.post("/api/v1/members", headers=self.admin.headers,
                             json={"email": email, "name": name or f"{role.title()} {self._n}", "role": role,
                                   "password": f"password-{self._n}-long"})
        assert r.status_code == 201, r.text
        person = self.login(email, f"password-{self._n}-long")
        if card is not None:
            r = self.client.post(f"/api/v1/members/{person.id}/badges", headers=self.admin.headers,
                                 json={"card_number": card})
            assert r.status_code == 201, r.text
        return person


@pytest.fixture()
def app(settings, clock):
    return create_app(settings, clock=clock, background=False)


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def people(client) -> People:
    return People(client)


@pytest.fixture()
def runtime(app):
    return app.state.runtime


def at(hour: int, minute: int = 0, day: datetime = WEDNESDAY_10H) -> str:
    """An ISO time on the test day, Saint-Omer local time (CEST, UTC+2)."""
    return day.replace(hour=hour - 2, minute=minute).isoformat()


@pytest.fixture()
def live(settings, clock, broker):
    """The app with its background parts, on a real Mosquitto (``broker``): (app, client)."""
    from tests.conftest import wait_until

    settings = settings.model_copy(update={"mqtt": MqttSettings(port=broker.port,
                                                                client_id=f"api-{secrets.token_hex(3)}"),
                                           "sweep_interval_s": 0.2})
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        wait_until(lambda: app.state.runtime.bus.connected.is_set(), timeout=10)
        yield app, client


def node_keys(runtime):
    """What a node of this API holds: its public signing key and the site's card key."""
    from station.access import KeyRing, NodeKeys

    return NodeKeys(KeyRing.of(serialization.load_pem_public_key(runtime.keys.public_pem().encode())),
                    runtime.keys.site_key)
