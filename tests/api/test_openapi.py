"""Schemathesis against the app's OpenAPI: no 5xx, every response matches its schema.

Runs on SQLite with the administrator's token, so protected operations are exercised
too; a bounded number of examples per operation keeps it quick. The event stream never
ends, so it is left to test_stream.py. Requests go through Starlette's httpx test client
(schemathesis' own requests transport trips over the urllib3-future installed here).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app

from .conftest import ADMIN


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.fixture()
def api_schema(settings, clock):
    app = create_app(settings.model_copy(update={"login_max_failures": 10_000}), clock=clock, background=False)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture()
def admin_headers(api_schema):
    from starlette.testclient import TestClient

    with TestClient(api_schema.app) as client:
        token = client.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


EXCLUDED = {"/api/v1/stream", "/api/v1/auth/logout"}


def send(client, case, headers):
    """Send a case through Starlette's (httpx) test client; schemathesis validates the response."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    allowed = {"method", "url", "headers", "params", "json", "content", "data", "files", "cookies"}
    if "data" in kwargs and isinstance(kwargs["data"], (bytes, str)):
        kwargs["content"] = kwargs.pop("data")
    return client.request(**{k: v for k, v in kwargs.items() if k in allowed and (k != "cookies" or v)})


def test_api_answers_every_request_without_5xx_and_matches_its_schema(api_schema, admin_headers):
    from starlette.testclient import TestClient

    client = TestClient(api_schema.app, raise_server_exceptions=False)
    tested = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path in EXCLUDED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            response = send(client, case, admin_headers)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        check()
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /api/v1/bookings" in tested and "GET /api/v1/rooms" in tested and len(tested) >= 20
