"""API fixtures: the app on SQLite and on a real PostgreSQL, a hand-driven clock, members.

``api`` builds the app without MQTT or sweeper (tests call ``station.sweep()``);
``live_api`` (in test_mqtt.py) runs it against the real Mosquitto.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.settings import ApiSettings
from station.clock import Clock

#: A Wednesday, 10:00 in Saint-Omer (CEST): La Station is open 08:00-20:00.
WEDNESDAY_10H = datetime(2026, 6, 10, 8, 0, tzinfo=timezone.utc)
ADMIN = ("admin@la-station.test", "admin-password-123")


class ManualClock(Clock):
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = WEDNESDAY_10H):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock()


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
def signing_pem() -> str:
    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()).decode()


@pytest.fixture()
def settings(database_url, signing_pem) -> ApiSettings:
    return ApiSettings(environment="production", database_url=database_url, mqtt_enabled=False,
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
def station(app):
    return app.state.station


def at(hour: int, minute: int = 0, day: datetime = WEDNESDAY_10H) -> str:
    """An ISO time on the test day, Saint-Omer local time (CEST, UTC+2)."""
    return day.replace(hour=hour - 2, minute=minute).isoformat()
