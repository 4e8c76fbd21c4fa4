"""``GET /api/v1/stream``: Server-Sent Events of room status changes, over real HTTP."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
import uvicorn

from api.app import create_app
from station.broker.dev import free_port
from tests.conftest import wait_until

from .conftest import People


@pytest.fixture()
def server(settings, clock):
    app = create_app(settings, clock=clock, background=False)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        timeout_graceful_shutdown=1))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_until(lambda: srv.started, timeout=10)
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(10)


def read_events(lines, until):
    """Parse SSE frames from an iterator of lines until ``until(event, data)`` is true."""
    event, seen = None, []
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            seen.append((event, json.loads(line[6:])))
            if until(*seen[-1]):
                return seen
    raise AssertionError(f"stream ended; saw {seen}")


def test_stream_sends_a_room_event_when_a_booking_changes_the_status(server):
    base, app = server
    with httpx.Client(base_url=base, timeout=10) as client:
        alice = People(client).create()
        with client.stream("GET", "/api/v1/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()  # one iterator: dropping one closes the connection
            read_events(lines, lambda e, d: e == "hello")
            wait_until(lambda: app.state.runtime.hub.clients == 1, timeout=5)
            r = client.post("/api/v1/bookings", headers=alice.headers,
                            json={"space": "salle-quai-2", "duration_minutes": 30})
            assert r.status_code == 201, r.text
            events = read_events(lines, lambda e, d: e == "room" and d["id"] == "salle-quai-2")
    assert events[-1][1]["status"] == "reserved" and events[-1][1]["free_until"] is None
    assert not any(d.get("id") not in (None, "salle-quai-2") for _, d in events)  # only what changed
