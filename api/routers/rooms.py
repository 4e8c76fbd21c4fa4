"""Rooms: every space with its live status, occupancy, free-until and next booking.

The handlers are ``async``: they read the in-memory occupancy and the (briefly
cached) bookings, and touch the database at most once every couple of seconds. The
public list (the board, the hall screen) is built and serialised once per change, or
per second at most; a logged-in member gets a copy with their own bookings named.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field, TypeAdapter

from station.contract import RoomStatus
from station.inventory import SpaceKind

from ..availability import RoomState
from ..room_status import seats_free
from ..deps import InventoryDep, OptionalUser, RoomsDep, is_staff
from ..fields import Identifier, errors

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])


class OccupancyPublic(BaseModel):
    occupied: bool | None
    confidence: float | None
    people_estimate: float | None
    co2_ppm: float | None
    updated_at: datetime | None
    people_low: float | None = None  # the estimate's 10th and 90th percentiles
    people_high: float | None = None
    reason: str | None = None  # why, in words ("motion 2 min ago; CO2 rising 40 ppm/10 min")


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
    doors: list[str] = Field(description="The doors into the space")
    booking: Literal["room", "seat"] = Field(description="room: booked whole; seat: booked by the seat (coworking)")
    seats_free: int | None = Field(description="Seats not booked now (spaces booked by the seat; else null)")


def room_public(rooms, inventory, state: RoomState, viewer) -> RoomPublic:
    site, space = inventory.space(state.room)
    occ = rooms.occupancy.get(space.id)
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
            updated_at=occ.ts if occ else None, people_low=occ.people_low if occ else None,
            people_high=occ.people_high if occ else None, reason=occ.reason if occ else None),
        free_until=state.free_until, next_booking=next_booking,
        doors=[d.id for d in inventory.doors_of(space.id)], booking=space.booking,
        seats_free=seats_free(inventory, state))


def list_rooms(rooms, inventory, viewer, site: str | None = None, kind: SpaceKind | None = None) -> list[RoomPublic]:
    states = rooms.states(rooms.clock.now())
    return [room_public(rooms, inventory, states[space.id], viewer) for s, space in inventory.spaces()
            if (site is None or s.id == site) and (kind is None or space.kind == kind)]


ROOMS_JSON = TypeAdapter(list[RoomPublic])


def public_rooms(rooms, inventory, site, kind) -> tuple[list[RoomPublic], bytes]:
    """The anonymous view (no booker names), built once per change or per second."""
    def build():
        listed = list_rooms(rooms, inventory, None, site, kind)
        return listed, ROOMS_JSON.dump_json(listed)

    return rooms.view(("rooms", site, kind), build)


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


@router.get("", response_model=list[RoomPublic], responses=errors((404, "No such site")),
            summary="Every space with its live status")
async def read_rooms(rooms: RoomsDep, inventory: InventoryDep, user: OptionalUser,
                     site: Identifier | None = Query(default=None, description="Only spaces of this site"),
                     kind: SpaceKind | None = Query(default=None, description="Only spaces of this kind")) -> Response:
    if site is not None and site not in {s.id for s in inventory.sites}:
        raise HTTPException(404, f"no site {site!r}")
    listed, body = public_rooms(rooms, inventory, site, kind)
    if user is not None:
        body = ROOMS_JSON.dump_json(personalise(listed, user))
    return Response(body, media_type="application/json")


@router.get("/{room_id}", response_model=RoomPublic, summary="One space with its live status",
            responses=errors((404, "No such space")))
async def read_room(room_id: Identifier, rooms: RoomsDep, inventory: InventoryDep, user: OptionalUser) -> RoomPublic:
    try:
        inventory.space(room_id)
    except KeyError:
        raise HTTPException(404, f"no room {room_id!r}") from None
    state = rooms.states(rooms.clock.now(), only=room_id)[room_id]
    return room_public(rooms, inventory, state, user)
