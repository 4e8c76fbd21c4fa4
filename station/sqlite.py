"""SQLite files the components keep on disk (outbox, history, dead letters), opened one way."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_wal(path: Path | str, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating its folder) a SQLite file in WAL mode, in autocommit.

    The connection may be used from several threads; callers serialise with a lock of
    their own. ``synchronous`` is ``FULL`` (survives a power cut) or ``NORMAL`` (survives
    a process crash, faster).
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db
