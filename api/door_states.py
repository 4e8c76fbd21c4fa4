"""Every door's live state, from its node's events: closed / open / held / forced, lock mode, fire.

The access log hands every door event to :meth:`DoorStates.apply` inside the
transaction that records it (``door_opened`` and ``door_closed`` too, which are not
audited), so the state row (:class:`api.db.models.DoorStateRow`) and the audit entry are
durable together and "held open since 10:02" survives an API restart. Once committed,
:meth:`DoorStates.committed` updates the copy in memory that the staff console reads
and tells the staff stream.

The rules, in the node's words (:mod:`edge.access`):

- ``door_opened`` / ``door_closed`` set the contact; closing ends any alarm;
- ``door_forced`` and ``door_held_open`` raise an alarm while the door stays open
  (forced wins over held);
- ``command_applied`` of ``lockdown`` / ``release`` / ``normal`` sets the lock mode
  (``unlock_once`` leaves it); ``fire_release`` / ``fire_cleared`` the fire flag.

Delivery is at-least-once and a node's outbox replays in order, so an event older than
what the row already holds changes nothing (a replayed ``door_opened`` cannot reopen a
door that has closed since). The last few events of each door are kept in memory only,
seeded from the audit log at start.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from station.contract import EventKind, NodeEvent
from station.inventory import Inventory

from .db import Database
from .db.models import AuditEntry, DoorCommandRow, DoorStateRow

#: The events that say something about a door (and show in its last events).
DOOR_KINDS = frozenset({EventKind.door_opened, EventKind.door_closed, EventKind.door_forced,
                        EventKind.door_held_open, EventKind.fire_release, EventKind.fire_cleared,
                        EventKind.command_applied, EventKind.command_rejected, EventKind.access_granted,
                        EventKind.access_denied, EventKind.reader_lockout, EventKind.exit_request,
                        EventKind.tamper})
LAST_EVENTS = 8


@dataclass(frozen=True)
class DoorLive:
    door: str
    contact: str | None = None  # "open", "closed", None: not heard yet
    contact_since: datetime | None = None
    alarm: str | None = None  # "forced", "held"
    alarm_since: datetime | None = None
    lock_mode: str = "normal"
    lock_mode_since: datetime | None = None
    fire: bool = False
    fire_since: datetime | None = None
    updated_at: datetime | None = None
    last_events: tuple = field(default=(), compare=False)

    @property
    def state(self) -> str:
        """What staff read first: forced, held, open, closed or unknown."""
        if self.contact == "open" and self.alarm:
            return self.alarm
        return self.contact or "unknown"

    @classmethod
    def of_row(cls, row: DoorStateRow) -> "DoorLive":
        return cls(door=row.door_id, contact=row.contact, contact_since=row.contact_since, alarm=row.alarm,
                   alarm_since=row.alarm_since, lock_mode=row.lock_mode, lock_mode_since=row.lock_mode_since,
                   fire=row.fire, fire_since=row.fire_since, updated_at=row.updated_at)


def _next(live: DoorLive, event: NodeEvent, command_action: str | None) -> DoorLive:
    """The door's state after the event (the same state if the event changes nothing)."""
    ts, kind = event.ts, event.kind
    if kind is EventKind.door_opened and (live.contact_since is None or ts >= live.contact_since):
        if live.contact != "open":
            return replace(live, contact="open", contact_since=ts, alarm=None, alarm_since=None)
    elif kind is EventKind.door_closed and (live.contact_since is None or ts >= live.contact_since):
        return replace(live, contact="closed", contact_since=ts, alarm=None, alarm_since=None)
    elif kind in (EventKind.door_forced, EventKind.door_held_open):
        alarm = "forced" if kind is EventKind.door_forced else "held"
        opened_after = live.contact == "closed" and live.contact_since is not None and live.contact_since > ts
        if not opened_after and not (live.alarm == "forced" and alarm == "held"):
            return replace(live, contact="open", contact_since=live.contact_since if live.contact == "open" else ts,
                           alarm=alarm, alarm_since=live.alarm_since if live.alarm == alarm else ts)
    elif kind is EventKind.fire_release and not live.fire:
        return replace(live, fire=True, fire_since=ts)
    elif kind is EventKind.fire_cleared and live.fire:
        return replace(live, fire=False, fire_since=ts)
    elif kind is EventKind.command_applied and command_action in ("lockdown", "release", "normal"):
        if live.lock_mode_since is None or ts >= live.lock_mode_since:
            return replace(live, lock_mode=command_action, lock_mode_since=ts)
    return live


