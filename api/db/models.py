"""SQLAlchemy 2 models. Times are stored as naive UTC and read back as aware UTC.

Sites, spaces and doors are copies of the inventory (seeded at start), so that bookings
and audit entries can reference them. Card numbers are never stored: a badge holds the
site's HMAC of the card number. The audit log is append-only for the application
(updates and deletes of audit rows through the ORM raise); only retention
(:mod:`api.retention`) and erasure (:mod:`api.erasure`) remove or anonymise rows, with
bulk statements.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Enum, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint, event)
from sqlalchemy import update as sa_update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


def enum_column(kind: type[enum.Enum], length: int = 16):
    """An enum stored as its value in a VARCHAR column (the same bytes as a plain string)."""
    return Enum(kind, native_enum=False, length=length, create_constraint=False,
                values_callable=lambda members: [m.value for m in members], validate_strings=True)


class Role(str, enum.Enum):
    member = "member"
    staff = "staff"
    admin = "admin"
    node = "node"
    integration = "integration"


#: The roles that run the building: every staff check reads this one set.
STAFF_ROLES = frozenset({Role.staff, Role.admin})
#: The roles of people (the others are API keys).
PEOPLE_ROLES = frozenset({Role.member, Role.staff, Role.admin})


class MemberStatus(str, enum.Enum):
    active = "active"
    suspended = "suspended"


class BookingStatus(str, enum.Enum):
    confirmed = "confirmed"
    checked_in = "checked_in"
    released = "released"
    cancelled = "cancelled"
    no_show = "no_show"


#: Bookings that hold the room (and open its door).
HOLDING = (BookingStatus.confirmed, BookingStatus.checked_in)


def move_if(session, model, booking_id: int, statuses, **values) -> bool:
    """Change a booking (a room's or a machine's) only while its status is one of
    ``statuses``, in one statement: a check-in, a no-show release or a cancel made
    meanwhile (here or by another instance) is never overwritten; PostgreSQL makes a
    concurrent one wait and re-check. True when this call changed it."""
    return session.execute(sa_update(model).where(model.id == booking_id, model.status.in_(statuses))
                           .values(**values)).rowcount == 1


class CommandStatus(str, enum.Enum):
    pending = "pending"  # signed and published, the node has not answered yet
    applied = "applied"
    rejected = "rejected"
    expired = "expired"  # still pending past its expiry: the node never applied it


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64))


class SpaceRow(Base):
    __tablename__ = "spaces"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))
    capacity: Mapped[int] = mapped_column(Integer)
    bookable: Mapped[bool] = mapped_column(Boolean)
    max_booking_minutes: Mapped[int] = mapped_column(Integer)


class DoorRow(Base):
    __tablename__ = "doors"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    name: Mapped[str] = mapped_column(String(80))


class Member(Base):
    """A person (member, staff, admin) or an API key holder (node, integration)."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.member)
    status: Mapped[MemberStatus] = mapped_column(enum_column(MemberStatus), default=MemberStatus.active)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    badges: Mapped[list["Badge"]] = relationship(back_populates="member")
    trainings: Mapped[list["Training"]] = relationship(back_populates="member")


class Token(Base):
    """A login token or an API key; only the SHA-256 of the secret is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "login" or "api_key"
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Badge(Base):
    __tablename__ = "badges"
    __table_args__ = (UniqueConstraint("credential_hash", name="uq_badges_credential_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    credential_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(80), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    member: Mapped[Member] = relationship(back_populates="badges")


class Training(Base):
    """A member qualified on a fab-lab machine (of one space) until a date."""

    __tablename__ = "trainings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    machine: Mapped[str] = mapped_column(String(80))
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    member: Mapped[Member] = relationship(back_populates="trainings")


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_space_time", "space_id", "start", "end"),
                      Index("ix_bookings_member_id", "member_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    attendees: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus), default=BookingStatus.confirmed)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    member: Mapped[Member] = relationship()


class DoorGrantState(Base):
    """The last grant list published for a door: its version only ever grows."""

    __tablename__ = "door_grants"
    door_id: Mapped[str] = mapped_column(ForeignKey("doors.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[str] = mapped_column(Text)


class DoorCommandRow(Base):
    """A staff command to a door: signed, sequenced per door, and what the node answered."""

    __tablename__ = "door_commands"
    __table_args__ = (UniqueConstraint("door_id", "seq", name="uq_door_commands_door_seq"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    door_id: Mapped[str] = mapped_column(ForeignKey("doors.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    issued_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[CommandStatus] = mapped_column(enum_column(CommandStatus), default=CommandStatus.pending)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class UnknownCard(Base):
    """A card a door did not know, seen lately: staff enrol it by its hash (the number
    never leaves the reader node). The newest ones per door are kept."""

    __tablename__ = "unknown_cards"
    __table_args__ = (UniqueConstraint("door_id", "credential_hash", name="uq_unknown_cards_door_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    door_id: Mapped[str] = mapped_column(ForeignKey("doors.id"))
    credential_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    times: Mapped[int] = mapped_column(Integer, default=1)


class DoorStateRow(Base):
    """A door's live state as its node last reported it (contact, alarm, lock mode, fire),
    kept so that "held open since 10:02" survives an API restart (see :mod:`api.door_states`)."""

    __tablename__ = "door_states"
    door_id: Mapped[str] = mapped_column(ForeignKey("doors.id"), primary_key=True)
    contact: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "open", "closed"
    contact_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    alarm: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "forced", "held" while open
    alarm_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    lock_mode: Mapped[str] = mapped_column(String(16), default="normal")  # normal, lockdown, release
    lock_mode_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    fire: Mapped[bool] = mapped_column(Boolean, default=False)
    fire_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeadLetter(Base):
    """An MQTT message the API refused (malformed, or from a node that has no say on it)."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_received_at", "received_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    topic: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(300))
    excerpt: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class LoginDevice(Base):
    """A browser or device that logged in to an account before (only the SHA-256 of its
    token is kept): the throttle never locks an account's known devices out because of
    failures coming from elsewhere."""

    __tablename__ = "login_devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginFailure(Base):
    """A failed login, kept for the throttle's window, in the database so that every API
    process counts the same failures. ``key`` is the SHA-256 of ``login:<email>`` or
    ``client:<address>``: no address or e-mail in clear."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """Append-only: who opened which door when, denied attempts, remote commands, changes."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_ts", "ts"), Index("ix_audit_member_id", "member_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    door_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    space_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _audit_is_append_only(mapper, connection, target):
    raise PermissionError("the audit log is append-only")
