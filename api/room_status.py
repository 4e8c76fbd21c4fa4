"""What every space is now — free, occupied, reserved, unknown — told to the board and the boards.

:class:`RoomStatus` combines the live occupancy (:class:`api.occupancy.LiveOccupancy`)
with the holding bookings (see :mod:`api.availability` for the rule), publishes
``rooms/<room>/availability`` (retained) when a room's state changes, and tells the
SSE clients when its state or its CO2 (to 25 ppm) changes.

The holding bookings (and the closures) are read from the database at most every ``BOOKINGS_TTL_S`` and
dropped at once on a change made through this process; the TTL bounds what another
API instance (several behind a proxy, one PostgreSQL) shows after a change made
elsewhere. ``generation`` grows on every change seen here, so cached views (the public
room list) know when to rebuild.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from station.contract import RoomOccupancy, topics
from station.inventory import Inventory

from .availability import RoomState, room_state
from .db import Database
from .db.calendars import BlockedPeriod
from .db.models import HOLDING, Booking
from .occupancy import LiveOccupancy
from .stream import StatusHub

Publish = Callable[[str, object], None]


def seats_free(inventory: Inventory, state: RoomState) -> int | None:
    """Seats left now in a space booked by the seat (None for a space booked whole)."""
    if state.seats_taken is None:
        return None
    return max(0, inventory.space(state.room)[1].capacity - state.seats_taken)


class RoomStatus:
    BOOKINGS_TTL_S = 2.0

    def __init__(self, inventory: Inventory, db: Database, clock, *, occupancy: LiveOccupancy, hub: StatusHub,
                 publish: Publish | None = None):
        self.inventory, self.db, self.clock = inventory, db, clock
        self.occupancy, self.hub = occupancy, hub
        self.publish = publish  # callable(topic, message) publishing retained, or None without MQTT
        self.generation = 0
        self._states: dict[str, tuple] = {}
        self._state_lock = threading.Lock()
        self._bookings: tuple[float, datetime, dict[str, list[Booking]], dict[str, list[BlockedPeriod]]] | None = None
        self._bookings_generation = 0
        self._bookings_lock = threading.Lock()
        self._views: dict = {}
        occupancy.on_change = self._occupancy_changed

    # -- bookings -----------------------------------------------------------------------
    def holding_bookings(self, now: datetime) -> dict[str, list[Booking]]:
        """Confirmed and checked-in bookings not yet ended, per space, sorted by start."""
        return self._holding(now)[0]

    def _holding(self, now: datetime) -> tuple[dict[str, list[Booking]], dict[str, list[BlockedPeriod]]]:
        """The holding bookings and the closures not yet ended, per space, sorted by start."""
        with self._bookings_lock:
            cached = self._bookings
            if cached is not None and time.monotonic() < cached[0] and cached[1] <= now:
                return cached[2], cached[3]
            generation = self._bookings_generation
        bookings: dict[str, list[Booking]] = defaultdict(list)
        blocked: dict[str, list[BlockedPeriod]] = defaultdict(list)
        with self.db.session() as s:
            q = (select(Booking).options(joinedload(Booking.member))
                 .where(Booking.status.in_(HOLDING), Booking.end > now).order_by(Booking.start))
            for b in s.execute(q).scalars():
                bookings[b.space_id].append(b)
            for p in s.execute(select(BlockedPeriod).where(BlockedPeriod.end > now)
                               .order_by(BlockedPeriod.start)).scalars():
                blocked[p.space_id].append(p)
        with self._bookings_lock:
            if generation == self._bookings_generation:
                self._bookings = (time.monotonic() + self.BOOKINGS_TTL_S, now, bookings, blocked)
        return bookings, blocked

    def bookings_changed(self) -> None:
        with self._bookings_lock:
            self._bookings = None
            self._bookings_generation += 1
        self.generation += 1

    # -- states -------------------------------------------------------------------------
    def states(self, now: datetime, only: str | None = None) -> dict[str, RoomState]:
        bookings, blocked = self._holding(now)
        rooms = [only] if only else [space.id for _, space in self.inventory.spaces()]
        return {r: room_state(self.inventory, r, self.occupancy.get(r),
                              [b for b in bookings.get(r, ()) if b.end > now], now,
                              [p for p in blocked.get(r, ()) if p.end > now]) for r in rooms}

    def refresh(self, now: datetime, only: str | None = None) -> None:
        """Publish availability when a room's state changed; tell SSE clients when its state
        or its CO2 (to 25 ppm) changed."""
        for state in self.states(now, only).values():
            key = state.key()
            co2 = getattr(self.occupancy.get(state.room), "co2_ppm", None)
            seen = (key, None if co2 is None else round(co2 / 25))
            with self._state_lock:
                previous = self._states.get(state.room)
                if previous == seen:
                    continue
                self._states[state.room] = seen
            if previous is None or previous[0] != key:
                self._publish(state, now)
            occupancy = self.occupancy.get(state.room)
            self.hub.broadcast("room", {"id": state.room, "status": state.status.value,
                                        "free_until": state.free_until.isoformat() if state.free_until else None,
                                        "co2_ppm": co2,
                                        "people_estimate": getattr(occupancy, "people_estimate", None),
                                        "seats_free": seats_free(self.inventory, state)})

    def publish_all(self, now: datetime) -> None:
        """Every room's availability (after a reconnect: the broker may have lost them)."""
        for state in self.states(now).values():
            self._publish(state, now)

    def _publish(self, state: RoomState, now: datetime) -> None:
        if self.publish is not None:
            site, _ = self.inventory.space(state.room)
            self.publish(topics.room_availability(site.id, state.room), state.message(now))

    def _occupancy_changed(self, occupancy: RoomOccupancy) -> None:
        self.generation += 1
        self.refresh(self.clock.now(), only=occupancy.room)

    # -- cached views -------------------------------------------------------------------
    def view(self, key, build, ttl_s: float = 1.0):
        """A value built by ``build()``, kept until the next change or for ``ttl_s``."""
        hit = self._views.get(key)
        now = time.monotonic()
        if hit is None or hit[0] != self.generation or hit[1] < now:
            generation = self.generation
            hit = self._views[key] = (generation, now + ttl_s, build())
        return hit[2]
