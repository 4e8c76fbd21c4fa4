"""The board in real headless Chromium (Playwright), fed by real nodes through Mosquitto.

A door opening and motion on mock pins go node → broker → collector → API → SSE → page;
a member logs in on the page and books in two taps by keyboard (the confirm step names
the real start-end); a screenshot is written to ``test-artifacts/board.png``. The
member's side (phones, refusals, my bookings, plan, day view) is test_board_members.py.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
import uvicorn
from gpiozero.pins.mock import MockFactory

from api.app import create_app
from station.settings import MqttSettings
from collector.service import Collector
from edge.node import EdgeNode
from station.broker.dev import free_port
from tests.conftest import wait_until
from tests.utils.services import unavailable

from .conftest import People

pytestmark = pytest.mark.chromium
SPACE = "salle-aiguillage"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(params=["sqlite"])  # the browser tests need not run twice; the API suite covers PostgreSQL
def database_url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'api.db'}"


class Server:
    def __init__(self, app, port: int):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    timeout_graceful_shutdown=1))  # SSE streams never end
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture()
def board(settings, clock, broker):
    settings = settings.model_copy(update={"mqtt": MqttSettings(port=broker.port, client_id=f"api-{secrets.token_hex(3)}")})
    port = free_port()
    app = create_app(settings, clock=clock)
    server = Server(app, port)
    app.state.test_server = server
    yield f"http://127.0.0.1:{port}", app, settings, port
    server.stop()


@pytest.fixture()
def page():
    if not Path(CHROMIUM).exists():
        unavailable("chromium", f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        yield page
        browser.close()


def test_door_event_shows_on_the_page_within_a_second(board, page, inventory, clock, broker):
    base, app, _, _ = board
    mqtt = MqttSettings(port=broker.port)
    door_factory, room_factory = MockFactory(), MockFactory()
    door_factory.pin(27).drive_low()  # the door starts closed
    with Collector(inventory, mqtt, clock=clock, client_id=f"collector-{secrets.token_hex(3)}"), \
            EdgeNode(inventory, f"ls-porte-{SPACE}", mqtt, pin_factory=door_factory, clock=clock) as door_node, \
            EdgeNode(inventory, f"ls-salle-{SPACE}", mqtt, pin_factory=room_factory, clock=clock,
                     telemetry_interval_s=3600) as room_node:
        wait_until(lambda: (o := app.state.runtime.occupancy.occupancy.get(SPACE)) and o.occupied is False, timeout=10)
        page.goto(base + "/")
        row = f'tr[data-room="{SPACE}"]'
        page.wait_for_selector(f"{row}.status-free", timeout=5000)
        page.wait_for_function("document.querySelector('#live').textContent.length > 0", timeout=5000)
        door_factory.pin(door_node.profile.pins["door_contact"]).drive_high()  # the door opens
        room_factory.pin(room_node.profile.pins["pir"]).drive_high()  # someone moves
        page.wait_for_selector(f"{row}.status-occupied", timeout=1000)
        assert page.inner_text(f"{row} .status") == "Occupée"


def test_member_books_in_two_taps_on_the_page(board, page, clock):
    base, app, settings, _ = board
    import httpx

    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice = people.create(name="Alice Martin")
        page.goto(base + "/")
        for control in ("site-filter", "kind-filter", "email", "password"):  # every control has a label
            assert page.locator(f'label[for="{control}"]').count() == 1
        page.select_option("#kind-filter", "meeting")
        assert page.is_hidden('tr[data-room="fablab-bois"]')
        page.fill("#email", alice.email)
        page.fill("#password", "password-1-long")
        page.click("#login button[type=submit]")
        page.wait_for_selector("#who:has-text('Alice Martin')", timeout=5000)
        button = 'tr[data-room="salle-correspondance"] .book-button'
        page.focus(button)  # by keyboard: Enter to ask, Enter to confirm
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{button}.confirm")
        assert page.inner_text(button) == "Confirmer 10:00–11:00"  # the real start-end, on the server's clock
        assert page.get_attribute(button, "aria-label").startswith("Confirmer la réservation de Salle Correspondance")
        assert page.evaluate("document.activeElement.classList.contains('book-button')")  # focus kept for Enter
        page.keyboard.press("Enter")
        page.wait_for_selector("#message:has-text('Réservé:')")
        bookings = client.get("/api/v1/bookings", headers=alice.headers).json()
        assert [(b["space"], b["status"]) for b in bookings] == [("salle-correspondance", "confirmed")]
        page.wait_for_selector('tr[data-room="salle-correspondance"].status-reserved', timeout=5000)
        page.click("#lang")
        assert "rooms free now" in page.inner_text("h1")
        assert page.inner_text('tr[data-room="salle-correspondance"] .status') == "Reserved"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)
    assert (ARTIFACTS / "board.png").stat().st_size > 10_000


def test_page_survives_the_api_restarting(board, page, clock, broker):
    base, app, settings, port = board
    page.goto(base + "/")
    page.wait_for_function("document.querySelector('#live').textContent.length > 0", timeout=5000)
    board_server = app.state.test_server
    board_server.stop()  # the API goes away...
    page.wait_for_function("document.querySelector('#live').textContent.includes('Reconnexion')", timeout=10000)
    second = create_app(settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"client_id": f"api-{secrets.token_hex(3)}"})}), clock=clock)
    restarted = Server(second, port)  # ...and comes back on the same port and database
    try:
        page.wait_for_function("document.querySelector('#live').textContent === 'En direct'", timeout=20000)
        import httpx

        with httpx.Client(base_url=base) as client:
            alice = People(client).create()
            r = client.post("/api/v1/bookings", headers=alice.headers, json={"space": SPACE, "duration_minutes": 30})
            assert r.status_code == 201, r.text
        page.wait_for_selector(f'tr[data-room="{SPACE}"].status-reserved', timeout=5000)
    finally:
        restarted.stop()
