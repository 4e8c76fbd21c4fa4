"""Rooms: every space with its live status, occupancy, free-until and next booking.

The handlers are ``async``: they read the in-memory occupancy and the (briefly
cached) bookings, and touch the database at most once every couple of seconds. The
public list (the board, the hall screen) is built and serialised once per change, or
per second at most; a logged-in member gets a copy with their own bookings named.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter

from station.contract import RoomStatus
from station.inventory import SpaceKind

from ..availability import RoomState, place
from ..deps import InventoryDep, OptionalUser, StationDep, is_staff

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])


class OccupancyPublic(BaseModel):
    occupied: bool | None
    confidence: float | None
    people_estimate: float | None
    co2_ppm: float | None
    updated_at: datetime | None


class NextBooking(BaseModel):
    start: datetime
    end: datetime
    mine: bool
    booker: str | None = None  # only for the booker and staff
    booking: Any = Field(default=None, exclude=True, repr=False)  # server side only, never serialised


class RoomPublic(BaseModel):
    id: str
    name: str
    site: str
    kind: SpaceKind
    capacity: int
    floor: int
    bookable: bool
    max_booking_minutes: int
    status: RoomStatus
    occupancy: OccupancyPublic
    free_until: datetime | None
    next_booking: NextBooking | None


def room_public(station, inventory, state: RoomState, viewer) -> RoomPublic:
    site, space, _, _ = place(inventory, state.room)
    occ = station.board.occupancy.get(space.id)
    nb = state.next_booking
    next_booking = None
    if nb is not None:
        mine = viewer is not None and nb.member_id == viewer.id
        next_booking = NextBooking(start=nb.start, end=nb.end, mine=mine, booking=nb,
                                   booker=nb.member.name if (mine or is_staff(viewer)) else None)
    return RoomPublic(
        id=space.id, name=space.name, site=site.id, kind=space.kind, capacity=space.capacity,
        floor=space.floor, bookable=space.bookable, max_booking_minutes=space.max_booking_minutes,
        status=state.status,
        occupancy=OccupancyPublic(
            occupied=occ.occupied if occ else None, confidence=occ.confidence if occ else None,
            people_estimate=occ.people_estimate if occ else None, co2_ppm=occ.co2_ppm if occ else None,
            updated_at=occ.ts if occ else None),
        free_until=state.free_until, next_booking=next_booking)


def list_rooms(station, inventory, viewer, site: str | None = None, kind: SpaceKind | None = None) -> list[RoomPublic]:
    states = station.room_states(station.clock.now())
    return [room_public(station, inventory, states[space.id], viewer) for s, space in inventory.spaces()
            if (site is None or s.id == site) and (kind is None or space.kind == kind)]


ROOMS_JSON = TypeAdapter(list[RoomPublic])
#: The public room list is kept at most this long, and dropped on any change seen here.
PUBLIC_TTL_S = 1.0


def public_rooms(request: Request, station, inventory, site, kind) -> tuple[list[RoomPublic], bytes]:
    """The anonymous view (no booker names), built once per change or per second."""
    cache = request.app.state.__dict__.setdefault("_rooms_cache", {})
    key, now = (site, kind), time.monotonic()
    hit = cache.get(key)
    if hit is None or hit[0] != station.generation or hit[1] < now:
        generation = station.generation
        rooms = list_rooms(station, inventory, None, site, kind)
        hit = cache[key] = (generation, now + PUBLIC_TTL_S, rooms, ROOMS_JSON.dump_json(rooms))
    return hit[2], hit[3]


def personalise(rooms: list[RoomPublic], viewer) -> list[RoomPublic]:
    """Show the booker's name where the viewer may see it: their own bookings; staff: all."""
    out = []
    for room in rooms:
        nb = room.next_booking
        booking = nb and nb.booking
        if booking is not None and (booking.member_id == viewer.id or is_staff(viewer)):
            mine = booking.member_id == viewer.id
            room = room.model_copy(update={"next_booking": nb.model_copy(
                update={"mine": mine, "booker": booking.member.name})})
        out.append(room)
    return out


@router.get("", response_model=list[RoomPublic], summary="Every space with its live status")
async def read_rooms(request: Request, station: StationDep, inventory: InventoryDep, user: OptionalUser,
                     site: str | None = Query(default=None, description="Only spaces of this site"),
                     kind: SpaceKind | None = Query(default=None, description="Only spaces of this kind")) -> Response:
    if site is not None and site not in {s.id for s in inventory.sites}:
        raise HTTPException(404, f"no site {site!r}")
    rooms, body = public_rooms(request, station, inventory, site, kind)
    if user is not None:
        body = ROOMS_JSON.dump_json(personalise(rooms, user))
    return Response(body, media_type="application/json")


@router.get("/{room_id}", response_model=RoomPublic, summary="One space with its live status",
            responses={404: {"description": "No such space"}})
async def read_room(room_id: str, station: StationDep, inventory: InventoryDep, user: OptionalUser) -> RoomPublic:
    try:
        inventory.space(room_id)
    except KeyError:
        raise HTTPException(404, f"no room {room_id!r}") from None
    state = station.room_states(station.clock.now(), only=room_id)[room_id]
    return room_public(station, inventory, state, user)
