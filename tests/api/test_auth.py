"""Login, tokens, roles, API keys, throttling; keys and insecure defaults at start."""

from __future__ import annotations

import pytest

from api.app import create_app
from api.keys import InsecureSettings
from api.settings import ApiSettings
from station.settings import MqttSettings

from .conftest import ADMIN


def test_login_with_wrong_password_returns_401_and_is_throttled_with_429(client, people):
    alice = people.create()
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"email": alice.email, "password": "wrong-password"})
        assert r.status_code == 401 and r.json()["detail"] == "wrong email or password"
    r = client.post("/api/v1/auth/login", json={"email": alice.email, "password": "password-1-long"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    failed = client.get("/api/v1/audit?action=login_failed", headers=people.admin.headers).json()
    assert len(failed) == 5


def test_throttle_lifts_after_the_window(client, people, clock):
    alice = people.create()
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"email": alice.email, "password": "nope"})
    clock.advance(seconds=901)
    r = client.post("/api/v1/auth/login", json={"email": alice.email, "password": "password-1-long"})
    assert r.status_code == 200


def test_every_api_process_counts_the_same_failures(client, people, settings, clock):
    """Two processes on one database (workers, replicas): failures on one lock the other."""
    from fastapi.testclient import TestClient

    alice = people.create()
    for _ in range(3):
        client.post("/api/v1/auth/login", json={"email": alice.email, "password": "wrong"})
    with TestClient(create_app(settings, clock=clock, background=False)) as other:
        for _ in range(2):
            assert other.post("/api/v1/auth/login", json={"email": alice.email, "password": "wrong"}).status_code == 401
        r = other.post("/api/v1/auth/login", json={"email": alice.email, "password": "password-1-long"})
        assert r.status_code == 429
    r = client.post("/api/v1/auth/login", json={"email": alice.email, "password": "password-1-long"})
    assert r.status_code == 429


def test_failures_are_kept_hashed_and_forgotten_after_the_window(client, people, app, clock):
    from sqlalchemy import select

    from api.db.models import LoginFailure

    alice = people.create()
    client.post("/api/v1/auth/login", json={"email": alice.email, "password": "wrong"})
    with app.state.runtime.db.session() as s:
        keys = s.execute(select(LoginFailure.key)).scalars().all()
    # account+client, client, account: three counters, digests only
    assert len(keys) == 3 and all(len(k) == 64 and "@" not in k for k in keys)
    clock.advance(seconds=901)
    client.post("/api/v1/auth/login", json={"email": "someone@else.test", "password": "wrong"})
    with app.state.runtime.db.session() as s:
        rows = s.execute(select(LoginFailure.at)).scalars().all()
    assert len(rows) == 3 and all(at == clock.now() for at in rows)  # alice's are gone


def test_guessing_from_elsewhere_never_locks_the_owner_out_of_their_known_device(client):
    owner = client.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()
    device = owner["device_token"]
    for _ in range(60):  # an anonymous client hammers the administrator's account
        r = client.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": "guess"})
        assert r.status_code in (401, 429)
    assert r.status_code == 429  # guessing is stopped...
    again = client.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1], "device_token": device})
    assert again.status_code == 200, again.text  # ...and the owner still gets in from their device
    assert again.json()["device_token"] == device


def test_a_known_device_is_throttled_on_its_own(client, people):
    alice = people.create()
    device = client.post("/api/v1/auth/login",
                         json={"email": alice.email, "password": "password-1-long"}).json()["device_token"]
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"email": alice.email, "password": "x", "device_token": device})
    r = client.post("/api/v1/auth/login", json={"email": alice.email, "password": "password-1-long",
                                                "device_token": device})
    assert r.status_code == 429


def test_a_device_token_of_another_account_counts_for_nothing(client, people):
    alice, bob = people.create(), people.create()
    device = client.post("/api/v1/auth/login",
                         json={"email": alice.email, "password": "password-1-long"}).json()["device_token"]
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"email": bob.email, "password": "x", "device_token": device})
    r = client.post("/api/v1/auth/login", json={"email": bob.email, "password": "password-2-long",
                                                "device_token": device})
    assert r.status_code == 429  # alice's device is not bob's: the anonymous limits apply


def test_one_client_guessing_across_accounts_is_locked_out(client, people, settings):
    for n in range(settings.login_client_max_failures):
        client.post("/api/v1/auth/login", json={"email": f"guess{n}@la-station.test", "password": "x"})
    r = client.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 429


def test_failed_logins_never_store_what_was_typed_unless_it_is_an_account(client, people):
    alice = people.create()
    client.post("/api/v1/auth/login", json={"email": "correct horse battery staple", "password": "x"})
    client.post("/api/v1/auth/login", json={"email": alice.email, "password": "x"})
    failed = client.get("/api/v1/audit?action=login_failed", headers=people.admin.headers).json()
    assert [e["actor"] for e in failed] == [alice.email, "unknown account"]
    assert all("horse" not in str(e) for e in failed)
    assert failed[0]["member_id"] == alice.id


def test_unknown_email_returns_the_same_401(client):
    r = client.post("/api/v1/auth/login", json={"email": "nobody@nowhere.test", "password": "whatever"})
    assert r.status_code == 401 and r.json()["detail"] == "wrong email or password"


