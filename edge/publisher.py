"""Drain the outbox to the broker in order, removing each row on its PUBACK.

One thread hands rows to paho (QoS 1) while the node is connected, keeping at most
``window`` unacknowledged. paho calls back on each PUBACK from its network thread; the
callback only queues the message id (never touching SQLite or our locks from paho's
thread), and the drain thread removes the acknowledged rows. While the connection is
down, paho keeps the unacknowledged messages and re-sends them, in order, right after
the reconnect; rows not yet handed over follow. If the process dies, the next process
starts again from the oldest row on disk: at-least-once, receivers deduplicate by id.
"""

from __future__ import annotations

import logging
import queue
import threading

from station.clock import Clock
from station.mqtt import MqttBus

from .outbox import Outbox

log = logging.getLogger(__name__)


class OutboxPublisher:
    def __init__(self, outbox: Outbox, bus: MqttBus, *, window: int = 20, name: str = "outbox", clock=None):
        self.outbox, self.bus, self.window = outbox, bus, window
        self.clock = clock or Clock()  # the node's: events are stamped with it, retention reads it
        self.published = 0
        self.acked = 0
        self.refused_by_broker = 0
        self._inflight: dict[int, int] = {}  # mid -> seq
        self._acks: queue.SimpleQueue = queue.SimpleQueue()
        self._cursor = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-drain", daemon=True)
        bus.client.on_publish = self._on_publish

    def start(self) -> "OutboxPublisher":
        self._thread.start()
        return self

    def notify(self) -> None:
        """Something was appended (or the connection came back): drain now."""
        self._wake.set()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    # -- paho's thread ------------------------------------------------------------------
    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        failed = bool(getattr(reason_code, "is_failure", False))
        self._acks.put((mid, failed))
        self._wake.set()

    # -- drain thread -------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._take_acks()
                if self.bus.connected.is_set() and len(self._inflight) < self.window:
                    self._hand_over()
                self.outbox.expire_due(self.clock.now(), speed=self.clock.speed)  # retention: hourly (edge/outbox.py)
            except Exception:  # never let the drain die: rows stay on disk
                log.exception("outbox drain failed")
            self._wake.wait(0.5)

    def _take_acks(self) -> None:
        done: list[int] = []
        while True:
            try:
                mid, failed = self._acks.get_nowait()
            except queue.Empty:
                break
            # Acks are queued by paho's thread but handled here, in the thread that recorded
            # the mid right after publishing: an ack cannot overtake its own record. A mid we
            # do not know is another publish of the node (its status): ignore it.
            seq = self._inflight.pop(mid, None)
            if seq is not None:
                self._acked(seq, failed, done)
        self.outbox.remove(done)

    def _acked(self, seq: int, failed: bool, done: list[int]) -> None:
        if failed:
            self.refused_by_broker += 1
            log.error("outbox: broker refused message %d (not authorised?); dropped from the outbox", seq)
        self.acked += 1
        done.append(seq)

    def _hand_over(self) -> None:
        rows = self.outbox.after(self._cursor, self.window - len(self._inflight))
        for row in rows:
            info = self.bus.client.publish(row.topic, row.payload, qos=row.qos)
            if info.rc not in (0,):  # not connected any more: paho queued it anyway
                log.debug("outbox: publish of %d returned %s; paho will send it on reconnect", row.seq, info.rc)
            self._inflight[info.mid] = row.seq
            self._cursor = row.seq
            self.published += 1
        if rows:
            self._wake.set()  # more may be waiting
