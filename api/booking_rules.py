"""The rules a booking must follow; each broken rule is a :class:`BookingRefused` naming it.

422 (the request cannot be a booking): in the past, end before start, longer than the
space's limit, over capacity, outside opening hours, during a closure or a programmed
event (``closed``, :mod:`api.closures`), not bookable, too far ahead — and, for a
machine (:func:`check_machine_booking`), not trained on it (``not_trained``).
409 (it could be, but the room is taken): overlaps a confirmed or checked-in booking —
or, in a space booked by the seat (coworking desks, inventory ``booking: seat``), would
take more seats at some moment than the space has.

A refusal carries its rule code and raw parameters; :meth:`BookingRefused.text` says it
in French or English from the one table in :mod:`api.messages`, with the site's zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.inventory import Inventory

from .db.calendars import BlockedPeriod
from .db.models import HOLDING, Booking
from .messages import render

#: A booking "now" made in two taps reaches the API a moment after ``now``.
PAST_GRACE = timedelta(minutes=5)


class BookingRefused(Exception):
    def __init__(self, status: int, rule: str, **params):
        self.status, self.rule, self.params = status, rule, params
        super().__init__(self.text("en"))

    @property
    def message(self) -> str:
        return self.text("en")

    def text(self, lang: str) -> str:
        return render(self.rule, lang, self.params)


def check_booking(session: Session, inventory: Inventory, *, space_id: str, start: datetime, end: datetime,
                  attendees: int, now: datetime, horizon: timedelta) -> None:
    """Raise BookingRefused for the first broken rule; the conflict check comes last."""
    site, space = inventory.space(space_id)
    tz = ZoneInfo(site.timezone)
    name = space.name
    if not space.bookable:
        raise BookingRefused(422, "not_bookable", space=name)
    _check_span(inventory, space_id, name, start, end, now, horizon, space.max_booking_minutes, tz,
                attendees=attendees, capacity=space.capacity)
    _check_closures(session, space_id, name, start, end, tz)
    overlapping = session.execute(select(Booking).where(Booking.space_id == space_id, Booking.status.in_(HOLDING),
                                                        Booking.start < end, Booking.end > start)
                                  .order_by(Booking.start)).scalars().all()
    if space.booking == "seat":
        peak, at = seats_taken(overlapping, start, end)
        if peak + attendees > space.capacity:
            raise BookingRefused(409, "full", space=name, free=space.capacity - peak, at=at, tz=tz, asked=attendees)
    elif overlapping:
        clash = overlapping[0]
        raise BookingRefused(409, "conflict", space=name, start=clash.start, end=clash.end, tz=tz)


def check_machine_booking(session: Session, inventory: Inventory, *, machine_id: str, member_id: int,
                          start: datetime, end: datetime, now: datetime, horizon: timedelta) -> None:
    """A machine's booking: the rules of rooms (the machine's max session for the length,
    its fab lab's opening hours and closures), "trained on it" (422 ``not_trained``), and
    no overlap with another holding booking of the machine (409 ``conflict``) — last."""
    from .db.machines import MachineBooking
    from .db.models import Training

    site, machine = inventory.machine(machine_id)
    tz = ZoneInfo(site.timezone)
    name = machine.name
    if not machine.bookable:
        raise BookingRefused(422, "not_bookable", space=name)
    _check_span(inventory, machine.space, name, start, end, now, horizon, machine.max_session_minutes, tz)
    _check_closures(session, machine.space, name, start, end, tz)
    trained = session.execute(select(Training.id).where(
        Training.member_id == member_id, Training.machine == machine.training_id, Training.revoked.is_(False),
        Training.valid_until >= end).limit(1)).scalar()
    if trained is None:
        raise BookingRefused(422, "not_trained", space=name, training=machine.training_id)
    clash = session.execute(select(MachineBooking).where(
        MachineBooking.machine_id == machine_id, MachineBooking.status.in_(HOLDING), MachineBooking.start < end,
        MachineBooking.end > start).order_by(MachineBooking.start).limit(1)).scalar_one_or_none()
    if clash is not None:
        raise BookingRefused(409, "conflict", space=name, start=clash.start, end=clash.end, tz=tz)


def _check_span(inventory: Inventory, space_id: str, name: str, start: datetime, end: datetime, now: datetime,
                horizon: timedelta, max_minutes: int, tz: ZoneInfo, *, attendees: int = 1, capacity: int = 1) -> None:
    """The rules of time: order, past, horizon, length, capacity, opening hours."""
    if end <= start:
        raise BookingRefused(422, "end_before_start")
    if start < now - PAST_GRACE or end <= now:  # the grace is for "now" arriving late, not for a booking already over
        raise BookingRefused(422, "in_the_past", start=start, tz=tz)
    if start > now + horizon:
        raise BookingRefused(422, "too_far_ahead", days=horizon.days)
    minutes = (end - start).total_seconds() / 60
    if minutes > max_minutes:
        raise BookingRefused(422, "too_long", space=name, max=max_minutes, asked=f"{minutes:.0f}")
    if attendees > capacity:
        raise BookingRefused(422, "over_capacity", space=name, capacity=capacity, asked=attendees)
    lo, hi = start.astimezone(tz), end.astimezone(tz)
    intervals = inventory.opening_hours(space_id).day(lo.weekday())
    inside = any(datetime.combine(lo.date(), i.open, tzinfo=tz) <= lo and hi <= datetime.combine(lo.date(), i.close, tzinfo=tz)
                 for i in intervals)
    if not inside:
        raise BookingRefused(422, "outside_opening_hours", space=name, start=start, end=end, tz=tz,
                             weekday=lo.weekday(), hours=", ".join(str(i) for i in intervals))


def _check_closures(session: Session, space_id: str, name: str, start: datetime, end: datetime, tz: ZoneInfo) -> None:
    blocked = session.execute(select(BlockedPeriod).where(BlockedPeriod.space_id == space_id,
                                                          BlockedPeriod.start < end, BlockedPeriod.end > start)
                              .order_by(BlockedPeriod.start).limit(1)).scalar_one_or_none()
    if blocked is not None:
        raise BookingRefused(422, "closed", space=name, start=blocked.start, end=blocked.end, tz=tz,
                             reason=blocked.summary)


def seats_taken(bookings: list[Booking], start: datetime, end: datetime) -> tuple[int, datetime]:
    """The most seats the bookings take at one moment within [start, end), and when."""
    moments = sorted({start} | {b.start for b in bookings if start < b.start < end})
    peak, when = 0, start
    for moment in moments:
        taken = sum(b.attendees for b in bookings if b.start <= moment < b.end)
        if taken > peak:
            peak, when = taken, moment
    return peak, when
