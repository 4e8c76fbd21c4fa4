"""`station demo`: the whole system from one command, as a newcomer runs it."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from station.broker.dev import free_port

pytestmark = pytest.mark.mosquitto
ROOT = Path(__file__).resolve().parents[1]


def test_demo_serves_the_board_with_some_spaces_occupied_and_some_free():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "demo", "--port", str(port), "--for", "90"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    statuses: dict[str, str] = {}
    try:
        while time.monotonic() - started < 30:
            try:
                rooms = httpx.get(f"http://127.0.0.1:{port}/api/v1/rooms", timeout=2).json()
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            statuses = {r["id"]: r["status"] for r in rooms}
            la_station = [r for r in rooms if r["site"] == "la-station"]
            if "occupied" in statuses.values() and "free" in statuses.values():
                break
            time.sleep(0.5)
        assert "occupied" in statuses.values() and "free" in statuses.values(), statuses
        assert len(la_station) == 12
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text
        assert all(f'data-room="{r["id"]}"' in page for r in la_station)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/" in out
    assert "La Station demo stopped." in out