class DoorStates:
    def __init__(self, db: Database, inventory: Inventory, *, on_change: Callable[[DoorLive], None] | None = None):
        self.db, self.inventory = db, inventory
        self.on_change = on_change  # callable(DoorLive) after a committed change
        self._live: dict[str, DoorLive] = {}
        self._events: dict[str, deque] = defaultdict(lambda: deque(maxlen=LAST_EVENTS))
        self._lock = threading.Lock()

    def load(self, now: datetime) -> None:
        """The stored states, and each door's last audited events (at start). Every door of
        the inventory gets its row now, so that events only ever update rows: several API
        instances recording the same door's events never race to insert it."""
        try:
            with self.db.session() as s:
                known = set(s.execute(select(DoorStateRow.door_id)).scalars())
                for _, door in self.inventory.doors():
                    if door.id not in known:
                        s.add(DoorStateRow(door_id=door.id, lock_mode="normal", fire=False, updated_at=now))
        except IntegrityError:
            pass  # another instance starting at the same time made them
        with self.db.session() as s:
            rows = {r.door_id: DoorLive.of_row(r) for r in s.execute(select(DoorStateRow)).scalars()}
            recent = s.execute(select(AuditEntry).where(AuditEntry.door_id.is_not(None),
                                                        AuditEntry.action.in_([k.value for k in DOOR_KINDS]))
                               .order_by(AuditEntry.ts.desc(), AuditEntry.id.desc()).limit(50 * LAST_EVENTS)).scalars()
            events: dict[str, list] = defaultdict(list)
            for entry in recent:
                if len(events[entry.door_id]) < LAST_EVENTS:
                    events[entry.door_id].append({"kind": entry.action, "ts": entry.ts,
                                                  "reason": (entry.detail or {}).get("reason")})
        with self._lock:
            self._live.update(rows)
            for door, listed in events.items():
                self._events[door].extend(reversed(listed))

    @staticmethod
    def concerns(event: NodeEvent) -> bool:
        return event.door is not None and event.kind in DOOR_KINDS

    def apply(self, session: Session, event: NodeEvent) -> DoorLive | None:
        """Within the event's transaction: store the door's new state; the new state, or
        None when the event changes nothing. Memory changes only in :meth:`committed`."""
        row = session.get(DoorStateRow, event.door)
        live = DoorLive.of_row(row) if row is not None else DoorLive(event.door)
        action = None
        if event.kind is EventKind.command_applied and event.command:
            command = session.get(DoorCommandRow, event.command)
            action = command.action if command is not None else None
        new = _next(live, event, action)
        if new == live and row is not None:
            return None
        new = replace(new, updated_at=event.ts if live.updated_at is None else max(live.updated_at, event.ts))
        if row is None:
            row = DoorStateRow(door_id=event.door)
            session.add(row)
        for name in ("contact", "contact_since", "alarm", "alarm_since", "lock_mode", "lock_mode_since", "fire",
                     "fire_since", "updated_at"):
            setattr(row, name, getattr(new, name))
        return new

    def committed(self, event: NodeEvent, new: DoorLive | None) -> None:
        """After the transaction: remember the event and the new state, tell the listeners."""
        with self._lock:
            self._events[event.door].append({"kind": event.kind.value, "ts": event.ts, "reason": event.reason})
            if new is not None:
                current = self._live.get(new.door)
                if current is None or current.updated_at is None or new.updated_at >= current.updated_at:
                    self._live[new.door] = new
            live = self.get(event.door)
        if self.on_change is not None:
            self.on_change(live)

    def get(self, door_id: str) -> DoorLive:
        live = self._live.get(door_id) or DoorLive(door_id)
        return replace(live, last_events=tuple(reversed(self._events.get(door_id, ()))))

    def all(self) -> dict[str, DoorLive]:
        return {door.id: self.get(door.id) for _, door in self.inventory.doors()}
