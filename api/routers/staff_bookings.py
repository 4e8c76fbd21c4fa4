"""Bookings for the staff console: a day of every space, booking for a member, CSV export.

``GET /api/v1/staff/bookings?day=&site=`` gives, for each space, the day's bookings
(every status: check-ins, no-shows, cancellations) and its live status, which the
console draws as a timeline. ``POST /api/v1/staff/bookings`` books for a member by
the same rules as a member booking (:mod:`api.booking_rules`), audited with both the
member and the staff member who made it. Cancelling is ``DELETE /api/v1/bookings/{id}``,
which staff may call on anyone's booking.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .. import audit
from ..booking_rules import BookingRefused, check_booking
from ..db.models import PEOPLE_ROLES, Booking, BookingStatus, Member, MemberStatus, SpaceRow
from ..deps import ClockDep, InventoryDep, RuntimeDep, SessionDep, StaffUser, unprocessable
from ..fields import Day as LocalDay, Identifier, errors
from .bookings import ERRORS, BookingCreate, BookingPublic, free_limit, public
from .staff import BookingOfDay, bookings_between, local_day

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])
STAFF_ONLY = errors((403, "Staff only"))


class SpaceDay(BaseModel):
    id: str
    name: str
    site: str
    kind: str
    capacity: int
    bookable: bool
    status: str = Field(description="Live: free, occupied, reserved or unknown")
    people_estimate: float | None
    bookings: list[BookingOfDay]


class Day(BaseModel):
    day: str
    opens: str | None = Field(description="The main site's first opening that day (local HH:MM)")
    closes: str | None
    spaces: list[SpaceDay]


def _site(inventory, site: str | None) -> None:
    if site is not None and site not in {s.id for s in inventory.sites}:
        raise HTTPException(404, f"no site {site!r}")


@router.get("/bookings", response_model=Day, responses={**STAFF_ONLY, **errors((404, "No such site"))},
            summary="A day of every space: bookings, check-ins, no-shows and the live status (staff)")
def read_day(user: StaffUser, runtime: RuntimeDep, session: SessionDep, inventory: InventoryDep, clock: ClockDep,
             day: LocalDay | None = Query(default=None, description="YYYY-MM-DD, local; default today"),
             site: Identifier | None = Query(default=None)) -> Day:
    _site(inventory, site)
    label, start, end = local_day(inventory, clock, day)
    bookings = bookings_between(session, inventory, start, end, site)
    states = runtime.rooms.states(clock.now())
    spaces = []
    for s, space in inventory.spaces():
        if site is not None and s.id != site:
            continue
        occ = runtime.occupancy.get(space.id)
        spaces.append(SpaceDay(id=space.id, name=space.name, site=s.id, kind=space.kind.value,
                               capacity=space.capacity, bookable=space.bookable, status=states[space.id].status.value,
                               people_estimate=occ.people_estimate if occ else None,
                               bookings=[b for b in bookings if b.space == space.id]))
    hours = inventory.sites[0].opening_hours.day(start.weekday())
    return Day(day=label, opens=hours[0].open.strftime("%H:%M") if hours else None,
               closes=hours[-1].close.strftime("%H:%M") if hours else None, spaces=spaces)


class StaffBookingCreate(BookingCreate):
    member_id: int = Field(ge=1, le=2_147_483_647, description="The member the booking is for")


@router.post("/bookings", status_code=201, response_model=BookingPublic,
             responses={**ERRORS, **STAFF_ONLY}, summary="Book a space for a member (staff; audited)")
def create_booking_for_member(body: StaffBookingCreate, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                              inventory: InventoryDep, clock: ClockDep) -> BookingPublic:
    member = session.get(Member, body.member_id)
    if member is None or member.role not in PEOPLE_ROLES:
        raise HTTPException(404, f"no member {body.member_id}")
    if member.status is not MemberStatus.active:
        raise unprocessable(f"{member.name}'s account is suspended", field="member_id", rule="member_suspended")
    try:
        inventory.space(body.space)
    except KeyError:
        raise HTTPException(404, f"no space {body.space!r}") from None
    now = clock.now()
    start = (body.start or now).astimezone(now.tzinfo)
    end = body.end_time(start).astimezone(now.tzinfo)
    with runtime.booking_lock:
        session.get(SpaceRow, body.space, with_for_update=True)
        if body.fit:
            limit = free_limit(session, inventory, body.space, start)
            if limit is not None and start < limit < end:
                end = limit
        try:
            check_booking(session, inventory, space_id=body.space, start=start, end=end, attendees=body.attendees,
                          now=now, horizon=timedelta(days=runtime.settings.booking_horizon_days))
        except BookingRefused as refused:
            if refused.status == 422:
                raise unprocessable(refused.message, rule=refused.rule) from None
            raise HTTPException(refused.status, refused.message) from None
        booking = Booking(space_id=body.space, member_id=member.id, start=start, end=end, attendees=body.attendees,
                          title=body.title, status=BookingStatus.confirmed, created_at=now)
        session.add(booking)
        session.flush()
        audit.record(session, now, "booking_created", audit.actor_of(user), member_id=member.id, space_id=body.space,
                     detail={"booking": booking.id, "start": start.isoformat(), "end": end.isoformat(),
                             "by_staff": user.id})
        session.commit()
    runtime.space_changed(body.space)
    return public(booking)


CSV_COLUMNS = ("id", "space", "site", "member_id", "member_name", "start", "end", "status", "checked_in_at",
               "ended_at")


@router.get("/bookings.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "One booking a line"},
                       **STAFF_ONLY, **errors((404, "No such site"))},
            summary="Bookings of a range of days as CSV (staff)")
def export_bookings(user: StaffUser, session: SessionDep, inventory: InventoryDep, clock: ClockDep,
                    start: LocalDay | None = Query(default=None, description="First day (local); default today"),
                    days: int = Query(default=1, ge=1, le=366),
                    site: Identifier | None = Query(default=None)) -> Response:
    _site(inventory, site)
    label, begin, _ = local_day(inventory, clock, start)
    _, _, end = local_day(inventory, clock, date.fromisoformat(label) + timedelta(days=days - 1))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for b in bookings_between(session, inventory, begin, end, site):
        row = b.model_dump(mode="json")
        writer.writerow([csv_cell(row[c]) for c in CSV_COLUMNS])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="bookings-{label}.csv"'})


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (names are typed by people)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
