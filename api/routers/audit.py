"""The audit log (append-only): staff see everything, a member only their own entries."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select

from ..db.models import AuditEntry, Role
from ..deps import CurrentUser, SessionDep, is_staff

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditPublic(BaseModel):
    id: int
    ts: datetime
    action: str
    actor: str
    member_id: int | None
    door: str | None
    space: str | None
    detail: dict


@router.get("", response_model=list[AuditPublic], summary="Audit entries, newest first")
def read_audit(user: CurrentUser, session: SessionDep,
               door: str | None = Query(default=None, max_length=63),
               space: str | None = Query(default=None, max_length=63),
               action: str | None = Query(default=None, max_length=40, description="e.g. access_granted, access_denied"),
               member: int | None = Query(default=None, ge=1, le=2_147_483_647, description="Staff only"),
               since: AwareDatetime | None = None, until: AwareDatetime | None = None,
               limit: int = Query(default=100, ge=1, le=1000)) -> list[AuditPublic]:
    q = select(AuditEntry).order_by(AuditEntry.ts.desc(), AuditEntry.id.desc())
    if is_staff(user) or user.role == Role.integration.value:
        if member is not None:
            q = q.where(AuditEntry.member_id == member)
    else:
        q = q.where(AuditEntry.member_id == user.id)
    if door:
        q = q.where(AuditEntry.door_id == door)
    if space:
        q = q.where(AuditEntry.space_id == space)
    if action:
        q = q.where(AuditEntry.action == action)
    if since:
        q = q.where(AuditEntry.ts >= since)
    if until:
        q = q.where(AuditEntry.ts < until)
    return [AuditPublic(id=e.id, ts=e.ts, action=e.action, actor=e.actor, member_id=e.member_id, door=e.door_id,
                        space=e.space_id, detail=e.detail or {}) for e in session.execute(q.limit(limit)).scalars()]
