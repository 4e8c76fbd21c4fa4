"""Members for the staff console: search, one member's file, roles, trainings expiring soon.

A member's file (``GET /api/v1/staff/members/{id}``) is what staff need to help them:
their badges (hashes only), trainings, bookings and recent accesses. Roles change
only by an administrator's hand (``PUT /api/v1/staff/members/{id}/role``), never one's
own; a change re-issues the grant lists (staff are admitted everywhere) and is audited.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from .. import audit
from ..db.models import PEOPLE_ROLES, STAFF_ROLES, AuditEntry, Badge, Booking, Member, MemberStatus, Role, Training
from ..deps import AdminUser, ClockDep, RowId, RuntimeDep, SessionDep, StaffUser, unprocessable
from ..fields import Identifier, Text, errors
from .audit import AuditPublic
from .bookings import BookingPublic
from .members import BadgePublic, MemberPublic, TrainingPublic, member_public

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])
STAFF_ONLY = errors((403, "Staff only"))
NOT_FOUND = errors((404, "No such member"))
ACCESS_ACTIONS = ("access_granted", "access_denied", "booking_checked_in")


@router.get("/members", response_model=list[MemberPublic], responses=STAFF_ONLY,
            summary="Search members by name or e-mail, by role and status (staff)")
def search_members(user: StaffUser, session: SessionDep,
                   q: Text | None = Query(default=None, max_length=120, description="Part of the name or e-mail"),
                   role: Role | None = None, status: MemberStatus | None = None,
                   limit: int = Query(default=50, ge=1, le=500)) -> list[MemberPublic]:
    query = select(Member).where(Member.role.in_(PEOPLE_ROLES))
    if q and q.strip():
        like = f"%{q.strip().lower().replace('%', '').replace('_', '')}%"
        query = query.where(or_(func.lower(Member.name).like(like), func.lower(Member.email).like(like)))
    if role is not None:
        query = query.where(Member.role == role)
    if status is not None:
        query = query.where(Member.status == status)
    rows = session.execute(query.order_by(func.lower(Member.name), Member.id).limit(limit)).scalars()
    return [member_public(m) for m in rows]


class MemberFile(BaseModel):
    member: MemberPublic
    badges: list[BadgePublic]
    trainings: list[TrainingPublic]
    bookings: list[BookingPublic] = Field(description="The latest 50, newest first")
    accesses: list[AuditPublic] = Field(description="Badges granted or refused and check-ins, the latest 30")


def _person(session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.role not in PEOPLE_ROLES:
        raise HTTPException(404, f"no member {member_id}")
    return member


@router.get("/members/{member_id}", response_model=MemberFile, responses={**STAFF_ONLY, **NOT_FOUND},
            summary="A member's file: badges, trainings, bookings, recent accesses (staff)")
def read_member_file(member_id: RowId, user: StaffUser, session: SessionDep) -> MemberFile:
    member = _person(session, member_id)
    badges = session.execute(select(Badge).where(Badge.member_id == member.id).order_by(Badge.id)).scalars()
    trainings = session.execute(select(Training).where(Training.member_id == member.id)
                                .order_by(Training.valid_until)).scalars()
    bookings = session.execute(select(Booking).where(Booking.member_id == member.id)
                               .order_by(Booking.start.desc()).limit(50)).scalars()
    accesses = session.execute(select(AuditEntry).where(AuditEntry.member_id == member.id,
                                                        AuditEntry.action.in_(ACCESS_ACTIONS))
                               .order_by(AuditEntry.ts.desc(), AuditEntry.id.desc()).limit(30)).scalars()
    return MemberFile(member=member_public(member), badges=[BadgePublic.model_validate(b) for b in badges],
                      trainings=[TrainingPublic.model_validate(t) for t in trainings],
                      bookings=[BookingPublic.model_validate(b) for b in bookings],
                      accesses=[AuditPublic.model_validate(a) for a in accesses])


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="member, staff or admin")


@router.put("/members/{member_id}/role", response_model=MemberPublic,
            responses={**NOT_FOUND, **errors((403, "Administrators only"), (409, "Your own role"),
                                              (422, "Not a person's role"))},
            summary="Change a member's role (administrators; audited)")
def update_member_role(member_id: RowId, body: RoleChange, user: AdminUser, session: SessionDep,
                       runtime: RuntimeDep, clock: ClockDep) -> MemberPublic:
    if body.role not in PEOPLE_ROLES:
        raise unprocessable("a person's role is member, staff or admin (API keys: POST /api/v1/api-keys)",
                            field="role")
    if member_id == user.id:
        raise HTTPException(409, "you cannot change your own role")
    member = _person(session, member_id)
    if member.role is not body.role:
        before = member.role
        member.role = body.role
        audit.record(session, clock.now(), "member_role_changed", audit.actor_of(user), member_id=member.id,
                     detail={"from": before.value, "to": body.role.value})
        session.commit()
        # To or from staff: every door's list holds staff, so every door is concerned (the
        # member's own bookings alone would leave a former staff card on all the others).
        staff_either_way = before in STAFF_ROLES or body.role in STAFF_ROLES
        runtime.access_changed(None if staff_either_way else member.id)
    return member_public(member)


class TrainingOfMember(TrainingPublic):
    member_name: str
    expires_in_days: float


@router.get("/trainings", response_model=list[TrainingOfMember], responses=STAFF_ONLY,
            summary="Trainings in force, soonest to expire first; ?expiring_within_days= for the expiring ones (staff)")
def read_trainings_overview(user: StaffUser, session: SessionDep, clock: ClockDep,
                            space: Identifier | None = Query(default=None),
                            machine: Text | None = Query(default=None, max_length=80),
                            expiring_within_days: int | None = Query(default=None, ge=0, le=3660),
                            ) -> list[TrainingOfMember]:
    now = clock.now()
    q = (select(Training).options(joinedload(Training.member))
         .where(Training.revoked.is_(False), Training.valid_until > now).order_by(Training.valid_until))
    if space:
        q = q.where(Training.space_id == space)
    if machine:
        q = q.where(func.lower(Training.machine) == machine.strip().lower())
    if expiring_within_days is not None:
        q = q.where(Training.valid_until <= now + timedelta(days=expiring_within_days))
    out = []
    for t in session.execute(q.limit(1000)).scalars():
        out.append(TrainingOfMember(**TrainingPublic.model_validate(t).model_dump(), member_name=t.member.name,
                                    expires_in_days=round((t.valid_until - now) / timedelta(days=1), 1)))
    return out
