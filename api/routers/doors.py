"""Doors: their signed grant lists, the public key, staff commands and the cards they did not know.

Staff commands are signed, sequenced per door and expiring (see :mod:`api.commands`);
``POST`` answers 202 with the command and its status ``pending``, and
``GET /api/v1/doors/{door}/commands/{id}`` says when the node applied (or refused) it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from station.contract import DoorAction, GrantList

from .. import audit
from ..db.models import STAFF_ROLES, CommandStatus, DoorCommandRow, Role, UnknownCard
from ..deps import ClockDep, CommandsDep, CurrentUser, GrantsDep, InventoryDep, RuntimeDep, SessionDep, StaffUser
from ..fields import Identifier, Text, errors
from .door_live import DoorLivePublic, door_live

router = APIRouter(prefix="/api/v1", tags=["doors"])
NOT_FOUND = errors((404, "No such door"))
STAFF_ONLY = errors((403, "Staff only"))


class DoorPublic(BaseModel):
    id: str
    name: str
    site: str
    space: str
    grant_version: int | None
    grant_expires_at: datetime | None
    grant_entries: int | None
    live: DoorLivePublic | None = Field(default=None, description="Contact, alarm, lock mode, node and last events")


class CommandCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: DoorAction
    ttl_s: int = Field(default=60, ge=5, le=3600, description="The node ignores the command after this")


class CommandPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    door: str = Field(validation_alias="door_id")
    seq: int
    action: DoorAction
    issued_at: datetime
    expires_at: datetime
    status: CommandStatus
    answered_at: datetime | None = Field(description="When the node applied or refused it")
    reason: str | None


class UnknownCardPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    door: str = Field(validation_alias="door_id")
    credential_hash: str
    first_seen: datetime
    last_seen: datetime
    times: int


def _door(inventory, door_id: str):
    try:
        return inventory.door(door_id)
    except KeyError:
        raise HTTPException(404, f"no door {door_id!r}") from None


@router.get("/keys/signing.pub.pem", response_class=PlainTextResponse, summary="The public key nodes verify with")
def read_public_key(runtime: RuntimeDep) -> str:
    return runtime.keys.public_pem()


@router.get("/doors", response_model=list[DoorPublic], responses=STAFF_ONLY,
            summary="Every door, its current grant list and its live state (staff)")
def read_doors(user: StaffUser, grants: GrantsDep, inventory: InventoryDep, runtime: RuntimeDep) -> list[DoorPublic]:
    out = []
    for site, door in inventory.doors():
        grant = grants.current(door.id)
        out.append(DoorPublic(id=door.id, name=door.name, site=site.id, space=door.space,
                              grant_version=grant.version if grant else None,
                              grant_expires_at=grant.expires_at if grant else None,
                              grant_entries=len(grant.entries) if grant else None, live=door_live(runtime, door)))
    return out


@router.get("/doors/{door_id}/grants", response_model=GrantList,
            responses={**NOT_FOUND, **errors((403, "Staff or node keys only"))},
            summary="The door's current signed grant list (staff and node keys)")
def read_grants(door_id: Identifier, user: CurrentUser, grants: GrantsDep, inventory: InventoryDep) -> GrantList:
    if user.role not in (*STAFF_ROLES, Role.node):
        raise HTTPException(403, "staff or node keys only")
    _door(inventory, door_id)
    grant = grants.current(door_id)
    if grant is None:
        raise HTTPException(404, f"no grant list issued yet for {door_id!r}")
    return grant


@router.post("/doors/{door_id}/commands", status_code=202, response_model=CommandPublic,
             responses={**NOT_FOUND, **STAFF_ONLY, **errors((503, "The broker is unreachable; nothing sent"))},
             summary="Unlock once, lock down, release or return a door to normal (staff)")
def create_door_command(door_id: Identifier, body: CommandCreate, user: StaffUser, session: SessionDep,
                        runtime: RuntimeDep, commands: CommandsDep, inventory: InventoryDep,
                        clock: ClockDep) -> CommandPublic:
    _, door = _door(inventory, door_id)
    if runtime.bus is None or not runtime.bus.connected.is_set():
        raise HTTPException(503, "the broker is unreachable; the command was not sent")
    now = clock.now()
    topic, command = commands.issue(session, door.id, body.action, issued_by=user.id, now=now,
                                    ttl=timedelta(seconds=body.ttl_s))
    audit.record(session, now, "door_command", audit.actor_of(user), member_id=user.id, door_id=door.id,
                 space_id=door.space, detail={"command": command.id, "seq": command.seq, "action": body.action.value,
                                              "expires_at": command.expires_at.isoformat()})
    session.commit()
    if not runtime.send(topic, command):
        raise HTTPException(503, "the broker became unreachable; the command was not sent")
    return _command_public(session.get(DoorCommandRow, command.id), now)


def _command_public(row: DoorCommandRow, now: datetime) -> CommandPublic:
    public = CommandPublic.model_validate(row)
    return public.model_copy(update={"status": row.status if row.status is not CommandStatus.pending
                                     or now < row.expires_at else CommandStatus.expired})


@router.get("/doors/{door_id}/commands/{command_id}", response_model=CommandPublic,
            responses={**STAFF_ONLY, **errors((404, "No such door or command"))},
            summary="A command and what the node answered: pending, applied, rejected or expired (staff)")
def read_door_command(door_id: Identifier, command_id: Text, user: StaffUser, session: SessionDep,
                      inventory: InventoryDep, clock: ClockDep) -> CommandPublic:
    _door(inventory, door_id)
    row = session.get(DoorCommandRow, command_id[:64])
    if row is None or row.door_id != door_id:
        raise HTTPException(404, f"no command {command_id!r} for door {door_id!r}")
    return _command_public(row, clock.now())


@router.get("/doors/{door_id}/unknown-cards", response_model=list[UnknownCardPublic],
            responses={**NOT_FOUND, **STAFF_ONLY},
            summary="Cards this door refused as unknown lately, newest first (staff): enrol one by tapping it")
def read_unknown_cards(door_id: Identifier, user: StaffUser, session: SessionDep,
                       inventory: InventoryDep) -> list[UnknownCardPublic]:
    _door(inventory, door_id)
    rows = session.execute(select(UnknownCard).where(UnknownCard.door_id == door_id)
                           .order_by(UnknownCard.last_seen.desc(), UnknownCard.id.desc())).scalars()
    return [UnknownCardPublic.model_validate(r) for r in rows]

