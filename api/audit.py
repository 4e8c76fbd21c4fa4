"""The audit log, written one way: :func:`record` adds an entry to the caller's session.

Entries are append-only (updates and deletes raise, see :mod:`api.db.models`); the
caller commits with the change the entry describes, so the two are durable together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .db.models import AuditEntry


def record(session: Session, now: datetime, action: str, actor: str, **fields) -> AuditEntry:
    entry = AuditEntry(ts=now, action=action, actor=actor, detail=fields.pop("detail", {}), **fields)
    session.add(entry)
    return entry


def actor_of(member) -> str:
    return f"member:{member.id}"
