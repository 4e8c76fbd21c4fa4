"""Doors: their signed grant lists, the public key, and staff commands (signed, expiring, audited)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from station.contract import DoorAction, DoorCommand, GrantList, topics
from station.contract.signing import sign

from ..db.models import STAFF_ROLES, Role
from ..deps import ClockDep, CurrentUser, InventoryDep, SessionDep, StaffUser, StationDep
from ..service import audit

router = APIRouter(prefix="/api/v1", tags=["doors"])
NOT_FOUND = {404: {"description": "No such door"}}


class DoorPublic(BaseModel):
    id: str
    name: str
    site: str
    space: str
    grant_version: int | None
    grant_expires_at: datetime | None
    grant_entries: int | None


class CommandCreate(BaseModel):
    action: DoorAction
    ttl_s: int = Field(default=60, ge=5, le=3600, description="The node ignores the command after this")


def _door(inventory, door_id: str):
    try:
        return inventory.door(door_id)
    except KeyError:
        raise HTTPException(404, f"no door {door_id!r}") from None


@router.get("/keys/signing.pub.pem", response_class=PlainTextResponse, summary="The public key nodes verify with")
def read_public_key(station: StationDep) -> str:
    return station.keys.public_pem()


@router.get("/doors", response_model=list[DoorPublic], summary="Every door and its current grant list (staff)")
def read_doors(user: StaffUser, station: StationDep, inventory: InventoryDep) -> list[DoorPublic]:
    out = []
    for site, door in inventory.doors():
        grant = station.grants.current(door.id)
        out.append(DoorPublic(id=door.id, name=door.name, site=site.id, space=door.space,
                              grant_version=grant.version if grant else None,
                              grant_expires_at=grant.expires_at if grant else None,
                              grant_entries=len(grant.entries) if grant else None))
    return out


@router.get("/doors/{door_id}/grants", response_model=GrantList, responses=NOT_FOUND,
            summary="The door's current signed grant list (staff and node keys)")
def read_grants(door_id: str, user: CurrentUser, station: StationDep, inventory: InventoryDep) -> GrantList:
    if user.role not in (*STAFF_ROLES, Role.node.value):
        raise HTTPException(403, "staff or node keys only")
    _door(inventory, door_id)
    grant = station.grants.current(door_id)
    if grant is None:
        raise HTTPException(404, f"no grant list issued yet for {door_id!r}")
    return grant


@router.post("/doors/{door_id}/commands", status_code=202, response_model=DoorCommand, responses=NOT_FOUND,
             summary="Unlock once, lock down or release a door (staff)")
def create_door_command(door_id: str, body: CommandCreate, user: StaffUser, session: SessionDep,
                        station: StationDep, inventory: InventoryDep, clock: ClockDep) -> DoorCommand:
    site, door = _door(inventory, door_id)
    now = clock.now()
    command = sign(DoorCommand(ts=now, id=secrets.token_hex(8), door=door.id, action=body.action,
                               expires_at=now + timedelta(seconds=body.ttl_s), issued_by=f"member:{user.id}",
                               key_id=station.keys.key_id), station.keys.signing)
    audit(session, now, "door_command", f"member:{user.id}", member_id=user.id, door_id=door.id, space_id=door.space,
          detail={"command": command.id, "action": body.action.value, "expires_at": command.expires_at.isoformat()})
    session.commit()
    if station.bus is None or not station.bus.connected.is_set():
        raise HTTPException(503, "the broker is unreachable; the command was not sent")
    station.bus.publish(topics.door_command(site.id, door.id), command, qos=1, retain=False)
    return command
