"""What a room is now: occupancy from the collector combined with the bookings.

- ``occupied`` when the collector says people are there (the truth beats the calendar);
- ``reserved`` when a booking holds the room now (confirmed or checked in);
- ``free`` when the collector says it is empty and no booking holds it;
- ``unknown`` when the collector cannot tell and no booking holds it.

``free_until`` (only when free) is the earlier of the next booking's start and the end
of the opening interval the space is in now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from station.contract import RoomAvailability, RoomOccupancy, RoomStatus
from station.inventory import Inventory

from .db.models import Booking


@dataclass(frozen=True)
class RoomState:
    room: str
    status: RoomStatus
    free_until: datetime | None
    current: Booking | None
    upcoming: Booking | None

    @property
    def next_booking(self) -> Booking | None:
        return self.current or self.upcoming

    def key(self) -> tuple:
        nb = self.next_booking
        return (self.status, self.free_until, nb.start if nb else None, nb.end if nb else None)

    def message(self, now: datetime) -> RoomAvailability:
        nb = self.next_booking
        return RoomAvailability(ts=now, room=self.room, status=self.status, free_until=self.free_until,
                                next_booking_start=nb.start if nb else None, next_booking_end=nb.end if nb else None)


_PLACES: dict[tuple[int, str], tuple] = {}


def place(inventory: Inventory, room: str) -> tuple:
    """(site, space, time zone, opening hours) of a space, looked up once per inventory."""
    key = (id(inventory), room)
    found = _PLACES.get(key)
    if found is None or found[0] is not inventory:
        site, space = inventory.space(room)
        found = _PLACES[key] = (inventory, site, space, ZoneInfo(site.timezone), inventory.opening_hours(room))
    return found[1:]


def opening_end(inventory: Inventory, room: str, now: datetime) -> datetime | None:
    """End of the opening interval the space is in at ``now``, or None when closed."""
    _, _, tz, hours = place(inventory, room)
    local = now.astimezone(tz)
    for interval in hours.day(local.weekday()):
        if interval.open <= local.time().replace(tzinfo=None) < interval.close:
            return datetime.combine(local.date(), interval.close, tzinfo=tz)
    return None


def room_state(inventory: Inventory, room: str, occupancy: RoomOccupancy | None, bookings: list[Booking],
               now: datetime) -> RoomState:
    """``bookings``: the room's holding bookings that end after ``now``, sorted by start."""
    current = next((b for b in bookings if b.start <= now < b.end), None)
    upcoming = next((b for b in bookings if b.start > now), None)
    if occupancy is not None and occupancy.occupied:
        status = RoomStatus.occupied
    elif current is not None:
        status = RoomStatus.reserved
    elif occupancy is None or occupancy.occupied is None:
        status = RoomStatus.unknown
    else:
        status = RoomStatus.free
    free_until = None
    if status is RoomStatus.free:
        ends = [t for t in (opening_end(inventory, room, now), upcoming.start if upcoming else None) if t]
        free_until = min(ends).astimezone(timezone.utc) if ends else None
    return RoomState(room, status, free_until, current, upcoming)
