"""Members, badges, trainings and API keys (staff; staff and admin accounts: admin only).

Badges are enrolled by card number — the decimal string of the Wiegand data bits
without parity — and stored only as the site's HMAC of it; or by tapping the card at
any reader: the door refuses the unknown card, the API keeps its hash
(``GET /api/v1/doors/{door}/unknown-cards``), and staff enrol that hash for a member
(``unknown_card_id``) — the number never leaves the reader node.

Role boundaries: staff manage members; only an administrator changes a staff or
admin account (its status, badges, trainings, role), so that staff can never lock an
administrator out. Every change that can alter who may open a door re-issues the grant
lists, and every change is audited.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from station.access import hash_credential
from station.inventory import SpaceKind

from .. import audit
from ..db.models import PEOPLE_ROLES, Badge, Member, MemberStatus, Role, Token, Training, UnknownCard
from ..deps import (AdminUser, ClockDep, CurrentUser, InventoryDep, RowId, RuntimeDep, SessionDep, StaffUser, is_staff,
                    may_manage, unprocessable)
from ..fields import CardNumber, Email, Identifier, Text, When, errors
from ..security import digest, hash_password, new_secret

router = APIRouter(prefix="/api/v1", tags=["members"])
NOT_FOUND = errors((404, "No such member, badge or training"))
ADMIN_ONLY = errors((403, "Staff only; staff and admin accounts are changed by administrators only"))


class MemberCreate(BaseModel):
    email: Email
    name: Text = Field(min_length=1, max_length=120)
    role: Role = Role.member
    password: Text | None = Field(default=None, min_length=10, max_length=1024)


class MemberPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    status: MemberStatus
    created_at: datetime


class BadgeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_number: CardNumber | None = Field(default=None, description="Decimal Wiegand data bits, without parity "
                                           "(a 26- or 34-bit card: at most 4294967295)")
    unknown_card_id: int | None = Field(default=None, ge=1, le=2_147_483_647,
                                        description="A card tapped at a reader (GET /api/v1/doors/{door}/unknown-cards)")
    label: Text = Field(default="", max_length=80)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.card_number is None) == (self.unknown_card_id is None):
            raise ValueError("give either card_number or unknown_card_id")
        return self


class BadgePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    credential_hash: str
    label: str
    active: bool
    enrolled_at: datetime
    revoked_at: datetime | None


class TrainingCreate(BaseModel):
    space: Identifier = Field(description="The fab-lab space of the machine")
    machine: Text = Field(min_length=1, max_length=80, description="A machine of the space (its id or its training "
                                                                    "key, see GET /machines) or `general`: the fab "
                                                                    "lab's induction (its door only)")
    valid_until: When


class TrainingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    space: str = Field(validation_alias=AliasChoices("space", "space_id"))
    machine: str
    valid_until: datetime
    revoked: bool


class ApiKeyCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=120)
    role: Role = Field(default=Role.integration, description="node or integration")


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    role: Role
    api_key: str = Field(description="Shown once; only its hash is kept")


def member_public(m: Member) -> MemberPublic:
    return MemberPublic.model_validate(m)


def badge_public(b: Badge) -> BadgePublic:
    return BadgePublic.model_validate(b)


def training_public(t: Training) -> TrainingPublic:
    return TrainingPublic.model_validate(t)


def _member(session, member_id: RowId) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.role not in PEOPLE_ROLES:
        raise HTTPException(404, f"no member {member_id}")
    return member


def _managed(user: Member, session, member_id: RowId) -> Member:
    """The member, if ``user`` may change that account (staff: members only)."""
    member = _member(session, member_id)
    if not may_manage(user, member):
        raise HTTPException(403, f"only an administrator changes a {member.role.value} account")
    return member


def _flush_or_409(session, message: str) -> None:
    """Write the new row; a unique e-mail or card that a concurrent request wrote between
    our check and this insert (another thread, another API instance) is the same 409 as
    the check's, not a database error."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, message) from None


def _member_seen_by(user: Member, session, member_id: RowId) -> Member:
    """The member, for staff or the member themself; anyone else is told it does not exist."""
    if user.id != member_id and not is_staff(user):
        raise HTTPException(404, f"no member {member_id}")
    return _member(session, member_id)


@router.get("/members/me", response_model=MemberPublic, tags=["auth"], summary="Who am I")
def read_me(user: CurrentUser) -> MemberPublic:
    return member_public(user)


@router.post("/members", status_code=201, response_model=MemberPublic, summary="Enrol a member",
             responses=errors((409, "Email already used"), (403, "Staff only; staff and admins are created by administrators")))
