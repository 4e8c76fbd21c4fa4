"""`station demo` as a newcomer runs it, in real headless Chromium: log in, book, tap, get in.

The demo runs in its own process (broker, API, collector, the simulated building whose
people are API members). The test reads the member login the demo prints, books a free
meeting room on the board, taps "Présenter mon badge": the simulator clocks a Wiegand
frame into that door node's reader on its mock pins, the node decides from the list the
API signed, and the page shows the answer within a second, the booking checked in, and
the room occupied. A screenshot is written to ``test-artifacts/demo-tap.png``.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.utils.demo import Demo
from tests.utils.services import unavailable

pytestmark = [pytest.mark.mosquitto, pytest.mark.chromium]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture()
def demo():
    d = Demo()
    yield d
    d.close()


def test_a_member_books_taps_their_badge_gets_in_and_is_checked_in(demo):
    if not Path(CHROMIUM).exists():
        unavailable("chromium", f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    email, password, card = demo.wait_for(r"Member login for this run: (\S+) / (\S+) \(badge (\d+)\)").groups()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(demo.url + "/")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("#login button[type=submit]")
        page.wait_for_selector("#who:has-text('Camille')", timeout=5000)
        room = None
        for _ in range(5):  # the simulated people book rooms too: take one that is free now
            page.wait_for_selector("tr[data-kind=meeting] .book-button", timeout=20000)
            candidate = page.locator("tr[data-kind=meeting]:has(.book-button)").first.get_attribute("data-room")
            row = f'tr[data-room="{candidate}"]'
            page.click(f"{row} .book-button")
            page.click(f"{row} .book-button.confirm")
            page.wait_for_selector("#message:has-text('Réserv')", timeout=5000)
            if page.locator("#message:has-text('Réservé:')").count():
                room = candidate
                break
        assert room is not None, page.inner_text("#message")
        tap = f"{row} button.tap"
        page.wait_for_selector(tap, timeout=5000)
        page.click(tap)
        started = time.monotonic()
        page.wait_for_selector("#message:has-text('Porte ouverte')", timeout=3000)
        answered = time.monotonic() - started
        page.wait_for_selector("#mine-list li[data-status=checked_in]", timeout=5000)
        page.wait_for_selector(f"{row}.status-occupied", timeout=10000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo-tap.png"), full_page=True)
        browser.close()
    assert answered < 1.0, f"the door's answer took {answered:.2f} s to show"
    staff_email, staff_password = demo.wait_for(r"Staff login for this run: (\S+) / (\S+)").groups()
    token = httpx.post(f"{demo.url}/api/v1/auth/login", json={"email": staff_email, "password": staff_password},
                       timeout=5).json()["access_token"]
    granted = httpx.get(f"{demo.url}/api/v1/audit?action=access_granted&door=porte-{room}",
                        headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    assert granted, "the door's access_granted reached the API's audit log"
    assert card not in str(granted)  # only the card's hash left the node
    time.sleep(2.0)  # the simulator's next steps: the member walks through while the strike is released
    forced = httpx.get(f"{demo.url}/api/v1/audit?action=door_forced&door=porte-{room}",
                       headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    assert forced == [], "the member who was let in went through a door the node saw as forced"


def test_the_demo_stops_within_five_seconds_and_leaves_nothing_behind(demo):
    demo.wait_for(r"Member login for this run")
    assert any(demo.tmp.glob("station-demo-*/keys/signing.pem"))  # the demo's working folder and keys
    took = demo.stop(signal.SIGTERM)
    assert demo.proc.returncode == 0, "".join(demo.lines)
    assert took < 5.0, f"SIGTERM took {took:.1f} s"
    assert "La Station demo stopped." in "".join(demo.lines)
    assert not any("reconnecting" in line for line in demo.lines)
    assert demo.left_behind() == [], "the demo's working directory (keys included) is left behind"
