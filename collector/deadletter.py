"""The dead-letter store: the messages the collector rejected, kept for staff — within bounds.

One node gone wrong (or hostile) must not fill the disk nor slow the others, so:

- **an excerpt, not the message**: the first :attr:`DeadLetters.EXCERPT` bytes (4 KiB)
  of the payload, with its full size and SHA-256 (two letters with the same hash are
  the same payload);
- **a total cap**: at most ``max_rows`` letters and ``max_bytes`` stored bytes; beyond
  it the oldest are dropped, and counted (``evicted``);
- **a rate limit per sender** (a token bucket: ``burst`` letters at once, then ``rate``
  a second; one bucket per node, one for everything else, and one shared by all):
  beyond it a rejected message is only counted (``rate_limited``);
- **off the network thread**: :meth:`DeadLetters.add` only queues (a bounded queue;
  when full, counted as ``queue_full``); a writer thread hashes, inserts a batch in one
  transaction and drops what is over the cap.

A letter is written once its message is already acknowledged: a crash may lose the
letters still queued (a few milliseconds' worth), never a message that was valid.
``station collector dead-letters`` lists them.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from station.sqlite import open_wal

log = logging.getLogger(__name__)
_STOP = object()
KEPT, RATE_LIMITED, QUEUE_FULL = "kept", "rate_limited", "queue_full"


@dataclass(frozen=True)
class DeadLetter:
    id: int
    received_at: datetime
    topic: str
    channel: str
    sender: str
    reason: str
    detail: str
    size: int
    sha256: str
    excerpt: bytes


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` a second; ``take()`` is False when empty."""

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate: float, burst: float, now: float):
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class DeadLetters:
    EXCERPT = 4 * 1024
    DETAIL = 1000
    TOPIC = 300
    ROW_OVERHEAD = 100  # bytes counted per letter beyond its excerpt, detail and topic
    MAX_SENDERS = 10_000  # buckets kept (least recently used dropped): topics can name anything

    def __init__(self, path: Path | str, *, max_rows: int = 10_000, max_bytes: int = 16 * 1024 * 1024,
                 rate_per_s: float = 2.0, burst: int = 50, total_rate_per_s: float = 20.0, total_burst: int = 200,
                 queue_max: int = 1000, on_outcome: Callable[[str, int], None] | None = None):
        self.path = Path(path)
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.rate_per_s, self.burst = rate_per_s, burst
        #: This process's outcomes: kept (queued), rate_limited, queue_full, evicted, write_failed.
        self.counts: Counter[str] = Counter()
        self.on_outcome = on_outcome or (lambda outcome, n: None)
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._buckets_lock = threading.Lock()
        self._all = TokenBucket(total_rate_per_s, total_burst, time.monotonic())
        self._not_kept_saved = 0  # rate_limited + queue_full already added to the tally
        self._lock = threading.Lock()  # the connection
        self._db = open_wal(self.path, synchronous="NORMAL")
        self._db.execute("""CREATE TABLE IF NOT EXISTS letter (
            id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, topic TEXT NOT NULL,
            channel TEXT NOT NULL, sender TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,
            size INTEGER NOT NULL, sha256 TEXT NOT NULL, excerpt BLOB NOT NULL, bytes INTEGER NOT NULL)""")
        # Totals since the store was created: what was dropped survives restarts too.
        self._db.execute("CREATE TABLE IF NOT EXISTS tally (name TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        self.rows, self.bytes = self._db.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM letter").fetchone()
        self._migrate()
        self._queue: queue.Queue = queue.Queue(maxsize=queue_max)
        self._writer = threading.Thread(target=self._write_loop, name="dead-letters", daemon=True)
        self._writer.start()

    # -- the network thread: no I/O -----------------------------------------------------
    def add(self, topic: str, channel: str, reason: str, detail: str, payload: bytes,
            received_at: datetime | None = None, sender: str = "unknown") -> str:
        """Queue a letter unless its sender is over its rate; return what became of it
        (``kept``, ``rate_limited`` or ``queue_full``)."""
        with self._buckets_lock:  # the network thread mostly; the store and replay threads now and then
            now = time.monotonic()
            bucket = self._buckets.get(sender)
            if bucket is None:
                bucket = self._buckets[sender] = TokenBucket(self.rate_per_s, self.burst, now)
                if len(self._buckets) > self.MAX_SENDERS:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(sender)
            allowed = bucket.take(now) and self._all.take(now)
        if not allowed:
            return self._count(RATE_LIMITED)
        letter = (received_at or datetime.now(timezone.utc), topic, channel, sender, reason, detail, payload)
        try:
            self._queue.put_nowait(letter)
        except queue.Full:
            return self._count(QUEUE_FULL)
        return self._count(KEPT)

    def _count(self, outcome: str, n: int = 1) -> str:
        with self._buckets_lock:
            self.counts[outcome] += n
        self.on_outcome(outcome, n)
        return outcome

    # -- the writer thread --------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=1.0)]
            except queue.Empty:
                batch = []
            while batch and len(batch) < 500:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            letters = [item for item in batch if item is not _STOP]
            try:
                self._write(letters)
            except Exception:  # noqa: BLE001 - a full disk: these letters are lost, and counted
                log.exception("cannot write %d dead letters", len(letters))
                self._count("write_failed", len(letters))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(letters) < len(batch):
                return

    def _write(self, letters: list) -> None:
        """Insert letters, drop the oldest over the cap, keep the tally: one transaction."""
        rows = []
        for at, topic, channel, sender, reason, detail, payload in letters:
            payload = bytes(payload)
            excerpt, topic, detail = payload[:self.EXCERPT], topic[:self.TOPIC], detail[:self.DETAIL]
            stored = len(excerpt) + len(detail.encode()) + len(topic.encode()) + self.ROW_OVERHEAD
            rows.append((at.isoformat(), topic, channel, sender[:100], reason, detail, len(payload),
                         hashlib.sha256(payload).hexdigest(), excerpt, stored))
        not_kept = self.counts[RATE_LIMITED] + self.counts[QUEUE_FULL]
        if not rows and not_kept == self._not_kept_saved:
            return
        with self._lock:
            rows_before, bytes_before = self.rows, self.bytes
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT INTO letter (received_at, topic, channel, sender, reason, detail, size, "
                                     "sha256, excerpt, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self.rows += len(rows)
                self.bytes += sum(r[-1] for r in rows)
                evicted = self._evict()
                for name, n in (("written", len(rows)), ("evicted", evicted),
                                ("not_kept", not_kept - self._not_kept_saved)):
                    if n:
                        self._db.execute("INSERT INTO tally VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = n + ?",
                                         (name, n, n))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                self.rows, self.bytes = rows_before, bytes_before
                raise
        self._not_kept_saved = not_kept
        if evicted:
            self._count("evicted", evicted)

    def _evict(self) -> int:
        """Drop the oldest letters until both caps hold; return how many went."""
        rows_over, bytes_over = self.rows - self.max_rows, self.bytes - self.max_bytes
        if rows_over <= 0 and bytes_over <= 0:
            return 0
        dropped = freed = 0
        last = None
        for ident, stored in self._db.execute("SELECT id, bytes FROM letter ORDER BY id"):
            if dropped >= rows_over and freed >= bytes_over:
                break
            dropped, freed, last = dropped + 1, freed + stored, ident
        self._db.execute("DELETE FROM letter WHERE id <= ?", (last,))
        self.rows -= dropped
        self.bytes -= freed
        return dropped

    def _migrate(self) -> None:
        """Letters of the earlier layout (whole payloads, no cap) become excerpts; that table goes."""
        old = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dead_letter'").fetchone()
        if not old:
            return
        kept = self._db.execute("SELECT received_at, topic, channel, reason, detail, payload FROM dead_letter "
                                "ORDER BY id DESC LIMIT ?", (self.max_rows,)).fetchall()
        self._write([(datetime.fromisoformat(r[0]), r[1], r[2], "unknown", r[3], r[4], r[5]) for r in reversed(kept)])
        self._db.execute("DROP TABLE dead_letter")
        self._db.execute("VACUUM")  # the old table may have been large: give the space back
        log.info("dead letters: %d kept from the earlier layout", len(kept))

    # -- readers ------------------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued letter is written (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or not self._writer.is_alive():
                return False
            time.sleep(0.005)
        return True

    def latest(self, limit: int = 50, reason: str | None = None, sender: str | None = None) -> list[DeadLetter]:
        sql, args = "SELECT id, received_at, topic, channel, sender, reason, detail, size, sha256, excerpt " \
                    "FROM letter WHERE 1 = 1", []
        if reason:
            sql, args = sql + " AND reason = ?", args + [reason]
        if sender:
            sql, args = sql + " AND sender = ?", args + [sender]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [DeadLetter(r[0], datetime.fromisoformat(r[1]), *r[2:9], bytes(r[9])) for r in rows]

    def purge_before(self, before: datetime) -> int:
        """Delete the letters received before ``before`` (retention: an excerpt may carry a
        card's hash); how many went. Counted in the tally as ``expired``."""
        with self._lock:
            gone = self._db.execute("DELETE FROM letter WHERE received_at < ? RETURNING bytes",
                                    (before.astimezone(timezone.utc).isoformat(),)).fetchall()
            if gone:
                self._db.execute("INSERT INTO tally (name, n) VALUES ('expired', ?) "
                                 "ON CONFLICT (name) DO UPDATE SET n = n + excluded.n", (len(gone),))
            self.rows -= len(gone)
            self.bytes -= sum(r[0] for r in gone)
        return len(gone)

    def forget(self, text: str) -> int:
        """Delete the letters whose excerpt, topic or detail holds ``text`` (an erased
        member's card hash); how many went."""
        needle = text.encode()
        with self._lock:
            gone = self._db.execute("DELETE FROM letter WHERE instr(excerpt, ?) > 0 OR instr(topic, ?) > 0 "
                                    "OR instr(detail, ?) > 0 RETURNING bytes", (needle, text, text)).fetchall()
            self.rows -= len(gone)
            self.bytes -= sum(r[0] for r in gone)
        return len(gone)

    def oldest(self) -> datetime | None:
        with self._lock:
            row = self._db.execute("SELECT min(received_at) FROM letter").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM letter").fetchone()[0]

    def summary(self) -> dict:
        """What is stored and what was dropped, since the store was created."""
        with self._lock:
            rows, stored = self._db.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM letter").fetchone()
            tally = dict(self._db.execute("SELECT name, n FROM tally").fetchall())
        return {"stored": rows, "stored_bytes": stored, "max_rows": self.max_rows, "max_bytes": self.max_bytes,
                "written": tally.get("written", 0), "evicted": tally.get("evicted", 0),
                "not_kept": tally.get("not_kept", 0)}

    def close(self, timeout: float = 2.0) -> None:
        if self._writer.is_alive():
            self.flush(timeout)
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._writer.join(timeout)
        with self._lock:
            self._db.close()
