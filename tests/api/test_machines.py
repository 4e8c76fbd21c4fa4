"""Machines in the API: live status, bookings (rules of rooms + trained on it), out of order, usage and CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta

from station.contract import EventKind, NodeEvent

from .conftest import at
from .test_grants import cred
from .test_machine_grants import FABLAB, LASER, train

NODE = "ls-machine-laser-trotec"


def book_machine(client, person, machine=LASER, start=None, end=None, **extra):
    return client.post("/api/v1/machine-bookings", headers=person.headers,
                       json={"machine": machine, "start": start or at(11), "end": end or at(12), **extra})


def test_machines_are_listed_per_fab_lab_with_what_they_need(client):
    machines = client.get("/api/v1/machines", params={"space": FABLAB}).json()
    laser = next(m for m in machines if m["id"] == LASER)
    assert laser["training"] == "laser" and set(laser["safety"]) == {"extraction", "estop"}
    assert laser["status"] == "offline"  # no node heard yet
    assert {m["space"] for m in machines} == {FABLAB}
    assert client.get("/api/v1/machines/nope").status_code == 404


def test_booking_a_machine_needs_a_training_on_it(client, people, clock):
    alice = people.create(card="61")
    r = book_machine(client, alice)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "not_trained", r.text
    assert "laser" in r.json()["detail"][0]["msg"]
    train(client, people, alice, machine="impression-3d", clock=clock)  # another machine's training
    assert book_machine(client, alice).json()["detail"][0]["type"] == "not_trained"
    train(client, people, alice, clock=clock)
    r = book_machine(client, alice)
    assert r.status_code == 201, r.text
    assert r.json()["machine"] == LASER and r.json()["status"] == "confirmed"


def test_machine_bookings_follow_the_rules_of_rooms(client, people, clock):
    alice, bob = people.create(card="71"), people.create(card="72")
    for p in (alice, bob):
        train(client, people, p, clock=clock)
    assert book_machine(client, alice).status_code == 201
    clash = book_machine(client, bob, start=at(11, 30), end=at(12, 30))
    assert clash.status_code == 409 and "already booked" in clash.json()["detail"]
    too_long = book_machine(client, bob, start=at(13), end=at(16))  # laser: 120 min at most
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["type"] == "too_long"
    late = book_machine(client, bob, start=at(19, 30), end=at(20, 30))
    assert late.json()["detail"][0]["type"] == "outside_opening_hours"
    plotter = book_machine(client, bob, machine="plotter-roland")
    assert plotter.json()["detail"][0]["type"] == "not_bookable"
    mine = client.get("/api/v1/machine-bookings", headers=alice.headers).json()
    assert [b["machine"] for b in mine] == [LASER]
    cancelled = client.delete(f"/api/v1/machine-bookings/{mine[0]['id']}", headers=alice.headers)
    assert cancelled.json()["status"] == "cancelled"
    assert book_machine(client, bob, start=at(11, 30), end=at(12, 30)).status_code == 201


def test_booking_puts_the_slot_on_the_machine_list_and_the_status_says_booked(client, people, runtime, clock,
                                                                              settings):
    alice = people.create(card="81")
    train(client, people, alice, clock=clock)
    assert book_machine(client, alice, start=at(10), end=at(11)).status_code == 201
    grant = runtime.grants.current_machine(LASER)
    assert [(w.start, w.end) for w in grant.booked_windows] == [(datetime.fromisoformat(at(10)),
                                                                 datetime.fromisoformat(at(11)))]
    assert any(e.role.value == "member" and e.credential_hash == cred(settings, "81") for e in grant.entries)
    runtime.fleet.handle(f"station/v1/la-station/nodes/{NODE}/status",
                         f'{{"v":1,"ts":"{clock.now().isoformat()}","node":"{NODE}","state":"online"}}'.encode())
    laser = client.get(f"/api/v1/machines/{LASER}").json()
    assert laser["status"] == "booked" and laser["booked_until"] is not None
    slots = client.get(f"/api/v1/machines/{LASER}/slots").json()
    assert len(slots) == 1 and "member" not in slots[0]


def test_staff_mark_a_machine_out_of_order_and_its_list_refuses_until_cleared(client, people, runtime):
    alice = people.create(card="91")
    r = client.post(f"/api/v1/machines/{LASER}/out-of-order", headers=alice.headers, json={"reason": "x"})
    assert r.status_code == 403
    before = runtime.grants.current_machine(LASER).version
    r = client.post(f"/api/v1/machines/{LASER}/out-of-order", headers=people.admin.headers,
                    json={"reason": "lens cracked"})
    assert r.status_code == 200 and r.json()["status"] == "out_of_order"
    assert r.json()["out_of_order_reason"] == "lens cracked"
    grant = client.get(f"/api/v1/machines/{LASER}/grants", headers=people.admin.headers).json()
    assert grant["out_of_order"] is True and grant["version"] > before
    r = client.post(f"/api/v1/machines/{LASER}/back-in-service", headers=people.admin.headers)
    assert r.json()["status"] != "out_of_order"
    assert runtime.grants.current_machine(LASER).out_of_order is False


def _event(kind, clock, credential, **extra) -> NodeEvent:
    return NodeEvent(id=uuid.uuid4().hex, seq=1, node=NODE, kind=kind, machine=LASER, space=FABLAB,
                     credential_hash=credential, ts=clock.now(), **extra)


def test_usage_minutes_come_from_the_nodes_on_time_once_per_event(client, people, runtime, clock, settings):
    alice = people.create(card="101", name="Alice Martin")
    h = cred(settings, "101")
    on = _event(EventKind.machine_on, clock, h, reason="free to use")
    runtime.access_log.record(on)
    runtime.access_log.record(on)  # redelivered
    clock.advance(minutes=42)
    off = _event(EventKind.machine_off, clock, h, reason="badge", duration_s=42 * 60 + 30)
    runtime.access_log.record(off)
    runtime.access_log.record(off)
    usage = client.get("/api/v1/machines/usage", headers=people.admin.headers).json()
    assert usage == [{"member_id": alice.id, "member_name": "Alice Martin", "machine": LASER, "sessions": 1,
                      "minutes": 42.5}]
    assert client.get("/api/v1/machines/usage/mine", headers=alice.headers).json()[0]["minutes"] == 42.5
    assert client.get("/api/v1/machines/usage", headers=alice.headers).status_code == 403
    r = client.get("/api/v1/machines/usage.csv", headers=people.admin.headers)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows == [["member_id", "member_name", "machine", "sessions", "minutes"],
                    [str(alice.id), "Alice Martin", LASER, "1", "42.50"]]
    since = (clock.now() + timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/machines/usage", headers=people.admin.headers, params={"since": since}).json() == []


def test_denied_and_fault_events_are_audited_with_the_machine(client, people, runtime, clock, settings):
    runtime.access_log.record(_event(EventKind.machine_fault, clock, None, reason="emergency stop pressed"))
    entries = client.get("/api/v1/audit", headers=people.admin.headers).json()
    fault = next(e for e in entries if e["action"] == "machine_fault")
    assert fault["detail"]["machine"] == LASER


def test_training_records_name_a_machine_of_the_inventory(client, people, runtime, settings):
    alice = people.create(card="111")
    url, until = f"/api/v1/members/{alice.id}/trainings", "2026-09-01T00:00:00Z"
    r = client.post(url, headers=people.admin.headers, json={"space": FABLAB, "machine": "laser cutter",
                                                              "valid_until": until})
    assert r.status_code == 422 and "impression-3d" in r.json()["detail"][0]["msg"]
    r = client.post(url, headers=people.admin.headers, json={"space": FABLAB, "machine": "cnc-shopbot",
                                                              "valid_until": until})
    assert r.status_code == 422  # a machine of the other fab lab
    r = client.post(url, headers=people.admin.headers, json={"space": FABLAB, "machine": "Imprimante-Prusa-2",
                                                              "valid_until": until})
    assert r.status_code == 201 and r.json()["machine"] == "impression-3d"  # the key the printers share
    assert cred(settings, "111") in {e.credential_hash for e in runtime.grants.current_machine("bus-imprimante").entries}
    r = client.post(url, headers=people.admin.headers, json={"space": FABLAB, "machine": "general",
                                                              "valid_until": until})
    assert r.status_code == 201  # the fab lab's induction: its door, no machine
    assert cred(settings, "111") not in {e.credential_hash for e in runtime.grants.current_machine(LASER).entries}


def test_demo_badge_at_a_machine_is_one_of_door_or_machine_and_only_in_the_demo(client):
    both = client.post("/api/v1/demo/badge", json={"door": "porte-guichet", "machine": LASER, "card_number": "1"})
    assert both.status_code == 422
    assert client.post("/api/v1/demo/badge", json={"card_number": "1"}).status_code == 422
    assert client.post("/api/v1/demo/badge", json={"machine": LASER, "card_number": "1"}).status_code == 404
