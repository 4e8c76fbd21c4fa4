"""Schemathesis against the app's own OpenAPI, logged in as staff (and as an administrator):
no 5xx, every status code declared, every response body matching its declared schema.

Runs against a real Mosquitto and a SQLite history store, on SQLite and on a real PostgreSQL (``database_url`` from tests/conftest.py), with
positive and negative examples per operation (NUL and control characters, datetimes
across the whole representable range, ids that overflow...). Every operation is tried
even when an earlier one fails, and the failures are reported together.

Requests go through Starlette's (httpx) test client: schemathesis' own requests transport
trips over the urllib3-future installed here. Bounded in time: a few examples per
operation and mode, no example database, no deadline (a loaded CI machine is slow).
"""

from __future__ import annotations

import re
import secrets
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from starlette.testclient import TestClient

from api.app import create_app
from station.history import SqliteHistory
from tests.conftest import wait_until

from .conftest import People

# The two event streams never end (an SSE response is open until the client leaves), so a
# test client would wait forever for their body: test_stream.py and test_staff_console.py
# cover them. Logging out would revoke the token the rest of the run uses.
EXCLUDED = {"/api/v1/stream", "/api/v1/staff/stream", "/api/v1/auth/logout"}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 5}
REAL_IDS_EXAMPLES = 8
BUDGET_S = 75  # per database and role; the run fails loudly rather than creeping past it


@pytest.fixture()
def api(settings, clock, mqtt_settings, tmp_path):
    """The app with what it talks to in production: a real Mosquitto (door commands answer
    202, not "broker unreachable") and a history store (history reads reach it, not 503)."""
    mqtt = mqtt_settings.model_copy(update={"client_id": f"api-{secrets.token_hex(3)}"})
    history = SqliteHistory(tmp_path / "history.sqlite")
    app = create_app(settings.model_copy(update={"login_max_failures": 10_000, "mqtt": mqtt}), clock=clock,
                     history=history)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_until(lambda: app.state.runtime.bus.connected.is_set(), timeout=10)
        yield app, client
    history.close()


def send(client, case, headers):
    """Send a case through the test client; schemathesis then checks the response."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    allowed = {"method", "url", "headers", "params", "json", "content", "data", "files", "cookies"}
    if "data" in kwargs and isinstance(kwargs["data"], (bytes, str)):
        kwargs["content"] = kwargs.pop("data")
    return client.request(**{k: v for k, v in kwargs.items() if k in allowed and (k != "cookies" or v)})


def run_schemathesis(app, client, headers, known: dict[str, object]) -> tuple[list[str], list[str]]:
    """Every operation, positive and negative; and, where its path names a thing ``known``
    holds (a real room, door, node, member), positive again with those: random ids stop at
    the 404 and never reach the history store or the database with the rest of the input."""
    # From the running client: from_asgi would start the app's lifespan a second time (a
    # second MQTT client with the same id, and the broker would drop them in turn).
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    tested, failures = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in EXCLUDED:
            continue
        name = f"{operation.method.upper()} {operation.path}"
        real = {p: known[p] for p in re.findall(r"{(\w+)}", operation.path) if p in known}
        runs = [(mode, examples, None) for mode, examples in EXAMPLES.items()]
        if real:
            runs.append((GenerationMode.POSITIVE, REAL_IDS_EXAMPLES, real))
        for mode, examples, path_parameters in runs:

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
            @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                      derandomize=False)
            def check(case):
                response = send(client, case, headers)
                case.validate_response(response, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, name  # nothing to break in an operation without input
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - schemathesis' FailureGroup; reported together below
                failures.append(f"{name} ({mode.value}{', real ids' if path_parameters else ''}): {exc}"[:3000])
        tested.append(name)
    return tested, failures


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_every_operation_declares_what_it_answers(api, role, database_url):
    if role == "admin" and not database_url.startswith("sqlite"):
        pytest.skip("the administrator's run is on SQLite only (time); staff runs on both")
    app, client = api
    people = People(client)
    user = people.admin if role == "admin" else people.create("staff")
    inventory = app.state.runtime.inventory
    known = {"room_id": "salle-aiguillage", "door_id": next(d.id for _, d in inventory.doors()),
             "node_id": inventory.nodes()[0][1].id, "member_id": people.create().id}
    started = time.monotonic()
    tested, failures = run_schemathesis(app, client, user.headers, known)
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures)
    assert {"POST /api/v1/bookings", "GET /api/v1/rooms/{room_id}/history", "GET /api/v1/audit",
            "POST /api/v1/members/{member_id}/trainings", "GET /api/v1/staff/bookings"} <= set(tested)
    assert len(tested) >= 50, tested
    assert elapsed < BUDGET_S * 2, f"{elapsed:.0f} s"
