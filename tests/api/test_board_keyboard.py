"""Keyboard only, on a 320 px phone: a member books a room and cancels it with Tab and
Enter alone; every control on the way has a name, the focus is visible and never falls
back to <body>."""

from __future__ import annotations

import httpx
import pytest

from .conftest import People
from .test_board_browser import board, database_url  # noqa: F401  (fixtures)
from .test_board_members import browser, open_board  # noqa: F401  (fixtures)

pytestmark = pytest.mark.chromium
ROW = 'tr[data-room="salle-aiguillage"]'


def tab_to(page, selector: str, limit: int = 200) -> list[str]:
    """Tab until ``selector`` has the focus; the names of what the focus passed."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate("""(sel) => { const a = document.activeElement;
            const name = (a.getAttribute('aria-label') || a.labels?.[0]?.textContent || a.textContent || a.title || '').trim();
            const s = getComputedStyle(a);
            return {tag: a.tagName, name, hit: a.matches(sel),
                    ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none'}; }""", selector)
        assert info["tag"] != "BODY", f"the focus fell to <body> after {passed[-3:]}"
        assert info["name"], f"a {info['tag']} without a name after {passed[-3:]}"
        assert info["ring"], f"no visible focus on {info['tag']} {info['name']!r}"
        passed.append(info["name"])
        if info["hit"]:
            return passed
    raise AssertionError(f"{selector} not reached by Tab: {passed[-5:]}")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_book_and_cancel_by_keyboard_on_a_phone(board, browser, lang):
    base, _, _, _ = board
    with httpx.Client(base_url=base) as client:
        alice = People(client).create(name="Alice Martin")
    page = open_board(browser, base, width=320, lang=lang, login=alice.email)
    tab_to(page, f"{ROW} .book-button")
    page.keyboard.press("Enter")  # first tap: the real slot
    page.wait_for_selector(f"{ROW} .book-button.confirm", timeout=5000)
    assert page.evaluate("document.activeElement.matches('.book-button')")
    page.keyboard.press("Enter")  # second: booked
    page.wait_for_selector("#mine-list li[data-status=confirmed]", timeout=5000)
    assert page.evaluate("document.activeElement.id") == "message"
    tab_to(page, "#mine-list li[data-status=confirmed] button.cancel")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message.shown", timeout=5000)
    page.wait_for_function("!document.querySelector('#mine-list li[data-status=confirmed]')", timeout=5000)
    assert page.evaluate("document.activeElement.id") == "message"  # not <body>
    assert page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]") == [320, 320]
    assert page.errors == []


def test_a_refresh_under_the_keyboard_keeps_its_place(board, browser):
    """The board rebuilds "my bookings" and the machines on every refresh (an event, the
    30-s safety net): the control a keyboard user was on went with it, and the focus fell
    to <body> (seen as an intermittent failure of the test above)."""
    base, _, _, _ = board
    with httpx.Client(base_url=base) as client:
        alice = People(client).create(name="Alice Martin")
    page = open_board(browser, base, width=320, lang="fr", login=alice.email)
    tab_to(page, f"{ROW} .book-button")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{ROW} .book-button.confirm", timeout=5000)
    page.keyboard.press("Enter")
    page.wait_for_selector("#mine-list li[data-status=confirmed]", timeout=5000)
    cancel = "#mine-list li[data-status=confirmed] button.cancel"
    tab_to(page, cancel)
    page.evaluate("refreshMine()")
    assert page.evaluate(f"document.activeElement.matches({cancel!r})")
    machine = "#machines tr[data-machine] .book-button"
    page.focus(machine)  # (the Tab order there is the first test's)
    focused = page.evaluate("document.activeElement.closest('tr').dataset.machine")
    page.evaluate("loadMachines()")
    assert page.evaluate("document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.machine") \
        == focused
    page.keyboard.press("Enter")  # first tap: the slot, waiting for the second
    page.wait_for_selector(f"{machine}.confirm", timeout=5000)
    page.evaluate("loadMachines()")  # a refresh does not take the pending slot from under the thumb
    assert page.evaluate(f"document.activeElement.matches('{machine}.confirm')")
    assert page.errors == []