def create_member(body: MemberCreate, user: StaffUser, session: SessionDep, clock: ClockDep) -> MemberPublic:
    if body.role not in PEOPLE_ROLES:
        raise unprocessable("role must be member, staff or admin (API keys: POST /api/v1/api-keys)", field="role")
    if body.role is not Role.member and user.role is not Role.admin:
        raise HTTPException(403, "only administrators create staff or administrators")
    email = body.email.strip().lower()
    if session.execute(select(Member.id).where(func.lower(Member.email) == email)).first():
        raise HTTPException(409, f"{email} is already enrolled")
    now = clock.now()
    member = Member(email=email, name=body.name, role=body.role, status=MemberStatus.active,
                    password_hash=hash_password(body.password) if body.password else None, created_at=now)
    session.add(member)
    _flush_or_409(session, f"{email} is already enrolled")  # another request enrolled it meanwhile
    audit.record(session, now, "member_enrolled", audit.actor_of(user), member_id=member.id,
                 detail={"role": member.role.value})
    session.commit()
    return member_public(member)


@router.get("/members", response_model=list[MemberPublic], responses=errors(403), summary="Every member (staff)")
def read_members(user: StaffUser, session: SessionDep) -> list[MemberPublic]:
    rows = session.execute(select(Member).where(Member.role.in_(PEOPLE_ROLES)).order_by(Member.id))
    return [member_public(m) for m in rows.scalars()]


def _set_status(member_id: int, status: MemberStatus, user, session, runtime, clock) -> MemberPublic:
    if member_id == user.id:
        raise HTTPException(409, "you cannot change your own status")
    member = _managed(user, session, member_id)
    member.status = status
    audit.record(session, clock.now(), f"member_{status.value}", audit.actor_of(user), member_id=member.id)
    session.commit()
    runtime.access_changed(member.id)
    return member_public(member)


@router.post("/members/{member_id}/suspend", response_model=MemberPublic,
             responses={**NOT_FOUND, **ADMIN_ONLY, **errors((409, "One's own status"))},
             summary="Suspend a member: their badges stop opening doors")
def suspend_member(member_id: RowId, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                   clock: ClockDep) -> MemberPublic:
    return _set_status(member_id, MemberStatus.suspended, user, session, runtime, clock)


@router.post("/members/{member_id}/reinstate", response_model=MemberPublic,
             responses={**NOT_FOUND, **ADMIN_ONLY, **errors((409, "One's own status"))},
             summary="Lift a suspension")
def reinstate_member(member_id: RowId, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                     clock: ClockDep) -> MemberPublic:
    return _set_status(member_id, MemberStatus.active, user, session, runtime, clock)


@router.post("/members/{member_id}/badges", status_code=201, response_model=BadgePublic,
             responses={**NOT_FOUND, **ADMIN_ONLY, **errors((409, "Card already enrolled"))},
             summary="Enrol a badge, by card number or by a card tapped at a reader")
def create_badge(member_id: RowId, body: BadgeCreate, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                 clock: ClockDep) -> BadgePublic:
    member = _managed(user, session, member_id)
    tapped = None
    if body.unknown_card_id is not None:
        tapped = session.get(UnknownCard, body.unknown_card_id)
        if tapped is None:
            raise HTTPException(404, f"no unknown card {body.unknown_card_id} (it may have been enrolled or "
                                     "pushed out by newer ones)")
        credential = tapped.credential_hash
    else:
        credential = hash_credential(runtime.keys.site_key, body.card_number)
    if session.execute(select(Badge.id).where(Badge.credential_hash == credential)).first():
        raise HTTPException(409, "this card is already enrolled")
    now = clock.now()
    badge = Badge(member_id=member.id, credential_hash=credential, label=body.label, active=True, enrolled_at=now)
    session.add(badge)
    _flush_or_409(session, "this card is already enrolled")  # another request enrolled it meanwhile
    audit.record(session, now, "badge_enrolled", audit.actor_of(user), member_id=member.id, door_id=tapped and tapped.door_id,
                 detail={"badge": badge.id, "by": "tap" if tapped else "card_number"})
    if tapped is not None:
        session.delete(tapped)
    session.commit()
    runtime.access_changed(member.id)
    return badge_public(badge)


@router.get("/members/{member_id}/badges", response_model=list[BadgePublic], responses=NOT_FOUND,
            summary="A member's badges (staff, or the member)")
def read_badges(member_id: RowId, user: CurrentUser, session: SessionDep) -> list[BadgePublic]:
    _member_seen_by(user, session, member_id)
    return [badge_public(b) for b in session.execute(select(Badge).where(Badge.member_id == member_id)).scalars()]


