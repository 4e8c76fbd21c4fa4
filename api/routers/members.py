"""Members, badges, trainings and API keys (staff; creating staff or keys: admin).

Badges are enrolled by card number — the decimal string of the Wiegand data bits
without parity — and stored only as the site's HMAC of it. Every change that can alter
who may open a door re-issues the grant lists.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import func, select

from station.contract.signing import hash_credential
from station.inventory import SpaceKind

from ..db.models import Badge, Member, MemberStatus, Role, Token, Training
from ..deps import RowId, is_staff, unprocessable, AdminUser, ClockDep, CurrentUser, InventoryDep, SessionDep, StaffUser, StationDep
from ..security import digest, hash_password, new_secret
from ..service import audit

router = APIRouter(prefix="/api/v1", tags=["members"])
PEOPLE = (Role.member, Role.staff, Role.admin)
NOT_FOUND = {404: {"description": "No such member, badge or training"}}


class MemberCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=120)
    role: Role = Role.member
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class MemberPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    status: MemberStatus
    created_at: datetime


class BadgeCreate(BaseModel):
    card_number: str = Field(pattern=r"^[0-9]{1,20}$", description="Decimal Wiegand data bits, without parity")
    label: str = Field(default="", max_length=80)


class BadgePublic(BaseModel):
    id: int
    member_id: int
    credential_hash: str
    label: str
    active: bool
    enrolled_at: datetime
    revoked_at: datetime | None


class TrainingCreate(BaseModel):
    space: str = Field(max_length=63, description="The fab-lab space of the machine")
    machine: str = Field(min_length=1, max_length=80)
    valid_until: AwareDatetime


class TrainingPublic(BaseModel):
    id: int
    member_id: int
    space: str
    machine: str
    valid_until: datetime
    revoked: bool


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    role: Role = Field(default=Role.integration, description="node or integration")


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    role: Role
    api_key: str = Field(description="Shown once; only its hash is kept")


def member_public(m: Member) -> MemberPublic:
    return MemberPublic(id=m.id, email=m.email, name=m.name, role=Role(m.role), status=MemberStatus(m.status),
                        created_at=m.created_at)


def badge_public(b: Badge) -> BadgePublic:
    return BadgePublic(id=b.id, member_id=b.member_id, credential_hash=b.credential_hash, label=b.label,
                       active=b.active, enrolled_at=b.enrolled_at, revoked_at=b.revoked_at)


def training_public(t: Training) -> TrainingPublic:
    return TrainingPublic(id=t.id, member_id=t.member_id, space=t.space_id, machine=t.machine,
                          valid_until=t.valid_until, revoked=t.revoked)


def _member(session, member_id: RowId) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.role not in {r.value for r in PEOPLE}:
        raise HTTPException(404, f"no member {member_id}")
    return member


def _member_seen_by(user: Member, session, member_id: RowId) -> Member:
    """The member, for staff or the member themself; anyone else is told it does not exist."""
    if user.id != member_id and not is_staff(user):
        raise HTTPException(404, f"no member {member_id}")
    return _member(session, member_id)


@router.get("/members/me", response_model=MemberPublic, tags=["auth"], summary="Who am I")
def read_me(user: CurrentUser) -> MemberPublic:
    return member_public(user)


@router.post("/members", status_code=201, response_model=MemberPublic, summary="Enrol a member",
             responses={409: {"description": "Email already used"}, 403: {"description": "Not allowed"}})
def create_member(body: MemberCreate, user: StaffUser, session: SessionDep, clock: ClockDep) -> MemberPublic:
    if body.role not in PEOPLE:
        raise unprocessable("role must be member, staff or admin (API keys: POST /api/v1/api-keys)", field="role")
    if body.role is not Role.member and user.role != Role.admin.value:
        raise HTTPException(403, "only administrators create staff or administrators")
    email = body.email.strip().lower()
    if session.execute(select(Member.id).where(func.lower(Member.email) == email)).first():
        raise HTTPException(409, f"{email} is already enrolled")
    now = clock.now()
    member = Member(email=email, name=body.name, role=body.role.value, status=MemberStatus.active.value,
                    password_hash=hash_password(body.password) if body.password else None, created_at=now)
    session.add(member)
    session.flush()
    audit(session, now, "member_enrolled", f"member:{user.id}", member_id=member.id, detail={"role": member.role})
    session.commit()
    return member_public(member)


@router.get("/members", response_model=list[MemberPublic], summary="Every member (staff)")
def read_members(user: StaffUser, session: SessionDep) -> list[MemberPublic]:
    rows = session.execute(select(Member).where(Member.role.in_([r.value for r in PEOPLE])).order_by(Member.id))
    return [member_public(m) for m in rows.scalars()]


def _set_status(member_id: int, status: MemberStatus, user, session, station, clock) -> MemberPublic:
    member = _member(session, member_id)
    if member.id == user.id:
        raise HTTPException(409, "you cannot change your own status")
    member.status = status.value
    audit(session, clock.now(), f"member_{status.value}", f"member:{user.id}", member_id=member.id)
    session.commit()
    station.access_changed()
    return member_public(member)


@router.post("/members/{member_id}/suspend", response_model=MemberPublic, responses=NOT_FOUND,
             summary="Suspend a member: their badges stop opening doors")
def suspend_member(member_id: RowId, user: StaffUser, session: SessionDep, station: StationDep,
                   clock: ClockDep) -> MemberPublic:
    return _set_status(member_id, MemberStatus.suspended, user, session, station, clock)


@router.post("/members/{member_id}/reinstate", response_model=MemberPublic, responses=NOT_FOUND,
             summary="Lift a suspension")
def reinstate_member(member_id: RowId, user: StaffUser, session: SessionDep, station: StationDep,
                     clock: ClockDep) -> MemberPublic:
    return _set_status(member_id, MemberStatus.active, user, session, station, clock)


@router.post("/members/{member_id}/badges", status_code=201, response_model=BadgePublic,
             responses={**NOT_FOUND, 409: {"description": "Card already enrolled"}}, summary="Enrol a badge")
def create_badge(member_id: RowId, body: BadgeCreate, user: StaffUser, session: SessionDep, station: StationDep,
                 clock: ClockDep) -> BadgePublic:
    member = _member(session, member_id)
    credential = hash_credential(station.keys.site_key, str(int(body.card_number)))
    if session.execute(select(Badge.id).where(Badge.credential_hash == credential)).first():
        raise HTTPException(409, "this card is already enrolled")
    now = clock.now()
    badge = Badge(member_id=member.id, credential_hash=credential, label=body.label, active=True, enrolled_at=now)
    session.add(badge)
    session.flush()
    audit(session, now, "badge_enrolled", f"member:{user.id}", member_id=member.id, detail={"badge": badge.id})
    session.commit()
    station.access_changed()
    return badge_public(badge)


@router.get("/members/{member_id}/badges", response_model=list[BadgePublic], responses=NOT_FOUND,
            summary="A member's badges (staff, or the member)")
def read_badges(member_id: RowId, user: CurrentUser, session: SessionDep) -> list[BadgePublic]:
    _member_seen_by(user, session, member_id)
    return [badge_public(b) for b in session.execute(select(Badge).where(Badge.member_id == member_id)).scalars()]


@router.post("/badges/{badge_id}/revoke", response_model=BadgePublic, responses=NOT_FOUND,
             summary="Revoke a badge: new grant lists without it")
def revoke_badge(badge_id: RowId, user: StaffUser, session: SessionDep, station: StationDep,
                 clock: ClockDep) -> BadgePublic:
    badge = session.get(Badge, badge_id)
    if badge is None:
        raise HTTPException(404, f"no badge {badge_id}")
    if badge.active:
        now = clock.now()
        badge.active, badge.revoked_at = False, now
        audit(session, now, "badge_revoked", f"member:{user.id}", member_id=badge.member_id, detail={"badge": badge.id})
        session.commit()
        station.access_changed()
    return badge_public(badge)


@router.post("/members/{member_id}/trainings", status_code=201, response_model=TrainingPublic,
             responses=NOT_FOUND, summary="Record a fab-lab machine training")
def create_training(member_id: RowId, body: TrainingCreate, user: StaffUser, session: SessionDep,
                    station: StationDep, inventory: InventoryDep, clock: ClockDep) -> TrainingPublic:
    member = _member(session, member_id)
    try:
        _, space = inventory.space(body.space)
    except KeyError:
        raise HTTPException(404, f"no space {body.space!r}") from None
    if space.kind is not SpaceKind.fablab:
        raise unprocessable(f"{space.name} is not a fab lab", field="space")
    now = clock.now()
    if body.valid_until <= now:
        raise unprocessable("valid_until is in the past", field="valid_until")
    training = Training(member_id=member.id, space_id=space.id, machine=body.machine, valid_until=body.valid_until,
                        revoked=False)
    session.add(training)
    session.flush()
    audit(session, now, "training_recorded", f"member:{user.id}", member_id=member.id, space_id=space.id,
          detail={"training": training.id, "machine": body.machine})
    session.commit()
    station.access_changed()
    return training_public(training)


@router.get("/members/{member_id}/trainings", response_model=list[TrainingPublic], responses=NOT_FOUND,
            summary="A member's trainings (staff, or the member)")
def read_trainings(member_id: RowId, user: CurrentUser, session: SessionDep) -> list[TrainingPublic]:
    _member_seen_by(user, session, member_id)
    return [training_public(t) for t in session.execute(select(Training).where(Training.member_id == member_id))
            .scalars()]


@router.post("/trainings/{training_id}/revoke", response_model=TrainingPublic, responses=NOT_FOUND,
             summary="Withdraw a training")
def revoke_training(training_id: RowId, user: StaffUser, session: SessionDep, station: StationDep,
                    clock: ClockDep) -> TrainingPublic:
    training = session.get(Training, training_id)
    if training is None:
        raise HTTPException(404, f"no training {training_id}")
    if not training.revoked:
        training.revoked = True
        audit(session, clock.now(), "training_revoked", f"member:{user.id}", member_id=training.member_id,
              space_id=training.space_id, detail={"training": training.id})
        session.commit()
        station.access_changed()
    return training_public(training)


@router.post("/api-keys", status_code=201, response_model=ApiKeyPublic, tags=["auth"],
             summary="Create an API key for a node or an integration (admin)")
def create_api_key(body: ApiKeyCreate, user: AdminUser, session: SessionDep, clock: ClockDep) -> ApiKeyPublic:
    if body.role not in (Role.node, Role.integration):
        raise unprocessable("an API key's role is node or integration", field="role")
    now = clock.now()
    holder = Member(email=f"key-{new_secret('k')[2:14].lower()}@api-keys.invalid", name=body.name,
                    role=body.role.value, status=MemberStatus.active.value, created_at=now)
    session.add(holder)
    session.flush()
    secret = new_secret("sk")
    session.add(Token(digest=digest(secret), member_id=holder.id, kind="api_key", label=body.name, created_at=now))
    audit(session, now, "api_key_created", f"member:{user.id}", detail={"holder": holder.id, "role": holder.role})
    session.commit()
    return ApiKeyPublic(id=holder.id, name=body.name, role=body.role, api_key=secret)
