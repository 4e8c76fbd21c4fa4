"""Node events in: checked against the inventory, audited once, and acted on — nothing lost.

Every message on ``nodes/+/events`` goes through :func:`station.contract.receive.receive`:
the payload must be valid and its sender must have a say on it — an access or door
event for door D only from the node that serves D, a motion event for space S only
from a node that observes S. Anything else is logged, counted by reason and kept as a
dead letter (:mod:`api.dead_letters`).

An accepted event is, in one transaction: audited (once — the audit row carries the
event id, unique, so a redelivery is a no-op), a booking checked in when it is the
booker's badge granted at the booked space's door (only if still ``confirmed``: the
no-show sweep, here or in another instance, does the same the other way), an unknown card remembered for
enrolment by tapping, a staff command's answer recorded, the door's live state
updated. Only once that transaction
is committed is the message acknowledged to the broker (MQTT v5 persistent session,
manual acknowledgement): events sent while the API was down or its database away
wait in the broker and are processed when it comes back, in order.

:attr:`AccessLog.drained` tells the no-show sweeper when the backlog a restarted API
finds in its session has been processed, so that a booking whose member badged in
while the API was down is checked in, not released.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Callable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError

from station.contract import EventKind, NodeEvent
from station.contract.receive import Rejected, receive
from station.inventory import Inventory

from . import audit
from .commands import DoorCommands
from .db import Database
from .db.models import Badge, Booking, BookingStatus, UnknownCard, move_if
from .dead_letters import DeadLetters
from .settings import ApiSettings

log = logging.getLogger(__name__)

#: Events that go into the audit log (the others — door opened/closed, motion, faults —
#: go to the time-series history through the collector; door events of every kind also
#: update the door's live state, :mod:`api.door_states`, in the same transaction).
AUDITED = frozenset({EventKind.access_granted, EventKind.access_denied, EventKind.door_forced,
                     EventKind.door_held_open, EventKind.command_applied, EventKind.command_rejected,
                     EventKind.tamper, EventKind.fire_release, EventKind.fire_cleared, EventKind.reader_lockout,
                     EventKind.grants_rejected, EventKind.machine_denied, EventKind.machine_fault})
_STOP = object()


class AccessLog:
    QUIET_S = 1.0  # no event for this long after a reconnect: the session backlog is in
    RETRY_MAX_S = 10.0

    def __init__(self, db: Database, inventory: Inventory, clock, settings: ApiSettings, *,
                 on_checked_in: Callable[[str], None] | None = None,
                 on_event: Callable[[NodeEvent, dict], None] | None = None, door_states=None):
        self.db, self.inventory, self.clock, self.settings = db, inventory, clock, settings
        self.door_states = door_states  # api.door_states.DoorStates: every door event, in the same transaction
        self.on_checked_in = on_checked_in  # callable(space id) after a check-in is committed
        self.on_event = on_event  # callable(event, outcome) after each accepted event (audited or not) is committed
        self.rejected: Counter[str] = Counter()
        #: Refused messages of every intake, kept (this one's at once, the others' by a worker).
        self.dead_letters = DeadLetters(db, clock, settings.dead_letters_kept, self.rejected)
        self.processed = 0
        self.bus = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_message = 0.0
        self._connected_at = 0.0
        self._session_present = False
        self._connects = 0  # (re)connects so far; the backlog was heard after the one in _backlog_heard
        self._backlog_heard = -1

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, bus) -> None:
        self.bus = bus
        self.dead_letters.start()
        self._thread = threading.Thread(target=self._run, name="api-access-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the event in hand; what is queued stays unacknowledged (the broker
        redelivers it to the next process)."""
        self._stop.set()
        self._queue.put(_STOP)
        if self._thread:
            self._thread.join(5)
        self.dead_letters.stop()

    def connected(self, session_present: bool) -> None:
        """Called on every (re)connect, with whether the broker kept our session."""
        self._connected_at = time.monotonic()
        self._session_present = session_present
        self._connects += 1

    @property
    def drained(self) -> bool:
        """True once this process has heard what the broker kept for it (always, without MQTT).

        The backlog is heard at the first quiet second after a reconnect, and stays heard
        until the next one: live traffic after it (a node that talks more than once a
        second, honest or not) must not hold the no-show release for ever."""
        if self.bus is None:
            return True
        if not self.bus.connected.is_set():
            return False  # deaf: nobody can tell who badged in
        connects = self._connects  # read first: a reconnect meanwhile is not latched as heard
        if not self._session_present or self._backlog_heard == connects:
            return True
        quiet = time.monotonic() - max(self._last_message, self._connected_at)
        if quiet >= self.QUIET_S and self._queue.empty() and not self._busy:
            self._backlog_heard = connects
            return True
        return False

    # -- intake -------------------------------------------------------------------------
    def on_message(self, message) -> None:
        """paho's network thread: queue the message (never touch the database here)."""
        self._last_message = time.monotonic()
        self._queue.put(message)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is _STOP:
                return
            self._busy = True
            try:
                delay = 0.1
                while not self._stop.is_set():
                    try:
                        self.handle(message.topic, message.payload)
                        break
                    except OperationalError as exc:  # the database is away: wait, never drop
                        log.warning("cannot record the event on %s (%s); retrying in %.1f s", message.topic,
                                    str(exc).splitlines()[0][:200], delay)
                        self._stop.wait(delay)
                        delay = min(self.RETRY_MAX_S, delay * 2)
                    except Exception:  # a bug must not stall the intake: count it, dead-letter it
                        log.exception("event on %s failed", message.topic)
                        self.rejected["internal_error"] += 1
                        self.dead_letters.later(message.topic, bytes(message.payload), "internal_error",
                                                "see the API log")
                        break
                else:
                    return  # stopping: leave it unacknowledged
                if self.bus is not None:
                    self.bus.ack(message)
            finally:
                self._busy = False
                self._last_message = time.monotonic()

    def handle(self, topic: str, payload: bytes) -> dict | None:
        """Check and record one event (synchronously); the outcome, or None when refused."""
        try:
            _, event = receive(self.inventory, topic, payload, self.clock.now())
        except Rejected as exc:
            # Kept before it is counted: a database away raises here, and the retry comes back.
            self.dead_letters.keep(topic, payload, exc.reason, exc.detail)
            self.rejected[exc.reason] += 1
            log.warning("refused event on %s: %s", topic[:200], str(exc)[:300])
            return None
        if not isinstance(event, NodeEvent):
            self.rejected["unexpected_channel"] += 1
            return None
        return self.record(event)

    # -- recording ----------------------------------------------------------------------
    def record(self, event: NodeEvent) -> dict:
        """Audit an event once (by its id) and act on it; return what it did."""
        self.processed += 1
        outcome: dict = {"duplicate": False, "checked_in": None, "unknown_card": False, "member_id": None,
                         "door_state": None}
        door_event = self.door_states is not None and self.door_states.concerns(event)
        if event.kind not in AUDITED:
            if door_event:  # door opened / closed: not audited, but the door's live state changes
                with self.db.session() as s:
                    outcome["door_state"] = self.door_states.apply(s, event)
                self.door_states.committed(event, outcome["door_state"])
            if self.on_event is not None:
                self.on_event(event, outcome)
            return outcome
        space = event.space or (self.inventory.door(event.door)[1].space if event.door else None)
        try:
            with self.db.session() as s:
                if door_event:
                    outcome["door_state"] = self.door_states.apply(s, event)
                badge = None
                if event.credential_hash:
                    badge = s.execute(select(Badge).where(Badge.credential_hash == event.credential_hash)
                                      ).scalar_one_or_none()
                outcome["member_id"] = badge.member_id if badge else None
                audit.record(s, event.ts, event.kind.value, f"node:{event.node}", event_id=event.id,
                             door_id=event.door, space_id=space, member_id=badge.member_id if badge else None,
                             detail={"reason": event.reason, "seq": event.seq, "command": event.command,
                                     **({"machine": event.machine} if event.machine else {})})
                s.flush()  # a duplicate event id fails here, before anything else is done
                if event.kind is EventKind.access_granted and badge is not None and space:
                    outcome["checked_in"] = self._check_in(s, event, badge.member_id, space)
                elif event.kind is EventKind.access_denied and badge is None and event.credential_hash and event.door:
                    self._remember_unknown(s, event)
                    outcome["unknown_card"] = True
                elif event.kind in (EventKind.command_applied, EventKind.command_rejected) and event.command:
                    DoorCommands.answered(s, event.command, event.door, event.kind is EventKind.command_applied,
                                          event.ts, event.reason)
        except IntegrityError:
            log.debug("event %s already recorded", event.id)
            outcome["duplicate"] = True
            return outcome
        if door_event:
            self.door_states.committed(event, outcome["door_state"])
        if outcome["checked_in"] is not None and self.on_checked_in is not None:
            self.on_checked_in(space)
            log.info("booking %d checked in at %s", outcome["checked_in"], space)
        if self.on_event is not None:
            self.on_event(event, outcome)
        return outcome

    def _check_in(self, s, event: NodeEvent, member_id: int, space: str) -> int | None:
        lead = timedelta(minutes=self.settings.grant_lead_minutes)
        booking = s.execute(select(Booking).where(
            Booking.space_id == space, Booking.member_id == member_id, Booking.status == BookingStatus.confirmed,
            Booking.start <= event.ts + lead, Booking.end > event.ts).order_by(Booking.start)).scalars().first()
        if booking is None:
            return None
        # Only if still confirmed, in one statement: the no-show sweep (here or in another
        # instance) or a second badge event at the same moment may have changed it meanwhile.
        if not move_if(s, Booking, booking.id, [BookingStatus.confirmed], status=BookingStatus.checked_in,
                       checked_in_at=event.ts):
            return None
        audit.record(s, event.ts, "booking_checked_in", f"node:{event.node}", member_id=member_id, space_id=space,
                     detail={"booking": booking.id})
        return booking.id

    def _remember_unknown(self, s, event: NodeEvent) -> None:
        card = s.execute(select(UnknownCard).where(UnknownCard.door_id == event.door,
                                                   UnknownCard.credential_hash == event.credential_hash)
                         ).scalar_one_or_none()
        if card is None:
            s.add(UnknownCard(door_id=event.door, credential_hash=event.credential_hash, first_seen=event.ts,
                              last_seen=event.ts, times=1))
        else:
            card.last_seen, card.times = max(card.last_seen, event.ts), card.times + 1
        s.flush()
        keep = select(UnknownCard.id).where(UnknownCard.door_id == event.door).order_by(
            UnknownCard.last_seen.desc(), UnknownCard.id.desc()).limit(self.settings.unknown_cards_per_door)
        s.execute(delete(UnknownCard).where(UnknownCard.door_id == event.door,
                                            UnknownCard.id.not_in(keep.scalar_subquery())))
