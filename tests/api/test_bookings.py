"""Bookings: the rules (409 / 422 naming the rule), privacy, and what the rooms show."""

from __future__ import annotations

import pytest

from .conftest import at

ROOM = "salle-aiguillage"  # capacity 8, 240 minutes at most, open 08:00-20:00


def book(client, person, space=ROOM, start=None, end=None, **extra):
    body = {"space": space, "start": start or at(11), "end": end or at(12), **extra}
    if "duration_minutes" in extra:
        body.pop("end")
    return client.post("/api/v1/bookings", headers=person.headers, json=body)


def test_create_booking_returns_201_and_lists_it_as_mine(client, people):
    alice = people.create()
    r = book(client, alice)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed" and r.json()["space"] == ROOM
    mine = client.get("/api/v1/bookings", headers=alice.headers).json()
    assert [b["id"] for b in mine] == [r.json()["id"]]


def test_create_booking_conflict_returns_409(client, people):
    alice, bob = people.create(), people.create()
    assert book(client, alice, start=at(11), end=at(12)).status_code == 201
    r = book(client, bob, start=at(11, 30), end=at(12, 30))
    assert r.status_code == 409
    assert "already booked 11:00-12:00" in r.json()["detail"]
    assert book(client, bob, start=at(12), end=at(13)).status_code == 201  # back to back is fine


@pytest.mark.parametrize("kwargs, words", [
    ({"start": at(9), "end": at(9, 30)}, "in the past"),
    ({"start": at(19), "end": at(21)}, "outside the opening hours"),
    ({"start": at(11), "end": at(16)}, "240 minutes at most"),
    ({"attendees": 9}, "holds 8 people"),
    ({"start": at(12), "end": at(11)}, "must end after it starts"),
])
def test_create_booking_breaking_a_rule_returns_422_saying_which(client, people, kwargs, words):
    r = book(client, people.create(), **kwargs)
    assert r.status_code == 422
    assert words in r.json()["detail"][0]["msg"]


def test_create_booking_of_unknown_space_returns_404(client, people):
    assert book(client, people.create(), space="nowhere").status_code == 404


def test_create_booking_without_login_returns_401(client):
    r = client.post("/api/v1/bookings", json={"space": ROOM, "start": at(11), "end": at(12)})
    assert r.status_code == 401 and "log in" in r.json()["detail"]


def test_booking_with_duration_and_naive_time_is_validated(client, people):
    alice = people.create()
    assert book(client, alice, duration_minutes=30).json()["end"].startswith("2026-06-10T09:30")
    r = client.post("/api/v1/bookings", headers=alice.headers,
                    json={"space": ROOM, "start": "2026-06-10T11:00:00", "duration_minutes": 30})
    assert r.status_code == 422


def test_members_see_only_their_own_bookings(client, people):
    alice, bob = people.create(), people.create()
    b = book(client, alice).json()
    assert client.get("/api/v1/bookings", headers=bob.headers).json() == []
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=bob.headers).status_code == 404
    assert client.delete(f"/api/v1/bookings/{b['id']}", headers=bob.headers).status_code == 404
    assert client.get(f"/api/v1/bookings?member={alice.id}", headers=bob.headers).status_code == 403
    staff_view = client.get(f"/api/v1/bookings?member={alice.id}", headers=people.admin.headers).json()
    assert [x["id"] for x in staff_view] == [b["id"]]


def test_room_shows_reserved_without_the_bookers_name_except_to_them(client, people, clock):
    alice, bob = people.create(name="Alice Martin"), people.create()
    book(client, alice, start=at(10), end=at(11))
    public = client.get(f"/api/v1/rooms/{ROOM}").json()
    assert public["status"] == "reserved"
    assert public["next_booking"]["booker"] is None and public["next_booking"]["mine"] is False
    assert client.get(f"/api/v1/rooms/{ROOM}", headers=bob.headers).json()["next_booking"]["booker"] is None
    own = client.get(f"/api/v1/rooms/{ROOM}", headers=alice.headers).json()["next_booking"]
    assert own == {**own, "booker": "Alice Martin", "mine": True} and "booking" not in own
    assert client.get(f"/api/v1/rooms/{ROOM}", headers=people.admin.headers).json()["next_booking"]["booker"] == "Alice Martin"
    assert "Alice" not in client.get("/").text
    in_list = lambda who: next(r for r in client.get("/api/v1/rooms", headers=who).json() if r["id"] == ROOM)  # noqa: E731
    assert in_list(alice.headers)["next_booking"]["booker"] == "Alice Martin"
    assert in_list(bob.headers)["next_booking"] == {**own, "booker": None, "mine": False}
    assert in_list({})["next_booking"]["booker"] is None
    assert in_list(people.admin.headers)["next_booking"]["booker"] == "Alice Martin"
    assert "booking" not in in_list(alice.headers)["next_booking"]


