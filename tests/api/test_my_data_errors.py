""""Mes données" when the server says no: the member reads the server's reason in their
language's frame, and a session ended elsewhere sends them back to log in, not to a
page that only says "not possible right now"."""

from __future__ import annotations

import httpx
import pytest

from .conftest import ADMIN, People
from .test_board_browser import board, database_url  # noqa: F401  (fixtures)
from .test_board_members import browser  # noqa: F401  (fixtures)

pytestmark = pytest.mark.chromium


def _my_data(browser, base: str, email: str, password: str, lang: str):
    page = browser.new_page(viewport={"width": 390, "height": 860})
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.add_init_script(f"localStorage.setItem('station.lang', '{lang}')")
    with httpx.Client(base_url=base) as c:
        token = c.post("/api/v1/auth/login", json={"email": email, "password": password}).json()["access_token"]
    page.goto(base + "/")
    page.evaluate(f"localStorage.setItem('station.token', '{token}')")
    page.goto(base + "/mes-donnees")
    page.wait_for_selector("#mine:not([hidden]) #held tr", timeout=5000)
    return page, token


@pytest.mark.parametrize("lang, failed", [("fr", "Impossible"), ("en", "Not possible")])
def test_the_last_administrator_reads_why_they_cannot_be_erased(board, browser, lang, failed):
    base, _, _, _ = board
    page, _ = _my_data(browser, base, *ADMIN, lang)
    page.click("#erase-box summary")
    page.fill("#erase-confirm", ADMIN[0])
    page.click("#erase-form button[type=submit]")
    page.wait_for_selector(f"#message:has-text('{failed}')", timeout=5000)
    assert "appoint another first" in page.inner_text("#message")  # the server's reason, not only "failed"
    assert page.evaluate("document.activeElement.id") == "message"
    assert page.errors == []


@pytest.mark.parametrize("lang, words, reason", [("fr", "Session expirée", "Session invalide ou expirée"),
                                                  ("en", "Session expired", "invalid or expired token")])
def test_a_session_ended_elsewhere_sends_the_member_back_to_log_in(board, browser, lang, words, reason):
    base, _, _, _ = board
    with httpx.Client(base_url=base) as client:
        alice = People(client).create(name="Alice Martin")
        page, token = _my_data(browser, base, alice.email, "password-1-long", lang)
        assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code < 300
    page.click("#download-csv")
    page.wait_for_selector(f"#message:has-text('{words}')", timeout=5000)
    assert reason in page.inner_text("#message")
    assert page.is_visible("#login-needed") and page.is_hidden("#mine")
    assert page.evaluate("localStorage.getItem('station.token')") is None
    assert page.errors == []
