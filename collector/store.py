"""The collector's store thread: batches of points written, *then* their messages acknowledged.

The network thread queues one :class:`Item` per message (its points and the paho
message to acknowledge). This thread gathers items into a batch (up to ``batch_size``
points or ``flush_interval_s``), writes it with one ``history.write`` and only then
acknowledges the batch's messages. Two kinds of failure, told apart by the store:

- **a point the store refuses** (:class:`station.history.PointRejected`: a time it
  cannot hold, a field type clash in InfluxDB): when the store names the refused
  points, their messages are set aside and the rest written again; when it cannot,
  the batch is split in halves, and the halves again, until the refused messages stand
  alone. Everything else is stored, the refused messages go to the dead letters with
  the store's reason, and the whole batch is acknowledged. One bad point never blocks
  the good ones behind it.
- **a store that is down** (disk full, locked or read-only file, InfluxDB away with
  its spool unwritable): the batch is retried with backoff (0.1 s doubling to 10 s)
  and nothing is acknowledged meanwhile; the broker keeps the rest.

On :meth:`StoreLoop.stop` the queued batches get until the deadline: what is stored
by then is acknowledged, the rest stays unacknowledged for the broker to redeliver.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from station.history import History, PointRejected

log = logging.getLogger(__name__)
_STOP = object()


@dataclass(slots=True)
class Item:
    """One message's way to the store."""

    points: list
    msg: object | None = None  # the paho message to acknowledge; None for the collector's own points
    topic: str = ""
    payload: bytes = b""
    event_id: str | None = None  # remembered as seen once stored
    channel: str = ""
    sender: str = ""


@dataclass
class Outcome:
    """What became of a batch's items."""

    batch: list
    stored: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (item, the store's reason)
    pending: list = field(default_factory=list)  # not stored when the stop deadline came: not to acknowledge

    @property
    def finished(self) -> list:
        """Stored or refused — to acknowledge — in the order they arrived."""
        if not self.pending:
            return self.batch
        left = {id(item) for item in self.pending}
        return [item for item in self.batch if id(item) not in left]


class _GiveUp(Exception):
    """The stop deadline passed while the store was down."""


class StoreLoop:
    RETRY_MAX_S = 10.0

    def __init__(self, history: History, *, on_done: Callable[[Outcome], None], on_write: Callable[[int, float], None],
                 on_outage: Callable[[BaseException], None], batch_size: int = 2000, flush_interval_s: float = 0.05):
        self.history = history
        self.on_done, self.on_write, self.on_outage = on_done, on_write, on_outage
        self.batch_size, self.flush_interval_s = batch_size, flush_interval_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._deadline: float | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, item: Item) -> None:
        self._queue.put(item)

    def start(self) -> "StoreLoop":
        self._thread = threading.Thread(target=self._loop, name="collector-store", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 3.0) -> bool:
        """Store what is queued until ``timeout_s`` from now; True when the thread finished."""
        self._deadline = time.monotonic() + timeout_s
        self._queue.put(_STOP)
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(timeout_s + 0.5)
        return not self._thread.is_alive()

    def run_pending(self) -> None:
        """Store everything queued now, in the calling thread (tests; the thread is not started)."""
        items = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                items.append(item)
        if items:
            self.store(items)

    # -- the thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            batch, stopping = self._gather()
            if batch:
                self.store(batch)
            if stopping:
                return

    def _gather(self) -> tuple[list[Item], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch, points = [first], len(first.points)
        deadline = time.monotonic() + self.flush_interval_s
        while points < self.batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                time.sleep(min(wait, 0.005))  # let messages gather: one wake-up, not one per message
                continue
            if item is _STOP:
                return batch, True
            batch.append(item)
            points += len(item.points)
        return batch, False

    def store(self, batch: list[Item]) -> Outcome:
        """Write a batch (splitting it around refused points), then report what became of each item."""
        outcome = Outcome(batch)
        try:
            self._store(batch, outcome)
        except _GiveUp:
            done = {id(i) for i in outcome.stored} | {id(i) for i, _ in outcome.refused}
            outcome.pending = [i for i in batch if id(i) not in done]
            log.warning("stopping with the store down: %d messages left unacknowledged for redelivery",
                        sum(1 for i in outcome.pending if i.msg is not None))
        self.on_done(outcome)
        return outcome

    def _store(self, items: list[Item], outcome: Outcome) -> None:
        points, owner = [], []
        for item in items:
            points.extend(item.points)
            owner.extend([item] * len(item.points))
        try:
            self._write(points)
        except PointRejected as exc:
            if exc.indexes:  # the store named the refused points and wrote nothing: set their messages aside
                refused = {id(owner[k]): owner[k] for k in exc.indexes if 0 <= k < len(owner)}
                if refused:
                    outcome.refused.extend((item, str(exc)) for item in refused.values())
                    rest = [item for item in items if id(item) not in refused]
                    if rest:
                        self._store(rest, outcome)
                    return
            if len(items) == 1:
                outcome.refused.append((items[0], str(exc)))
                return
            half = len(items) // 2  # the store cannot say which: split until the refused stand alone
            self._store(items[:half], outcome)
            self._store(items[half:], outcome)
            return
        outcome.stored.extend(items)

    def _write(self, points: list) -> None:
        """One write, retried while the store is down; PointRejected goes up at once."""
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                self.history.write(points)
            except PointRejected:
                raise
            except Exception as exc:  # noqa: BLE001 - a full disk, a locked file: wait and retry
                self.on_outage(exc)
                if self._deadline is not None and time.monotonic() + delay > self._deadline:
                    raise _GiveUp() from exc
                log.warning("cannot store %d points (%s: %s); retrying in %.1f s", len(points),
                            type(exc).__name__, str(exc)[:200], delay)
                self._wake.wait(delay)
                self._wake.clear()
                delay = min(self.RETRY_MAX_S, delay * 2)
                continue
            self.on_write(len(points), time.perf_counter() - started)
            return
