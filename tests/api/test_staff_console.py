"""The staff console's API: door live states, node health, alerts, roles, bookings for a member,
CSV exports, the console's cookie and pages. On SQLite and PostgreSQL; node messages go
through the same intake as MQTT's (``AccessLog.handle``, ``NodeFleet.handle``)."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

from sqlalchemy import select

from api.app import create_app
from api.db.models import DoorCommandRow
from station.contract import DoorAction, EventKind, NodeEvent, NodeState, NodeStatus, RoomOccupancy
from tests.conftest import wait_until

from .conftest import at

SITE = "la-station"
DOOR, NODE, SPACE = "porte-salle-aiguillage", "ls-porte-salle-aiguillage", "salle-aiguillage"
ROOM_NODE = "ls-salle-salle-aiguillage"
_seq = iter(range(1, 1_000_000))


def event(runtime, kind: EventKind, *, node: str = NODE, door: str | None = DOOR, ts=None, **fields) -> dict:
    n = next(_seq)
    e = NodeEvent(ts=ts or runtime.clock.now(), id=f"ev-{kind.value}-{n:06d}", seq=n, node=node, kind=kind,
                  door=door, space=SPACE, **fields)
    return runtime.access_log.handle(f"station/v1/{SITE}/nodes/{node}/events", e.to_json())


def status(runtime, state: NodeState, *, node: str = NODE, ts=None, uptime: float = 100.0) -> None:
    s = NodeStatus(node=node, state=state, ts=ts or runtime.clock.now(), version="0.1.0", config_hash="abc123",
                   uptime_s=uptime, outbox_depth=3, grant_versions={DOOR: 7} if node == NODE else {})
    runtime.fleet.handle(f"station/v1/{SITE}/nodes/{node}/status", s.to_json())


def door_of(client, headers, door: str = DOOR) -> dict:
    return next(d for d in client.get("/api/v1/doors", headers=headers).json() if d["id"] == door)


def alert_ids(client, headers) -> set[str]:
    r = client.get("/api/v1/staff/alerts", headers=headers)
    assert r.status_code == 200, r.text
    return {a["id"] for a in r.json()}


def test_a_door_reads_forced_then_closed_and_a_replay_does_not_reopen_it(client, people, runtime, clock):
    admin = people.admin.headers
    assert door_of(client, admin)["live"]["state"] == "unknown"
    opened_at = clock.now()
    event(runtime, EventKind.door_opened)
    assert door_of(client, admin)["live"]["state"] == "open"
    clock.advance(seconds=1)
    event(runtime, EventKind.door_forced, reason="opened while locked")
    live = door_of(client, admin)["live"]
    assert live["state"] == "forced" and live["since"] == (opened_at + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert f"door_forced:{DOOR}" in alert_ids(client, admin)
    clock.advance(seconds=30)
    event(runtime, EventKind.door_closed)
    live = door_of(client, admin)["live"]
    assert live["state"] == "closed" and f"door_forced:{DOOR}" not in alert_ids(client, admin)
    event(runtime, EventKind.door_opened, ts=opened_at)  # an old event delivered again (at least once)
    assert door_of(client, admin)["live"]["state"] == "closed"
    kinds = [e["kind"] for e in door_of(client, admin)["live"]["last_events"]]
    assert kinds[:3] == ["door_opened", "door_closed", "door_forced"]  # newest first, opened/closed too


def test_lock_mode_follows_the_applied_commands_and_the_state_survives_a_restart(settings, clock, client, people,
                                                                                  runtime):
    admin = people.admin.headers
    with runtime.db.session() as s:
        _, command = runtime.commands.issue(s, DOOR, DoorAction.lockdown, issued_by=people.admin.id, now=clock.now(),
                                            ttl=timedelta(seconds=60))
    event(runtime, EventKind.command_applied, command=command.id, reason="lockdown by member:1")
    event(runtime, EventKind.door_opened)
    clock.advance(minutes=3)
    event(runtime, EventKind.door_held_open, reason="open longer than 120 s")
    live = door_of(client, admin)["live"]
    assert (live["state"], live["lock_mode"]) == ("held", "lockdown")
    assert f"door_held_open:{DOOR}" in alert_ids(client, admin)
    with runtime.db.session() as s:
        assert s.execute(select(DoorCommandRow.status)).scalar().value == "applied"
    second = create_app(settings, clock=clock, background=False)  # the API restarts on the same database
    from fastapi.testclient import TestClient

    with TestClient(second) as again:
        live_again = door_of(again, admin)["live"]
    assert (live_again["state"], live_again["lock_mode"], live_again["since"]) == ("held", "lockdown", live["since"])
    assert [e["kind"] for e in live_again["last_events"]][:1] == ["door_held_open"]  # seeded from the audit log


def test_fire_release_is_an_alert_until_the_alarm_clears(client, people, runtime):
    admin = people.admin.headers
    event(runtime, EventKind.fire_release, reason="fire alarm: fail-safe door released")
    assert f"fire_release:{DOOR}" in alert_ids(client, admin)
    assert door_of(client, admin)["live"]["fire"] is True
    event(runtime, EventKind.fire_cleared)
    assert f"fire_release:{DOOR}" not in alert_ids(client, admin)


def test_a_node_goes_offline_by_its_last_will_and_stale_when_silent(settings, clock, client, people, runtime):
    admin = people.admin.headers
    will_made_at = clock.now()  # a last will carries the time the node made it: at its start
    clock.advance(minutes=10)
    status(runtime, NodeState.online)
    node = client.get(f"/api/v1/nodes/{NODE}", headers=admin).json()
    assert (node["state"], node["version"], node["outbox_depth"]) == ("online", "0.1.0", 3)
    assert node["grants"][0]["node_version"] == 7 and node["grants"][0]["behind"] is True
    status(runtime, NodeState.offline, ts=will_made_at)  # the broker lost the node: its will, older than "online"
    assert client.get(f"/api/v1/nodes/{NODE}", headers=admin).json()["state"] == "offline"
    assert f"node_offline:{NODE}" in alert_ids(client, admin)
    status(runtime, NodeState.online, ts=clock.now() + timedelta(seconds=1))
    assert f"node_offline:{NODE}" not in alert_ids(client, admin)
    runtime.fleet.stale_after_s = 0.3
    time.sleep(0.4)  # silence is measured on the API's wall clock, whatever the (demo) clock says
    assert client.get(f"/api/v1/nodes/{NODE}", headers=admin).json()["state"] == "stale"
    assert f"node_stale:{NODE}" in alert_ids(client, admin)
    event(runtime, EventKind.exit_request)  # any event: it is alive
    assert client.get(f"/api/v1/nodes/{NODE}", headers=admin).json()["state"] == "online"
    listed = client.get("/api/v1/nodes?site=mini-arques", headers=admin).json()
    assert {n["site_kind"] for n in listed} == {"mini"} and {n["state"] for n in listed} == {"unknown"}
    assert client.get("/api/v1/nodes?site=nowhere", headers=admin).status_code == 404


def test_sensor_faults_and_tamper_stay_until_staff_clear_them(client, people, runtime):
    admin = people.admin.headers
    member = people.create()
    event(runtime, EventKind.sensor_fault, node=ROOM_NODE, door=None, reason="co2 sensor not answering")
    event(runtime, EventKind.tamper, reason="enclosure opened")
    faults = client.get(f"/api/v1/nodes/{ROOM_NODE}", headers=admin).json()["faults"]
    assert [(f["kind"], f["reason"]) for f in faults] == [("sensor_fault", "co2 sensor not answering")]
    kinds = {a["kind"] for a in client.get("/api/v1/staff/alerts", headers=admin).json()}
    assert {"sensor_fault", "tamper"} <= kinds
    assert client.post(f"/api/v1/nodes/{ROOM_NODE}/faults/clear", headers=member.headers).status_code == 403
    r = client.post(f"/api/v1/nodes/{ROOM_NODE}/faults/clear", headers=admin)
    assert r.status_code == 200 and r.json()["faults"] == []
    cleared = client.get("/api/v1/audit?action=node_faults_cleared", headers=admin).json()
    assert cleared[0]["detail"]["node"] == ROOM_NODE and cleared[0]["actor"] == f"member:{people.admin.id}"
    assert "sensor_fault" not in {a["kind"] for a in client.get("/api/v1/staff/alerts", headers=admin).json()}


def test_a_sensor_that_answers_again_clears_its_own_fault_only(client, people, runtime):
    admin = people.admin.headers
    event(runtime, EventKind.sensor_fault, node=ROOM_NODE, door=None, reason="co2 sensor not answering")
    event(runtime, EventKind.sensor_fault, node=ROOM_NODE, door=None, reason="light sensor not answering")
    event(runtime, EventKind.sensor_recovered, node=ROOM_NODE, door=None, reason="co2 sensor answering again")
    faults = client.get(f"/api/v1/nodes/{ROOM_NODE}", headers=admin).json()["faults"]
    assert [f["reason"] for f in faults] == ["light sensor not answering"]
    event(runtime, EventKind.sensor_recovered, node=ROOM_NODE, door=None, reason="light sensor answering again")
    assert client.get(f"/api/v1/nodes/{ROOM_NODE}", headers=admin).json()["faults"] == []
    assert "sensor_fault" not in {a["kind"] for a in client.get("/api/v1/staff/alerts", headers=admin).json()}


def test_co2_high_in_an_occupied_space_is_an_alert(client, people, runtime, settings):
    admin = people.admin.headers
    high = settings.co2_alert_ppm + 100

    def occupancy(occupied: bool, co2: float) -> None:
        o = RoomOccupancy(room=SPACE, occupied=occupied, confidence=0.9, people_estimate=4, co2_ppm=co2,
                          ts=runtime.clock.now())
        runtime.occupancy.handle(f"station/v1/{SITE}/rooms/{SPACE}/occupancy", o.to_json())

    occupancy(False, high)  # an empty room airing out: nobody to warn
    assert f"co2_high:{SPACE}" not in alert_ids(client, admin)
    occupancy(True, high)
    alert = next(a for a in client.get("/api/v1/staff/alerts", headers=admin).json() if a["kind"] == "co2_high")
    assert alert["space"] == SPACE and alert["detail"] == f"{high:.0f} ppm" and alert["since"]
    occupancy(True, settings.co2_alert_ppm - 200)
    assert f"co2_high:{SPACE}" not in alert_ids(client, admin)


def test_only_administrators_change_roles(client, people, runtime):
    staff, member = people.create("staff"), people.create()
    assert client.put(f"/api/v1/staff/members/{member.id}/role", headers=staff.headers,
                      json={"role": "staff"}).status_code == 403
    assert client.put(f"/api/v1/staff/members/{people.admin.id}/role", headers=people.admin.headers,
                      json={"role": "member"}).status_code == 409
    assert client.put(f"/api/v1/staff/members/{member.id}/role", headers=people.admin.headers,
                      json={"role": "node"}).status_code == 422
    r = client.put(f"/api/v1/staff/members/{member.id}/role", headers=people.admin.headers, json={"role": "staff"})
    assert r.status_code == 200 and r.json()["role"] == "staff"
    entry = client.get(f"/api/v1/audit?member={member.id}&action=member_role_changed",
                       headers=people.admin.headers).json()[0]
    assert entry["detail"] == {"from": "member", "to": "staff"}
    # now staff: the staff member can no longer suspend them
    assert client.post(f"/api/v1/members/{member.id}/suspend", headers=staff.headers).status_code == 403


def test_search_and_a_members_file(client, people, runtime, clock):
    alice = people.create(name="Alice Martin", card="4242")
    people.create(name="Bruno Petit")
    found = client.get("/api/v1/staff/members?q=martin", headers=people.admin.headers).json()
    assert [m["name"] for m in found] == ["Alice Martin"]
    assert client.get("/api/v1/staff/members?q=x", headers=alice.headers).status_code == 403
    client.post("/api/v1/bookings", headers=alice.headers, json={"space": SPACE, "start": at(14), "end": at(15)})
    f = client.get(f"/api/v1/staff/members/{alice.id}", headers=people.admin.headers).json()
    assert (f["member"]["name"], len(f["badges"]), len(f["bookings"])) == ("Alice Martin", 1, 1)
    assert client.get(f"/api/v1/staff/members/{alice.id}", headers=alice.headers).status_code == 403


def test_staff_book_for_a_member_by_the_same_rules(client, people, runtime):
    staff, alice, bob = people.create("staff"), people.create(), people.create()
    body = {"member_id": alice.id, "space": SPACE, "start": at(14), "end": at(15)}
    assert client.post("/api/v1/staff/bookings", headers=alice.headers, json=body).status_code == 403
    r = client.post("/api/v1/staff/bookings", headers=staff.headers, json=body)
    assert r.status_code == 201 and r.json()["member_id"] == alice.id
    assert [b["id"] for b in client.get("/api/v1/bookings", headers=alice.headers).json()] == [r.json()["id"]]
    entry = client.get(f"/api/v1/audit?member={alice.id}&action=booking_created", headers=staff.headers).json()[0]
    assert entry["actor"] == f"member:{staff.id}" and entry["detail"]["by_staff"] == staff.id
    assert client.post("/api/v1/staff/bookings", headers=staff.headers,
                       json={**body, "member_id": bob.id}).status_code == 409  # the room is taken
    client.post(f"/api/v1/members/{bob.id}/suspend", headers=staff.headers)
    refused = client.post("/api/v1/staff/bookings", headers=staff.headers,
                          json={**body, "member_id": bob.id, "start": at(16), "end": at(17)})
    assert refused.status_code == 422 and "suspended" in refused.json()["detail"][0]["msg"]
    day = client.get("/api/v1/staff/bookings?day=2026-06-10", headers=staff.headers).json()  # WEDNESDAY_10H's day
    lane = next(s for s in day["spaces"] if s["id"] == SPACE)
    assert [b["member_name"] for b in lane["bookings"]] == ["Member 2"]
    assert client.get("/api/v1/staff/bookings?day=17-06-2026", headers=staff.headers).status_code == 422


def test_csv_exports_name_the_member_and_never_run_as_formulas(client, people, runtime):
    mallory = people.create(name="=HYPERLINK(\"http://x\")")
    client.post("/api/v1/bookings", headers=mallory.headers, json={"space": SPACE, "start": at(14), "end": at(15)})
    r = client.get("/api/v1/staff/bookings.csv?start=2026-06-10", headers=people.admin.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["member_name"] for row in rows] == ["'=HYPERLINK(\"http://x\")"]
    audit = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/staff/audit.csv?member={mallory.id}",
                                                       headers=people.admin.headers).text)))
    assert {row["action"] for row in audit} >= {"member_enrolled", "booking_created"}
    assert all(row["member_name"].startswith("'=") for row in audit)
    assert client.get("/api/v1/staff/audit.csv", headers=mallory.headers).status_code == 403


def test_unknown_cards_of_every_door_newest_first(client, people, runtime, settings, clock):
    from station.access import hash_credential

    for n, (node, door) in enumerate([(NODE, DOOR), ("arques-porte", "porte-arques-coworking")]):
        clock.advance(seconds=10)
        e = NodeEvent(ts=clock.now(), id=f"tap-any-{n:04d}", seq=n, node=node, kind=EventKind.access_denied,
                      door=door, credential_hash=hash_credential(bytes.fromhex(settings.site_key), f"9{n}"),
                      reason="unknown badge")
        site = "la-station" if n == 0 else "mini-arques"
        runtime.access_log.handle(f"station/v1/{site}/nodes/{node}/events", e.to_json())
    cards = client.get("/api/v1/staff/unknown-cards", headers=people.admin.headers).json()
    assert [c["door"] for c in cards] == ["porte-arques-coworking", DOOR]
    assert cards[0]["site"] == "mini-arques" and cards[0]["door_name"]


def test_the_console_cookie_opens_pages_and_the_stream_only_for_staff(client, people, runtime):
    member = people.create()
    r = client.get("/staff/doors", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/login?next=/staff/doors"
    assert client.post("/api/v1/staff/session", headers=member.headers).status_code == 403
    kept = client.post("/api/v1/staff/session", headers=people.admin.headers)
    cookie = kept.headers["set-cookie"]
    assert kept.status_code == 204 and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.cookies.get("station_staff") == people.admin.headers["Authorization"].split()[1]
    page = client.get("/staff/doors")
    assert page.status_code == 200 and 'data-page="doors"' in page.text
    assert client.get("/staff/nowhere").status_code == 404
    client.cookies.clear()
    client.cookies.set("station_staff", member.headers["Authorization"].split()[1])
    refused = client.get("/staff/")
    assert refused.status_code == 403 and 'data-page="forbidden"' in refused.text
    assert client.get("/api/v1/staff/stream").status_code == 403
    assert client.delete("/api/v1/staff/session").status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/staff/stream").status_code == 401
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/staff/"
    assert client.get("/api/v1/staff/alerts").status_code == 401


def test_alerts_go_to_the_staff_stream_only(client, people, runtime):
    public, staff = runtime.hub, runtime.staff_hub
    sent_public, sent_staff = public.sent, staff.sent
    event(runtime, EventKind.door_opened)
    event(runtime, EventKind.door_forced, reason="opened while locked")
    wait_until(lambda: staff.sent >= sent_staff + 2, timeout=5)  # "door" events and the raised alert
    assert public.sent == sent_public  # the public board hears nothing of doors or alerts
