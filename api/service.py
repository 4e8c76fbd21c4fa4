"""The API's running part: MQTT in and out, room states, grants, check-in, no-shows.

One :class:`Station` per app. Request handlers call :meth:`Station.space_changed` or
:meth:`Station.access_changed` after a change; the MQTT thread feeds occupancy and node
events in; a sweeper thread releases no-shows, re-issues grant lists before they expire
and notices status changes that come with the passing of time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.exc import IntegrityError

from station.clock import Clock
from station.contract import EventKind, NodeEvent, RoomOccupancy, TopicError, decode, topics
from station.inventory import Inventory
from station.mqtt import MqttBus

from .availability import RoomState, room_state
from .board import RoomBoard
from .db import Database
from .db.models import HOLDING, AuditEntry, Badge, Booking, BookingStatus
from .grants import GrantPublisher
from .keys import Keys
from .settings import ApiSettings
from .stream import StatusHub

log = logging.getLogger(__name__)
ACCESS_EVENTS = {EventKind.access_granted, EventKind.access_denied, EventKind.door_forced,
                 EventKind.door_held_open, EventKind.command_applied, EventKind.tamper,
                 EventKind.fire_release, EventKind.reader_lockout, EventKind.grants_rejected}


def audit(session, now: datetime, action: str, actor: str, **fields) -> AuditEntry:
    entry = AuditEntry(ts=now, action=action, actor=actor, detail=fields.pop("detail", {}), **fields)
    session.add(entry)
    return entry


class Station:
    def __init__(self, settings: ApiSettings, inventory: Inventory, db: Database, keys: Keys, clock: Clock):
        self.settings = settings
        self.inventory = inventory
        self.db = db
        self.keys = keys
        self.clock = clock
        self.board = RoomBoard(inventory, clock)
        self.board.on_change = self._occupancy_changed
        self.hub = StatusHub()
        self.bus: MqttBus | None = None
        self.rejected: Counter[str] = Counter()
        self.grants = GrantPublisher(db, inventory, keys, ttl=timedelta(hours=settings.grant_ttl_hours),
                                     lead=timedelta(minutes=settings.grant_lead_minutes),
                                     publish=self._publish if settings.publish_grants else None)
        self._states: dict[str, tuple] = {}
        self._state_lock = threading.Lock()
        self.booking_lock = threading.Lock()
        #: Grows on every change this instance sees (bookings, occupancy): cached views compare it.
        self.generation = 0
        self._bookings: tuple[float, datetime, dict[str, list[Booking]]] | None = None
        self._bookings_generation = 0
        self._bookings_lock = threading.Lock()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, *, mqtt: bool = True, sweeper: bool = True) -> None:
        now = self.clock.now()
        self.grants.refresh_all(now)
        self.refresh_rooms(now)
        if mqtt:
            self.bus = MqttBus(self.settings.mqtt_client_id, self.settings.mqtt(), on_connect=self._connected)
            self.bus.subscribe(topics.subscription("rooms", "occupancy"), self.board.handle)
            self.bus.subscribe(topics.subscription("nodes", "events"), self.handle_event)
            self.bus.start(wait=None)
        if sweeper:
            self._sweeper = threading.Thread(target=self._sweep_loop, name="api-sweeper", daemon=True)
            self._sweeper.start()

    def stop(self) -> None:
        self._stop.set()
        self.hub.close()
        if self._sweeper:
            self._sweeper.join(5)
        if self.bus is not None:
            self.bus.stop()

    def _connected(self) -> None:
        self.grants.republish_stored()
        now = self.clock.now()
        for state in self.room_states(now).values():
            self._publish_availability(state, now)

    def _publish(self, topic: str, message) -> None:
        if self.bus is not None:
            self.bus.publish(topic, message, qos=1, retain=True)

    # -- rooms --------------------------------------------------------------------------
    #: How long the in-memory copy of the holding bookings may be used. This instance
    #: drops it at once on its own changes; the TTL bounds what another API instance
    #: (several behind a proxy, one PostgreSQL) may show after a change made elsewhere.
    BOOKINGS_TTL_S = 2.0

    def holding_bookings(self, now: datetime) -> dict[str, list[Booking]]:
        """Confirmed and checked-in bookings not yet ended, per space, sorted by start."""
        with self._bookings_lock:
            cached = self._bookings
            if cached is not None and time.monotonic() < cached[0] and cached[1] <= now:
                return cached[2]
            generation = self._bookings_generation
        bookings: dict[str, list[Booking]] = defaultdict(list)
        with self.db.session() as s:
            q = (select(Booking).options(joinedload(Booking.member))
                 .where(Booking.status.in_(HOLDING), Booking.end > now).order_by(Booking.start))
            for b in s.execute(q).scalars():
                bookings[b.space_id].append(b)
        with self._bookings_lock:
            if generation == self._bookings_generation:
                self._bookings = (time.monotonic() + self.BOOKINGS_TTL_S, now, bookings)
        return bookings

    def bookings_changed(self) -> None:
        with self._bookings_lock:
            self._bookings = None
            self._bookings_generation += 1
        self.generation += 1

    def room_states(self, now: datetime, only: str | None = None) -> dict[str, RoomState]:
        bookings = self.holding_bookings(now)
        rooms = [only] if only else [space.id for _, space in self.inventory.spaces()]
        return {r: room_state(self.inventory, r, self.board.occupancy.get(r),
                              [b for b in bookings.get(r, ()) if b.end > now], now) for r in rooms}

    def refresh_rooms(self, now: datetime, only: str | None = None) -> None:
        """Publish availability when a room's state changed; tell SSE clients when its state
        or its CO2 (to 25 ppm) changed."""
        for state in self.room_states(now, only).values():
            key = state.key()
            co2 = getattr(self.board.occupancy.get(state.room), "co2_ppm", None)
            seen = (key, None if co2 is None else round(co2 / 25))
            with self._state_lock:
                previous = self._states.get(state.room)
                if previous == seen:
                    continue
                self._states[state.room] = seen
            if previous is None or previous[0] != key:
                self._publish_availability(state, now)
            self.hub.broadcast("room", {"id": state.room, "status": state.status.value,
                                        "free_until": state.free_until.isoformat() if state.free_until else None,
                                        "co2_ppm": co2})

    def _publish_availability(self, state: RoomState, now: datetime) -> None:
        site, _ = self.inventory.space(state.room)
        self._publish(topics.room_availability(site.id, state.room), state.message(now))

    def _occupancy_changed(self, occupancy: RoomOccupancy) -> None:
        self.generation += 1
        self.refresh_rooms(self.clock.now(), only=occupancy.room)

    # -- changes ------------------------------------------------------------------------
    def space_changed(self, space_id: str) -> None:
        """A booking of the space was made, cancelled or released: new grants, new status."""
        self.bookings_changed()
        now = self.clock.now()
        self.grants.refresh_space(space_id, now)
        self.refresh_rooms(now, only=space_id)

    def access_changed(self) -> None:
        """A badge, member or training changed: every door's list may change."""
        self.grants.refresh_all(self.clock.now())

    # -- node events: audit and check-in ------------------------------------------------
    def handle_event(self, topic: str, payload: bytes) -> None:
        try:
            parsed, event = decode(topic, payload)
        except (TopicError, ValidationError) as exc:
            self.rejected[type(exc).__name__] += 1
            log.warning("rejected node event on %s: %s", topic, str(exc)[:300])
            return
        if not isinstance(event, NodeEvent) or event.node != parsed.ident:
            self.rejected["node_mismatch"] += 1
            log.warning("rejected node event on %s: node id does not match the topic", topic)
            return
        if event.kind in ACCESS_EVENTS:
            self.record_event(event)

    def record_event(self, event: NodeEvent) -> None:
        """Audit an access event once (by event id) and check in the booking it opens."""
        space = event.space
        if event.door and not space:
            try:
                space = self.inventory.door(event.door)[1].space
            except KeyError:
                pass
        checked_in = None
        try:
            with self.db.session() as s:
                badge = None
                if event.credential_hash:
                    badge = s.execute(select(Badge).where(Badge.credential_hash == event.credential_hash)
                                      ).scalar_one_or_none()
                audit(s, event.ts, event.kind.value, f"node:{event.node}", event_id=event.id, door_id=event.door,
                      space_id=space, member_id=badge.member_id if badge else None,
                      detail={"reason": event.reason, "seq": event.seq})
                if event.kind is EventKind.access_granted and badge is not None and space:
                    lead = timedelta(minutes=self.settings.grant_lead_minutes)
                    booking = s.execute(select(Booking).where(
                        Booking.space_id == space, Booking.member_id == badge.member_id,
                        Booking.status == BookingStatus.confirmed.value,
                        Booking.start <= event.ts + lead,
                        Booking.end > event.ts)).scalars().first()
                    if booking is not None:
                        booking.status, booking.checked_in_at = BookingStatus.checked_in.value, event.ts
                        checked_in = booking.id
                        audit(s, event.ts, "booking_checked_in", f"node:{event.node}", member_id=badge.member_id,
                              space_id=space, detail={"booking": booking.id})
        except IntegrityError:
            log.debug("event %s already recorded", event.id)
            return
        if checked_in is not None:
            self.bookings_changed()
            log.info("booking %d checked in at %s", checked_in, space)

    # -- time passing -------------------------------------------------------------------
    def sweep(self) -> list[int]:
        """Release no-shows, re-issue expiring grant lists, publish status changes."""
        now = self.clock.now()
        released = self.release_no_shows(now)
        self.grants.refresh_all(now)
        self.refresh_rooms(now)
        return released

    def release_no_shows(self, now: datetime) -> list[int]:
        cutoff = now - timedelta(minutes=self.settings.no_show_minutes)
        released, spaces = [], set()
        with self.db.session() as s:
            late = s.execute(select(Booking).where(Booking.status == BookingStatus.confirmed.value,
                                                   Booking.start <= cutoff, Booking.end > now)).scalars().all()
            for booking in late:
                occ = self.board.occupancy.get(booking.space_id)
                seen = self.board.last_occupied.get(booking.space_id)
                if (occ is not None and occ.occupied) or (seen is not None and seen >= booking.start):
                    continue
                booking.status, booking.ended_at = BookingStatus.no_show.value, now
                audit(s, now, "booking_no_show", "api", member_id=booking.member_id, space_id=booking.space_id,
                      detail={"booking": booking.id})
                released.append(booking.id)
                spaces.add(booking.space_id)
        for space in spaces:
            self.space_changed(space)
        return released

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # the sweeper must outlive a bad moment (database restarting...)
                log.exception("sweep failed")
