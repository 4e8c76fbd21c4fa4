"""The board's machines in real headless Chromium: status in words, booking in two taps, refusals said."""

from __future__ import annotations

import pytest

from .conftest import People
from .test_board_browser import board, database_url, page  # noqa: F401 - the same fixtures
from .test_machine_grants import train

pytestmark = pytest.mark.chromium
LASER_ROW = 'tr[data-machine="laser-trotec"]'


def test_member_sees_machines_and_books_one_in_two_taps_once_trained(board, page, clock):  # noqa: F811
    base, app, settings, _ = board
    import httpx

    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice = people.create(name="Alice Martin")
        page.goto(base + "/")
        page.wait_for_selector(LASER_ROW, timeout=5000)
        assert page.inner_text(f"{LASER_ROW} .status") == "Hors ligne"  # no node heard in this test
        assert "formation : laser" in page.inner_text(f"{LASER_ROW} th")
        assert page.locator(f"{LASER_ROW} .book-button").count() == 0  # logged out: nothing to book
        page.fill("#email", alice.email)
        page.fill("#password", "password-1-long")
        page.click("#login button[type=submit]")
        page.wait_for_selector("#who:has-text('Alice Martin')", timeout=5000)
        button = f"{LASER_ROW} .book-button"
        page.click(button)
        assert page.inner_text(button).startswith("Confirmer 10:")
        page.click(button)
        page.wait_for_selector("#message:has-text('Réservation impossible')")
        assert "formation" in page.inner_text("#message")  # not trained: the API's own sentence
        train(client, people, alice, clock=clock)
        page.click(button)
        page.click(button)
        page.wait_for_selector("#message:has-text('Machine réservée')")
        bookings = client.get("/api/v1/machine-bookings", headers=alice.headers).json()
        assert [(b["machine"], b["status"]) for b in bookings] == [("laser-trotec", "confirmed")]
        page.click("#lang")
        assert page.inner_text("#machines-title") == "Fab-lab machines"
        assert page.inner_text(f"{LASER_ROW} .status") == "Offline"
