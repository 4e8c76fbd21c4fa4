"""Refused MQTT messages, kept for staff to look at: table ``dead_letters``.

Every intake of the API (node events, node status, room occupancy, grant lists read
back) refuses through :func:`station.contract.receive.receive`, counts the refusal by
reason and hands the message here. Each is kept as a 2 KiB excerpt with its size and
SHA-256, the newest ``dead_letters_kept``, at most ``PER_SENDER_PER_MIN`` per sender
(one node cannot fill the table) and ``PER_MIN`` in all (nor can a flood under made-up
node names); what is not kept is counted as ``dead_letter_rate_limited``. The limits are
checked before a letter is queued, so a flood never piles up in memory either.

:meth:`DeadLetters.keep` writes at once (the access log's worker, before it
acknowledges); :meth:`DeadLetters.later` queues for a worker of its own, for the
intakes that run on paho's network thread, which must never wait on the database.

The excerpt is text, whatever the payload: invalid UTF-8 becomes U+FFFD, and so does
NUL, which PostgreSQL refuses in a text column (a refused refusal would stall the
intake behind it).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import Counter, defaultdict, deque

from sqlalchemy import delete, func, select

from station.contract import topics

from .db import Database
from .db.models import DeadLetter

log = logging.getLogger(__name__)
_STOP = object()


class DeadLetters:
    PER_SENDER_PER_MIN = 60
    PER_MIN = 600

    def __init__(self, db: Database, clock, kept: int, rejected: Counter):
        self.db, self.clock, self.kept = db, clock, kept
        self.rejected = rejected  # where ``dead_letter_rate_limited`` is counted
        self._times: dict[str, deque] = defaultdict(deque)
        self._all_times: deque = deque()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="api-dead-letters", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(5)
            self._thread = None

    def later(self, topic: str, payload: bytes, reason: str, detail: str) -> None:
        """Keep a refused message soon (any thread; never touches the database here)."""
        if not self._admit(topic):
            return
        if self._thread is None:  # no worker (tests without MQTT): at once
            self._keep_logged(topic, bytes(payload), reason, detail)
            return
        self._queue.put((topic, bytes(payload), reason, detail))

    def keep(self, topic: str, payload: bytes, reason: str, detail: str) -> None:
        """Keep a refused message now (raises what the database raises)."""
        if self._admit(topic):
            self._store(topic, payload, reason, detail)

    def _admit(self, topic: str) -> bool:
        """Within the limits (and then counted against them); else counted as not kept."""
        with self._lock:
            now = time.monotonic()
            times = self._times[sender_of(topic)]
            for window in (times, self._all_times):
                while window and now - window[0] > 60:
                    window.popleft()
            if len(times) >= self.PER_SENDER_PER_MIN or len(self._all_times) >= self.PER_MIN:
                self.rejected["dead_letter_rate_limited"] += 1
                return False
            times.append(now)
            self._all_times.append(now)
            if len(self._times) > 10_000:  # made-up senders: forget the quiet ones
                for quiet in [k for k, v in self._times.items() if not v or now - v[-1] > 60]:
                    del self._times[quiet]
            return True

    def _store(self, topic: str, payload: bytes, reason: str, detail: str) -> None:
        with self.db.session() as s:
            s.add(DeadLetter(received_at=self.clock.now(), topic=_text(topic)[:255], reason=reason[:40],
                             detail=_text(detail)[:300], excerpt=_text(payload[:2048]), size=len(payload),
                             sha256=hashlib.sha256(payload).hexdigest()))
            s.flush()
            count = s.execute(select(func.count(DeadLetter.id))).scalar()
            if count > self.kept:
                oldest = select(DeadLetter.id).order_by(DeadLetter.id).limit(count - self.kept)
                s.execute(delete(DeadLetter).where(DeadLetter.id.in_(oldest.scalar_subquery())))

    def _keep_logged(self, topic: str, payload: bytes, reason: str, detail: str) -> None:
        try:
            self._store(topic, payload, reason, detail)
        except Exception:  # noqa: BLE001 - counted already; losing the copy must not stop the next
            log.exception("cannot keep the dead letter of %s", topic[:200])

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._keep_logged(*item)


def _text(value: str | bytes) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray, memoryview)) else value
    return text.replace("\x00", "\ufffd")


def sender_of(topic: str) -> str:
    """The node (or room, door, machine) a contract topic names, ``?`` for any other topic."""
    try:
        return topics.parse(topic).ident
    except topics.TopicError:
        return "?"
