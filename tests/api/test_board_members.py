"""The board as a member meets it, in real headless Chromium (Playwright), French and English.

At 320, 390 and 430 px (phones) and 1280 px (the hall screen): no horizontal scroll,
the room's name, state and book button on screen, axe-core finding nothing serious or
critical, screenshots written to ``test-artifacts/board-<width>-<lang>.png``. Every
booking rule's refusal shows the API's sentence in the page's language; a member books
(the confirm button naming the real start-end, and why it is shorter), finds it in "my
bookings" and cancels it; a no-show is shown to its member with why; the floor plan
follows a status change from MQTT within a second.
"""

from __future__ import annotations

import statistics
import time
from importlib import resources

import httpx
import pytest

from station.contract import NodeStatus, RoomOccupancy, topics
from station.mqtt import MqttBus, MqttSettings
from tests.conftest import wait_until

from .conftest import People, at
from .test_board_browser import ARGS, ARTIFACTS, CHROMIUM, board, database_url  # noqa: F401  (fixtures)
from tests.utils.services import unavailable

pytestmark = pytest.mark.chromium
PASSWORD = "password-1-long"
PHONES = (320, 390, 430)


@pytest.fixture()
def browser():
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        unavailable("chromium", f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_board(browser, base: str, *, width: int, lang: str, login: str | None = None):
    page = browser.new_page(viewport={"width": width, "height": 860})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.add_init_script(f"localStorage.setItem('station.lang', '{lang}')")
    page.goto(base + "/")
    page.wait_for_function("document.querySelector('#live').textContent.length > 0", timeout=5000)
    if login:
        page.fill("#email", login)
        page.fill("#password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("#who:not(:empty)", timeout=5000)
        assert page.evaluate("document.activeElement.id") == "who"  # focus is not lost to <body>
    page.wait_for_selector("#day li[data-day-room]", timeout=5000)
    page.wait_for_selector("[data-plan-room]", timeout=5000)
    return page


def axe_violations(page) -> list[dict]:
    source = (resources.files("axe_playwright_python") / "axe.min.js").read_text()
    page.add_script_tag(content=source)
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))""")


def in_view(page, selector: str, width: int) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_board_fits_phones_and_the_hall_screen_and_axe_finds_nothing_serious(board, browser, lang):
    base, app, _, _ = board
    with httpx.Client(base_url=base) as client:
        alice = People(client).create(name="Alice Martin")
        client.post("/api/v1/bookings", headers=alice.headers, json={"space": "salle-depot", "start": at(14), "end": at(15)})
    ARTIFACTS.mkdir(exist_ok=True)
    found = {}
    for width in (*PHONES, 1280):
        page = open_board(browser, base, width=width, lang=lang, login=alice.email)
        page.wait_for_selector("#mine-list li[data-status=confirmed]", timeout=5000)
        scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll[0] <= scroll[1], f"{width} px: the page is {scroll[0]} px wide"
        row = 'tr[data-room="salle-aiguillage"]'
        for part in (".name", ".status", ".book-button"):
            assert in_view(page, f"{row} {part}", width), f"{width} px: {part} off-screen"
        page.focus(f"{row} .book-button")
        assert in_view(page, f"{row} .name", width)  # with the button focused the name stays in view
        violations = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
        found[width] = violations
        if width in (390, 1280):
            page.screenshot(path=str(ARTIFACTS / f"board-{width}-{lang}.png"), full_page=True)
        assert not page.errors, page.errors
        page.close()
    assert all(not v for v in found.values()), found
    for width in (390, 1280):
        assert (ARTIFACTS / f"board-{width}-{lang}.png").stat().st_size > 10_000


REFUSALS = {  # rule -> (booking, words in French, words in English)
    "not_bookable": ({"space": "guichet", "start": at(11), "end": at(12)}, "ne se réserve pas", "cannot be booked"),
    "end_before_start": ({"start": at(12), "end": at(11)}, "doit finir après son début", "must end after it starts"),
    "in_the_past": ({"start": at(8), "end": at(9)}, "commence dans le passé", "starts in the past"),
    "too_far_ahead": ({"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z"}, "jours à l'avance", "days ahead"),
    "too_long": ({"start": at(11), "end": at(16)}, "240 minutes au plus", "240 minutes at most"),
    "over_capacity": ({"start": at(11), "end": at(12), "attendees": 9}, "accueille 8 personnes", "holds 8 people"),
    "outside_opening_hours": ({"start": at(19), "end": at(21)}, "en dehors des horaires", "outside the opening hours"),
    "closed": ({"start": at(16), "end": at(17)}, "fermeture 16:00-18:00 (heure de Paris) (Travaux)",
               "closed 16:00-18:00 (Paris time) (Travaux)"),
    "conflict": ({"start": at(13), "end": at(14)}, "déjà réservé 13:00-14:00 (heure de Paris)",
                 "already booked 13:00-14:00 (Paris time)"),
    "full": ({"space": "fauquembergues-coworking", "start": at(11), "end": at(12), "attendees": 6},
             "place(s) libre(s) à 11:00 (heure de Paris)", "seat(s) free at 11:00 (Paris time)"),
}
CLOSURE = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:works-1\r\n"
           "DTSTART;TZID=Europe/Paris:20260610T160000\r\nDTEND;TZID=Europe/Paris:20260610T180000\r\n"
           "SUMMARY:Travaux\r\nLOCATION:salle-aiguillage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_refusal_shows_the_rule_in_the_members_language(board, browser, lang):
    base, app, _, _ = board
    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice, bob = people.create(), people.create()
        r = client.post("/api/v1/closures/import", headers=people.admin.headers,
                        json={"ics": CLOSURE, "source": "works"})
        assert r.status_code == 200 and r.json()["periods"] == 1, r.text
        assert client.post("/api/v1/bookings", headers=bob.headers,
                           json={"space": "salle-aiguillage", "start": at(13), "end": at(14)}).status_code == 201
        assert client.post("/api/v1/bookings", headers=bob.headers, json={
            "space": "fauquembergues-coworking", "start": at(11), "end": at(12), "attendees": 1}).status_code == 201
    page = open_board(browser, base, width=390, lang=lang, login=alice.email)
    for rule, (booking, fr, en) in REFUSALS.items():
        body = {"space": "salle-aiguillage", **booking}
        page.evaluate("() => say('')")
        page.evaluate("body => submitBooking(body)", body)
        page.wait_for_function("document.querySelector('#message').textContent.length > 0", timeout=3000)
        shown = page.inner_text("#message")
        assert (fr if lang == "fr" else en) in shown, f"{rule}: {shown!r}"
        assert "422" not in shown and "409" not in shown
        assert page.evaluate("document.activeElement.id") == "message" and in_view(page, "#message", 390)
    assert not page.errors, page.errors


def test_a_member_books_on_a_phone_sees_it_in_my_bookings_and_cancels_it(board, browser, clock):
    base, app, _, _ = board
    runtime = app.state.runtime
    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice, bob = people.create(name="Alice Martin"), people.create()
        client.post("/api/v1/bookings", headers=bob.headers,
                    json={"space": "salle-correspondance", "start": at(10, 30), "end": at(11)})
        page = open_board(browser, base, width=390, lang="fr", login=alice.email)
        row = 'tr[data-room="salle-aiguillage"]'
        page.click(f"{row} .book-button")
        page.wait_for_selector(f"{row} .book-button.confirm")
        assert page.inner_text(f"{row} .book-button") == "Confirmer 10:00–11:00"  # the real start-end
        label = page.get_attribute(f"{row} .book-button", "aria-label")
        assert label.startswith("Confirmer la réservation de Salle Aiguillage, 10:00–11:00 (heure de Paris)")
        page.click(f"{row} .book-button.confirm")
        page.wait_for_selector("#message:has-text('Réservé:')")
        assert page.evaluate("document.activeElement.id") == "message" and in_view(page, "#message", 390)
        page.wait_for_selector("#mine-list li[data-status=confirmed]:has-text('Salle Aiguillage')", timeout=5000)
        # shortened by the next booking: said before confirming
        short = 'tr[data-room="salle-correspondance"]'
        page.wait_for_selector(f"{short} .book-button")
        page.click(f"{short} .book-button")
        page.wait_for_selector(f"{short} .book-button.confirm")
        assert page.inner_text(f"{short} .book-button") == "Confirmer 10:00–10:30"
        assert "une autre réservation de Salle Correspondance commence à 10:30 (heure de Paris)" in page.inner_text(f"{short} .note")
        # a coworking space with free seats stays bookable while occupied
        runtime.occupancy.handle("station/v1/la-station/rooms/coworking-quai/occupancy",
                                 RoomOccupancy(ts=clock.now(), room="coworking-quai", occupied=True, confidence=0.9,
                                               people_estimate=4.2, co2_ppm=900).to_json())
        cowork = 'tr[data-room="coworking-quai"]'
        page.wait_for_selector(f"{cowork}.status-occupied .book-button", timeout=3000)
        assert "30 places libres" in page.inner_text(f"{cowork} .status")
        assert "≈ 4 personnes" in page.inner_text(f"{cowork} .co2")
        # cancel (it started at 10:00, now: released, the room free again)
        mine = client.get("/api/v1/bookings", headers=alice.headers).json()
        page.click(f"#mine-list li[data-booking='{mine[0]['id']}'] button.cancel")
        item = f"#past-list li[data-booking='{mine[0]['id']}'][data-status=released]"
        page.wait_for_selector(item, timeout=5000)
        assert "libérée" in page.inner_text(item) and "Réservation annulée" in page.inner_text("#message")
        assert client.get(f"/api/v1/bookings/{mine[0]['id']}", headers=alice.headers).json()["status"] == "released"
        page.wait_for_selector(f"{row} .book-button", timeout=5000)  # bookable again
        assert not page.errors, page.errors


def test_a_released_no_show_is_shown_to_its_member(board, browser, clock):
    base, app, _, _ = board
    runtime = app.state.runtime
    with httpx.Client(base_url=base) as client:
        alice = People(client).create()
        b = client.post("/api/v1/bookings", headers=alice.headers,
                        json={"space": "salle-quai-2", "start": at(10), "end": at(11)}).json()
    page = open_board(browser, base, width=390, lang="fr", login=alice.email)
    page.wait_for_selector(f"#mine-list li[data-booking='{b['id']}']")
    clock.advance(minutes=20)
    wait_until(lambda: runtime.access_log.drained, timeout=10)
    assert runtime.sweeper.release_no_shows(clock.now()) == [b["id"]]
    item = f"#past-list li[data-booking='{b['id']}'][data-status=no_show]"
    page.wait_for_selector(item, timeout=5000)
    assert "libérée à 10:20 : personne n'a badgé" in page.inner_text(item)


def test_the_floor_plan_follows_a_status_change_within_a_second(board, browser, clock, broker):
    base, app, _, _ = board
    page = open_board(browser, base, width=1280, lang="fr")
    shape = '[data-plan-room="salle-aiguillage"]'
    topic = topics.room_occupancy("la-station", "salle-aiguillage")
    bus = MqttBus("collector-plan-test", MqttSettings(port=broker.port)).start()
    latencies = []
    try:
        for i in range(6):
            occupied = i % 2 == 0
            clock.advance(seconds=1)
            started = time.monotonic()
            bus.publish(topic, RoomOccupancy(ts=clock.now(), room="salle-aiguillage", occupied=occupied, confidence=0.9))
            want = "occupied" if occupied else "free"
            page.wait_for_function(f"document.querySelector('{shape}').dataset.status === '{want}'", timeout=1000)
            latencies.append(time.monotonic() - started)
            assert page.text_content(f"{shape} .state") == ("Occupée" if occupied else "Libre")  # not colour alone
        label = page.get_attribute(shape, "aria-label")
        assert label.startswith("Salle Aiguillage : Libre")
        # the bus: online and last seen, once its node has spoken
        bus.publish(topics.node_status("bus-fablab", "bus-salle"),
                    NodeStatus(ts=clock.now(), node="bus-salle", state="online"), retain=False)
        wait_until(lambda: "bus-salle" in app.state.runtime.fleet.status, timeout=5)
        page.reload()
        page.wait_for_selector("[data-site-card=bus-fablab] .link.online:has-text('En ligne — vu à')", timeout=5000)
    finally:
        bus.stop()
    print(f"floor plan: MQTT -> SVG median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} changes")
    assert max(latencies) < 1.0


def test_a_member_books_by_picking_a_slot_in_the_day_view(board, browser):
    base, app, _, _ = board
    with httpx.Client(base_url=base) as client:
        people = People(client)
        alice, bob = people.create(), people.create()
        client.post("/api/v1/bookings", headers=bob.headers, json={"space": "salle-quai-2", "start": at(12), "end": at(13)})
        page = open_board(browser, base, width=390, lang="en", login=alice.email)
        card = '#day li[data-day-room="salle-quai-2"]'
        page.wait_for_selector(f"{card} .tl-busy")  # someone else's booking, without a name
        assert "booked 12:00–13:00 (Paris time)" in page.text_content(f"{card} .sr")
        options = page.eval_on_selector_all(f"{card} select[id^=slot] option", "os => os.map(o => o.textContent)")
        assert "12:00" not in options and "12:30" not in options and "14:00" in options  # taken slots not offered
        page.select_option(f"{card} select[id^=slot]", label="14:00")
        page.select_option(f"{card} select[id^=length]", "90")
        page.click(f"{card} .slot-button")
        page.wait_for_selector(f"{card} .slot-button.confirm")
        assert page.inner_text(f"{card} .slot-button") == "Confirm 14:00–15:30"
        page.click(f"{card} .slot-button.confirm")
        page.wait_for_selector("#message:has-text('Booked:')")
        page.wait_for_selector(f"{card} .tl-mine", timeout=5000)  # mine, highlighted
        mine = client.get("/api/v1/bookings", headers=alice.headers).json()
        assert [(b["space"], b["start"], b["end"]) for b in mine] == [("salle-quai-2", "2026-06-10T12:00:00Z",
                                                                        "2026-06-10T13:30:00Z")]
