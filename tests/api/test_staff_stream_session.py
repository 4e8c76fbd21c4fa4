"""The staff console's event stream stops when its session stops being a staff session,
and the open console then leaves for the login or "access denied" page.

A console left open keeps its ``EventSource`` for hours: demoting that person to member,
suspending them or logging them out elsewhere must end the stream at the next frame —
not leave them the building's doors, nodes and alerts live until they reload.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.conftest import wait_until

from .conftest import People
from .test_board_browser import board, database_url  # noqa: F401  (fixtures: the API on a real port)


def _listen(base: str, headers: dict, lines: list[str], ended: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=httpx.Timeout(5, read=60)) as c:
        with c.stream("GET", "/api/v1/staff/stream", headers=headers) as r:
            lines.append(f"status {r.status_code}")
            for line in r.iter_lines():
                lines.append(line)
    ended.set()


@pytest.mark.parametrize("how", ["demoted", "suspended", "logged_out"])
def test_the_staff_stream_ends_when_the_session_is_no_longer_staff(board, how):
    base, app, _, _ = board
    hub = app.state.runtime.staff_hub
    with httpx.Client(base_url=base) as client:
        people = People(client)
        staff = people.create("staff")
        lines: list[str] = []
        ended = threading.Event()
        threading.Thread(target=_listen, args=(base, staff.headers, lines, ended), daemon=True).start()
        wait_until(lambda: "event: hello" in lines, timeout=5)
        hub.broadcast("node", {"node": "before", "state": "online"})
        wait_until(lambda: any('"before"' in x for x in lines), timeout=5)  # a staff session hears the building
        if how == "demoted":
            r = client.put(f"/api/v1/staff/members/{staff.id}/role", headers=people.admin.headers, json={"role": "member"})
        elif how == "suspended":
            r = client.post(f"/api/v1/members/{staff.id}/suspend", headers=people.admin.headers)
        else:
            r = client.post("/api/v1/auth/logout", headers=staff.headers)
        assert r.status_code < 300, r.text
        hub.broadcast("node", {"node": "after", "state": "online"})
        assert ended.wait(5), "the stream goes on for someone who is no longer staff"
        assert not any('"after"' in x for x in lines)


@pytest.mark.chromium
@pytest.mark.parametrize("how, lands", [("demoted", "Accès refusé"), ("logged_out", "Connexion")])
def test_an_open_console_leaves_when_its_person_is_no_longer_staff(board, how, lands):
    from .test_board_browser import ARGS, CHROMIUM
    from playwright.sync_api import sync_playwright

    base, app, _, _ = board
    with httpx.Client(base_url=base) as client, sync_playwright() as p:
        people = People(client)
        staff = people.create("staff")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script("localStorage.setItem('station.lang', 'fr')")
        page.goto(base + "/staff/")
        page.fill("#email", staff.email)
        page.fill("#password", "password-1-long")
        page.click("#login button[type=submit]")
        page.wait_for_url(base + "/staff/")
        page.wait_for_function("document.querySelector('#live') && /direct/i.test(document.querySelector('#live').textContent)",
                               timeout=5000)
        if how == "demoted":
            r = client.put(f"/api/v1/staff/members/{staff.id}/role", headers=people.admin.headers, json={"role": "member"})
        else:
            token = page.evaluate("localStorage.getItem('station.token')")
            r = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code < 300, r.text
        app.state.runtime.staff_hub.broadcast("node", {"node": "after", "state": "online"})
        page.wait_for_function(f"document.title.includes({lands!r})", timeout=10000)  # not "Reconnexion…" forever
        browser.close()
