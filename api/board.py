"""The live occupancy of every space, fed from MQTT ``rooms/<room>/occupancy``.

Keeps the newest snapshot per room (by ``ts``) so that a replayed or late message never
overwrites a fresher one; a malformed message is logged and counted, never raised.
``on_change(occupancy)`` runs after every accepted update.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime
from typing import Callable

from pydantic import ValidationError

from station.clock import Clock
from station.contract import RoomOccupancy, TopicError, decode
from station.inventory import Inventory

log = logging.getLogger(__name__)


class RoomBoard:
    def __init__(self, inventory: Inventory, clock: Clock | None = None):
        self.inventory = inventory
        self.clock = clock or Clock()
        self.occupancy: dict[str, RoomOccupancy] = {}
        #: When each room was last reported occupied (evidence that a booking is used).
        self.last_occupied: dict[str, datetime] = {}
        self.rejected: Counter[str] = Counter()
        self.on_change: Callable[[RoomOccupancy], None] | None = None
        self._lock = threading.Lock()

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            parsed, message = decode(topic, payload)
        except (TopicError, ValidationError) as exc:
            self.rejected[type(exc).__name__] += 1
            log.warning("rejected occupancy message on %s: %s", topic, str(exc)[:300])
            return
        if not isinstance(message, RoomOccupancy) or message.room != parsed.ident:
            self.rejected["room_mismatch"] += 1
            log.warning("rejected occupancy message on %s: room does not match the topic", topic)
            return
        with self._lock:
            current = self.occupancy.get(message.room)
            if current is not None and message.ts < current.ts:
                return
            self.occupancy[message.room] = message
            if message.occupied:
                self.last_occupied[message.room] = message.ts
        if self.on_change is not None:
            self.on_change(message)
