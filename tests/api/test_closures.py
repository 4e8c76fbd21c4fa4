"""Closures and programmed events from ICS: they block bookings (rule ``closed``), show on
the day view, re-import replaces, and the command line imports a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import at

PROGRAMME = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Halle culturelle//Programme//FR
BEGIN:VEVENT
UID:concert-2026-06-10
DTSTART;TZID=Europe/Paris:20260610T140000
DTEND;TZID=Europe/Paris:20260610T170000
SUMMARY:Concert de midi
LOCATION:Halle culturelle
END:VEVENT
BEGIN:VEVENT
UID:atelier-hebdo
DTSTART:20260610T180000
DURATION:PT1H
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Atelier couture
LOCATION:salle-depot
END:VEVENT
BEGIN:VEVENT
UID:ferie
DTSTART;VALUE=DATE:20260714
DTEND;VALUE=DATE:20260715
SUMMARY:Fête nationale
CATEGORIES:Fermeture
END:VEVENT
BEGIN:VEVENT
UID:annule
DTSTART:20260611T100000
DTEND:20260611T110000
STATUS:CANCELLED
SUMMARY:Annulé
LOCATION:salle-depot
END:VEVENT
END:VCALENDAR
"""


def test_an_imported_programme_blocks_bookings_and_shows_on_the_day_view(client, people):
    r = client.post("/api/v1/closures/import", headers=people.admin.headers,
                    json={"ics": PROGRAMME, "source": "programme", "kind": "event", "spaces": ["salle-aiguillage"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["periods"] == 1 + 3 + 1 and body["spaces"] == ["halle-culturelle", "salle-aiguillage", "salle-depot"]
    assert any("cancelled" in line for line in body["skipped"])
    alice = people.create()
    refused = client.post("/api/v1/bookings", headers={**alice.headers, "Accept-Language": "fr"},
                          json={"space": "halle-culturelle", "start": at(16), "end": at(18)})
    assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == "closed"
    assert refused.json()["detail"][0]["msg"] == \
        "Halle culturelle : fermeture 14:00-17:00 (heure de Paris) (Concert de midi)."
    assert client.post("/api/v1/bookings", headers=alice.headers,
                       json={"space": "halle-culturelle", "start": at(17), "end": at(18)}).status_code == 201
    # weekly workshop: 18:00 local on the 10th and the 17th
    assert client.post("/api/v1/bookings", headers=alice.headers,
                       json={"space": "salle-depot", "start": at(18, 30), "end": at(19)}).status_code == 422
    # fit stops at the programmed event, and says why
    preview = client.post("/api/v1/bookings/preview", headers=alice.headers,
                          json={"space": "salle-depot", "start": at(17), "duration_minutes": 120, "fit": True}).json()
    assert preview["shortened_by"] == "closure" and preview["end"] == "2026-06-10T16:00:00Z"
    assert "Atelier couture" in preview["note"]
    day = {s["id"]: s for s in client.get("/api/v1/schedule?date=2026-06-10").json()["spaces"]}
    assert [(b["summary"], b["kind"]) for b in day["halle-culturelle"]["blocked"]] == [("Concert de midi", "event")]
    holiday = client.get("/api/v1/closures?space=salle-aiguillage&start=2026-07-01T00:00:00Z").json()
    assert [(p["summary"], p["kind"], p["start"]) for p in holiday] == [("Fête nationale", "closure", "2026-07-13T22:00:00Z")]
    # importing the source again replaces it: the concert removed from the programme frees the venue
    r = client.post("/api/v1/closures/import", headers=people.admin.headers,
                    json={"ics": PROGRAMME.replace("UID:concert-2026-06-10", "UID:x").replace("LOCATION:Halle culturelle",
                                                                                            "LOCATION:nowhere"),
                          "source": "programme", "kind": "event"})
    assert r.json()["periods"] == 3 and any("names no space" in line for line in r.json()["skipped"])
    assert client.post("/api/v1/bookings", headers=alice.headers,
                       json={"space": "halle-culturelle", "start": at(14), "end": at(15)}).status_code == 201
    assert client.post("/api/v1/closures/import", headers=alice.headers,
                       json={"ics": PROGRAMME, "source": "x"}).status_code == 403
    assert client.post("/api/v1/closures/import", headers=people.admin.headers,
                       json={"ics": "not a calendar", "source": "x"}).status_code == 422


def test_the_command_line_imports_a_file(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        return  # the command reads the same database code; once is enough
    ics = tmp_path / "programme.ics"
    ics.write_text(PROGRAMME.replace("2026", "2099"))
    db = tmp_path / "cli.db"
    env = {"STATION_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin", "STATION_BOOKING_HORIZON_DAYS": "30000"}
    out = subprocess.run([sys.executable, "-m", "lastation.cli", "api", "import-closures", str(ics), "--kind", "event",
                          "--space", "salle-aiguillage"], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert "5 blocked period(s)" in out.stdout and "skipped:" in out.stdout
    again = subprocess.run([sys.executable, "-m", "lastation.cli", "api", "import-closures", str(ics), "--kind", "event",
                            "--space", "salle-aiguillage"], capture_output=True, text=True, env=env,
                           cwd=Path(__file__).resolve().parents[2])
    assert "5 blocked period(s)" in again.stdout  # replaced, not doubled
    import sqlite3

    assert sqlite3.connect(db).execute("select count(*) from blocked_periods").fetchone()[0] == 5


def test_a_closure_holds_the_live_status_like_a_booking(client, people, runtime, clock):
    from station.contract import RoomOccupancy

    room = "halle-culturelle"

    def empty_now():
        runtime.occupancy.handle(f"station/v1/la-station/rooms/{room}/occupancy",
                                 RoomOccupancy(ts=clock.now(), room=room, occupied=False, confidence=0.9).to_json())
        return client.get(f"/api/v1/rooms/{room}").json()

    assert empty_now()["free_until"].startswith("2026-06-10T21:30")  # the venue closes 23:30 local
    r = client.post("/api/v1/closures/import", headers=people.admin.headers,
                    json={"ics": PROGRAMME, "source": "programme", "kind": "event"})
    assert r.status_code == 200, r.text
    state = empty_now()  # at once, not after the status cache's TTL
    assert state["status"] == "free" and state["free_until"].startswith("2026-06-10T12:00")  # the concert, 14:00 local
    clock.advance(hours=4, minutes=30)  # 14:30 in Paris: the concert is on
    assert empty_now()["status"] == "reserved"
    concert = client.get(f"/api/v1/closures?space={room}&start=2026-06-10T00:00:00Z").json()[0]
    assert client.delete(f"/api/v1/closures/{concert['id']}", headers=people.admin.headers).status_code == 200
    state = empty_now()
    assert state["status"] == "free" and state["free_until"].startswith("2026-06-10T21:30")
