""""Mes données" in real headless Chromium: a member logged in on the board opens the page,
sees what is held (their badge's fingerprint, their booking, their badge use), downloads
the JSON and the CSV, reads the notice in French and English, and erases their account
with confirmation; axe-core finds nothing serious. Screenshot: test-artifacts/my-data-390-fr.png."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from station.access import hash_credential
from station.contract import EventKind, NodeEvent

from .conftest import People, at
from .test_board_browser import ARTIFACTS, board, database_url  # noqa: F401  (fixtures)
from .test_board_members import axe_violations, browser, open_board  # noqa: F401  (fixtures)

pytestmark = pytest.mark.chromium
NODE, DOOR, ROOM = "ls-porte-salle-aiguillage", "porte-salle-aiguillage", "salle-aiguillage"


def test_mes_donnees_shows_downloads_and_erases_the_members_data(board, browser, clock):
    base, app, settings, _ = board
    runtime = app.state.runtime
    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice = people.create(name="Alice Martin", card="4242")
        bob = people.create(name="Bob Lefebvre", card="5151")
        assert client.post("/api/v1/bookings", headers=alice.headers,
                           json={"space": ROOM, "start": at(10, 5), "end": at(11), "title": "Atelier"}).status_code == 201
        alice_hash = hash_credential(bytes.fromhex(settings.site_key), "4242")
        event = NodeEvent(ts=clock.now(), id="evt-alice-1", seq=1, node=NODE, kind=EventKind.access_granted, door=DOOR,
                          space=ROOM, credential_hash=alice_hash)
        runtime.access_log.handle(f"station/v1/la-station/nodes/{NODE}/events", event.to_json())

        page = open_board(browser, base, width=390, lang="fr", login=alice.email)
        assert "Vos données et vos droits" in page.inner_text("footer.notice")
        page.click("#views a[href='/mes-donnees']")
        page.wait_for_selector("#mine:not([hidden]) #held tr", timeout=5000)
        held = page.inner_text("#held")
        assert "Alice Martin" in held and alice.email in held and alice_hash[:12] in held
        assert "Bob" not in page.content() and bob.email not in page.content()
        assert DOOR in page.inner_text("#access") and "entrée" in page.inner_text("#access")
        assert "92 jours" in page.inner_text("#notice-text")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "my-data-390-fr.png"), full_page=True)
        violations = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
        assert violations == [], violations
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        with page.expect_download() as got:
            page.click("#download-json")
        archive = json.loads(open(got.value.path(), encoding="utf-8").read())
        assert archive["profile"]["email"] == alice.email
        assert [b["credential_hash"] for b in archive["badges"]] == [alice_hash]
        with page.expect_download() as got:
            page.click("#download-csv")
        rows = list(csv.reader(io.StringIO(open(got.value.path(), encoding="utf-8").read())))
        assert ["profile", "0", "name", "Alice Martin"] in rows

        page.click("#lang")
        page.wait_for_function("document.querySelector('#notice-text').lang === 'en'", timeout=5000)
        assert "92 days" in page.inner_text("#notice-text") and page.inner_text("#data-title").startswith("What")

        page.click("#erase-box summary")
        page.fill("#erase-confirm", bob.email)  # not their own: refused, nothing erased
        page.click("#erase-form button[type=submit]")
        page.wait_for_selector("#message:has-text('does not match')", timeout=5000)
        assert client.get("/api/v1/members/me", headers=alice.headers).status_code == 200
        page.fill("#erase-confirm", alice.email)
        page.click("#erase-form button[type=submit]")
        page.wait_for_selector("#message:has-text('Account erased')", timeout=5000)
        assert page.is_hidden("#mine") and page.evaluate("localStorage.getItem('station.token')") is None
        assert client.get("/api/v1/members/me", headers=alice.headers).status_code == 401
        assert alice.email not in client.get("/api/v1/staff/members", headers=people.admin.headers).text
        assert page.errors == []



def test_staff_erase_a_member_from_the_console_and_see_the_notice(board, browser, clock):
    base, app, settings, _ = board
    with httpx.Client(base_url=base) as client:
        people = People(client)
        staff = people.create("staff")
        carol = people.create(name="Carol Dupont", card="6161")
        assert client.post("/api/v1/bookings", headers=carol.headers,
                           json={"space": ROOM, "start": at(10, 5), "end": at(11)}).status_code == 201
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script("localStorage.setItem('station.lang', 'fr')")
        page.goto(base + "/staff/")
        page.fill("#email", staff.email)
        page.fill("#password", "password-1-long")
        page.click("#login button[type=submit]")
        page.wait_for_url(base + "/staff/")
        page.wait_for_selector("#notice-short:not(:empty)", timeout=5000)
        assert "92 jours" in page.inner_text("#notice-short")
        page.goto(f"{base}/staff/members?id={carol.id}")
        page.wait_for_selector("#erase-action", timeout=5000)
        page.click("#erase-action")
        page.wait_for_selector("dialog#confirm[open]")
        assert page.evaluate("document.activeElement.id") == "confirm-cancel"  # the safe choice has the focus
        page.click("#confirm-ok")
        page.wait_for_selector("#message:has-text('Compte effacé')", timeout=5000)
        assert "bookings (1)" in page.inner_text("#message")
        assert client.get("/api/v1/members/me", headers=carol.headers).status_code == 401
        assert "Carol Dupont" not in client.get("/api/v1/staff/members", headers=people.admin.headers).text
        assert errors == []
