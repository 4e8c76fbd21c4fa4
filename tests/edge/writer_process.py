"""Writes a door's grant cache or command ledger over and over, for the power-cut test:
``python -m tests.edge.writer_process grants|ledger KEYS_DIR DATA_DIR START``.

Prints ``done N`` once version (or sequence) ``N`` is on disk, until killed.
"""

import itertools
import sys
from pathlib import Path

from edge.commands import CommandLedger
from edge.grants import GrantCache
from station.contract import DoorAction
from tests.edge.helpers import KeySet
from tests.edge.rig import DOOR


def main() -> None:
    what, keys_dir, data_dir, start = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    keys = KeySet(keys_dir)
    cards = {str(1000 + i): "member" for i in range(2000)}  # a list big enough to take a while to write
    grants = GrantCache(data_dir / "grants", "la-station", [DOOR], keys.site)
    ledger = CommandLedger(data_dir / "commands")
    modes = itertools.cycle([DoorAction.lockdown, DoorAction.normal])
    for n in itertools.count(start):
        if what == "grants":
            grants.update(DOOR, keys.grants(DOOR, n, cards))
        else:
            ledger.record(DOOR, n, next(modes), f"cmd-{n}")
        print(f"done {n}", flush=True)


if __name__ == "__main__":
    main()
