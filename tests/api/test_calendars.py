"""iCal feeds: a space's (public, busy, no names) and a member's (private token URL,
revocable) parse with icalendar and hold exactly the bookings the API has."""

from __future__ import annotations

from datetime import datetime

import icalendar

from .conftest import at

ROOM = "salle-aiguillage"


def events(text: str) -> list:
    return icalendar.Calendar.from_ical(text).walk("VEVENT")


def spans(evs) -> set[tuple[datetime, datetime]]:
    return {(e.decoded("dtstart"), e.decoded("dtend")) for e in evs}


def api_spans(bookings) -> set[tuple[datetime, datetime]]:
    return {(datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"])) for b in bookings}


def test_space_feed_holds_exactly_the_holding_bookings_without_names(client, people):
    alice, bob = people.create(name="Alice Martin"), people.create(name="Bob Durand")
    made = [client.post("/api/v1/bookings", headers=p.headers, json={"space": ROOM, "start": at(h), "end": at(h + 1),
                                                                      "title": "Secret plan"}).json()
            for p, h in ((alice, 11), (bob, 13), (alice, 15))]
    client.delete(f"/api/v1/bookings/{made[1]['id']}", headers=bob.headers)  # cancelled: gone from the feed
    r = client.get(f"/api/v1/rooms/{ROOM}/calendar.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    evs = events(r.text)
    holding = [b for b in client.get("/api/v1/bookings", headers=people.admin.headers).json()
               if b["space"] == ROOM and b["status"] in ("confirmed", "checked_in")]
    assert spans(evs) == api_spans(holding) and len(evs) == 2
    assert {str(e["summary"]) for e in evs} == {"Réservé"}
    assert "Alice" not in r.text and "Bob" not in r.text and "Secret" not in r.text and "@" not in r.text.split("UID")[0]
    assert {str(e["uid"]) for e in evs} == {f"station-booking-{made[0]['id']}@la-station",
                                            f"station-booking-{made[2]['id']}@la-station"}
    again = client.get(f"/api/v1/rooms/{ROOM}/calendar.ics", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    client.post("/api/v1/bookings", headers=bob.headers, json={"space": ROOM, "start": at(17), "end": at(18)})
    changed = client.get(f"/api/v1/rooms/{ROOM}/calendar.ics", headers={"If-None-Match": r.headers["etag"]})
    assert changed.status_code == 200 and len(events(changed.text)) == 3  # updated on every change
    assert client.get("/api/v1/rooms/nowhere/calendar.ics").status_code == 404


def test_member_feed_is_private_has_exactly_my_bookings_and_its_url_can_be_rotated(client, people, runtime, clock):
    alice, bob = people.create(name="Alice Martin"), people.create()
    for h in (11, 14):
        client.post("/api/v1/bookings", headers=alice.headers, json={"space": ROOM, "start": at(h), "end": at(h + 1)})
    client.post("/api/v1/bookings", headers=bob.headers, json={"space": ROOM, "start": at(16), "end": at(17)})
    url = client.get("/api/v1/members/me/calendar", headers=alice.headers).json()["url"]
    assert client.get("/api/v1/members/me/calendar", headers=alice.headers).json()["url"] == url  # shown again
    path = url.removeprefix("http://testserver")
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) > 40
    r = client.get(path)  # no login: the token is the key
    assert r.status_code == 200
    mine = client.get("/api/v1/bookings", headers=alice.headers).json()
    evs = events(r.text)
    assert spans(evs) == api_spans(mine) and all("Salle Aiguillage" in str(e["summary"]) for e in evs)
    # only the hash is stored
    from sqlalchemy import select

    from api.db import CalendarFeed

    with runtime.db.session() as s:
        stored = s.execute(select(CalendarFeed)).scalars().all()
    assert stored and all(token not in (f.digest, f.salt) for f in stored)
    # a no-show shows in the member's feed with why
    clock.advance(hours=1, minutes=20)  # 11:20: nobody badged into the 11:00 booking
    assert runtime.sweeper.release_no_shows(clock.now()) == [mine[0]["id"]]
    text = client.get(path).text.replace("\r\n ", "")  # unfold long lines
    assert "personne n'a badgé" in text and "STATUS:CANCELLED" in text
    # rotate: the old URL stops, the new one works
    new = client.post("/api/v1/members/me/calendar/rotate", headers=alice.headers).json()["url"]
    assert new != url
    assert client.get(path).status_code == 404
    assert client.get(new.removeprefix("http://testserver")).status_code == 200
    assert client.get("/api/v1/calendars/cal_guessed.ics").status_code == 404
    assert client.get("/api/v1/members/me/calendar").status_code == 401
