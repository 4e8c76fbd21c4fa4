"""What a room is now: occupancy from the collector combined with the bookings.

- ``occupied`` when the collector says people are there (the truth beats the calendar);
- ``reserved`` when a booking holds the room now (confirmed or checked in) — in a space
  booked by the seat, when its bookings take every seat now;
- ``free`` when the collector says it is empty and no booking holds it;
- ``unknown`` when the collector cannot tell and no booking holds it.

A closure or a programmed event (:mod:`api.closures`) holds the space like a booking:
``reserved`` while it lasts (``closure`` says which), unless people are seen there.

``free_until`` (only when free) is the earliest of the next booking's start, the next
closure's start and the end of the opening interval the space is in now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from station.contract import RoomAvailability, RoomOccupancy, RoomStatus
from station.inventory import Inventory

from .db.calendars import BlockedPeriod
from .db.models import Booking


@dataclass(frozen=True)
class RoomState:
    room: str
    status: RoomStatus
    free_until: datetime | None
    current: Booking | None
    upcoming: Booking | None
    #: In a space booked by the seat: the seats its bookings take now (else None).
    seats_taken: int | None = None
    #: The closure or programmed event holding the space now (else None).
    closure: BlockedPeriod | None = None

    @property
    def next_booking(self) -> Booking | None:
        return self.current or self.upcoming

    def key(self) -> tuple:
        nb = self.next_booking
        return (self.status, self.free_until, nb.start if nb else None, nb.end if nb else None, self.seats_taken,
                self.closure.id if self.closure else None)

    def message(self, now: datetime) -> RoomAvailability:
        nb = self.next_booking
        return RoomAvailability(ts=now, room=self.room, status=self.status, free_until=self.free_until,
                                next_booking_start=nb.start if nb else None, next_booking_end=nb.end if nb else None)


def opening_end(inventory: Inventory, room: str, now: datetime) -> datetime | None:
    """End of the opening interval the space is in at ``now``, or None when closed."""
    tz, hours = inventory.timezone(room), inventory.opening_hours(room)
    local = now.astimezone(tz)
    for interval in hours.day(local.weekday()):
        if interval.open <= local.time().replace(tzinfo=None) < interval.close:
            return datetime.combine(local.date(), interval.close, tzinfo=tz)
    return None


def room_state(inventory: Inventory, room: str, occupancy: RoomOccupancy | None, bookings: list[Booking],
               now: datetime, blocked: list[BlockedPeriod] = ()) -> RoomState:
    """``bookings``: the room's holding bookings that end after ``now``, sorted by start;
    ``blocked``: its closures and programmed events that end after ``now``, sorted by start."""
    _, space = inventory.space(room)
    if space.booking == "seat":  # desks: the space is reserved only when every seat is
        holding = [b for b in bookings if b.start <= now < b.end]
        seats = sum(b.attendees for b in holding)
        current = holding[0] if seats >= space.capacity else None
        upcoming = None
    else:
        seats = None
        current = next((b for b in bookings if b.start <= now < b.end), None)
        upcoming = next((b for b in bookings if b.start > now), None)
    closure = next((p for p in blocked if p.start <= now < p.end), None)
    if occupancy is not None and occupancy.occupied:
        status = RoomStatus.occupied
    elif current is not None or closure is not None:
        status = RoomStatus.reserved
    elif occupancy is None or occupancy.occupied is None:
        status = RoomStatus.unknown
    else:
        status = RoomStatus.free
    free_until = None
    if status is RoomStatus.free:
        next_closure = next((p.start for p in blocked if p.start > now), None)
        ends = [t for t in (opening_end(inventory, room, now), upcoming.start if upcoming else None, next_closure) if t]
        free_until = min(ends).astimezone(timezone.utc) if ends else None
    return RoomState(room, status, free_until, current, upcoming, seats, closure)
