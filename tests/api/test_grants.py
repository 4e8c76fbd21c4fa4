"""Grant lists: computed from bookings, staff and trainings; signed; versions only grow."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization

from station.contract import GrantList
from station.access import KeyRing, SignatureError, hash_credential, verify

from .conftest import at
from .test_bookings import book

ROOM, DOOR = "salle-aiguillage", "porte-salle-aiguillage"
FABLAB, FABLAB_DOOR = "fablab-bois", "porte-fablab-bois"


def grants(client, people, door=DOOR) -> GrantList:
    r = client.get(f"/api/v1/doors/{door}/grants", headers=people.admin.headers)
    assert r.status_code == 200, r.text
    return GrantList.model_validate(r.json())


def public_key(client) -> KeyRing:
    """What a node trusts: the API's published public key."""
    return KeyRing.of(serialization.load_pem_public_key(client.get("/api/v1/keys/signing.pub.pem").text.encode()))


def cred(settings, card: str) -> str:
    return hash_credential(bytes.fromhex(settings.site_key), card)


def test_booking_puts_the_bookers_badge_on_the_door_from_ten_minutes_before(client, people, settings):
    alice = people.create(card="1234567")
    before = grants(client, people)
    book(client, alice, start=at(11), end=at(12))
    after = grants(client, people)
    assert after.version > before.version
    verify(after, public_key(client))
    entry = next(e for e in after.entries if e.credential_hash == cred(settings, "1234567"))
    assert entry.role.value == "member"
    assert entry.not_before == datetime.fromisoformat(at(10, 50))
    assert entry.not_after == datetime.fromisoformat(at(12))
    assert after.expires_at > datetime.fromisoformat(at(12))
    assert "1234567" not in after.model_dump_json()


def test_grant_list_signature_fails_when_tampered(client, people):
    people.create(card="42")
    book(client, people.create(card="43"))
    grant = grants(client, people)
    tampered = grant.model_copy(update={"expires_at": grant.expires_at + timedelta(days=30)})
    with pytest.raises(SignatureError):
        verify(tampered, public_key(client))


