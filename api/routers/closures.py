"""Closures and programmed events: list (public), import an ICS calendar, remove (staff).

``POST /api/v1/closures/import`` takes the ICS text (a file's content); the URL form
is the command line's (``station api import-closures URL``), so the API never fetches
an address a request names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from .. import audit
from ..closures import CalendarUnreadable, import_calendar
from ..db.calendars import BlockedPeriod
from ..deps import ClockDep, InventoryDep, RowId, RuntimeDep, SessionDep, StaffUser, unprocessable
from ..fields import Identifier, MultilineText, Text, When, errors

router = APIRouter(prefix="/api/v1/closures", tags=["closures"])


class BlockedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    space_id: str
    start: datetime
    end: datetime
    kind: str
    summary: str
    source: str


class ClosureImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ics: MultilineText = Field(min_length=1, max_length=2_000_000, description="An iCalendar (RFC 5545) document")
    source: Text = Field(min_length=1, max_length=200, description="A name for it: importing it again replaces it")
    spaces: list[Identifier] = Field(default_factory=list, max_length=100,
                              description="Spaces of events whose LOCATION names none")
    kind: Literal["closure", "event"] = "closure"


class ImportResult(BaseModel):
    source: str
    periods: int
    spaces: list[str]
    skipped: list[str]
    overlapping_bookings: list[int]


@router.get("", response_model=list[BlockedPublic], summary="Closures and programmed events of a period")
def read_closures(session: SessionDep, clock: ClockDep, space: Identifier | None = Query(default=None),
                  start: When | None = None, end: When | None = None) -> list[BlockedPublic]:
    start = start or clock.now()
    end = end or start + timedelta(days=31)
    q = select(BlockedPeriod).where(BlockedPeriod.start < end, BlockedPeriod.end > start).order_by(BlockedPeriod.start)
    if space:
        q = q.where(BlockedPeriod.space_id == space)
    return [BlockedPublic.model_validate(p) for p in session.execute(q.limit(2000)).scalars()]


@router.post("/import", response_model=ImportResult, summary="Import closures or a programme from ICS (staff)",
             responses=errors((403, "Staff only"), (404, "No such space")))
def import_closures(body: ClosureImport, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                    inventory: InventoryDep, clock: ClockDep) -> ImportResult:
    for space_id in body.spaces:
        try:
            inventory.space(space_id)
        except KeyError:
            raise HTTPException(404, f"no space {space_id!r}") from None
    now = clock.now()
    try:
        result = import_calendar(runtime.db, inventory, body.ics, source=f"api:{body.source}", now=now,
                                 horizon_days=runtime.settings.booking_horizon_days, spaces=body.spaces,
                                 kind=body.kind)
    except CalendarUnreadable as exc:
        raise unprocessable(str(exc), field="ics") from None
    audit.record(session, now, "closures_imported", audit.actor_of(user),
                 detail={"source": result.source, "periods": result.periods})
    session.commit()
    runtime.closures_changed(result.spaces)
    return ImportResult(source=result.source, periods=result.periods, spaces=sorted(result.spaces),
                        skipped=result.skipped, overlapping_bookings=result.overlapping)


@router.delete("/{closure_id}", response_model=BlockedPublic, summary="Remove one blocked period (staff)",
               responses=errors((403, "Staff only"), (404, "No such period")))
def delete_closure(closure_id: RowId, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                   clock: ClockDep) -> BlockedPublic:
    period = session.get(BlockedPeriod, closure_id)
    if period is None:
        raise HTTPException(404, f"no closure {closure_id}")
    out = BlockedPublic.model_validate(period)
    session.delete(period)
    audit.record(session, clock.now(), "closure_removed", audit.actor_of(user), space_id=out.space_id,
                 detail={"closure": out.id})
    session.commit()
    runtime.closures_changed([out.space_id])
    return out
