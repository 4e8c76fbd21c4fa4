"""`station demo`: the whole system from one command, as a newcomer runs it."""

import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.utils.demo import Demo

pytestmark = pytest.mark.mosquitto


def test_demo_serves_the_board_with_some_spaces_occupied_and_some_free():
    demo = Demo("--for", "120")
    try:
        demo.wait_for(r"Board: http://127\.0\.0\.1:\d+/", timeout=90)  # 48 nodes, trainings on machines: slower under load
        started = time.monotonic()
        statuses: dict[str, str] = {}
        while time.monotonic() - started < 30:
            rooms = httpx.get(f"{demo.url}/api/v1/rooms", timeout=2).json()
            statuses = {r["id"]: r["status"] for r in rooms}
            if "occupied" in statuses.values() and "free" in statuses.values():
                break
            time.sleep(0.5)
        assert "occupied" in statuses.values() and "free" in statuses.values(), statuses
        la_station = [r for r in rooms if r["site"] == "la-station"]
        assert len(la_station) == 12
        page = httpx.get(f"{demo.url}/", timeout=2).text
        assert all(f'data-room="{r["id"]}"' in page for r in la_station)
        _member_powers_a_machine_from_the_board(demo)
    finally:
        demo.close()
    out = "".join(demo.lines)
    assert demo.proc.returncode == 0, out
    assert f"{demo.url}/" in out and "Staff login for this run" in out and "Member login for this run" in out
    assert "La Station demo stopped." in out


def _member_powers_a_machine_from_the_board(demo):
    """The demo's member taps their badge at a free machine and sees it power on, then off."""
    import re

    email, password = re.search(r"Member login for this run: (\S+) / (\S+)", "".join(demo.lines)).groups()
    token = httpx.post(f"{demo.url}/api/v1/auth/login", json={"email": email, "password": password},
                       timeout=5).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    card = httpx.get(f"{demo.url}/api/v1/demo/cards", headers=headers, timeout=2).json()["cards"][0]
    answers = []
    deadline = time.monotonic() + 30
    while len(answers) < 2 and time.monotonic() < deadline:
        free = [m for m in httpx.get(f"{demo.url}/api/v1/machines", timeout=2).json()
                if m["site"] == "la-station" and m["status"] == "free" and m["free_to_use"]]
        if not free:
            time.sleep(0.5)
            continue
        machine = free[0]["id"]
        for _ in range(2):  # on, then off
            tap = httpx.post(f"{demo.url}/api/v1/demo/badge", headers=headers, timeout=2,
                             json={"machine": machine, "card_number": card}).json()
            for _ in range(40):
                answer = httpx.get(f"{demo.url}/api/v1/demo/badge/{tap['tap']}", timeout=2).json()
                if answer["answered"]:
                    answers.append(answer)
                    break
                time.sleep(0.25)
    assert len(answers) == 2, answers
    assert answers[0]["granted"] and answers[0]["machine"] == machine, answers
    assert not answers[1]["granted"] and answers[1]["reason"].startswith("switched off (badge)"), answers


@pytest.mark.parametrize("option", ["--port", "--mqtt-port"])
def test_a_second_demo_on_a_taken_port_says_which_and_how_to_choose_another(option, tmp_path):
    """A newcomer runs ``make demo`` twice: the second says the port is taken and which
    option to change, exits 2, prints no traceback and leaves nothing behind."""
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = set(Path(tempfile.gettempdir()).glob("station-demo-*"))
        done = subprocess.run([sys.executable, "-m", "lastation.cli", "demo", option, str(port)], capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"127.0.0.1:{port} is already in use" in done.stderr and f"{option} {port + 1}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert set(Path(tempfile.gettempdir()).glob("station-demo-*")) == before


@pytest.mark.parametrize("args", [["--speed", "0"], ["--speed", "nan"], ["--for", "-5"], ["--port", "70000"],
                                  ["--mqtt-port", "0"]])
def test_a_demo_option_out_of_range_is_refused_before_anything_starts(args):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "lastation.cli", "demo", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and f"'{args[0]}'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
