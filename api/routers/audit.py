"""The audit log (append-only): staff and administrators only.

Members see what is held about them through their own data export; API keys (nodes,
integrations) never read it: it records who opened which door when.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..db.models import AuditEntry
from ..deps import SessionDep, StaffUser
from ..fields import Identifier, Text, When, errors

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ts: datetime
    action: str
    actor: str
    member_id: int | None
    door: str | None = Field(validation_alias=AliasChoices("door", "door_id"))
    space: str | None = Field(validation_alias=AliasChoices("space", "space_id"))
    detail: dict


@router.get("", response_model=list[AuditPublic], summary="Audit entries, newest first (staff)",
            responses=errors((403, "Staff only")))
def read_audit(user: StaffUser, session: SessionDep,
               door: Identifier | None = Query(default=None),
               space: Identifier | None = Query(default=None),
               action: Text | None = Query(default=None, max_length=40, description="e.g. access_granted, access_denied"),
               member: int | None = Query(default=None, ge=1, le=2_147_483_647),
               since: When | None = None, until: When | None = None,
               limit: int = Query(default=100, ge=1, le=1000)) -> list[AuditPublic]:
    q = select(AuditEntry).order_by(AuditEntry.ts.desc(), AuditEntry.id.desc())
    if member is not None:
        q = q.where(AuditEntry.member_id == member)
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
    return [AuditPublic.model_validate(e) for e in session.execute(q.limit(limit)).scalars()]
