"""Requests at the same moment (threads, and two API instances on one PostgreSQL): what
each answers is what it would have answered alone — a 409 for the loser, never a 500,
never two rows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.app import create_app

from .conftest import People, at
from .test_bookings import book

AT_ONCE = 4


@pytest.fixture()
def instances(settings, clock, database_url):
    """Two API apps on one PostgreSQL database (one on SQLite, which is single-process)."""
    count = 2 if database_url.startswith("postgresql") else 1
    clients = [TestClient(create_app(settings, clock=clock, background=False)) for _ in range(count)]
    for c in clients:
        c.__enter__()
    yield clients
    for c in clients:
        c.__exit__(None, None, None)


def at_once(clients, request, n=AT_ONCE):
    """``request(client, i)`` from ``n`` threads released together, spread over the instances."""
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        return request(clients[i % len(clients)], i)
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_enrolling_one_email_at_once_gives_one_201_and_409s(instances):
    people = People(instances[0])
    for n in range(3):
        answers = at_once(instances, lambda c, i: c.post(
            "/api/v1/members", headers=people.admin.headers,
            json={"email": f"Camille.{n}@la-station.test" if i % 2 else f"camille.{n}@la-station.test",
                  "name": "Camille", "password": "password-long-123"}))
        assert sorted(r.status_code for r in answers) == [201] + [409] * (AT_ONCE - 1), [r.text for r in answers]
        assert all("already enrolled" in r.json()["detail"] for r in answers if r.status_code == 409)
    emails = [m["email"] for m in instances[0].get("/api/v1/members", headers=people.admin.headers).json()]
    assert sorted(e for e in emails if e.startswith("camille")) == [f"camille.{n}@la-station.test" for n in range(3)]


def test_enrolling_one_card_for_several_members_at_once_gives_one_201_and_409s(instances):
    people = People(instances[0])
    members = [people.create() for _ in range(AT_ONCE)]
    for n in range(3):
        answers = at_once(instances, lambda c, i: c.post(f"/api/v1/members/{members[i].id}/badges",
                                                         headers=people.admin.headers, json={"card_number": f"90{n}"}))
        assert sorted(r.status_code for r in answers) == [201] + [409] * (AT_ONCE - 1), [r.text for r in answers]
    badges = [b for m in members for b in instances[0].get(f"/api/v1/members/{m.id}/badges",
                                                           headers=people.admin.headers).json()]
    assert len(badges) == 3


def test_the_last_seats_of_a_coworking_space_asked_at_once_go_to_as_many_as_fit(instances):
    people = People(instances[0])
    members = [people.create() for _ in range(6)]
    # coworking-quai: 30 seats; 25 taken from 11:00, then six members ask one seat from 11:30 at once
    assert book(instances[0], members[0], space="coworking-quai", start=at(11), end=at(12),
                attendees=25).status_code == 201
    answers = at_once(instances, lambda c, i: book(c, members[i], space="coworking-quai", start=at(11, 30),
                                                   end=at(12, 30)), n=6)
    assert sorted(r.status_code for r in answers) == [201] * 5 + [409], [r.text for r in answers]
    assert "0 seat(s) free" in next(r.json()["detail"] for r in answers if r.status_code == 409)


def test_two_instances_sweeping_at_once_release_a_no_show_once(instances, clock):
    """Every instance runs the no-show sweep; when both judge one booking at the same moment,
    it is released — and audited, and its space re-issued — once."""
    people = People(instances[0])
    alice = people.create()
    b = book(instances[0], alice, start=at(10), end=at(11)).json()
    clock.advance(minutes=16)
    first, second = (c.app.state.runtime for c in (instances + instances)[:2])
    judge, released_by_second, looked = first.occupancy.get, [], threading.Event()

    def second_sweeps_meanwhile(space):  # the first has read the late bookings; the second releases them
        if not looked.is_set():
            looked.set()
            released_by_second.append(second.sweeper.release_no_shows(clock.now()))
        return judge(space)
    first.occupancy.get = second_sweeps_meanwhile
    assert first.sweeper.release_no_shows(clock.now()) == []
    assert released_by_second == [[b["id"]]]
    actions = [e["action"] for e in instances[0].get(f"/api/v1/audit?member={alice.id}",
                                                     headers=people.admin.headers).json()]
    assert actions.count("booking_no_show") == 1, actions


def test_one_booking_cancelled_twice_at_once_is_cancelled_once(instances):
    """A double tap on "Annuler" (or the board and the console together): one 200, then 409."""
    people = People(instances[0])
    alice = people.create()
    for hour in (11, 13, 15):
        b = book(instances[0], alice, start=at(hour), end=at(hour + 1)).json()
        answers = at_once(instances, lambda c, i: c.delete(f"/api/v1/bookings/{b['id']}", headers=alice.headers))
        assert sorted(r.status_code for r in answers) == [200] + [409] * (AT_ONCE - 1), [r.text for r in answers]
    actions = [e["action"] for e in instances[0].get(f"/api/v1/audit?member={alice.id}",
                                                     headers=people.admin.headers).json()]
    assert actions.count("booking_cancelled") == 3, actions


def test_one_machine_booking_cancelled_twice_at_once_is_cancelled_once(instances, clock):
    from .test_machine_grants import LASER, train

    people = People(instances[0])
    alice = people.create()
    train(instances[0], people, alice, clock=clock)
    for hour in (11, 14):
        b = instances[0].post("/api/v1/machine-bookings", headers=alice.headers,
                              json={"machine": LASER, "start": at(hour), "end": at(hour + 1)}).json()
        answers = at_once(instances, lambda c, i: c.delete(f"/api/v1/machine-bookings/{b['id']}",
                                                           headers=alice.headers))
        assert sorted(r.status_code for r in answers) == [200] + [409] * (AT_ONCE - 1), [r.text for r in answers]
    actions = [e["action"] for e in instances[0].get(f"/api/v1/audit?member={alice.id}",
                                                     headers=people.admin.headers).json()]
    assert actions.count("machine_booking_cancelled") == 2, actions


def test_two_badge_events_at_once_check_a_booking_in_once(instances, settings, clock):
    """Two taps (or two doors of the space) heard by two instances at the same moment:
    one check-in, one audit row for it."""
    from station.access import hash_credential
    from station.contract import EventKind, NodeEvent

    from .test_checkin import DOOR, EVENTS, NODE, ROOM

    people = People(instances[0])
    runtimes = [c.app.state.runtime for c in (instances + instances)[:2]]
    for n in range(6):
        alice = people.create(card=f"77{n}")
        b = book(instances[0], alice, start=at(10 + n), end=at(11 + n)).json()
        events = [NodeEvent(ts=clock.now(), id=f"evt-tap-{n}-{i}", seq=2 * n + i + 1, node=NODE,
                            kind=EventKind.access_granted, door=DOOR, space=ROOM,
                            credential_hash=hash_credential(bytes.fromhex(settings.site_key), f"77{n}"))
                  for i in range(2)]
        outcomes = at_once(runtimes, lambda rt, i: rt.access_log.handle(EVENTS, events[i].to_json()), n=2)
        assert sorted(o["checked_in"] is not None for o in outcomes) == [False, True], outcomes
        assert b["id"] in [o["checked_in"] for o in outcomes], outcomes
        actions = [e["action"] for e in instances[0].get(f"/api/v1/audit?member={alice.id}",
                                                         headers=people.admin.headers).json()]
        assert actions.count("booking_checked_in") == 1 and actions.count("access_granted") == 2, actions
        clock.advance(hours=1)
