"""Fab-lab machines: live status (public, no names), bookings (members), my usage.

- ``GET /api/v1/machines`` (``?space=``): every machine with its live status — free,
  in use, booked, out of order, offline (:mod:`api.machines`) — and what it needs.
- ``POST /api/v1/machine-bookings``: the rules of rooms (:mod:`api.booking_rules`: 422
  naming the rule, 409 on a clash) plus "trained on it" (422 ``not_trained``).
- ``GET /api/v1/machine-bookings`` mine (staff: ``?member=``), ``DELETE …/{id}`` cancels.
- ``GET /api/v1/machines/usage/mine``: my minutes per machine, from the nodes' events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select

from .. import audit
from ..booking_rules import BookingRefused, check_machine_booking
from ..db.machines import MachineBooking, MachineRow, MachineSession
from ..db.models import HOLDING, BookingStatus, move_if
from ..fields import Identifier, Text, When
from ..deps import ClockDep, CurrentUser, InventoryDep, Person, RowId, RuntimeDep, SessionDep, is_staff, unprocessable
from ..machines import live_status
from ..messages import language, render

router = APIRouter(prefix="/api/v1", tags=["machines"])
ERRORS = {404: {"description": "No such machine or booking"}, 409: {"description": "The machine is already booked"},
          422: {"description": "A booking rule is broken (detail[0].type names it; not_trained: no valid "
                               "training on this machine)"}}


class MachinePublic(BaseModel):
    id: str
    name: str
    kind: str
    space: str
    site: str
    training: str = Field(description="The training that qualifies (a member's training record names it)")
    bookable: bool
    free_to_use: bool
    max_session_minutes: int
    safety: list[str]
    status: str = Field(description="free, in_use, booked, out_of_order or offline")
    in_use_since: datetime | None = None
    booked_until: datetime | None = None
    next_booking_start: datetime | None = None
    out_of_order_reason: str | None = None


def machines_public(session, inventory, runtime, now: datetime, space: str | None = None) -> list[MachinePublic]:
    live = live_status(session, inventory, runtime.fleet, now)
    out = []
    for site, m in inventory.machines():
        if space and m.space != space:
            continue
        state = live[m.id]
        out.append(MachinePublic(id=m.id, name=m.name, kind=m.kind.value, space=m.space, site=site.id,
                                 training=m.training_id, bookable=m.bookable, free_to_use=m.free_to_use,
                                 max_session_minutes=m.max_session_minutes, safety=[s.value for s in m.safety],
                                 status=state.status, in_use_since=state.since, booked_until=state.booked_until,
                                 next_booking_start=state.next_booking_start,
                                 out_of_order_reason=state.out_of_order_reason))
    return out


def machine_or_404(inventory, machine_id: str):
    try:
        return inventory.machine(machine_id)
    except KeyError:
        raise HTTPException(404, f"no machine {machine_id!r}") from None


@router.get("/machines", response_model=list[MachinePublic], summary="Machines with their live status")
def read_machines(session: SessionDep, inventory: InventoryDep, runtime: RuntimeDep, clock: ClockDep,
                  space: Identifier | None = Query(default=None)) -> list[MachinePublic]:
    return machines_public(session, inventory, runtime, clock.now(), space)


@router.get("/machines/{machine_id}", response_model=MachinePublic, responses=ERRORS, summary="One machine")
def read_machine(machine_id: Identifier, session: SessionDep, inventory: InventoryDep, runtime: RuntimeDep,
                 clock: ClockDep) -> MachinePublic:
    _, machine = machine_or_404(inventory, machine_id)
    return next(m for m in machines_public(session, inventory, runtime, clock.now(), machine.space)
                if m.id == machine_id)


class MachineSlot(BaseModel):
    start: datetime
    end: datetime


@router.get("/machines/{machine_id}/slots", response_model=list[MachineSlot], responses=ERRORS,
            summary="The machine's booked slots from now on (no names)")
def read_machine_slots(machine_id: Identifier, session: SessionDep, inventory: InventoryDep,
                       clock: ClockDep) -> list[MachineSlot]:
    machine_or_404(inventory, machine_id)
    rows = session.execute(select(MachineBooking.start, MachineBooking.end).where(
        MachineBooking.machine_id == machine_id, MachineBooking.status.in_(HOLDING),
        MachineBooking.end > clock.now()).order_by(MachineBooking.start).limit(500))
    return [MachineSlot(start=a, end=b) for a, b in rows]


# --------------------------------------------------------------------------- bookings
class MachineBookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    machine: Identifier = Field(description="Machine id")
    start: When | None = Field(default=None, description="Omitted: now (the server's clock)")
    end: When | None = Field(default=None, description="Or give duration_minutes")
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    title: Text = Field(default="", max_length=120)

    @model_validator(mode="after")
    def _end_or_duration(self):
        if (self.end is None) == (self.duration_minutes is None):
            raise ValueError("give either end or duration_minutes")
        return self


class MachineBookingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    machine: str = Field(validation_alias=AliasChoices("machine", "machine_id"))
    member_id: int
    start: datetime
    end: datetime
    title: str
    status: BookingStatus
    created_at: datetime


AcceptLanguage = Header(default=None, alias="Accept-Language")  # no limit: see routers/bookings.py


@router.post("/machine-bookings", status_code=201, response_model=MachineBookingPublic, responses=ERRORS,
             summary="Book a machine (rules of rooms, and trained on it)")
def create_machine_booking(body: MachineBookingCreate, user: Person, session: SessionDep, runtime: RuntimeDep,
                           inventory: InventoryDep, clock: ClockDep,
                           accept_language: str | None = AcceptLanguage) -> MachineBookingPublic:
    machine_or_404(inventory, body.machine)
    lang, now = language(accept_language), clock.now()
    start = (body.start or now).astimezone(now.tzinfo)
    end = (body.end or start + timedelta(minutes=body.duration_minutes or 0)).astimezone(now.tzinfo)
    with runtime.booking_lock:
        session.get(MachineRow, body.machine, with_for_update=True)  # serialises a machine's bookings (PostgreSQL)
        try:
            check_machine_booking(session, inventory, machine_id=body.machine, member_id=user.id, start=start,
                                  end=end, now=now, horizon=timedelta(days=runtime.settings.booking_horizon_days))
        except BookingRefused as refused:
            if refused.status == 422:
                raise unprocessable(refused.text(lang), rule=refused.rule) from None
            raise HTTPException(refused.status, refused.text(lang)) from None
        booking = MachineBooking(machine_id=body.machine, member_id=user.id, start=start, end=end, title=body.title,
                                 status=BookingStatus.confirmed, created_at=now)
        session.add(booking)
        session.flush()
        audit.record(session, now, "machine_booking_created", f"member:{user.id}", member_id=user.id,
                     space_id=inventory.machine(body.machine)[1].space,
                     detail={"machine": body.machine, "booking": booking.id, "start": start.isoformat(),
                             "end": end.isoformat()})
        session.commit()
    runtime.machine_changed(body.machine)
    return MachineBookingPublic.model_validate(booking)


@router.get("/machine-bookings", response_model=list[MachineBookingPublic],
            summary="My machine bookings (staff: anyone's, with ?member=)")
def read_machine_bookings(user: CurrentUser, session: SessionDep, clock: ClockDep,
                          member: int | None = Query(default=None, ge=1, le=2_147_483_647),
                          machine: Identifier | None = Query(default=None),
                          upcoming: bool = Query(default=False)) -> list[MachineBookingPublic]:
    q = select(MachineBooking).order_by(MachineBooking.start)
    if is_staff(user):
        if member is not None:
            q = q.where(MachineBooking.member_id == member)
    elif member is not None and member != user.id:
        raise HTTPException(403, "you can only list your own bookings")
    else:
        q = q.where(MachineBooking.member_id == user.id)
    if machine:
        q = q.where(MachineBooking.machine_id == machine)
    if upcoming:
        q = q.where(MachineBooking.end > clock.now(), MachineBooking.status.in_(HOLDING))
    return [MachineBookingPublic.model_validate(b) for b in session.execute(q.limit(1000)).scalars()]


@router.delete("/machine-bookings/{booking_id}", response_model=MachineBookingPublic, responses=ERRORS,
               summary="Cancel a machine booking (released if it has started)")
def cancel_machine_booking(booking_id: RowId, user: CurrentUser, session: SessionDep, runtime: RuntimeDep,
                           clock: ClockDep, accept_language: str | None = AcceptLanguage) -> MachineBookingPublic:
    booking = session.get(MachineBooking, booking_id)
    if booking is None or (booking.member_id != user.id and not is_staff(user)):
        raise HTTPException(404, f"no machine booking {booking_id}")
    lang, now = language(accept_language), clock.now()
    if booking.status not in HOLDING:
        raise HTTPException(409, render("not_holding", lang, {"status": booking.status.value}))
    if booking.end <= now:
        raise HTTPException(409, render("already_ended", lang, {}))
    ending = BookingStatus.released if booking.start <= now else BookingStatus.cancelled
    # Only if it still holds, in one statement: two cancels at once end it once (as rooms').
    if not move_if(session, MachineBooking, booking.id, HOLDING, status=ending):
        session.rollback()
        raise HTTPException(409, render("not_holding", lang, {"status": booking.status.value}))
    audit.record(session, now, f"machine_booking_{booking.status.value}", f"member:{user.id}",
                 member_id=booking.member_id, detail={"machine": booking.machine_id, "booking": booking.id})
    session.commit()
    runtime.machine_changed(booking.machine_id)
    return MachineBookingPublic.model_validate(booking)


# --------------------------------------------------------------------------- usage
class UsageRow(BaseModel):
    member_id: int | None = Field(description="None: a badge no member holds any more")
    member_name: str | None = None
    machine: str
    sessions: int
    minutes: float = Field(description="Sum of the node's on-time of the closed sessions, in minutes")


def usage_rows(session, *, member: int | None = None, machine: str | None = None,
               since: datetime | None = None, until: datetime | None = None) -> list[UsageRow]:
    from ..db.models import Member

    q = (select(MachineSession.member_id, Member.name, MachineSession.machine_id, func.count(MachineSession.id),
                func.sum(MachineSession.duration_s))
         .outerjoin(Member, Member.id == MachineSession.member_id)
         .where(MachineSession.ended_at.is_not(None))
         .group_by(MachineSession.member_id, Member.name, MachineSession.machine_id)
         .order_by(MachineSession.machine_id, MachineSession.member_id))
    if member is not None:
        q = q.where(MachineSession.member_id == member)
    if machine:
        q = q.where(MachineSession.machine_id == machine)
    if since is not None:
        q = q.where(MachineSession.started_at >= since)
    if until is not None:
        q = q.where(MachineSession.started_at < until)
    return [UsageRow(member_id=m, member_name=name, machine=mach, sessions=n, minutes=round((secs or 0) / 60, 2))
            for m, name, mach, n, secs in session.execute(q)]


@router.get("/machines/usage/mine", response_model=list[UsageRow], summary="My minutes per machine")
def read_my_usage(user: Person, session: SessionDep,
                  since: When | None = Query(default=None),
                  until: When | None = Query(default=None)) -> list[UsageRow]:
    return usage_rows(session, member=user.id, since=since, until=until)
