"""The node process is killed mid-stream and restarted: nothing written before the kill is lost."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from station.mqtt import MqttSettings
from tests.conftest import wait_until
from tests.edge.helpers import EventListener

pytestmark = pytest.mark.mosquitto
ROOT = Path(__file__).resolve().parents[2]


def node_process(port: int, data_dir: Path, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.edge.node_process", str(port), str(data_dir), str(count)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def read_written(proc: subprocess.Popen, written: list[int], until: int) -> None:
    for line in proc.stdout:
        if line.startswith("written "):
            written.append(int(line.split()[1]))
        if len(written) >= until:
            return


def test_events_written_before_a_kill_are_delivered_after_the_restart(broker, tmp_path):
    settings = MqttSettings(host=broker.host, port=broker.port)
    data_dir = tmp_path / "node"
    with EventListener(settings, "listener-kill") as listener:
        proc = node_process(broker.port, data_dir, 2000)
        written: list[int] = []
        try:
            read_written(proc, written, 200)
            os.kill(broker.proc.pid, signal.SIGSTOP)  # the broker freezes: no more PUBACKs
            try:
                read_written(proc, written, 400)
                proc.kill()  # SIGKILL mid-stream: no clean-up, no last publish
                proc.wait()
            finally:
                os.kill(broker.proc.pid, signal.SIGCONT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        written += [int(line.split()[1]) for line in proc.stdout.read().splitlines() if line.startswith("written ")]
        db = sqlite3.connect(data_dir / "outbox.sqlite3")
        pending = db.execute("select count(*) from outbox where kind = 'event'").fetchone()[0]
        db.close()
        assert pending >= 200, "events written but not acknowledged must be on disk after the kill"
        restarted = node_process(broker.port, data_dir, 0)
        try:
            wait_until(lambda: set(written) <= {e.seq for e in listener.unique()}, timeout=30)
        finally:
            restarted.kill()
            restarted.wait()
    events = listener.unique()
    seqs = [e.seq for e in events]
    assert set(written) <= set(seqs)
    assert len(set(seqs)) == len(seqs)  # one id per sequence number: replays are the same events
    assert max(seqs) <= max(written) + 5  # nothing invented (a few may have been written after the last print)
