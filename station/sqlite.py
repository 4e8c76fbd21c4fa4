"""SQLite files the components keep on disk (outbox, history, dead letters), opened one way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from station.durable import FILE_MODE, private_dir, private_file


def open_wal(path: Path | str, *, synchronous: str = "FULL", mode: int = FILE_MODE,
             busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """Open (creating its folder, 0700) a SQLite file in WAL mode, in autocommit.

    The file is created with ``mode`` (0600; 0640 when a group must read it) *before*
    SQLite opens it, and SQLite gives its ``-wal`` and ``-shm`` files the same mode.
    The connection may be used from several threads; callers serialise with a lock of
    their own. ``synchronous`` is ``FULL`` (survives a power cut) or ``NORMAL`` (survives
    a process crash, faster). A write waits ``busy_timeout_s`` for another process's
    lock before it fails with "database is locked".
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    path = Path(path)
    private_dir(path.parent)
    private_file(path, mode)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():  # left by an older version, perhaps more open
            private_file(companion, mode)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=busy_timeout_s)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    # Deleted rows are overwritten with zeros, not left in free pages: a delivered event,
    # a dead letter or a point past its retention is gone from the file too (issue 19).
    db.execute("PRAGMA secure_delete=ON")
    return db
