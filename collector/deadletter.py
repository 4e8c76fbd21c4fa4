"""The dead-letter store: every message the collector rejected, kept for staff to inspect.

A SQLite table (topic, reason, detail, the raw payload, when it arrived). The payload is
stored as received — bytes, possibly not UTF-8 — capped at ``MAX_PAYLOAD`` bytes.
``station collector dead-letters`` lists them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from station.sqlite import open_wal


@dataclass(frozen=True)
class DeadLetter:
    id: int
    received_at: datetime
    topic: str
    channel: str
    reason: str
    detail: str
    payload: bytes


class DeadLetters:
    MAX_PAYLOAD = 64 * 1024

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_wal(self.path, synchronous="FULL")
        self._db.execute("""CREATE TABLE IF NOT EXISTS dead_letter (
            id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, topic TEXT NOT NULL,
            channel TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, payload BLOB NOT NULL)""")

    def add(self, topic: str, channel: str, reason: str, detail: str, payload: bytes,
            received_at: datetime | None = None) -> None:
        at = (received_at or datetime.now(timezone.utc)).isoformat()
        with self._lock:
            self._db.execute("INSERT INTO dead_letter (received_at, topic, channel, reason, detail, payload) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (at, topic, channel, reason, detail[:1000], bytes(payload[:self.MAX_PAYLOAD])))

    def latest(self, limit: int = 50, reason: str | None = None) -> list[DeadLetter]:
        sql = "SELECT * FROM dead_letter"
        args: tuple = ()
        if reason:
            sql, args = sql + " WHERE reason = ?", (reason,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [DeadLetter(r[0], datetime.fromisoformat(r[1]), *r[2:6], bytes(r[6])) for r in rows]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM dead_letter").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
