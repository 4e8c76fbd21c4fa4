"""The staff console on a phone (320 and 430 px), in real headless Chromium.

A staff member on the floor opens the console on their phone: no page of it may scroll
the whole screen sideways — wide tables scroll inside their own region, which the
keyboard can reach — and axe-core finds nothing serious or critical, with a member
whose name is one long French word and a hostile one.
"""

from __future__ import annotations

import httpx
import pytest

from .conftest import People, at
from .test_board_browser import board, database_url  # noqa: F401  (fixtures)
from .test_board_members import axe_violations, browser  # noqa: F401  (fixtures)

pytestmark = pytest.mark.chromium
NAME = "Anticonstitutionnellement-Désinstitutionnalisation <img src=x onerror=alert(1)>"


@pytest.mark.parametrize("width", [320, 430])
def test_every_console_page_fits_a_phone(board, browser, width):
    base, app, _, _ = board
    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice = people.create(name=NAME)
        assert client.post("/api/v1/bookings", headers=alice.headers,
                           json={"space": "salle-depot", "start": at(14), "end": at(15),
                                 "title": "Intergouvernementalisations"}).status_code == 201
        staff = people.create("staff")
        page = browser.new_page(viewport={"width": width, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: errors.append(f"dialog {d.message}"))  # an alert() would be script run
        page.add_init_script("localStorage.setItem('station.lang', 'fr')")
        page.goto(base + "/staff/")
        page.fill("#email", staff.email)
        page.fill("#password", "password-2-long")
        page.click("#login button[type=submit]")
        page.wait_for_url(base + "/staff/")
        wide, found = {}, {}
        for path in ("/staff/", "/staff/bookings", "/staff/members", f"/staff/members?id={alice.id}", "/staff/audit",
                     "/staff/doors", "/staff/nodes", "/staff/badges", "/staff/trainings"):
            page.goto(base + path)
            page.wait_for_selector("main :is(table, .empty)", timeout=5000)
            page.wait_for_timeout(300)  # the page's second fetches
            size = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if size[0] > size[1]:
                wide[path] = size[0]
            serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
            if serious:
                found[path] = serious
        assert not wide, f"{width} px: pages wider than the screen: {wide}"
        assert not found, found
        assert page.locator("img").count() == 0 and errors == []
