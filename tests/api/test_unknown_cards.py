"""Enrol a badge by tapping it: the door refuses an unknown card, staff enrol its hash."""

from __future__ import annotations

from station.access import hash_credential
from station.contract import EventKind, NodeEvent

NODE, DOOR, ROOM = "ls-porte-salle-aiguillage", "porte-salle-aiguillage", "salle-aiguillage"
EVENTS = f"station/v1/la-station/nodes/{NODE}/events"


def tap(runtime, settings, card: str, n: int, door: str = DOOR, node: str = NODE) -> None:
    event = NodeEvent(ts=runtime.clock.now(), id=f"tap-{card}-{n:04d}", seq=n, node=node, kind=EventKind.access_denied,
                      door=door, credential_hash=hash_credential(bytes.fromhex(settings.site_key), card),
                      reason="unknown badge")
    runtime.access_log.handle(f"station/v1/la-station/nodes/{node}/events", event.to_json())


def test_a_card_tapped_at_a_door_is_listed_newest_first_and_enrolled_by_its_hash(client, people, runtime, settings,
                                                                                 clock):
    alice = people.create()
    tap(runtime, settings, "777001", 1)
    clock.advance(seconds=30)
    tap(runtime, settings, "777002", 2)
    clock.advance(seconds=5)
    tap(runtime, settings, "777001", 3)  # tapped again: moves up, counted
    cards = client.get(f"/api/v1/doors/{DOOR}/unknown-cards", headers=people.admin.headers).json()
    assert [c["times"] for c in cards] == [2, 1]
    assert cards[0]["credential_hash"] == hash_credential(bytes.fromhex(settings.site_key), "777001")
    assert "777001" not in str(cards)  # only the hash ever reached the API
    r = client.post(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers,
                    json={"unknown_card_id": cards[0]["id"], "label": "carte tapée"})
    assert r.status_code == 201 and r.json()["credential_hash"] == cards[0]["credential_hash"]
    left = client.get(f"/api/v1/doors/{DOOR}/unknown-cards", headers=people.admin.headers).json()
    assert [c["id"] for c in left] == [cards[1]["id"]]  # enrolled: no longer unknown
    entry = client.get(f"/api/v1/audit?member={alice.id}&action=badge_enrolled", headers=people.admin.headers).json()
    assert entry[0]["door"] == DOOR and entry[0]["detail"]["by"] == "tap"


def test_only_the_newest_unknown_cards_are_kept_per_door(client, people, runtime, settings, clock):
    keep = settings.unknown_cards_per_door
    for n in range(keep + 5):
        clock.advance(seconds=1)
        tap(runtime, settings, str(500000 + n), n)
    cards = client.get(f"/api/v1/doors/{DOOR}/unknown-cards", headers=people.admin.headers).json()
    assert len(cards) == keep
    newest = hash_credential(bytes.fromhex(settings.site_key), str(500000 + keep + 4))
    assert cards[0]["credential_hash"] == newest


def test_unknown_cards_are_for_staff_and_known_cards_are_not_listed(client, people, runtime, settings):
    alice = people.create(card="888")
    tap(runtime, settings, "888", 1)  # a known card refused (no booking): not "unknown"
    assert client.get(f"/api/v1/doors/{DOOR}/unknown-cards", headers=people.admin.headers).json() == []
    assert client.get(f"/api/v1/doors/{DOOR}/unknown-cards", headers=alice.headers).status_code == 403
    assert client.get("/api/v1/doors/nope/unknown-cards", headers=people.admin.headers).status_code == 404


def test_enrolling_needs_exactly_one_source_and_a_card_enrolled_twice_is_a_409(client, people, runtime, settings):
    alice = people.create(card="999")
    assert client.post(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers,
                       json={"card_number": "1", "unknown_card_id": 1}).status_code == 422
    assert client.post(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers, json={}).status_code == 422
    assert client.post(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers,
                       json={"unknown_card_id": 12345}).status_code == 404
    assert client.post(f"/api/v1/members/{alice.id}/badges", headers=people.admin.headers,
                       json={"card_number": "0999"}).status_code == 409  # same card, leading zero


def test_a_card_number_no_reader_can_read_is_refused_with_the_widest_one(client, people):
    """A 34-bit Wiegand frame carries 32 data bits: a badge enrolled above 4294967295 was
    accepted (up to 20 digits) and could never open a door."""
    alice = people.create()
    url = f"/api/v1/members/{alice.id}/badges"
    for number in ("4294967296", "99999999999999999999"):
        r = client.post(url, headers={**people.admin.headers, "Accept-Language": "fr"}, json={"card_number": number})
        assert r.status_code == 422, (number, r.text)
        if len(number) == 10:
            assert r.json()["detail"][0]["msg"] == ("card_number : un numéro de carte vaut au plus 4294967295 (les "
                                                    "lecteurs lisent les cartes Wiegand de 26 et 34 bits).")
    r = client.post(url, headers=people.admin.headers, json={"card_number": "4294967295"})
    assert r.status_code == 201, r.text
