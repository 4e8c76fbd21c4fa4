"""Hostile text a member types (a name, a booking title) through every way out: the
member's iCal feed (escaping, line folding: no injected property or event), the export
CSV (no cell a spreadsheet would run), and the other member's feed and export (nothing).

These held when written: they stand guard over the feed being built by a library and
over :func:`api.routers.staff_bookings.csv_cell`.
"""

from __future__ import annotations

import csv
import io

import icalendar
import pytest

from .conftest import at

ROOM = "salle-aiguillage"
TITLE = 'Réunion; DTSTART:19700101T000000Z, <img src=x onerror=alert(1)></script> \\ "Intergouvernementalisations"'
NAME = "=HYPERLINK(\"http://evil.example\",\"clic\") Anticonstitutionnellement"


def test_a_hostile_title_and_name_stay_text_in_the_feed(client, people):
    alice = people.create(name=NAME)
    bob = people.create(name="Bob Durand")
    r = client.post("/api/v1/bookings", headers=alice.headers,
                    json={"space": ROOM, "start": at(11), "end": at(12), "title": TITLE})
    assert r.status_code == 201, r.text
    url = client.get("/api/v1/members/me/calendar", headers=alice.headers).json()["url"]
    raw = client.get(url.removeprefix("http://testserver")).content
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), "RFC 5545 folds lines at 75 octets"
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    cal = icalendar.Calendar.from_ical(raw)
    (event,) = cal.walk("VEVENT")
    assert str(event["summary"]).endswith(TITLE)  # the title comes back whole, as text
    assert len([c for c in cal.walk() if c.name == "VEVENT"]) == 1
    assert event.decoded("dtstart").year == 2026  # not the injected 1970
    assert str(cal["x-wr-calname"]).endswith(NAME)
    bob_url = client.get("/api/v1/members/me/calendar", headers=bob.headers).json()["url"]
    assert TITLE.encode() not in client.get(bob_url.removeprefix("http://testserver")).content


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])  # a tab or CR is refused at the edge (a control)
def test_export_csv_never_hands_a_spreadsheet_a_formula(client, people, prefix):
    title = prefix + 'HYPERLINK("http://evil.example","x")'
    alice = people.create(name=prefix + "cmd|' /C calc'!A0")
    assert client.post("/api/v1/bookings", headers=alice.headers,
                       json={"space": ROOM, "start": at(11), "end": at(12), "title": title}).status_code == 201
    rows = list(csv.reader(io.StringIO(client.get("/api/v1/members/me/export?format=csv", headers=alice.headers).text)))
    values = [row[3] for row in rows[1:]]
    assert not [v for v in values if v[:1] in ("=", "+", "-", "@", "\t", "\r")], "a cell a spreadsheet would run"
    assert "'" + prefix + "cmd|' /C calc'!A0" in values and "'" + title in values  # quoted, not lost
