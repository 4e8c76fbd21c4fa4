"""The fab-lab machines' tables: the machines (a copy of the inventory, with their service
state), their grant lists, their bookings and the usage sessions the nodes report.

- :class:`MachineRow` — seeded from the inventory; ``out_of_order`` is staff's word, and
  every grant list of the machine says it until staff clear it.
- :class:`MachineGrantState` — the last list issued for a machine, like a door's.
- :class:`MachineBooking` — a member's slot on a machine (the rules of rooms, plus
  "trained on it": :func:`api.booking_rules.check_machine_booking`).
- :class:`MachineSession` — power on to power off, from the node's ``machine_on`` and
  ``machine_off`` events (by event id: a replayed event changes nothing); ``duration_s``
  is the node's own count of the relay's on-time, the basis of the usage log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, BookingStatus, Member, UtcDateTime, enum_column


class MachineRow(Base):
    __tablename__ = "machines"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    name: Mapped[str] = mapped_column(String(80))
    out_of_order: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_order_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    out_of_order_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class MachineGrantState(Base):
    """The last grant list published for a machine: its version only ever grows."""

    __tablename__ = "machine_grants"
    machine_id: Mapped[str] = mapped_column(ForeignKey("machines.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[str] = mapped_column(Text)


class MachineBooking(Base):
    __tablename__ = "machine_bookings"
    __table_args__ = (Index("ix_machine_bookings_machine_time", "machine_id", "start", "end"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[str] = mapped_column(ForeignKey("machines.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    title: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus), default=BookingStatus.confirmed)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    member: Mapped[Member] = relationship()


class MachineSession(Base):
    __tablename__ = "machine_sessions"
    __table_args__ = (Index("ix_machine_sessions_machine_start", "machine_id", "started_at"),
                      Index("ix_machine_sessions_member", "member_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[str] = mapped_column(ForeignKey("machines.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    credential_hash: Mapped[str] = mapped_column(String(64))
    on_event: Mapped[str] = mapped_column(String(64), unique=True)
    off_event: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    member: Mapped[Member | None] = relationship()
