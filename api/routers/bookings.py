"""Bookings: create (409 on conflict, 422 naming the broken rule), list mine, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import select

from ..availability import opening_end
from ..booking_rules import BookingRefused, check_booking
from ..db.models import HOLDING, Booking, BookingStatus, SpaceRow
from ..deps import RowId, unprocessable, ClockDep, CurrentUser, InventoryDep, Person, SessionDep, StationDep, is_staff
from ..service import audit

router = APIRouter(prefix="/api/v1/bookings", tags=["bookings"])
ERRORS = {404: {"description": "No such space or booking"}, 409: {"description": "The room is already booked"},
          422: {"description": "A booking rule is broken; the message says which"}}


class BookingCreate(BaseModel):
    space: str = Field(max_length=63, description="Space id")
    start: AwareDatetime | None = Field(default=None, description="Omitted: now (the server's clock)")
    end: AwareDatetime | None = Field(default=None, description="Or give duration_minutes")
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    attendees: int = Field(default=1, ge=1, le=10000)
    title: str = Field(default="", max_length=120)
    fit: bool = Field(default=False, description="Shorten the booking to end when the room stops being free "
                                                 "(next booking or closing time) instead of refusing")

    @model_validator(mode="after")
    def _end_or_duration(self):
        if (self.end is None) == (self.duration_minutes is None):
            raise ValueError("give either end or duration_minutes")
        return self

    def end_time(self, start: datetime) -> datetime:
        return self.end or start + timedelta(minutes=self.duration_minutes)


def free_limit(session, inventory, space_id: str, start: datetime) -> datetime | None:
    """When the space stops being free after ``start``: the next booking or closing time."""
    nxt = session.execute(select(Booking.start).where(Booking.space_id == space_id, Booking.status.in_(HOLDING),
                                                      Booking.start > start).order_by(Booking.start).limit(1)).scalar()
    ends = [t for t in (nxt, opening_end(inventory, space_id, start)) if t is not None]
    return min(ends) if ends else None


class BookingPublic(BaseModel):
    id: int
    space: str
    member_id: int
    start: datetime
    end: datetime
    attendees: int
    title: str
    status: BookingStatus
    created_at: datetime
    checked_in_at: datetime | None


def public(b: Booking) -> BookingPublic:
    return BookingPublic(id=b.id, space=b.space_id, member_id=b.member_id, start=b.start, end=b.end,
                         attendees=b.attendees, title=b.title, status=BookingStatus(b.status),
                         created_at=b.created_at, checked_in_at=b.checked_in_at)


@router.post("", status_code=201, response_model=BookingPublic, responses=ERRORS, summary="Book a space")
def create_booking(body: BookingCreate, user: Person, session: SessionDep, station: StationDep,
                   inventory: InventoryDep, clock: ClockDep) -> BookingPublic:
    try:
        inventory.space(body.space)
    except KeyError:
        raise HTTPException(404, f"no space {body.space!r}") from None
    now = clock.now()
    start = (body.start or now).astimezone(now.tzinfo)
    end = body.end_time(start).astimezone(now.tzinfo)
    with station.booking_lock:
        session.get(SpaceRow, body.space, with_for_update=True)  # serialises bookings of a space on PostgreSQL
        if body.fit:
            limit = free_limit(session, inventory, body.space, start)
            if limit is not None and start < limit < end:
                end = limit
        try:
            check_booking(session, inventory, space_id=body.space, start=start, end=end, attendees=body.attendees,
                          now=now, horizon=timedelta(days=station.settings.booking_horizon_days))
        except BookingRefused as refused:
            if refused.status == 422:
                raise unprocessable(refused.message, rule=refused.rule) from None
            raise HTTPException(refused.status, refused.message) from None
        booking = Booking(space_id=body.space, member_id=user.id, start=start, end=end, attendees=body.attendees,
                          title=body.title, status=BookingStatus.confirmed.value, created_at=now)
        session.add(booking)
        session.flush()
        audit(session, now, "booking_created", f"member:{user.id}", member_id=user.id, space_id=body.space,
              detail={"booking": booking.id, "start": start.isoformat(), "end": end.isoformat()})
        session.commit()
    station.space_changed(body.space)
    return public(booking)


@router.get("", response_model=list[BookingPublic], summary="My bookings (staff: anyone's, with ?member=)")
def read_bookings(user: CurrentUser, session: SessionDep, clock: ClockDep,
                  member: int | None = Query(default=None, ge=1, le=2_147_483_647, description="Staff only: this member's bookings"),
                  space: str | None = Query(default=None, max_length=63),
                  upcoming: bool = Query(default=False, description="Only bookings that have not ended")) -> list[BookingPublic]:
    q = select(Booking).order_by(Booking.start)
    if is_staff(user):
        if member is not None:
            q = q.where(Booking.member_id == member)
    else:
        if member is not None and member != user.id:
            raise HTTPException(403, "you can only list your own bookings")
        q = q.where(Booking.member_id == user.id)
    if space:
        q = q.where(Booking.space_id == space)
    if upcoming:
        q = q.where(Booking.end > clock.now(), Booking.status.in_(HOLDING))
    return [public(b) for b in session.execute(q.limit(1000)).scalars()]


@router.get("/{booking_id}", response_model=BookingPublic, responses=ERRORS, summary="One of my bookings")
def read_booking(booking_id: RowId, user: CurrentUser, session: SessionDep) -> BookingPublic:
    booking = session.get(Booking, booking_id)
    if booking is None or (booking.member_id != user.id and not is_staff(user)):
        raise HTTPException(404, f"no booking {booking_id}")
    return public(booking)


@router.delete("/{booking_id}", response_model=BookingPublic, responses=ERRORS,
               summary="Cancel a booking (released if it has started)")
def cancel_booking(booking_id: RowId, user: CurrentUser, session: SessionDep, station: StationDep,
                   clock: ClockDep) -> BookingPublic:
    booking = session.get(Booking, booking_id)
    if booking is None or (booking.member_id != user.id and not is_staff(user)):
        raise HTTPException(404, f"no booking {booking_id}")
    if booking.status not in HOLDING:
        raise HTTPException(409, f"booking {booking_id} is already {booking.status}")
    now = clock.now()
    if booking.end <= now:
        raise HTTPException(409, f"booking {booking_id} has already ended")
    booking.status = (BookingStatus.released if booking.start <= now else BookingStatus.cancelled).value
    booking.ended_at = now
    audit(session, now, f"booking_{booking.status}", f"member:{user.id}", member_id=booking.member_id,
          space_id=booking.space_id, detail={"booking": booking.id})
    session.commit()
    station.space_changed(booking.space_id)
    return public(booking)
