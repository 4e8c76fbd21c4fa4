"""Role boundaries: staff run members; only administrators change staff and admin accounts."""

from __future__ import annotations

import pytest


@pytest.fixture()
def staff_and_admin(people):
    return people.create("staff"), people.create("admin", card="900")


def test_staff_cannot_suspend_badge_or_train_an_administrator(client, people, staff_and_admin):
    staff, admin = staff_and_admin
    assert client.post(f"/api/v1/members/{admin.id}/suspend", headers=staff.headers).status_code == 403
    assert client.post(f"/api/v1/members/{admin.id}/badges", headers=staff.headers,
                       json={"card_number": "901"}).status_code == 403
    badge = client.get(f"/api/v1/members/{admin.id}/badges", headers=people.admin.headers).json()[0]
    assert client.post(f"/api/v1/badges/{badge['id']}/revoke", headers=staff.headers).status_code == 403
    assert client.post(f"/api/v1/members/{admin.id}/trainings", headers=staff.headers,
                       json={"space": "fablab-bois", "machine": "laser", "valid_until": "2027-01-01T00:00:00Z"}
                       ).status_code == 403
    me = client.get("/api/v1/members/me", headers=admin.headers)
    assert me.status_code == 200 and me.json()["status"] == "active"  # still in
    assert client.get(f"/api/v1/members/{admin.id}/badges", headers=people.admin.headers).json()[0]["active"]


def test_staff_cannot_touch_another_staff_account_but_an_administrator_can(client, people, staff_and_admin):
    staff, _ = staff_and_admin
    other = people.create("staff")
    assert client.post(f"/api/v1/members/{other.id}/suspend", headers=staff.headers).status_code == 403
    r = client.post(f"/api/v1/members/{other.id}/suspend", headers=people.admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "suspended"


def test_staff_run_members(client, people, staff_and_admin):
    staff, _ = staff_and_admin
    alice = people.create()
    assert client.post(f"/api/v1/members/{alice.id}/suspend", headers=staff.headers).status_code == 200
    assert client.post(f"/api/v1/members/{alice.id}/reinstate", headers=staff.headers).status_code == 200
    assert client.post(f"/api/v1/members/{alice.id}/badges", headers=staff.headers,
                       json={"card_number": "123"}).status_code == 201


def test_every_staff_change_is_audited_with_its_actor(client, people, staff_and_admin):
    staff, _ = staff_and_admin
    alice = people.create()
    client.post(f"/api/v1/members/{alice.id}/suspend", headers=staff.headers)
    entries = client.get(f"/api/v1/audit?member={alice.id}&action=member_suspended",
                         headers=people.admin.headers).json()
    assert [e["actor"] for e in entries] == [f"member:{staff.id}"]
