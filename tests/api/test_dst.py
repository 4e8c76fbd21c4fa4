"""Bookings on the Sundays the clocks change in Europe/Paris (2026-03-29 02:00 → 03:00,
2026-10-25 03:00 → 02:00): opening hours are local, so the same local hours are other
UTC instants the day after; the door's window and the refusals follow the local clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from station.contract import GrantList
from tests.utils.clocks import ManualClock

from .conftest import People

HALL, HALL_DOOR = "halle-culturelle", "porte-halle-culturelle"  # Sundays 14:00-19:00, 720 minutes at most


@pytest.fixture(params=[("2026-03-29", 2), ("2026-10-25", 1)], ids=["spring-forward", "fall-back"])
def dst_day(request, settings):
    """(client, people, day, offset of the afternoon) with the clock at 09:00 UTC that Sunday."""
    day, offset = request.param
    clock = ManualClock(datetime.fromisoformat(f"{day}T09:00:00+00:00"))
    with TestClient(create_app(settings, clock=clock, background=False)) as client:
        yield client, People(client), day, offset


def local(day: str, hhmm: str, offset: int) -> str:
    return f"{day}T{hhmm}:00+{offset:02d}:00"


def test_the_whole_sunday_afternoon_is_bookable_in_local_hours(dst_day, settings):
    client, people, day, offset = dst_day
    alice = people.create(card="3003")
    r = client.post("/api/v1/bookings", headers=alice.headers,
                    json={"space": HALL, "start": local(day, "14:00", offset), "end": local(day, "19:00", offset)})
    assert r.status_code == 201, r.text
    start = datetime.fromisoformat(r.json()["start"])
    assert start == datetime.fromisoformat(f"{day}T14:00:00+{offset:02d}:00")
    g = GrantList.model_validate(client.get(f"/api/v1/doors/{HALL_DOOR}/grants", headers=people.admin.headers).json())
    mine = [e for e in g.entries if e.role.value == "member"]
    assert len(mine) == 1
    assert mine[0].not_before == start - timedelta(minutes=settings.grant_lead_minutes)
    assert mine[0].not_after == datetime.fromisoformat(local(day, "19:00", offset))


@pytest.mark.parametrize("start,end", [("13:59", "15:00"), ("18:00", "19:01")])
def test_a_minute_outside_the_local_hours_is_refused_naming_them(dst_day, start, end):
    client, people, day, offset = dst_day
    alice = people.create()
    for lang, words in (("fr", "dimanche (14:00-19:00)"), ("en", "Sunday (14:00-19:00)")):
        r = client.post("/api/v1/bookings", headers={**alice.headers, "Accept-Language": lang},
                        json={"space": HALL, "start": local(day, start, offset), "end": local(day, end, offset)})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "outside_opening_hours"
        assert words in r.json()["detail"][0]["msg"] and f"{start}-{end}" in r.json()["detail"][0]["msg"]


def test_fit_stops_at_the_local_closing_time(dst_day):
    client, people, day, offset = dst_day
    alice = people.create()
    r = client.post("/api/v1/bookings/preview", headers=alice.headers,
                    json={"space": HALL, "start": local(day, "18:00", offset), "duration_minutes": 120, "fit": True})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["end"]) == datetime.fromisoformat(local(day, "19:00", offset))
    assert r.json()["shortened_by"] == "closing"
