"""The CalDAV sync against a real Radicale server (started by the test on a free port):
bookings out (busy, no names, idempotent, cancelled ones removed, through an outage),
members' events in (booked when the rules allow, declined with the reason otherwise)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import caldav
import icalendar
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import wait_until
from tests.utils.radicale import RadicaleServer
from tests.utils.services import unavailable

from .conftest import People, at

ROOM = "salle-aiguillage"


@pytest.fixture(params=["sqlite"])  # the sync's logic is the same on both; PostgreSQL runs in test_calendars
def database_url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.fixture()
def radicale(tmp_path):
    server = RadicaleServer(tmp_path / "radicale")
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001
        server.stop()
        unavailable("radicale", str(exc))
    yield server
    server.stop()


@pytest.fixture()
def synced(settings, clock, radicale):
    s = settings.model_copy(update={"caldav_url": radicale.url, "caldav_username": radicale.user,
                                    "caldav_password": radicale.password, "caldav_pull_interval_s": 3600})
    app = create_app(s, clock=clock, background=False)
    with TestClient(app) as client:
        yield client, app.state.runtime, People(client)


def room_calendar(radicale, space=ROOM):
    client = caldav.DAVClient(url=radicale.url, username=radicale.user, password=radicale.password)
    return client.principal().calendar(cal_id=space)


def room_events(radicale, space=ROOM) -> dict[str, icalendar.Event]:
    out = {}
    for obj in room_calendar(radicale, space).events():
        ev = icalendar.Calendar.from_ical(obj.data).walk("VEVENT")[0]
        out[str(ev["uid"])] = ev
    return out


def test_bookings_are_published_busy_without_names_idempotently(synced, radicale):
    client, runtime, people = synced
    alice = people.create(name="Alice Martin")
    made = [client.post("/api/v1/bookings", headers=alice.headers,
                        json={"space": ROOM, "start": at(h), "end": at(h + 1), "title": "Alice's secret"}).json()
            for h in (11, 14)]
    runtime.caldav.sync_once()
    evs = room_events(radicale)
    assert set(evs) == {f"station-booking-{b['id']}@la-station" for b in made}
    assert {str(e["summary"]) for e in evs.values()} == {"Réservé"}
    raw = "".join(o.data for o in room_calendar(radicale).events())
    assert "Alice" not in raw and "secret" not in raw
    assert {(e.decoded("dtstart"), e.decoded("dtend")) for e in evs.values()} == \
        {(datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"])) for b in made}
    published = runtime.caldav.counts["published"]
    runtime.caldav.space_changed(ROOM)
    runtime.caldav.sync_once()  # again: nothing changes
    assert runtime.caldav.counts["published"] == published and len(room_events(radicale)) == 2
    client.delete(f"/api/v1/bookings/{made[0]['id']}", headers=alice.headers)
    assert runtime.caldav.pending == {ROOM}  # marked by the change; the request did not wait for CalDAV
    runtime.caldav.sync_once()
    assert set(room_events(radicale)) == {f"station-booking-{made[1]['id']}@la-station"}


def member_event(uid: str, start: str, end: str, organizer: str | None, summary="Réunion projet") -> str:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//a member's calendar app//EN")
    cal.add("version", "2.0")
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", datetime(2026, 6, 1, tzinfo=timezone.utc))
    ev.add("dtstart", datetime.fromisoformat(start))
    ev.add("dtend", datetime.fromisoformat(end))
    ev.add("summary", summary)
    if organizer:
        ev.add("organizer", f"mailto:{organizer}", parameters={"CN": "Someone"})
    cal.add_component(ev)
    return cal.to_ical().decode()


def test_events_members_create_become_bookings_or_are_declined_with_the_reason(synced, radicale):
    client, runtime, people = synced
    alice = people.create(name="Alice Martin")
    bob = people.create()
    client.post("/api/v1/bookings", headers=bob.headers, json={"space": ROOM, "start": at(15), "end": at(16)})
    runtime.caldav.sync_once()  # the calendars exist
    cal = room_calendar(radicale)
    cal.save_event(member_event("ok-1", at(11), at(12), alice.email.upper()))  # e-mails match in any case
    cal.save_event(member_event("stranger-1", at(12), at(13), "nobody@example.org"))
    cal.save_event(member_event("clash-1", at(15, 30), at(16, 30), alice.email))
    cal.save_event(member_event("late-1", at(19), at(21), alice.email))
    runtime.caldav.sync_once()
    mine = client.get("/api/v1/bookings", headers=alice.headers).json()
    assert [(b["start"], b["end"], b["status"]) for b in mine] == [("2026-06-10T09:00:00Z", "2026-06-10T10:00:00Z",
                                                                     "confirmed")]
    evs = room_events(radicale)
    booked = evs["ok-1"]  # same UID, now ours: busy, no names
    assert str(booked["summary"]) == "Réservé" and booked.get("organizer") is None
    assert str(booked["x-station-booking"]) == str(mine[0]["id"])
    for uid, words in (("stranger-1", "Aucun membre n'a l'adresse nobody@example.org"),
                       ("clash-1", "déjà réservé 15:00-16:00 (heure de Paris)"),
                       ("late-1", "en dehors des horaires")):
        ev = evs[uid]
        assert str(ev["status"]) == "CANCELLED", uid
        comments = [str(c) for c in (ev["comment"] if isinstance(ev["comment"], list) else [ev["comment"]])]
        assert any(words in c for c in comments), (uid, comments)
        assert any(c.startswith("Declined: ") for c in comments)
        room = [a for a in (ev["attendee"] if isinstance(ev["attendee"], list) else [ev["attendee"]])
                if a.params.get("CUTYPE") == "ROOM"]
        assert room and room[0].params["PARTSTAT"] == "DECLINED"
    # judged once: another pull books nothing more, declines nothing more
    counts = dict(runtime.caldav.counts)
    runtime.caldav.sync_once()
    assert runtime.caldav.counts["booked"] == counts["booked"] == 1
    assert runtime.caldav.counts["declined"] == counts["declined"] == 3
    # the member's feed and the room's feed show the CalDAV booking under its one UID
    assert "ok-1" in client.get(f"/api/v1/rooms/{ROOM}/calendar.ics").text


def test_the_worker_publishes_through_an_outage_and_never_blocks_a_booking(synced, radicale):
    client, runtime, people = synced
    alice = people.create()
    runtime.caldav.start()
    try:
        wait_until(lambda: not runtime.caldav.pending, timeout=30)  # first pass: every space published
        radicale.stop()
        started = time.monotonic()
        r = client.post("/api/v1/bookings", headers=alice.headers, json={"space": ROOM, "start": at(11), "end": at(12)})
        assert r.status_code == 201 and time.monotonic() - started < 2
        wait_until(lambda: runtime.caldav.counts["failures"] >= 1, timeout=15)
        assert ROOM in runtime.caldav.pending  # kept, to retry
        radicale.start()  # back, same port and data
        uid = f"station-booking-{r.json()['id']}@la-station"
        wait_until(lambda: not runtime.caldav.pending, timeout=30)
        assert uid in room_events(radicale)
    finally:
        runtime.caldav.stop()
