"""The staff console in `station demo`, in real headless Chromium: a staff member's day, end to end.

One demo process (broker, API, collector, the simulated building on mock pins). The test
logs in as the demo's staff account on ``/staff/login`` and, through the pages only:
enrols a member; presents an unknown card at a simulated door (the real Wiegand
reader of that door node refuses it) and enrols that card from the live list; books a
room for the member; unlocks a door and sees the node apply the command; stops a
simulated node and sees it go offline. A member is refused the console. Every page is
screenshotted at 1280 px (``test-artifacts/staff-*.png``), checked with axe-core (no
serious or critical violation) and walked with the Tab key alone; ``/docs`` and
``/redoc`` render with every request off the machine blocked.
"""

from __future__ import annotations

import json
import re
import secrets
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
PAGES = ["today", "members", "badges", "trainings", "bookings", "doors", "nodes", "audit"]
DOOR = "porte-salle-quai-2"
STOPPED_NODE = "arques-salle"  # a mini-station's room node


def url(page: str) -> str:
    return "/staff/" if page == "today" else f"/staff/{page}"


@pytest.fixture(scope="module")
def demo():
    d = Demo()
    d.wait_for(r"Member login for this run")
    yield d
    if d.proc.poll() is None:
        d.stop()
    # the node stopped from the console is stopped again, harmlessly, with the demo
    assert d.proc.returncode == 0 and "La Station demo stopped." in "".join(d.lines), "".join(d.lines[-30:])
    assert not any("Traceback" in line for line in d.lines), "".join(d.lines)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable("chromium", f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def staff_login(demo) -> tuple[str, str]:
    return demo.wait_for(r"Staff login for this run: (\S+) / (\S+)").groups()


def log_in(page, demo, email: str, password: str) -> None:
    page.goto(demo.url + "/staff/")
    page.wait_for_url(re.compile(r".*/staff/login\?next=.*"))
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login button[type=submit]")


@pytest.fixture(scope="module")
def staff_page(demo, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, demo, *staff_login(demo))
    page.wait_for_url(demo.url + "/staff/")
    page.wait_for_selector("#content[aria-busy=false]")
    page.errors = errors
    yield page
    context.close()


def ready(page) -> None:
    page.wait_for_selector("#content[aria-busy=false]", timeout=15000)
    page.wait_for_selector("#live:has-text('En direct')", timeout=15000)


def confirm(page) -> None:
    page.wait_for_selector("dialog#confirm[open]")
    assert page.evaluate("document.activeElement.id") == "confirm-cancel"  # the safe choice has the focus
    page.click("#confirm-ok")


def api_token(demo) -> str:
    email, password = staff_login(demo)
    return httpx.post(f"{demo.url}/api/v1/auth/login", json={"email": email, "password": password},
                      timeout=5).json()["access_token"]


def test_a_staff_member_runs_the_building_from_the_console(demo, staff_page):
    page = staff_page
    headers = {"Authorization": f"Bearer {api_token(demo)}"}
    suffix = secrets.token_hex(3)
    # 1. enrol a member
    page.goto(demo.url + "/staff/members")
    ready(page)
    page.fill("#new-name", f"Dominique Essai {suffix}")
    page.fill("#new-email", f"dominique-{suffix}@la-station.test")
    page.click("#create-member button[type=submit]")
    page.wait_for_selector(f"#file-title:has-text('Dominique Essai {suffix}')")
    member_id = int(re.search(r"id=(\d+)", page.url).group(1))

    # 2. an unknown card tapped at a simulated door shows up live; enrol it for the member
    page.click("a:has-text('Enrôler une carte présentée à un lecteur')")
    ready(page)
    page.wait_for_function(f"document.getElementById('badge-member').value === '{member_id}'", timeout=5000)
    card = str(10_000_000 + secrets.randbelow(6_000_000))  # a 26-bit card: 24 data bits
    page.select_option("#demo-door", DOOR)
    page.fill("#demo-card", card)
    page.click("#demo-tap button[type=submit]")
    row = f"#unknown-cards tr.newest[data-door='{DOOR}']"
    page.wait_for_selector(row, timeout=10000)  # pushed by the staff stream: the door refused it
    page.click(f"{row} button.enrol")
    confirm(page)
    page.wait_for_selector("#message:has-text('Badge enrôlé')", timeout=5000)
    badges = httpx.get(f"{demo.url}/api/v1/members/{member_id}/badges", headers=headers, timeout=5).json()
    assert len(badges) == 1 and badges[0]["active"]
    assert card not in json.dumps(badges)  # the number never left the reader node: only its hash
    page.goto(f"{demo.url}/staff/members?id={member_id}")
    page.wait_for_selector(f"tr[data-badge='{badges[0]['id']}']")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-member-file.png"), full_page=True)

    # 3. book a room for the member, late in the day (the simulated people book 45 minutes ahead)
    page.goto(demo.url + "/staff/bookings")
    ready(page)
    page.fill("#booking-member-q", f"dominique-{suffix}")
    page.wait_for_function(f"document.getElementById('booking-member').value === '{member_id}'", timeout=5000)
    page.select_option("#book-space", "salle-depot")
    page.fill("#book-start", "18:00")
    page.fill("#book-end", "19:00")
    page.click("#book-for-member button[type=submit]")
    page.wait_for_selector("#message:has-text('Réservation enregistrée')", timeout=5000)
    page.wait_for_selector(f"#space-salle-depot .block[aria-label*='Dominique Essai {suffix}']", timeout=5000)
    booked = httpx.get(f"{demo.url}/api/v1/bookings?member={member_id}", headers=headers, timeout=5).json()
    assert [(b["space"], b["status"]) for b in booked] == [("salle-depot", "confirmed")]

    # 4. unlock a door once and see the node apply it
    page.goto(demo.url + "/staff/doors")
    ready(page)
    page.click(f"#door-{DOOR} button[data-action=unlock_once]")
    confirm(page)
    started = time.monotonic()
    page.wait_for_selector(f"#door-{DOOR} .command[data-status=applied]", timeout=10000)
    applied_after = time.monotonic() - started
    assert "appliquée par le nœud" in page.inner_text(f"#door-{DOOR} .command")

    # 5. stop a simulated node: the console sees it go offline, and raises the alert
    page.goto(demo.url + "/staff/nodes")
    ready(page)
    page.wait_for_selector(f"#node-{STOPPED_NODE}[data-state=online]")
    assert "mini-station" in page.inner_text(f"section:has(#node-{STOPPED_NODE}) h2")
    page.click(f"#node-{STOPPED_NODE} button[data-action=stop]")
    confirm(page)
    started = time.monotonic()
    page.wait_for_selector(f"#node-{STOPPED_NODE}[data-state=offline]", timeout=15000)
    offline_after = time.monotonic() - started
    page.goto(demo.url + "/staff/")
    ready(page)
    page.wait_for_selector(f"#alerts tr[data-alert='node_offline:{STOPPED_NODE}'] a[href='/staff/nodes#node-{STOPPED_NODE}']")
    assert not page.errors, page.errors
    print(f"command applied after {applied_after:.2f} s; node offline after {offline_after:.2f} s")
    assert applied_after < 5 and offline_after < 10


def test_a_member_cannot_open_the_console(demo, browser):
    email, password, _ = demo.wait_for(r"Member login for this run: (\S+) / (\S+) \(badge (\d+)\)").groups()
    anonymous = httpx.get(demo.url + "/staff/doors", timeout=5)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/staff/login?next=/staff/doors"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, demo, email, password)
    page.wait_for_selector("#message:has-text(\"n'est pas un compte du personnel\")", timeout=5000)
    assert page.url.startswith(demo.url + "/staff/login")
    assert not [c for c in context.cookies() if c["name"] == "station_staff"]  # nothing was kept for a member
    token = httpx.post(f"{demo.url}/api/v1/auth/login", json={"email": email, "password": password},
                       timeout=5).json()["access_token"]
    forbidden = httpx.get(demo.url + "/staff/", cookies={"station_staff": token}, timeout=5)
    assert forbidden.status_code == 403 and 'data-page="forbidden"' in forbidden.text
    assert httpx.get(demo.url + "/api/v1/staff/stream", cookies={"station_staff": token}, timeout=5).status_code == 403
    context.add_cookies([{"name": "station_staff", "value": token, "url": demo.url}])
    page.goto(demo.url + "/staff/")
    page.wait_for_selector("#content:has-text('réservée au personnel')")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-forbidden.png"), full_page=True)
    context.close()


def serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_screenshot_axe_and_keyboard(demo, staff_page, name):
    from axe_playwright_python.sync_playwright import Axe

    page = staff_page
    page.goto(demo.url + url(name))
    ready(page)
    page.wait_for_timeout(800)  # the live stream's first refresh
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"staff-{name}.png"), full_page=True)
    results = Axe().run(page)
    (ARTIFACTS / f"staff-{name}.axe.json").write_text(json.dumps(
        [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in results.response["violations"]]))
    assert serious(results) == [], serious(results)
    # By keyboard alone: the first Tab reaches the skip link; Tab visits every control of
    # the page in order (none is a trap, none is out of reach).
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    controls = page.evaluate("""() => [...document.querySelectorAll(
        'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled])')]
        .filter((e) => e.offsetParent !== null && !e.closest('dialog')).length""")
    seen = {page.evaluate("[...document.querySelectorAll('*')].indexOf(document.activeElement)")}  # the skip link
    for _ in range(3 * controls + 20):  # date and time inputs take a Tab per part
        page.keyboard.press("Tab")
        at = page.evaluate("""() => { const e = document.activeElement;
            return e && e !== document.body ? [...document.querySelectorAll('*')].indexOf(e) : -1; }""")
        if at != -1 and page.evaluate("document.activeElement.className") == "skip":
            break  # round the page, back to the skip link
        seen.add(at)
    assert len(seen - {-1}) >= controls, f"{len(seen - {-1})} of {controls} controls reached by Tab"


