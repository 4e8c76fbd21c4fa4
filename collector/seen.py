"""Event ids already stored, remembered across restarts.

Delivery is at-least-once: the broker redelivers what was not acknowledged, a node's
outbox replays after an outage, and a (hostile) *retained* event comes back on every
connect. Stores overwrite, so the history never double-counts; this set keeps the
occupancy engine from hearing the same event twice, also after a restart.

The network thread asks and notes in memory; the store thread persists the ids of
each stored batch (one row, one small transaction, before the batch is acknowledged).
Bounded: the newest ``max_ids`` ids are kept, in memory and on disk (whole batches).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from pathlib import Path
from typing import Iterable

from station.sqlite import open_wal


class SeenEvents:
    def __init__(self, path: Path | str, max_ids: int = 100_000):
        self.max_ids = max_ids
        self._lock = threading.Lock()
        # NORMAL: losing the last ids in a power cut only lets the engine hear them again.
        self._db = open_wal(path, synchronous="NORMAL")
        # One row per stored batch (ids joined by newlines: they are [A-Za-z0-9_-]): a
        # batch costs one insert, not one per event.
        self._db.execute("CREATE TABLE IF NOT EXISTS seen_batch (n INTEGER PRIMARY KEY, count INTEGER NOT NULL, "
                         "ids TEXT NOT NULL)")
        self._rows: deque[tuple[int, int]] = deque()  # (n, count), oldest first
        self._ids: OrderedDict[str, None] = OrderedDict()
        for n, count, ids in self._db.execute("SELECT n, count, ids FROM seen_batch ORDER BY n"):
            self._rows.append((n, count))
            self._ids.update(dict.fromkeys(ids.split("\n")))
        while len(self._ids) > max_ids:
            self._ids.popitem(last=False)
        self._stored = sum(count for _, count in self._rows)

    # -- the network thread -------------------------------------------------------------
    def check_and_note(self, event_id: str) -> bool:
        """True when the event was seen before; otherwise remember it (in memory) and say False."""
        if event_id in self._ids:
            return True
        self._ids[event_id] = None
        if len(self._ids) > self.max_ids:
            self._ids.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._ids)

    # -- the store thread ---------------------------------------------------------------
    def persist(self, ids: Iterable[str]) -> None:
        """Write the ids of a stored batch (one row); drop the oldest rows beyond ``max_ids``."""
        ids = [i for i in ids if i]
        if not ids:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                n = self._db.execute("INSERT INTO seen_batch (count, ids) VALUES (?, ?)",
                                     (len(ids), "\n".join(ids))).lastrowid
                rows, stored = list(self._rows), self._stored + len(ids)
                rows.append((n, len(ids)))
                oldest = None
                while stored - rows[0][1] >= self.max_ids:
                    oldest, count = rows.pop(0)
                    stored -= count
                if oldest is not None:
                    self._db.execute("DELETE FROM seen_batch WHERE n <= ?", (oldest,))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._rows, self._stored = deque(rows), stored

    def close(self) -> None:
        with self._lock:
            self._db.close()
