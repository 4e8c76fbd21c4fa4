"""SQLAlchemy 2 models. Times are stored as naive UTC and read back as aware UTC.

Sites, spaces and doors are copies of the inventory (seeded at start), so that bookings
and audit entries can reference them. Card numbers are never stored: a badge holds the
site's HMAC of the card number. The audit log is append-only (updates and deletes of
audit rows raise).
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator,
                        UniqueConstraint, event)
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


class Role(str, enum.Enum):
    member = "member"
    staff = "staff"
    admin = "admin"
    node = "node"
    integration = "integration"


#: The roles that run the building: every staff check reads this one set.
STAFF_ROLES = frozenset({Role.staff.value, Role.admin.value})


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
HOLDING = (BookingStatus.confirmed.value, BookingStatus.checked_in.value)


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
    role: Mapped[str] = mapped_column(String(16), default=Role.member.value)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.active.value)
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
    __table_args__ = (Index("ix_bookings_space_time", "space_id", "start", "end"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    attendees: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.confirmed.value)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    member: Mapped[Member] = relationship()


class DoorGrantState(Base):
    """The last grant list published for a door: its version only ever grows."""

    __tablename__ = "door_grants"
    door_id: Mapped[str] = mapped_column(ForeignKey("doors.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[str] = mapped_column(Text)


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
    __table_args__ = (Index("ix_audit_ts", "ts"),)
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