def test_a_door_command_by_keyboard_alone(demo, staff_page):
    page = staff_page
    page.goto(demo.url + "/staff/doors")
    ready(page)
    target = "porte-salle-aiguillage"
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(400):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches('#door-{target} button[data-action=unlock_once]')"):
            break
    else:
        pytest.fail("the door's unlock button is not reachable by Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog#confirm[open]")
    page.keyboard.press("Escape")  # Escape cancels: nothing is sent
    page.wait_for_function("!document.getElementById('confirm').open")
    assert page.evaluate(f"document.activeElement.matches('#door-{target} button[data-action=unlock_once]')")
    assert page.locator(f"#door-{target} .command").count() == 0
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog#confirm[open]")
    page.keyboard.press("Tab")  # from Cancel to the action
    assert page.evaluate("document.activeElement.id") == "confirm-ok"
    page.keyboard.press("Enter")
    # The node's answer, whatever it is (the demo's clock runs at 10×: the command's 60 s
    # lasts 6 s of real time), then that it is "applied", saying what it was otherwise.
    answer = page.wait_for_selector(f"#door-{target} .command:not([data-status=pending])", timeout=20000)
    assert answer.get_attribute("data-status") == "applied", answer.inner_text()


def test_login_page_screenshot_and_axe(demo, browser):
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(demo.url + "/staff/login")
    page.wait_for_selector("#email")
    page.screenshot(path=str(ARTIFACTS / "staff-login.png"), full_page=True)
    assert serious(Axe().run(page)) == []
    page.click("#lang")
    assert page.inner_text("h1") == "Staff login"  # the English switch
    context.close()


def test_docs_and_redoc_render_without_internet(demo, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def only_this_machine(route):
        if route.request.url.startswith(demo.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_machine)
    page = context.new_page()
    page.goto(demo.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title:has-text('La Station API')", timeout=15000)
    page.wait_for_selector(".opblock-tag:has-text('staff')")
    page.screenshot(path=str(ARTIFACTS / "docs-offline.png"))
    page.goto(demo.url + "/redoc")
    page.wait_for_selector("h1:has-text('La Station API')", timeout=20000)
    page.screenshot(path=str(ARTIFACTS / "redoc-offline.png"))
    context.close()
    assert blocked == [], f"the docs asked for {blocked}"
