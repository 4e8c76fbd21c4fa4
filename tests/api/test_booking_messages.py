"""Refusals in the member's language (Accept-Language) from the one table, with the site's
zone; the rule code stays the same; unknown fields are refused."""

from __future__ import annotations

import pytest

from api.messages import MESSAGES, language

from .conftest import at

ROOM = "salle-aiguillage"


@pytest.mark.parametrize("header, lang", [(None, "en"), ("fr", "fr"), ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
                                          ("en-GB,fr;q=0.5", "en"), ("de-DE, fr;q=0.3", "fr"), ("de", "en"),
                                          ("en;q=0.2, fr;q=0.9", "fr"), ("fr;q=bogus, en", "en")])
def test_accept_language_picks_french_or_english(header, lang):
    assert language(header) == lang


def test_every_message_exists_in_french_and_english():
    assert all(set(texts) == {"fr", "en"} for texts in MESSAGES.values())


def test_a_refusal_is_said_in_the_requests_language_with_the_same_rule(client, people):
    alice = people.create()
    body = {"space": ROOM, "start": at(19), "end": at(21)}
    fr = client.post("/api/v1/bookings", headers={**alice.headers, "Accept-Language": "fr-FR"}, json=body).json()
    en = client.post("/api/v1/bookings", headers=alice.headers, json=body).json()
    assert fr["detail"][0]["type"] == en["detail"][0]["type"] == "outside_opening_hours"
    assert fr["detail"][0]["msg"] == ("19:00-21:00 (heure de Paris) est en dehors des horaires de Salle Aiguillage "
                                      "le mercredi (08:00-20:00).")
    assert en["detail"][0]["msg"] == ("19:00-21:00 (Paris time) is outside the opening hours of Salle Aiguillage "
                                      "on Wednesday (08:00-20:00).")


def test_a_conflict_names_its_time_with_the_zone(client, people):
    alice, bob = people.create(), people.create()
    client.post("/api/v1/bookings", headers=alice.headers, json={"space": ROOM, "start": at(11), "end": at(12)})
    r = client.post("/api/v1/bookings", headers={**bob.headers, "Accept-Language": "fr"},
                    json={"space": ROOM, "start": at(11, 30), "end": at(12, 30)})
    assert r.status_code == 409 and r.json()["detail"] == "Salle Aiguillage : déjà réservé 11:00-12:00 (heure de Paris)."


def test_unknown_fields_in_a_booking_are_refused(client, people):
    r = client.post("/api/v1/bookings", headers=people.create().headers,
                    json={"space": ROOM, "start": at(11), "end": at(12), "atendees": 3})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "extra_forbidden"


def test_preview_says_the_real_end_and_why_it_is_shorter(client, people, clock):
    alice = people.create()
    clock.advance(hours=9, minutes=57)  # 19:57, La Station closes at 20:00
    r = client.post("/api/v1/bookings/preview", headers={**alice.headers, "Accept-Language": "fr"},
                    json={"space": ROOM, "duration_minutes": 60, "fit": True})
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["minutes"], p["shortened_by"], p["timezone"]) == (3, "closing", "Europe/Paris")
    assert p["note"] == "Raccourcie : Salle Aiguillage ferme à 20:00 (heure de Paris)."
    assert client.get("/api/v1/bookings", headers=alice.headers).json() == []  # nothing booked


def test_a_suspended_member_is_told_why_in_the_boards_language(client, people):
    """The board shows the server's sentence: a suspended account, or a token gone stale,
    is said in the member's language like every other refusal of a booking."""
    alice = people.create()
    client.post(f"/api/v1/members/{alice.id}/suspend", headers=people.admin.headers)
    body = {"space": "salle-aiguillage", "duration_minutes": 30}
    for lang, words in (("fr-FR,fr;q=0.9", "Ce compte est suspendu"), ("en-GB", "This account is suspended")):
        r = client.post("/api/v1/bookings", headers={**alice.headers, "Accept-Language": lang}, json=body)
        assert r.status_code == 403 and words in r.json()["detail"], r.text
    stale = {"Authorization": "Bearer st_not-a-token", "Accept-Language": "fr"}
    r = client.post("/api/v1/bookings", headers=stale, json=body)
    assert r.status_code == 401 and "reconnectez-vous" in r.json()["detail"], r.text
    r = client.post("/api/v1/bookings", headers={"Accept-Language": "fr"}, json=body)
    assert r.status_code == 401 and "Connectez-vous" in r.json()["detail"], r.text
    assert "log in" in client.post("/api/v1/bookings", json=body).json()["detail"]


def test_a_long_accept_language_is_a_preference_not_a_reason_to_refuse(client, people):
    """A browser set up with many languages sends a long Accept-Language; the booking is
    made (or refused for its own reason) in the language it prefers among ours."""
    alice = people.create()
    many = "de-DE,de;q=0.9," + ",".join(f"x{n}-YY;q=0.{9 - n % 9}" for n in range(40)) + ",fr;q=0.5"
    assert len(many) > 400
    r = client.post("/api/v1/bookings", headers={**alice.headers, "Accept-Language": many},
                    json={"space": "salle-aiguillage", "start": at(9), "end": at(9, 30)})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "in_the_past", r.text
    assert r.json()["detail"][0]["msg"].startswith("La réservation commence dans le passé")
    r = client.post("/api/v1/bookings", headers={**alice.headers, "Accept-Language": many},
                    json={"space": "salle-aiguillage", "start": at(11), "end": at(12)})
    assert r.status_code == 201, r.text
    assert language("fr;q=0.1," + "en;q=0.2," * 5000) == "en"  # read, however long, without choking
