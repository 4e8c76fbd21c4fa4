"""The durable outbox: every event is on disk before it is published, and leaves only on PUBACK.

SQLite in WAL mode with ``synchronous=FULL`` (a committed row survives a power cut).
Each row is one MQTT message (topic, payload, kind) keyed by the node's sequence
number, which is persisted with it, so numbering continues across restarts.

Bounds, explicit:

- telemetry rows beyond ``telemetry_cap`` are *downsampled*: every other one of the
  oldest half is deleted (recent readings stay dense, old ones get sparse);
- event rows are kept up to ``event_cap``; beyond it new events are refused and counted
  in ``dropped_events`` — the node raises ``outbox_alarm`` (an event stored past the cap,
  once per crossing) and logs an error; nothing is dropped silently. Sequence numbers
  are still consumed, so receivers see the gap.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from station.sqlite import open_wal

log = logging.getLogger(__name__)

SCHEMA = """
create table if not exists outbox (
    seq integer primary key,
    kind text not null,          -- 'event' or 'telemetry'
    topic text not null,
    payload blob not null,
    qos integer not null default 1
);
create table if not exists meta (key text primary key, value integer not null);
insert or ignore into meta (key, value) values ('last_seq', 0);
"""


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    kind: str
    topic: str
    payload: bytes
    qos: int


class OutboxFull(RuntimeError):
    """The event cap is reached: the event was not stored (and is counted)."""


class Outbox:
    """A thread-safe, crash-safe FIFO of MQTT messages on SQLite."""

    def __init__(self, path: Path, *, event_cap: int = 200_000, telemetry_cap: int = 20_000):
        self.path = Path(path)
        self.event_cap, self.telemetry_cap = event_cap, telemetry_cap
        self.dropped_events = 0
        self.downsampled = 0
        self.alarm = False
        self._lock = threading.Lock()
        self._db = open_wal(self.path, synchronous="FULL")
        self._db.executescript(SCHEMA)
        self._counts = dict(self._db.execute("select kind, count(*) from outbox group by kind").fetchall())

    # -- writing ------------------------------------------------------------------------
    def append(self, kind: str, topic: str, build: Callable[[int], bytes], qos: int = 1, *,
               force: bool = False) -> int:
        """Reserve the next sequence number, build the payload with it, store both at once.

        One transaction, one fsync: after it returns the message survives a power cut.
        Past the event cap an event is refused (its sequence number is still used, so
        receivers see the gap) and OutboxFull is raised; ``force`` bypasses the cap
        (the alarm itself).
        """
        with self._lock:
            refuse = kind == "event" and not force and self._counts.get("event", 0) >= self.event_cap
            self._db.execute("begin immediate")
            try:
                seq = self._db.execute("update meta set value = value + 1 where key = 'last_seq' "
                                       "returning value").fetchone()[0]
                if not refuse:
                    self._db.execute("insert into outbox (seq, kind, topic, payload, qos) values (?, ?, ?, ?, ?)",
                                     (seq, kind, topic, build(seq), qos))
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
            if refuse:
                self.dropped_events += 1
                raise OutboxFull(f"outbox holds {self.event_cap} events: event {seq} not stored")
            self._counts[kind] = self._counts.get(kind, 0) + 1
            if kind == "telemetry" and self._counts[kind] > self.telemetry_cap:
                self._downsample()
            return seq

    def _downsample(self) -> None:
        rows = [r[0] for r in self._db.execute(
            "select seq from outbox where kind = 'telemetry' order by seq limit ?", (self.telemetry_cap // 2,))]
        victims = rows[1::2]
        self._db.executemany("delete from outbox where seq = ?", [(s,) for s in victims])
        self._counts["telemetry"] -= len(victims)
        self.downsampled += len(victims)
        log.warning("outbox: %d telemetry messages queued; thinned %d old ones", self._counts["telemetry"],
                    len(victims))

    # -- draining -----------------------------------------------------------------------
    def after(self, seq: int, limit: int = 100) -> list[OutboxRow]:
        """Up to ``limit`` rows with a sequence number above ``seq``, oldest first."""
        with self._lock:
            rows = self._db.execute("select seq, kind, topic, payload, qos from outbox where seq > ? "
                                    "order by seq limit ?", (seq, limit)).fetchall()
        return [OutboxRow(*r) for r in rows]

    def remove(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._lock:
            for seq in seqs:
                kind = self._db.execute("delete from outbox where seq = ? returning kind", (seq,)).fetchone()
                if kind:
                    self._counts[kind[0]] -= 1

    # -- state --------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        return sum(self._counts.values())

    def count(self, kind: str) -> int:
        return self._counts.get(kind, 0)

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._db.execute("select value from meta where key = 'last_seq'").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
