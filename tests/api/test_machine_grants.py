"""Machine grant lists from the API's publisher: trainings, bookings, free windows, out of order."""

from __future__ import annotations

from datetime import datetime, timedelta

from station.access import GrantIndex, verify
from station.contract import MachineGrantList, topics

from api.db.machines import MachineBooking, MachineRow
from api.db.models import BookingStatus

from .conftest import at
from .test_grants import cred, public_key

LASER, FABLAB = "laser-trotec", "fablab-numerique"


def train(client, people, person, machine="laser", space=FABLAB, days=30, clock=None):
    until = (clock.now() if clock else datetime.fromisoformat(at(10))) + timedelta(days=days)
    r = client.post(f"/api/v1/members/{person.id}/trainings", headers=people.admin.headers,
                    json={"space": space, "machine": machine, "valid_until": until.isoformat()})
    assert r.status_code == 201, r.text


def test_training_puts_the_badge_on_every_machine_it_qualifies_for(client, people, settings, runtime, clock):
    carol = people.create(card="4242")
    before = runtime.grants.current_machine(LASER).version
    train(client, people, carol, clock=clock)
    grant = runtime.grants.current_machine(LASER)
    assert isinstance(grant, MachineGrantList) and grant.version > before
    verify(grant, public_key(client))
    mine = [e for e in grant.entries if e.credential_hash == cred(settings, "4242")]
    assert [e.role.value for e in mine] == ["trained"]
    bus_laser = runtime.grants.current_machine("bus-laser")  # the bus's laser takes the same training
    assert cred(settings, "4242") in {e.credential_hash for e in bus_laser.entries}
    cnc = runtime.grants.current_machine("cnc-shopbot")
    assert cred(settings, "4242") not in {e.credential_hash for e in cnc.entries}
    assert GrantIndex(grant).decide(cred(settings, "4242"), clock.now()).reason == "free to use"
    assert [(w.start, w.end) for w in grant.free_windows][0] == (datetime.fromisoformat(at(8)),
                                                                 datetime.fromisoformat(at(20)))


def test_a_booking_cuts_the_free_window_and_out_of_order_refuses_everyone(client, people, settings, runtime, clock):
    carol, dan = people.create(card="51"), people.create(card="52")
    train(client, people, carol, clock=clock)
    train(client, people, dan, clock=clock)
    now = clock.now()
    with runtime.db.session() as s:
        s.add(MachineBooking(machine_id=LASER, member_id=dan.id, start=datetime.fromisoformat(at(11)),
                             end=datetime.fromisoformat(at(12)), status=BookingStatus.confirmed, created_at=now))
    grant = runtime.grants.refresh_machine(LASER, now)
    assert [(w.start, w.end) for w in grant.booked_windows] == [(datetime.fromisoformat(at(11)),
                                                                 datetime.fromisoformat(at(12)))]
    assert (datetime.fromisoformat(at(8)), datetime.fromisoformat(at(11))) in [(w.start, w.end)
                                                                               for w in grant.free_windows]
    index, during = GrantIndex(grant), datetime.fromisoformat(at(11, 30))
    assert index.decide(cred(settings, "51"), during).reason == "booked by someone else"
    assert index.decide(cred(settings, "52"), during).reason == "booked"
    with runtime.db.session() as s:
        row = s.get(MachineRow, LASER)
        row.out_of_order, row.out_of_order_reason = True, "lens cracked"
    broken = runtime.grants.refresh_machine(LASER, now)
    assert broken.version > grant.version and broken.out_of_order
    assert GrantIndex(broken).decide(cred(settings, "52"), during).reason == "out of order: lens cracked"
    assert runtime.grants.refresh_machine(LASER, now).version == broken.version  # unchanged: not re-issued


def test_machine_lists_go_to_the_contracts_topic_and_are_republished_when_the_broker_lost_them(client, runtime,
                                                                                               clock, inventory):
    sent = []
    runtime.grants.publish = lambda topic, grant: sent.append((topic, grant))
    runtime.grants.repair_grace_s = 0  # one instance: nobody else's copy can be on its way (api/grants.py)
    runtime.grants.refresh_machine("bus-laser", clock.now(), force=True)
    assert sent[0][0] == topics.machine_grants("bus-fablab", "bus-laser") == \
        "station/v1/bus-fablab/machines/bus-laser/grants"
    runtime.grants.saw_retained(*[(t, g.to_json()) for t, g in sent][0])  # the broker holds it
    sent.clear()
    assert runtime.grants.publish_missing() == len(inventory.doors()) + len(inventory.machines()) - 1
    assert "station/v1/bus-fablab/machines/bus-laser/grants" not in {t for t, _ in sent}
    assert {t for t, _ in sent} >= {topics.machine_grants(site.id, m.id) for site, m in inventory.machines()
                                    if m.id != "bus-laser"}
    assert runtime.grants.publish_missing() == 0