def test_cancel_withdraws_the_grant_with_a_new_version(client, people, settings):
    alice = people.create(card="555")
    b = book(client, alice).json()
    v = grants(client, people).version
    assert client.delete(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "cancelled"
    g = grants(client, people)
    assert g.version > v
    assert cred(settings, "555") not in {e.credential_hash for e in g.entries}


def test_staff_badges_open_every_door_without_window(client, people, settings, inventory):
    people.create("staff", card="900001")
    for _, door in inventory.doors():
        entries = [e for e in grants(client, people, door.id).entries if e.credential_hash == cred(settings, "900001")]
        assert len(entries) == 1 and entries[0].role.value == "staff" and entries[0].not_before is None


def test_revoking_a_badge_or_suspending_a_member_removes_them(client, people, settings):
    alice = people.create(card="777")
    bob = people.create("staff", card="888")
    book(client, alice)
    badges = client.get(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers).json()
    v = grants(client, people).version
    assert client.post(f"/api/v1/badges/{badges[0]['id']}/revoke", headers=people.admin.headers).json()["active"] is False
    g = grants(client, people)
    assert g.version > v and cred(settings, "777") not in {e.credential_hash for e in g.entries}
    assert client.post(f"/api/v1/members/{bob.id}/suspend", headers=people.admin.headers).json()["status"] == "suspended"
    assert cred(settings, "888") not in {e.credential_hash for e in grants(client, people).entries}
    assert client.get("/api/v1/members/me", headers=bob.headers).status_code == 403


def test_trained_member_opens_the_fab_lab_during_opening_hours_until_training_ends(client, people, settings, clock,
                                                                                   runtime):
    carol = people.create(card="31337")
    until = clock.now() + timedelta(days=3)
    r = client.post(f"/api/v1/members/{carol.id}/trainings", headers=people.admin.headers,
                    json={"space": FABLAB, "machine": "cnc-shopbot", "valid_until": until.isoformat()})
    assert r.status_code == 201, r.text
    g = grants(client, people, FABLAB_DOOR)
    windows = [(e.not_before, e.not_after) for e in g.entries if e.credential_hash == cred(settings, "31337")]
    assert windows[0] == (datetime.fromisoformat(at(8)), datetime.fromisoformat(at(20)))  # today's opening hours
    assert all(e.role.value == "trained" for e in g.entries if e.credential_hash == cred(settings, "31337"))
    assert all(lo.astimezone(timezone.utc).hour >= 6 for lo, _ in windows)  # never before 08:00 local
    assert len(windows) == 2 and max(hi for _, hi in windows) <= until  # today and tomorrow: the list lasts 24 h
    assert cred(settings, "31337") not in {e.credential_hash for e in grants(client, people, DOOR).entries}
    version = g.version
    clock.advance(minutes=30)
    runtime.sweeper.sweep()  # time passing inside an opening interval does not re-issue the list
    assert grants(client, people, FABLAB_DOOR).version == version
    r = client.post(f"/api/v1/members/{carol.id}/trainings", headers=people.admin.headers,
                    json={"space": ROOM, "machine": "kettle", "valid_until": until.isoformat()})
    assert r.status_code == 422


def test_unchanged_list_is_not_reissued_until_half_its_validity(client, people, runtime, clock):
    v = grants(client, people).version
    runtime.sweeper.sweep()
    assert grants(client, people).version == v
    clock.advance(hours=runtime.settings.grant_ttl_hours / 2 + 0.1)
    runtime.sweeper.sweep()
    g = runtime.grants.current(DOOR)  # (the admin's login token has expired by now)
    assert g.version > v and g.expires_at > clock.now() + timedelta(hours=runtime.settings.grant_ttl_hours / 2)


def test_enrolling_the_same_card_twice_returns_409(client, people):
    alice = people.create(card="4242")
    r = client.post(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers, json={"card_number": "4242"})
    assert r.status_code == 409
    r = client.post(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers, json={"card_number": "42a"})
    assert r.status_code == 422


def test_a_staff_member_made_a_member_again_leaves_every_door_at_once(client, people, settings, inventory):
    """Staff open every door; once an administrator makes them a member, no door's list
    holds their card — not only the doors of their own bookings (there are none)."""
    bob = people.create("staff", card="880088")
    assert cred(settings, "880088") in {e.credential_hash for e in grants(client, people).entries}
    r = client.put(f"/api/v1/staff/members/{bob.id}/role", headers=people.admin.headers, json={"role": "member"})
    assert r.status_code == 200 and r.json()["role"] == "member"
    for _, door in inventory.doors():
        assert cred(settings, "880088") not in {e.credential_hash for e in grants(client, people, door.id).entries}, door.id


def test_a_member_suspended_while_checked_in_leaves_the_door_and_comes_back_when_reinstated(client, people, settings,
                                                                                            clock, runtime):
    """The booking holds on (checked in); the card follows the account's status, then the booking's end."""
    from .test_checkin import badge_event

    alice = people.create(card="6002")
    b = book(client, alice, start=at(10), end=at(11)).json()
    clock.advance(minutes=3)
    badge_event(runtime, settings, "6002")
    assert client.get(f"/api/v1/bookings/{b['id']}", headers=alice.headers).json()["status"] == "checked_in"
    client.post(f"/api/v1/members/{alice.id}/suspend", headers=people.admin.headers)
    assert cred(settings, "6002") not in {e.credential_hash for e in grants(client, people).entries}
    client.post(f"/api/v1/members/{alice.id}/reinstate", headers=people.admin.headers)
    assert cred(settings, "6002") in {e.credential_hash for e in grants(client, people).entries}
    # the booking ends: the list drops her at the next sweep
    clock.advance(minutes=58)
    runtime.sweeper.sweep()
    assert cred(settings, "6002") not in {e.credential_hash for e in grants(client, people).entries}
