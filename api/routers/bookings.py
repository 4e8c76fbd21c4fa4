"""Bookings: create (409 on conflict, 422 naming the broken rule), preview, list mine, cancel.

Refusals are said in the request's language (``Accept-Language``, French or English,
from the one table in :mod:`api.messages`) with times in the site's zone; the 422's
``detail[0].type`` is the rule code whatever the language. ``POST /bookings/preview``
answers what ``POST /bookings`` would book — the real start and end, and why it was
shortened — without booking, so the board can say it before the member confirms.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from .. import audit
from ..availability import opening_end
from ..booking_rules import BookingRefused, check_booking
from ..db.calendars import BlockedPeriod
from ..db.models import HOLDING, Booking, BookingStatus, SpaceRow, move_if
from ..deps import (ClockDep, CurrentUser, InventoryDep, Person, RowId, RuntimeDep, SessionDep, is_staff,
                    unprocessable)
from ..fields import Identifier, Text, When, errors
from ..messages import language, render

router = APIRouter(prefix="/api/v1/bookings", tags=["bookings"])
ERRORS = errors((404, "No such space or booking"), (409, "The room is already booked, or the booking no longer holds"),
                (422, "A field or a booking rule is broken; detail[0].type names it, detail[0].msg says it "
                      "in the request's language (Accept-Language: fr or en)"))
# No length limit: a long header (a browser set up with many languages) is a preference,
# never a reason to refuse a booking; messages.language reads its first 4 KiB.
AcceptLanguage = Header(default=None, alias="Accept-Language",
                        description="fr or en (default en): the language of refusals")


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not silently ignored

    space: Identifier = Field(description="Space id")
    start: When | None = Field(default=None, description="Omitted: now (the server's clock)")
    end: When | None = Field(default=None, description="Or give duration_minutes")
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    attendees: int = Field(default=1, ge=1, le=10000)
    title: Text = Field(default="", max_length=120)
    fit: bool = Field(default=False, description="Shorten the booking to end when the room stops being free "
                                                 "(next booking, closure or closing time) instead of refusing")

    @model_validator(mode="after")
    def _end_or_duration(self):
        if (self.end is None) == (self.duration_minutes is None):
            raise ValueError("give either end or duration_minutes")
        return self

    def end_time(self, start: datetime) -> datetime:
        return self.end or start + timedelta(minutes=self.duration_minutes)


Limit = Literal["closing", "next_booking", "closure"]


def free_limit(session, inventory, space_id: str, start: datetime) -> tuple[datetime, Limit, str] | None:
    """When the space stops being free after ``start`` — the next booking (not for seats),
    a closure, or closing time — which of them, and the closure's summary."""
    limits: list[tuple[datetime, Limit, str]] = []
    if inventory.space(space_id)[1].booking == "room":
        nxt = session.execute(select(Booking.start).where(Booking.space_id == space_id, Booking.status.in_(HOLDING),
                                                          Booking.start > start).order_by(Booking.start).limit(1)).scalar()
        if nxt is not None:
            limits.append((nxt, "next_booking", ""))
    closure = session.execute(select(BlockedPeriod).where(BlockedPeriod.space_id == space_id,
                                                          BlockedPeriod.start > start)
                              .order_by(BlockedPeriod.start).limit(1)).scalar_one_or_none()
    if closure is not None:
        limits.append((closure.start, "closure", closure.summary))
    closing = opening_end(inventory, space_id, start)
    if closing is not None:
        limits.append((closing, "closing", ""))
    return min(limits, key=lambda limit: limit[0]) if limits else None


class Planned(BaseModel):
    start: datetime
    end: datetime
    asked_end: datetime
    shortened_by: Limit | None
    note: str | None


def plan(body: BookingCreate, session, inventory, runtime, now: datetime, lang: str) -> Planned:
    """The booking ``body`` asks for, shortened to fit when asked; raise BookingRefused."""
    start = (body.start or now).astimezone(now.tzinfo)
    end = asked = body.end_time(start).astimezone(now.tzinfo)
    shortened, note = None, None
    if body.fit:
        limit = free_limit(session, inventory, body.space, start)
        if limit is not None and start < limit[0] < end:
            end, shortened = limit[0], limit[1]
            site, space = inventory.space(body.space)
            note = render(f"shortened_{shortened}", lang, {"space": space.name, "at": end,
                                                           "tz": ZoneInfo(site.timezone), "reason": limit[2]})
    check_booking(session, inventory, space_id=body.space, start=start, end=end, attendees=body.attendees,
                  now=now, horizon=timedelta(days=runtime.settings.booking_horizon_days))
    return Planned(start=start, end=end, asked_end=asked, shortened_by=shortened, note=note)


