"""Room history through the collector's history interface (its embedded SQLite store)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from station.history import SqliteHistory
from station.history import Point

ROOM = "salle-aiguillage"


@pytest.fixture()
def history_client(settings, clock, tmp_path):
    history = SqliteHistory(tmp_path / "history.sqlite")
    t0 = clock.now() - timedelta(hours=1)
    history.write([Point("telemetry", {"site": "la-station", "space": ROOM, "node": "ls-salle-salle-aiguillage"},
                         {"co2_ppm": 500.0 + 10 * i}, t0 + timedelta(minutes=5 * i)) for i in range(12)])
    with TestClient(create_app(settings, clock=clock, background=False, history=history)) as client:
        yield client, t0
    history.close()


def test_room_history_returns_bucketed_co2(history_client):
    client, t0 = history_client
    r = client.get(f"/api/v1/rooms/{ROOM}/history",
                   params={"metric": "co2_ppm", "start": t0.isoformat(), "every_minutes": 10})
    assert r.status_code == 200, r.text
    values = [p["value"] for p in r.json()["points"]]
    assert values == [505.0, 525.0, 545.0, 565.0, 585.0, 605.0]


def test_room_history_of_unknown_room_or_bad_range_is_4xx(history_client):
    client, t0 = history_client
    assert client.get("/api/v1/rooms/nowhere/history").status_code == 404
    r = client.get(f"/api/v1/rooms/{ROOM}/history", params={"start": t0.isoformat(), "end": t0.isoformat()})
    assert r.status_code == 422 and "before end" in r.json()["detail"][0]["msg"]


def test_room_history_without_store_returns_503(client):
    r = client.get(f"/api/v1/rooms/{ROOM}/history")
    assert r.status_code == 503 and "history" in r.json()["detail"]
