"""The board when the member's session ends under them (token expired or revoked elsewhere).

The board keeps polling and listening; the first answer that says 401 must bring the
member back to the login form with the reason in their language — not leave a board
frozen on the last rooms and "my bookings" of a session that no longer exists.
"""

from __future__ import annotations

import httpx
import pytest

from .conftest import People, at
from .test_board_browser import board, database_url  # noqa: F401  (fixtures)
from .test_board_members import browser, open_board  # noqa: F401  (fixtures)

pytestmark = pytest.mark.chromium


@pytest.mark.parametrize("lang, words, reason", [("fr", "Session expirée", "Session invalide ou expirée"),
                                                  ("en", "Session expired", "invalid or expired token")])
def test_a_session_revoked_mid_way_sends_the_member_back_to_login_with_the_reason(board, browser, lang, words, reason):
    base, app, _, _ = board
    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice = people.create(name="Alice Martin")
        bob = people.create(name="Bob Durand")
        assert client.post("/api/v1/bookings", headers=alice.headers,
                           json={"space": "salle-depot", "start": at(14), "end": at(15)}).status_code == 201
        page = open_board(browser, base, width=390, lang=lang, login=alice.email)
        page.wait_for_selector("#mine-list li[data-status=confirmed]", timeout=5000)
        token = page.evaluate("localStorage.getItem('station.token')")
        # the session ends elsewhere (logged out on another device, or expired)
        assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code < 300
        assert client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        # something happens in the building: the board hears it and asks again
        assert client.post("/api/v1/bookings", headers=bob.headers,
                           json={"space": "salle-aiguillage", "start": at(16), "end": at(17)}).status_code == 201
        page.wait_for_selector("#login:not([hidden])", timeout=5000)
        assert words in page.inner_text("#message")
        assert reason in page.inner_text("#message")  # the server's own reason
        assert page.evaluate("localStorage.getItem('station.token')") is None
        assert page.is_hidden("#mine") and page.is_hidden("#session")
        assert page.evaluate("document.activeElement.id") == "email"  # not lost to <body>
        # and the board is live again for a visitor: the new booking shows on it
        page.wait_for_function("document.querySelectorAll('tr[data-room] .book-button').length === 0", timeout=5000)
        assert page.errors == []