def refusal(refused: BookingRefused, lang: str) -> Exception:
    if refused.status == 422:
        return unprocessable(refused.text(lang), rule=refused.rule)
    return HTTPException(refused.status, refused.text(lang))


def _space(inventory, space_id: str):
    try:
        return inventory.space(space_id)
    except KeyError:
        raise HTTPException(404, f"no space {space_id!r}") from None


class BookingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    space: str = Field(validation_alias=AliasChoices("space", "space_id"))
    member_id: int
    start: datetime
    end: datetime
    attendees: int
    title: str
    status: BookingStatus
    created_at: datetime
    checked_in_at: datetime | None
    ended_at: datetime | None = Field(description="When it was cancelled, released or released as a no-show")


def public(b: Booking) -> BookingPublic:
    return BookingPublic.model_validate(b)


class BookingPreview(Planned):
    space: str
    minutes: int
    timezone: str = Field(description="The site's zone, which start and end are to be shown in")


@router.post("/preview", response_model=BookingPreview, responses=ERRORS,
             summary="What POST /bookings would book (real start and end, why shortened), without booking")
def preview_booking(body: BookingCreate, user: Person, session: SessionDep, runtime: RuntimeDep,
                    inventory: InventoryDep, clock: ClockDep,
                    accept_language: str | None = AcceptLanguage) -> BookingPreview:
    site, _ = _space(inventory, body.space)
    lang = language(accept_language)
    try:
        planned = plan(body, session, inventory, runtime, clock.now(), lang)
    except BookingRefused as refused:
        raise refusal(refused, lang) from None
    return BookingPreview(**planned.model_dump(), space=body.space, timezone=site.timezone,
                          minutes=round((planned.end - planned.start).total_seconds() / 60))


@router.post("", status_code=201, response_model=BookingPublic, responses=ERRORS, summary="Book a space")
def create_booking(body: BookingCreate, user: Person, session: SessionDep, runtime: RuntimeDep,
                   inventory: InventoryDep, clock: ClockDep,
                   accept_language: str | None = AcceptLanguage) -> BookingPublic:
    _space(inventory, body.space)
    lang = language(accept_language)
    now = clock.now()
    with runtime.booking_lock:
        session.get(SpaceRow, body.space, with_for_update=True)  # serialises bookings of a space on PostgreSQL
        try:
            planned = plan(body, session, inventory, runtime, now, lang)
        except BookingRefused as refused:
            raise refusal(refused, lang) from None
        start, end = planned.start, planned.end
        booking = Booking(space_id=body.space, member_id=user.id, start=start, end=end, attendees=body.attendees,
                          title=body.title, status=BookingStatus.confirmed, created_at=now)
        session.add(booking)
        session.flush()
        audit.record(session, now, "booking_created", f"member:{user.id}", member_id=user.id, space_id=body.space,
              detail={"booking": booking.id, "start": start.isoformat(), "end": end.isoformat()})
        session.commit()
    runtime.space_changed(body.space)
    return public(booking)


@router.get("", response_model=list[BookingPublic], responses=errors(403), summary="My bookings (staff: anyone's, with ?member=)")
def read_bookings(user: CurrentUser, session: SessionDep, clock: ClockDep,
                  member: int | None = Query(default=None, ge=1, le=2_147_483_647, description="Staff only: this member's bookings"),
                  space: Identifier | None = Query(default=None),
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
def cancel_booking(booking_id: RowId, user: CurrentUser, session: SessionDep, runtime: RuntimeDep,
                   clock: ClockDep, accept_language: str | None = AcceptLanguage) -> BookingPublic:
    booking = session.get(Booking, booking_id)
    if booking is None or (booking.member_id != user.id and not is_staff(user)):
        raise HTTPException(404, f"no booking {booking_id}")
    lang = language(accept_language)
    if booking.status not in HOLDING:
        raise HTTPException(409, render("not_holding", lang, {"status": booking.status.value}))
    now = clock.now()
    if booking.end <= now:
        raise HTTPException(409, render("already_ended", lang, {}))
    ending = BookingStatus.released if booking.start <= now else BookingStatus.cancelled
    # Only if it still holds, in one statement: a double tap, or the console at the same
    # moment (here or on another instance), ends it once; the others hear 409.
    if not move_if(session, Booking, booking.id, HOLDING, status=ending, ended_at=now):
        session.rollback()  # reads the status the other request wrote
        raise HTTPException(409, render("not_holding", lang, {"status": booking.status.value}))
    audit.record(session, now, f"booking_{booking.status.value}", f"member:{user.id}", member_id=booking.member_id,
                 space_id=booking.space_id, detail={"booking": booking.id})
    session.commit()
    runtime.space_changed(booking.space_id)
    return public(booking)
