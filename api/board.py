"""The live room board: the latest occupancy of every space, fed from MQTT.

Subscribes to retained ``rooms/<room>/occupancy``; keeps the newest snapshot per room
(by ``ts``) so a replayed or late message never overwrites a fresher one.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from station.clock import Clock
from station.contract import RoomOccupancy, RoomStatus, TopicError, decode, topics
from station.inventory import Inventory
from station.mqtt import MqttBus, MqttSettings

log = logging.getLogger(__name__)


class RoomBoard:
    def __init__(self, inventory: Inventory, clock: Clock | None = None):
        self.inventory = inventory
        self.clock = clock or Clock()
        self.occupancy: dict[str, RoomOccupancy] = {}
        self.rejected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.bus: MqttBus | None = None

    # -- MQTT ---------------------------------------------------------------------------
    def connect(self, mqtt: MqttSettings, client_id: str = "api") -> None:
        self.bus = MqttBus(client_id, mqtt)
        self.bus.subscribe(topics.subscription("rooms", "occupancy"), self.handle)
        self.bus.start(wait=None)

    def close(self) -> None:
        if self.bus is not None:
            self.bus.stop()

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            parsed, message = decode(topic, payload)
        except (TopicError, ValidationError) as exc:
            self.rejected[type(exc).__name__] += 1
            log.warning("rejected occupancy message on %s: %s", topic, str(exc)[:300])
            return
        if not isinstance(message, RoomOccupancy) or message.room != parsed.ident:
            self.rejected["room_mismatch"] += 1
            return
        with self._lock:
            current = self.occupancy.get(message.room)
            if current is None or message.ts >= current.ts:
                self.occupancy[message.room] = message

    # -- reading ------------------------------------------------------------------------
    def status(self, room: str) -> RoomStatus:
        occ = self.occupancy.get(room)
        if occ is None or occ.occupied is None:
            return RoomStatus.unknown
        return RoomStatus.occupied if occ.occupied else RoomStatus.free

    def free_until(self, room: str, now: datetime) -> datetime | None:
        """End of the opening interval the space is in now, or None when closed."""
        site, _ = self.inventory.space(room)
        tz = ZoneInfo(site.timezone)
        local = now.astimezone(tz)
        for interval in self.inventory.opening_hours(room).day(local.weekday()):
            if interval.open <= local.time().replace(tzinfo=None) < interval.close:
                return datetime.combine(local.date(), interval.close, tzinfo=tz)
        return None
