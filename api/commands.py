"""Staff commands to doors: signed, sequenced per door, stored, and followed to the node's answer.

``issue`` gives a command the door's next sequence number
(:func:`station.access.next_version`, so sequences grow even if the database is lost),
signs it, stores it as ``pending`` and publishes it (QoS 1, not retained — a command
must not be applied by a node that connects later). The node answers with a
``command_applied`` or ``command_rejected`` event naming the command; :meth:`answered`
records it. A command still pending past its expiry reads as ``expired``.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.access import next_version, sign
from station.contract import DoorAction, DoorCommand, topics
from station.inventory import Inventory

from .db.models import CommandStatus, DoorCommandRow, DoorRow
from .keys import Keys


class DoorCommands:
    def __init__(self, inventory: Inventory, keys: Keys):
        self.inventory, self.keys = inventory, keys
        self._lock = threading.Lock()  # one sequence per door, also on SQLite (no row locks)

    def issue(self, session: Session, door_id: str, action: DoorAction, *, issued_by: int, now: datetime,
              ttl: timedelta) -> tuple[str, DoorCommand]:
        """Store and sign the door's next command; return (topic, command) for the caller to
        publish once the session is committed."""
        site, door = self.inventory.door(door_id)
        with self._lock:
            session.get(DoorRow, door.id, with_for_update=True)  # serialises sequences on PostgreSQL
            last = session.execute(select(func.max(DoorCommandRow.seq)).where(DoorCommandRow.door_id == door.id)).scalar()
            command = sign(DoorCommand(ts=now, id=secrets.token_hex(8), seq=next_version(last), door=door.id,
                                       action=action, expires_at=now + ttl, issued_by=f"member:{issued_by}",
                                       key_id=self.keys.key_id), self.keys.signer)
            session.add(DoorCommandRow(id=command.id, door_id=door.id, seq=command.seq, action=action.value,
                                       issued_by=issued_by, issued_at=now, expires_at=command.expires_at,
                                       status=CommandStatus.pending))
            session.flush()
        return topics.door_command(site.id, door.id), command

    @staticmethod
    def answered(session: Session, command_id: str, door_id: str | None, applied: bool, at: datetime,
                 reason: str | None) -> DoorCommandRow | None:
        """Record the node's answer to a command (once: a replayed answer changes nothing)."""
        row = session.get(DoorCommandRow, command_id)
        if row is None or (door_id and row.door_id != door_id) or row.status is not CommandStatus.pending:
            return None
        row.status = CommandStatus.applied if applied else CommandStatus.rejected
        row.answered_at, row.reason = at, (reason or "")[:200] or None
        return row

    @staticmethod
    def status_of(row: DoorCommandRow, now: datetime) -> CommandStatus:
        if row.status is CommandStatus.pending and now >= row.expires_at:
            return CommandStatus.expired
        return row.status
