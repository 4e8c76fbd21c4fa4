"""Fab-lab machines in the API: usage sessions from the nodes' events, and live status.

**Usage.** A machine node reports ``machine_on`` (who, by credential hash) and
``machine_off`` (reason, ``duration_s``: the relay's on-time in the node's clock). Each
``machine_on`` opens a :class:`~api.db.machines.MachineSession`, the matching
``machine_off`` closes it with the node's duration — the figure the usage log and its
CSV bill, so the API's minutes are the node's on-time exactly. Both are keyed by event
id: a redelivered event changes nothing. An off whose on never arrived still records a
closed session (start = its time − duration).

**Live status** of a machine, first that applies:
``out_of_order`` (staff said so) · ``offline`` (its node is not online) · ``in_use`` (an
open session) · ``booked`` (a holding booking covers now) · ``free``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from station.contract import EventKind, NodeEvent
from station.inventory import Inventory

from .db import Database
from .db.machines import MachineBooking, MachineRow, MachineSession
from .db.models import HOLDING, Badge

log = logging.getLogger(__name__)

STATUSES = ("free", "in_use", "booked", "out_of_order", "offline")
#: A fab lab's general induction: widens its door list, qualifies for no machine.
GENERAL_TRAINING = "general"


def training_key(inventory: Inventory, space_id: str, named: str) -> str | None:
    """What a training record stores for ``named`` in a fab lab: the training key of one of
    its machines (named by its id or by its key), ``general``, or None (no such machine)."""
    text = named.strip().lower()
    if text == GENERAL_TRAINING:
        return GENERAL_TRAINING
    for machine in inventory.machines_of(space_id):
        if text in (machine.id, machine.training_id):
            return machine.training_id
    return None


class MachineUsage:
    """Records the nodes' machine_on / machine_off events as usage sessions."""

    def __init__(self, db: Database, on_change=None):
        self.db = db
        self.on_change = on_change  # callable(machine_id) after a session opened or closed
        self.recorded = 0

    def record(self, event: NodeEvent) -> bool:
        """Apply one event; True when it changed a session (False: not a machine event, or a replay)."""
        if event.machine is None or event.kind not in (EventKind.machine_on, EventKind.machine_off):
            return False
        try:
            with self.db.session() as s:
                changed = (self._on(s, event) if event.kind is EventKind.machine_on else self._off(s, event))
        except IntegrityError:
            log.debug("machine event %s already recorded", event.id)
            return False
        if changed:
            self.recorded += 1
            if self.on_change is not None:
                self.on_change(event.machine)
        return changed

    @staticmethod
    def _member(s, credential_hash: str | None) -> int | None:
        if not credential_hash:
            return None
        return s.execute(select(Badge.member_id).where(Badge.credential_hash == credential_hash)).scalar()

    def _on(self, s, event: NodeEvent) -> bool:
        if s.execute(select(MachineSession.id).where(MachineSession.on_event == event.id)).scalar() is not None:
            return False
        s.add(MachineSession(machine_id=event.machine, member_id=self._member(s, event.credential_hash),
                             credential_hash=event.credential_hash or "", on_event=event.id, started_at=event.ts))
        return True

    def _off(self, s, event: NodeEvent) -> bool:
        if s.execute(select(MachineSession.id).where(MachineSession.off_event == event.id)).scalar() is not None:
            return False
        duration = event.duration_s or 0.0
        session = s.execute(select(MachineSession).where(
            MachineSession.machine_id == event.machine, MachineSession.ended_at.is_(None),
            MachineSession.credential_hash == (event.credential_hash or ""), MachineSession.started_at <= event.ts)
            .order_by(MachineSession.started_at.desc()).limit(1)).scalar_one_or_none()
        if session is None:  # the on never arrived: the node's duration still tells the session
            session = MachineSession(machine_id=event.machine, member_id=self._member(s, event.credential_hash),
                                     credential_hash=event.credential_hash or "", on_event=f"off-{event.id}",
                                     started_at=event.ts - timedelta(seconds=duration))
            s.add(session)
        session.off_event, session.ended_at, session.duration_s = event.id, event.ts, duration
        session.reason = event.reason
        return True


@dataclass
class LiveMachine:
    status: str
    since: datetime | None = None  # in use since
    booked_until: datetime | None = None
    next_booking_start: datetime | None = None
    out_of_order_reason: str | None = None


def live_status(session, inventory: Inventory, fleet, now: datetime) -> dict[str, LiveMachine]:
    """Every machine's status now (see the module's docstring), in three queries."""
    rows = {r.id: r for r in session.execute(select(MachineRow)).scalars()}
    open_sessions = {m: started for m, started in session.execute(
        select(MachineSession.machine_id, MachineSession.started_at).where(MachineSession.ended_at.is_(None))
        .order_by(MachineSession.started_at))}
    bookings: dict[str, list[MachineBooking]] = {}
    for b in session.execute(select(MachineBooking).where(MachineBooking.status.in_(HOLDING),
                                                           MachineBooking.end > now).order_by(MachineBooking.start)
                             ).scalars():
        bookings.setdefault(b.machine_id, []).append(b)
    out: dict[str, LiveMachine] = {}
    for _, machine in inventory.machines():
        row = rows.get(machine.id)
        mine = bookings.get(machine.id, [])
        current = next((b for b in mine if b.start <= now), None)
        upcoming = next((b.start for b in mine if b.start > now), None)
        live = LiveMachine("free", booked_until=current.end if current else None, next_booking_start=upcoming)
        node = inventory.machine_node(machine.id)
        if row is not None and row.out_of_order:
            live.status, live.out_of_order_reason = "out_of_order", row.out_of_order_reason
        elif node is None or fleet.state(node.id) != "online":
            live.status = "offline"
        elif machine.id in open_sessions:
            live.status, live.since = "in_use", open_sessions[machine.id]
        elif current is not None:
            live.status = "booked"
        out[machine.id] = live
    return out
