"""The rules a booking must follow; each broken rule is a :class:`BookingRefused` naming it.

422 (the request cannot be a booking): in the past, end before start, longer than the
space's limit, over capacity, outside opening hours, not bookable, too far ahead.
409 (it could be, but the room is taken): overlaps a confirmed or checked-in booking.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.inventory import Inventory

from .db.models import HOLDING, Booking

#: A booking "now" made in two taps reaches the API a moment after ``now``.
PAST_GRACE = timedelta(minutes=5)


class BookingRefused(Exception):
    def __init__(self, status: int, rule: str, message: str):
        super().__init__(message)
        self.status, self.rule, self.message = status, rule, message


def check_booking(session: Session, inventory: Inventory, *, space_id: str, start: datetime, end: datetime,
                  attendees: int, now: datetime, horizon: timedelta) -> None:
    """Raise BookingRefused for the first broken rule; the conflict check comes last."""
    site, space = inventory.space(space_id)
    tz = ZoneInfo(site.timezone)
    if not space.bookable:
        raise BookingRefused(422, "not_bookable", f"{space.name} cannot be booked")
    if end <= start:
        raise BookingRefused(422, "end_before_start", "the booking must end after it starts")
    if start < now - PAST_GRACE:
        raise BookingRefused(422, "in_the_past", f"the booking starts in the past ({start.astimezone(tz):%Y-%m-%d %H:%M})")
    if start > now + horizon:
        raise BookingRefused(422, "too_far_ahead", f"bookings open {horizon.days} days ahead at most")
    minutes = (end - start).total_seconds() / 60
    if minutes > space.max_booking_minutes:
        raise BookingRefused(422, "too_long", f"{space.name} can be booked {space.max_booking_minutes} minutes at most "
                                              f"(asked {minutes:.0f})")
    if attendees > space.capacity:
        raise BookingRefused(422, "over_capacity", f"{space.name} holds {space.capacity} people (asked {attendees})")
    lo, hi = start.astimezone(tz), end.astimezone(tz)
    intervals = inventory.opening_hours(space_id).day(lo.weekday())
    inside = any(datetime.combine(lo.date(), i.open, tzinfo=tz) <= lo and hi <= datetime.combine(lo.date(), i.close, tzinfo=tz)
                 for i in intervals)
    if not inside:
        hours = ", ".join(str(i) for i in intervals) or "closed"
        raise BookingRefused(422, "outside_opening_hours",
                             f"{lo:%H:%M}-{hi:%H:%M} is outside the opening hours of {space.name} on {lo:%A} ({hours})")
    clash = session.execute(select(Booking).where(Booking.space_id == space_id, Booking.status.in_(HOLDING),
                                                  Booking.start < end, Booking.end > start)
                            .order_by(Booking.start).limit(1)).scalar_one_or_none()
    if clash is not None:
        raise BookingRefused(409, "conflict", f"{space.name} is already booked "
                                              f"{clash.start.astimezone(tz):%H:%M}-{clash.end.astimezone(tz):%H:%M}")
