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

Privacy (issue 19): a delivered row is deleted at its PUBACK and, with SQLite's
``secure_delete`` (:func:`station.sqlite.open_wal`), overwritten in the database; its
older copies in the write-ahead log go at the hourly sweep (a truncating checkpoint) —
a stolen node holds what is undelivered and at most an hour of delivered rows. An event still undelivered after
``max_event_age_days`` (92: the CNIL's three months for movement records) is dropped
by :meth:`Outbox.expire_events` (the publisher runs it hourly) and counted. An event's
age is its time on the node's running clock: a wall clock that leaps ahead between two
sweeps (a spoofed NTP server, a Pi without a battery clock setting itself) is noted in
``clock_jumps``, and the events written before the leap do not age by it, so a leap of
three months cannot erase the ``door_forced`` still waiting for the network.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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
create table if not exists clock_jumps (  -- the wall clock leapt ahead by seconds after row seq
    seq integer not null,
    seconds real not null
);
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

    EXPIRE_EVERY_S = 3600.0
    #: Between two sweeps, the wall clock running this much further than the monotonic
    #: one is a leap, not drift (NTP slews drift by milliseconds).
    CLOCK_LEAP_S = 600.0

    def __init__(self, path: Path, *, event_cap: int = 200_000, telemetry_cap: int = 20_000,
                 max_event_age_days: int = 92, monotonic: Callable[[], float] = time.monotonic):
        self.path = Path(path)
        self.max_event_age = timedelta(days=max_event_age_days)
        self.expired_events = 0
        self._monotonic = monotonic
        self._expired_at: float | None = None
        self._swept: tuple[float, datetime] | None = None  # (monotonic, wall clock) at the last sweep
        self.event_cap, self.telemetry_cap = event_cap, telemetry_cap
        self.dropped_events = 0
        self.downsampled = 0
        self._lock = threading.Lock()
        #: where a damaged outbox file was moved at opening (None when it opened as it is)
        self.set_aside: Path | None = None
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            # Only a file that is not (or no longer) a database; a locked, read-only or
            # unopenable one (OperationalError) is a problem of the moment: it is raised.
            if getattr(exc, "sqlite_errorname", None) not in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
                raise
            self._set_aside(exc)
            self._open()

    def _open(self) -> None:
        self._db = open_wal(self.path, synchronous="FULL")
        try:
            self._db.executescript(SCHEMA)
            self._counts = dict(self._db.execute("select kind, count(*) from outbox group by kind").fetchall())
        except sqlite3.DatabaseError:
            self._db.close()
            raise

    def _set_aside(self, exc: Exception) -> None:
        """A file that is no longer a database (a card that lost sectors) must not keep
        the door from booting: move it and its ``-wal``/``-shm`` aside, private, for the
        operator, and start an empty outbox. Its undelivered events are lost."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.set_aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                os.replace(source, self.set_aside.with_name(self.set_aside.name + suffix))
        log.error("outbox: %s is damaged (%s); set aside as %s, a fresh outbox started "
                  "(its undelivered events are lost)", self.path, exc, self.set_aside)

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

    # -- retention ----------------------------------------------------------------------
    def expire_events(self, before: datetime) -> int:
        """Drop the undelivered events whose ``ts`` is before ``before``, less the clock
        leaps since each was written; how many went."""
        cut = before.astimezone(timezone.utc)
        with self._lock:
            leaps = self._db.execute("select seq, seconds from clock_jumps").fetchall()
            victims = []
            for seq, payload in self._db.execute("select seq, payload from outbox where kind = 'event'"):
                try:
                    ts = datetime.fromisoformat(json.loads(payload)["ts"].replace("Z", "+00:00"))
                except (ValueError, KeyError, TypeError):
                    continue
                leapt = sum(seconds for after, seconds in leaps if after >= seq)
                if ts + timedelta(seconds=leapt) < cut:
                    victims.append(seq)
            self._db.executemany("delete from outbox where seq = ?", [(s,) for s in victims])
            self._counts["event"] = self._counts.get("event", 0) - len(victims)
            self.expired_events += len(victims)
            # a leap before every row still here says nothing any more
            self._db.execute("delete from clock_jumps where seq < coalesce((select min(seq) from outbox), "
                             "(select value from meta where key = 'last_seq'))")
        if victims:
            log.warning("outbox: %d undelivered events older than %s dropped (retention)", len(victims), cut)
        return len(victims)

    def expire_due(self, now: datetime | None = None, *, speed: float = 1.0) -> int:
        """:meth:`expire_events` past ``max_event_age``, at most once an hour (the publisher's
        call). ``speed``: how fast ``now``'s clock runs (the simulator's accelerated clock)."""
        mono = self._monotonic()
        if self._expired_at is not None and mono - self._expired_at < self.EXPIRE_EVERY_S:
            return 0
        self._expired_at = mono
        now = now or datetime.now(timezone.utc)
        self._note_leap(mono, now, speed)
        n = self.expire_events(now - self.max_event_age)
        with self._lock:  # delivered rows' old copies in the WAL go too
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def _note_leap(self, mono: float, now: datetime, speed: float) -> None:
        """Since the last sweep, did the wall clock run much further than the monotonic one?"""
        swept, self._swept = self._swept, (mono, now)
        if swept is None:
            return
        leap = (now - swept[1]).total_seconds() - (mono - swept[0]) * speed
        if leap <= self.CLOCK_LEAP_S * speed:
            return
        with self._lock:
            self._db.execute("insert into clock_jumps (seq, seconds) select value, ? from meta "
                             "where key = 'last_seq'", (leap,))
        log.warning("outbox: the wall clock leapt %.0f s ahead since the last sweep; the events waiting "
                    "do not age by it", leap)

    def oldest_event(self) -> tuple[int, datetime | None]:
        """(undelivered events, the oldest one's ``ts``) for ``station privacy report``."""
        with self._lock:
            rows = self._db.execute("select payload from outbox where kind = 'event' order by seq limit 1").fetchall()
            n = self._counts.get("event", 0)
        if not rows:
            return n, None
        try:
            return n, datetime.fromisoformat(json.loads(rows[0][0])["ts"].replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError):
            return n, None

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