@router.post("/badges/{badge_id}/revoke", response_model=BadgePublic, responses={**NOT_FOUND, **ADMIN_ONLY},
             summary="Revoke a badge: new grant lists without it")
def revoke_badge(badge_id: RowId, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                 clock: ClockDep) -> BadgePublic:
    badge = session.get(Badge, badge_id)
    if badge is None:
        raise HTTPException(404, f"no badge {badge_id}")
    _managed(user, session, badge.member_id)
    if badge.active:
        now = clock.now()
        badge.active, badge.revoked_at = False, now
        audit.record(session, now, "badge_revoked", audit.actor_of(user), member_id=badge.member_id,
                     detail={"badge": badge.id})
        session.commit()
        runtime.access_changed(badge.member_id)
    return badge_public(badge)


@router.post("/members/{member_id}/trainings", status_code=201, response_model=TrainingPublic,
             responses={**NOT_FOUND, **ADMIN_ONLY, **errors(422)}, summary="Record a fab-lab machine training")
def create_training(member_id: RowId, body: TrainingCreate, user: StaffUser, session: SessionDep,
                    runtime: RuntimeDep, inventory: InventoryDep, clock: ClockDep) -> TrainingPublic:
    member = _managed(user, session, member_id)
    try:
        _, space = inventory.space(body.space)
    except KeyError:
        raise HTTPException(404, f"no space {body.space!r}") from None
    if space.kind is not SpaceKind.fablab:
        raise unprocessable(f"{space.name} is not a fab lab", field="space")
    now = clock.now()
    if body.valid_until <= now:
        raise unprocessable("valid_until is in the past", field="valid_until")
    from ..machines import GENERAL_TRAINING, training_key  # a machine of the inventory (issue 15)

    key = training_key(inventory, space.id, body.machine)
    if key is None:
        known = sorted({m.training_id for m in inventory.machines_of(space.id)} | {GENERAL_TRAINING})
        raise unprocessable(f"{body.machine!r} is no machine of {space.name}: one of {', '.join(known)}",
                            field="machine")
    training = Training(member_id=member.id, space_id=space.id, machine=key, valid_until=body.valid_until,
                        revoked=False)
    session.add(training)
    session.flush()
    audit.record(session, now, "training_recorded", audit.actor_of(user), member_id=member.id, space_id=space.id,
                 detail={"training": training.id, "machine": key})
    session.commit()
    runtime.access_changed(member.id)
    return training_public(training)


@router.get("/members/{member_id}/trainings", response_model=list[TrainingPublic], responses=NOT_FOUND,
            summary="A member's trainings (staff, or the member)")
def read_trainings(member_id: RowId, user: CurrentUser, session: SessionDep) -> list[TrainingPublic]:
    _member_seen_by(user, session, member_id)
    return [training_public(t) for t in session.execute(select(Training).where(Training.member_id == member_id))
            .scalars()]


@router.post("/trainings/{training_id}/revoke", response_model=TrainingPublic, responses={**NOT_FOUND, **ADMIN_ONLY},
             summary="Withdraw a training")
def revoke_training(training_id: RowId, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                    clock: ClockDep) -> TrainingPublic:
    training = session.get(Training, training_id)
    if training is None:
        raise HTTPException(404, f"no training {training_id}")
    _managed(user, session, training.member_id)
    if not training.revoked:
        training.revoked = True
        audit.record(session, clock.now(), "training_revoked", audit.actor_of(user), member_id=training.member_id,
                     space_id=training.space_id, detail={"training": training.id})
        session.commit()
        runtime.access_changed(training.member_id)
    return training_public(training)


@router.post("/api-keys", status_code=201, response_model=ApiKeyPublic, tags=["auth"], responses=errors(403),
             summary="Create an API key for a node or an integration (admin)")
def create_api_key(body: ApiKeyCreate, user: AdminUser, session: SessionDep, clock: ClockDep) -> ApiKeyPublic:
    if body.role not in (Role.node, Role.integration):
        raise unprocessable("an API key's role is node or integration", field="role")
    now = clock.now()
    holder = Member(email=f"key-{new_secret('k')[2:14].lower()}@api-keys.invalid", name=body.name,
                    role=body.role, status=MemberStatus.active, created_at=now)
    session.add(holder)
    session.flush()
    secret = new_secret("sk")
    session.add(Token(digest=digest(secret), member_id=holder.id, kind="api_key", label=body.name, created_at=now))
    audit.record(session, now, "api_key_created", audit.actor_of(user),
                 detail={"holder": holder.id, "role": holder.role.value})
    session.commit()
    return ApiKeyPublic(id=holder.id, name=body.name, role=body.role, api_key=secret)
