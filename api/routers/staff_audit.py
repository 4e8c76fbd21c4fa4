"""The audit log as CSV, and every door's unknown cards in one list (staff).

The CSV takes the same filters as ``GET /api/v1/audit`` (member, door, space, action,
time) and names the member of each line: an investigation needs it, and only staff
read the audit log. Cells that a spreadsheet would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from ..db.models import AuditEntry, Member, UnknownCard
from ..deps import InventoryDep, SessionDep, StaffUser
from ..fields import Identifier, Text, When, errors
from .staff_bookings import csv_cell

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])
STAFF_ONLY = errors((403, "Staff only"))


@router.get("/audit.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "One audit entry a line, newest first"},
                       **STAFF_ONLY},
            summary="The audit log as CSV, with the filters of GET /api/v1/audit (staff)")
def export_audit(user: StaffUser, session: SessionDep,
                 door: Identifier | None = Query(default=None),
                 space: Identifier | None = Query(default=None),
                 action: Text | None = Query(default=None, max_length=40),
                 member: int | None = Query(default=None, ge=1, le=2_147_483_647),
                 since: When | None = None, until: When | None = None,
                 limit: int = Query(default=10_000, ge=1, le=100_000)) -> Response:
    q = (select(AuditEntry, Member.name).outerjoin(Member, Member.id == AuditEntry.member_id)
         .order_by(AuditEntry.ts.desc(), AuditEntry.id.desc()))
    for column, value in ((AuditEntry.member_id, member), (AuditEntry.door_id, door), (AuditEntry.space_id, space),
                          (AuditEntry.action, action)):
        if value:
            q = q.where(column == value)
    if since:
        q = q.where(AuditEntry.ts >= since)
    if until:
        q = q.where(AuditEntry.ts < until)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("id", "ts", "action", "actor", "member_id", "member_name", "door", "space", "detail"))
    for entry, name in session.execute(q.limit(limit)):
        writer.writerow([csv_cell(v) for v in (entry.id, entry.ts.isoformat(), entry.action, entry.actor,
                                               entry.member_id, name, entry.door_id, entry.space_id,
                                               json.dumps(entry.detail or {}, sort_keys=True))])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


class UnknownCardAtDoor(BaseModel):
    id: int
    door: str
    door_name: str
    site: str
    credential_hash: str
    first_seen: datetime
    last_seen: datetime
    times: int


@router.get("/unknown-cards", response_model=list[UnknownCardAtDoor], responses=STAFF_ONLY,
            summary="Cards refused as unknown at any reader, newest first (staff): enrol one by tapping it")
def read_all_unknown_cards(user: StaffUser, session: SessionDep, inventory: InventoryDep,
                           door: Identifier | None = Query(default=None),
                           limit: int = Query(default=50, ge=1, le=500)) -> list[UnknownCardAtDoor]:
    q = select(UnknownCard).order_by(UnknownCard.last_seen.desc(), UnknownCard.id.desc())
    if door:
        q = q.where(UnknownCard.door_id == door)
    out = []
    for card in session.execute(q.limit(limit)).scalars():
        site, d = inventory.door(card.door_id)
        out.append(UnknownCardAtDoor(id=card.id, door=card.door_id, door_name=d.name, site=site.id,
                                     credential_hash=card.credential_hash, first_seen=card.first_seen,
                                     last_seen=card.last_seen, times=card.times))
    return out
