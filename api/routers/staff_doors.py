"""A door's latest staff commands and what its node answered (the staff console's door page)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from ..db.models import DoorCommandRow
from ..deps import ClockDep, InventoryDep, SessionDep, StaffUser
from ..fields import Identifier, errors
from .doors import CommandPublic, _command_public

router = APIRouter(prefix="/api/v1", tags=["doors"])


@router.get("/doors/{door_id}/commands", response_model=list[CommandPublic],
            responses=errors((403, "Staff only"), (404, "No such door")),
            summary="A door's latest commands, newest first, with what the node answered (staff)")
def read_door_commands(door_id: Identifier, user: StaffUser, session: SessionDep, inventory: InventoryDep, clock: ClockDep,
                       limit: int = Query(default=10, ge=1, le=100)) -> list[CommandPublic]:
    try:
        inventory.door(door_id)
    except KeyError:
        raise HTTPException(404, f"no door {door_id!r}") from None
    rows = session.execute(select(DoorCommandRow).where(DoorCommandRow.door_id == door_id)
                           .order_by(DoorCommandRow.seq.desc()).limit(limit)).scalars()
    now = clock.now()
    return [_command_public(r, now) for r in rows]
