"""Rooms: every space with its live status, occupancy and how long it stays free."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from station.contract import RoomStatus
from station.inventory import SpaceKind

from ..deps import BoardDep, ClockDep, InventoryDep

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])


class OccupancyPublic(BaseModel):
    occupied: bool | None
    confidence: float | None
    people_estimate: float | None
    co2_ppm: float | None
    updated_at: datetime | None


class RoomPublic(BaseModel):
    id: str
    name: str
    site: str
    kind: SpaceKind
    capacity: int
    floor: int
    bookable: bool
    status: RoomStatus
    occupancy: OccupancyPublic
    free_until: datetime | None


def _room(board, inventory, space_id: str, now: datetime) -> RoomPublic:
    site, space = inventory.space(space_id)
    occ = board.occupancy.get(space.id)
    status = board.status(space.id)
    return RoomPublic(
        id=space.id, name=space.name, site=site.id, kind=space.kind, capacity=space.capacity,
        floor=space.floor, bookable=space.bookable, status=status,
        occupancy=OccupancyPublic(
            occupied=occ.occupied if occ else None, confidence=occ.confidence if occ else None,
            people_estimate=occ.people_estimate if occ else None, co2_ppm=occ.co2_ppm if occ else None,
            updated_at=occ.ts if occ else None),
        free_until=board.free_until(space.id, now) if status is RoomStatus.free else None,
    )


@router.get("", response_model=list[RoomPublic], summary="Every space with its live status")
def read_rooms(board: BoardDep, inventory: InventoryDep, clock: ClockDep,
               site: str | None = Query(default=None, description="Only spaces of this site"),
               kind: SpaceKind | None = Query(default=None, description="Only spaces of this kind")) -> list[RoomPublic]:
    if site is not None and site not in {s.id for s in inventory.sites}:
        raise HTTPException(404, f"no site {site!r}")
    now = clock.now()
    return [_room(board, inventory, space.id, now) for s, space in inventory.spaces()
            if (site is None or s.id == site) and (kind is None or space.kind == kind)]


@router.get("/{room_id}", response_model=RoomPublic, summary="One space with its live status",
            responses={404: {"description": "No such space"}})
def read_room(room_id: str, board: BoardDep, inventory: InventoryDep, clock: ClockDep) -> RoomPublic:
    try:
        inventory.space(room_id)
    except KeyError:
        raise HTTPException(404, f"no room {room_id!r}") from None
    return _room(board, inventory, room_id, clock.now())
