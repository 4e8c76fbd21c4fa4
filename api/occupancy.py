"""The live occupancy of every space, fed from MQTT ``rooms/<room>/occupancy``.

Keeps the newest snapshot per room (by ``ts``) so that a replayed or late message never
overwrites a fresher one (one stamped ahead of this clock is not "fresher": the next
replaces it); a malformed message, or one from the wrong room, is logged
and counted, never raised, and handed to ``dead_letter(topic, payload, reason, detail)``
(:meth:`api.dead_letters.DeadLetters.later`). ``on_change(occupancy)`` runs after every
accepted update.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime
from typing import Callable

from station.clock import Clock
from station.contract import RoomOccupancy
from station.contract.receive import Rejected, receive
from station.inventory import Inventory

log = logging.getLogger(__name__)


class LiveOccupancy:
    def __init__(self, inventory: Inventory, clock: Clock | None = None):
        self.inventory = inventory
        self.clock = clock or Clock()
        self.occupancy: dict[str, RoomOccupancy] = {}
        #: When each room was last reported occupied (evidence that a booking is used).
        self.last_occupied: dict[str, datetime] = {}
        self.rejected: Counter[str] = Counter()
        self.accepted = 0  # messages taken (a late one, older than what is held, too)
        self.dead_letter: Callable[[str, bytes, str, str], None] | None = None
        self.on_change: Callable[[RoomOccupancy], None] | None = None
        self._lock = threading.Lock()

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            _, message = receive(self.inventory, topic, payload, self.clock.now())
        except Rejected as exc:
            self.rejected[exc.reason] += 1
            log.warning("rejected occupancy message on %s: %s", topic[:200], str(exc)[:300])
            if self.dead_letter is not None:
                self.dead_letter(topic, payload, exc.reason, exc.detail)
            return
        if not isinstance(message, RoomOccupancy):
            self.rejected["unexpected_channel"] += 1
            return
        self.accepted += 1
        with self._lock:
            current = self.occupancy.get(message.room)
            # A judgement stamped ahead of our clock (within the contract's day of skew) is
            # replaced by the next one: it must not hide every honest one for a day.
            if current is not None and message.ts < current.ts <= self.clock.now():
                return
            self.occupancy[message.room] = message
            if message.occupied:
                self.last_occupied[message.room] = message.ts
        if self.on_change is not None:
            self.on_change(message)

    def get(self, room: str) -> RoomOccupancy | None:
        return self.occupancy.get(room)