def test_passwords_are_stored_as_argon2(app, people):
    from sqlalchemy import select

    from api.db import Member

    with app.state.runtime.db.session() as s:
        stored = s.execute(select(Member.password_hash).where(Member.email == ADMIN[0])).scalar_one()
    assert stored.startswith("$argon2id$") and ADMIN[1] not in stored


def test_member_cannot_use_staff_endpoints_returns_403(client, people):
    alice = people.create()
    assert client.get("/api/v1/members", headers=alice.headers).status_code == 403
    assert client.post(f"/api/v1/members/{alice.id}/badges", headers=alice.headers,
                       json={"card_number": "1"}).status_code == 403
    assert client.get("/api/v1/doors/porte-salle-aiguillage/grants", headers=alice.headers).status_code == 403
    assert client.post("/api/v1/doors/porte-salle-aiguillage/commands", headers=alice.headers,
                       json={"action": "unlock_once"}).status_code == 403


def test_staff_cannot_create_admins_but_admin_can(client, people):
    staff = people.create("staff")
    body = {"email": "boss@la-station.test", "name": "Boss", "role": "admin", "password": "long-enough-pw"}
    assert client.post("/api/v1/members", headers=staff.headers, json=body).status_code == 403
    assert client.post("/api/v1/members", headers=people.admin.headers, json=body).status_code == 201
    assert client.post("/api/v1/members", headers=people.admin.headers, json=body).status_code == 409


def test_logout_revokes_the_token(client, people):
    alice = people.create()
    assert client.post("/api/v1/auth/logout", headers=alice.headers).status_code == 204
    assert client.get("/api/v1/members/me", headers=alice.headers).status_code == 401


def test_node_api_key_reads_grants_but_cannot_book(client, people):
    r = client.post("/api/v1/api-keys", headers=people.admin.headers, json={"name": "door node", "role": "node"})
    assert r.status_code == 201
    key = {"X-API-Key": r.json()["api_key"]}
    assert client.get("/api/v1/doors/porte-salle-aiguillage/grants", headers=key).status_code == 200
    r = client.post("/api/v1/bookings", headers=key,
                    json={"space": "salle-aiguillage", "start": "2026-06-10T09:00:00Z", "duration_minutes": 30})
    assert r.status_code == 403
    assert client.get("/api/v1/members", headers={"X-API-Key": "sk_forged"}).status_code == 401
    staff = people.create("staff")
    assert client.post("/api/v1/api-keys", headers=staff.headers, json={"name": "x"}).status_code == 403


def test_production_refuses_to_start_without_keys_or_database(database_url, signing_pem):
    with pytest.raises(InsecureSettings, match="STATION_SIGNING_KEY_FILE"):
        create_app(ApiSettings(environment="production", database_url=database_url, mqtt=MqttSettings(enabled=False)))
    with pytest.raises(InsecureSettings, match="STATION_DATABASE_URL"):
        create_app(ApiSettings(environment="production", mqtt=MqttSettings(enabled=False), signing_key=signing_pem,
                               site_key="ab" * 32))


def test_keys_command_writes_keys_the_api_starts_with(tmp_path, database_url):
    from typer.testing import CliRunner

    from api.cli import app as cli

    result = CliRunner().invoke(cli, ["keys", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "keys" / "signing.pem").stat().st_mode & 0o077 == 0
    app = create_app(ApiSettings(environment="production", database_url=database_url, mqtt=MqttSettings(enabled=False),
                                 signing_key_file=tmp_path / "keys" / "signing.pem",
                                 site_key_file=tmp_path / "keys" / "site-hmac.key"))
    assert app.state.runtime.keys.public_pem() == (tmp_path / "keys" / "signing.pub.pem").read_text()


def test_api_run_names_the_environment_variable_that_does_not_parse(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from api.cli import app as cli

    monkeypatch.setenv("STATION_MQTT_TLS_CA", str(tmp_path / "missing-ca.crt"))
    monkeypatch.setenv("STATION_MQTT_PORT", "eighteen-eighty-three")
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 2
    assert "environment: STATION_MQTT_TLS_CA: Path does not point to a file" in result.output
    assert "environment: STATION_MQTT_PORT: Input should be a valid integer" in result.output


def test_api_reads_its_broker_section_from_the_environment(tmp_path, monkeypatch):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    for name, value in (("TLS_CA", str(ca)), ("HOST", "broker.la-station.example"), ("PORT", "8883"),
                        ("USERNAME", "api-1"), ("CLIENT_ID", "api-1")):
        monkeypatch.setenv(f"STATION_MQTT_{name}", value)
    mqtt = ApiSettings().mqtt
    assert (mqtt.tls_ca, mqtt.host, mqtt.port, mqtt.username, mqtt.client_id) == (
        ca, "broker.la-station.example", 8883, "api-1", "api-1")
    assert mqtt.describe() == "mqtts://api-1@broker.la-station.example:8883"


def test_a_misspelt_broker_variable_fails_at_start_naming_it(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.setenv("STATION_MQTT_HOTS", "broker")
    with pytest.raises(ValidationError, match="mqtt.hots"):
        ApiSettings()