def test_free_room_is_free_until_the_next_booking(client, people, runtime):
    from station.contract import RoomOccupancy

    runtime.occupancy.handle(f"station/v1/la-station/rooms/{ROOM}/occupancy",
                         RoomOccupancy(ts=runtime.clock.now(), room=ROOM, occupied=False, confidence=0.9).to_json())
    room = client.get(f"/api/v1/rooms/{ROOM}").json()
    assert room["status"] == "free" and room["free_until"].startswith("2026-06-10T18:00")  # closes 20:00 local
    book(client, people.create(), start=at(13), end=at(14))
    room = client.get(f"/api/v1/rooms/{ROOM}").json()
    assert room["status"] == "free" and room["free_until"].startswith("2026-06-10T11:00")


def test_cancel_booking_frees_the_slot_and_cannot_be_repeated(client, people):
    alice, bob = people.create(), people.create()
    b = book(client, alice).json()
    r = client.delete(f"/api/v1/bookings/{b['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete(f"/api/v1/bookings/{b['id']}", headers=alice.headers).status_code == 409
    assert book(client, bob).status_code == 201


def test_cancel_started_booking_releases_it(client, people, clock):
    alice = people.create()
    b = book(client, alice, start=at(10), end=at(11)).json()
    clock.advance(minutes=20)
    assert client.delete(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "released"
    assert client.get(f"/api/v1/rooms/{ROOM}").json()["status"] == "unknown"


def test_rooms_filter_by_site_and_kind(client, inventory):
    rooms = client.get("/api/v1/rooms?site=la-station&kind=meeting").json()
    assert rooms and all(r["site"] == "la-station" and r["kind"] == "meeting" for r in rooms)
    assert len(rooms) == sum(1 for s, sp in inventory.spaces() if s.id == "la-station" and sp.kind.value == "meeting")
    assert client.get("/api/v1/rooms?site=atlantis").status_code == 404
    assert client.get("/api/v1/rooms?kind=spaceship").status_code == 422


def test_booking_now_with_fit_ends_at_the_next_booking(client, people):
    book(client, people.create(), start=at(10, 30), end=at(11))
    r = client.post("/api/v1/bookings", headers=people.create().headers,
                    json={"space": ROOM, "duration_minutes": 60, "fit": True})
    assert r.status_code == 201, r.text
    assert (r.json()["start"], r.json()["end"]) == ("2026-06-10T08:00:00Z", "2026-06-10T08:30:00Z")


def test_public_room_list_shows_a_new_booking_at_once(client, people):
    listed = lambda: {r["id"]: r["status"] for r in client.get("/api/v1/rooms").json()}  # noqa: E731
    assert listed()[ROOM] == "unknown"
    book(client, people.create(), start=at(10), end=at(11))
    assert listed()[ROOM] == "reserved"


def test_concurrent_bookings_of_one_slot_give_one_201_and_the_rest_409(settings, clock, database_url):
    """Four API instances on one PostgreSQL (one on SQLite, which is single-process),
    four members asking for the same slot at once, eight times: one winner each time."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from api.app import create_app

    from .conftest import People

    instances = 4 if database_url.startswith("postgresql") else 1
    clients = [TestClient(create_app(settings, clock=clock, background=False)) for _ in range(instances)]
    for c in clients:
        c.__enter__()
    try:
        people = People(clients[0])
        members = [people.create() for _ in range(4)]
        with ThreadPoolExecutor(4) as pool:
            for hour in range(11, 19):
                codes = list(pool.map(lambda i: book(clients[i % instances], members[i], start=at(hour),
                                                     end=at(hour + 1)).status_code, range(4)))
                assert sorted(codes) == [201, 409, 409, 409], f"{hour}:00 {codes}"
    finally:
        for c in clients:
            c.__exit__(None, None, None)


def test_a_booking_that_would_already_be_over_is_refused_as_in_the_past(client, people, clock):
    """The five minutes' grace is for a booking "now" that reaches the API a moment late;
    a booking that ends before now within them is over before it is made."""
    alice = people.create()
    r = book(client, alice, start=at(9, 56), end=at(9, 58))  # now is 10:00
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == "in_the_past"
    assert book(client, alice, start=at(9, 56), end=at(10, 1)).status_code == 201  # still running: fine
