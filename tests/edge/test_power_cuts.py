"""SIGKILL while a door node writes its grant cache or its command ledger, again and
again: each time the files read back as the last version written (or the one being
written), never as half a file, and the door decides from it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge.commands import CommandLedger
from edge.grants import GrantCache
from station.contract import DoorAction
from tests.edge.helpers import KeySet
from tests.edge.rig import DOOR

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 8


def cut_while_writing(what: str, keys_dir: Path, data_dir: Path, start: int, after: int) -> int:
    """Run the writer, SIGKILL it after ``after`` writes are done; the last one done."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.edge.writer_process", what, str(keys_dir), str(data_dir),
                             str(start)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = start - 1
    try:
        for line in proc.stdout:
            done = int(line.split()[1])
            if done >= start + after:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert done >= start, proc.stderr.read()
    return done


@pytest.mark.parametrize("what", ["grants", "ledger"])
def test_a_kill_at_any_moment_of_a_write_leaves_the_last_good_file(tmp_path, what):
    keys = KeySet(tmp_path / "keys")
    data = tmp_path / "node"
    start = 1
    for round_ in range(ROUNDS):
        done = cut_while_writing(what, tmp_path / "keys", data, start, after=1 + round_ % 3)
        if what == "grants":
            cache = GrantCache(data / "grants", "la-station", [DOOR], keys.site)
            assert cache.load_problems == []
            assert done <= cache.versions()[DOOR] <= done + 1
            assert cache.decide(DOOR, keys.credential(1000), cache.get(DOOR).ts).granted
            start = cache.versions()[DOOR] + 1
        else:
            applied = CommandLedger(data / "commands").get(DOOR)
            assert done <= applied.seq <= done + 1 and applied.command == f"cmd-{applied.seq}"
            assert applied.mode in (DoorAction.lockdown, DoorAction.normal)
            start = applied.seq + 1
