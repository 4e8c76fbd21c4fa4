"""What a node last applied of the staff commands to each of its doors, kept on disk.

``<data_dir>/commands/<door>.json`` holds the sequence number of the last command
applied and the door's lock mode (``normal``, ``lockdown``, ``release``), written
durably before the command takes effect. A node that restarts therefore

- refuses every command that is not newer than the last one it applied (a replay of a
  captured command, even a signed and unexpired one, does nothing), and
- comes back in the mode staff left it in: a door in lockdown stays in lockdown when
  someone pulls its power, and a door released for an event stays released until staff
  send ``normal``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from station.contract import DoorAction
from station.durable import private_file, write_durably

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    seq: int = 0
    mode: DoorAction = DoorAction.normal
    command: str | None = None


class CommandLedger:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._unsaved: dict[str, Applied] = {}  # applied but not on disk (a card gone read-only)

    def _path(self, door: str) -> Path:
        return self.directory / f"{door}.json"

    def get(self, door: str) -> Applied:
        on_disk = self._read(door)
        unsaved = self._unsaved.get(door)
        return unsaved if unsaved is not None and unsaved.seq > on_disk.seq else on_disk

    def _read(self, door: str) -> Applied:
        path = self._path(door)
        if not path.exists():
            return Applied()
        try:
            private_file(path)  # a file more open than 0600 (restored by hand) is tightened
            data = json.loads(path.read_text())
            return Applied(int(data["seq"]), DoorAction(data["mode"]), data.get("command"))
        except (OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
            # A damaged file must not reopen the door to replays: refuse everything up to
            # now (sequences are wall-clock based) and keep the door in its normal mode.
            log.error("%s: unreadable (%s); refusing commands older than now", path, exc)
            return Applied(time.time_ns() // 1_000_000, DoorAction.normal, None)

    def record(self, door: str, seq: int, mode: DoorAction, command: str) -> None:
        """On disk, durably; raises OSError when it cannot be (nothing remembered then)."""
        with self._lock:
            write_durably(self._path(door), json.dumps({"seq": seq, "mode": mode.value, "command": command}).encode())
            self._unsaved.pop(door, None)

    def remember(self, door: str, seq: int, mode: DoorAction, command: str) -> None:
        """Applied although :meth:`record` failed: kept in memory, so that a replay is still
        refused until the node restarts (then the disk's older entry is all there is)."""
        with self._lock:
            self._unsaved[door] = Applied(seq, mode, command)
