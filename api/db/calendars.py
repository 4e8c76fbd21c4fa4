"""The calendars' tables: blocked periods, private feed tokens, CalDAV events seen.

- :class:`BlockedPeriod` — a space closed, or taken by a programmed event (the venue's
  programme), imported from an ICS file or URL (:mod:`api.closures`); bookings over it
  are refused (rule ``closed``).
- :class:`CalendarFeed` — a member's private iCal feed: only the SHA-256 of its token
  is stored (the token itself is derived from the API's key, see
  :mod:`api.calendars.tokens`); rotating it gives a new ``salt``, and the old URL stops.
- :class:`CalDavEvent` — an event a member created in a room's CalDAV calendar, and
  what became of it (booked, or declined with the reason), so it is judged once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UtcDateTime


class BlockedPeriod(Base):
    __tablename__ = "blocked_periods"
    __table_args__ = (Index("ix_blocked_periods_space_time", "space_id", "start", "end"),
                      UniqueConstraint("source", "uid", "space_id", "start", name="uq_blocked_periods_event"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(16))  # "closure" or "event"
    summary: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(500))  # the file or URL it was imported from
    uid: Mapped[str] = mapped_column(String(255))  # the ICS event's UID
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CalendarFeed(Base):
    __tablename__ = "calendar_feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class CalDavEvent(Base):
    __tablename__ = "caldav_events"
    __table_args__ = (UniqueConstraint("space_id", "uid", name="uq_caldav_events_space_uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    uid: Mapped[str] = mapped_column(String(255))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # "booked" or "declined"
    rule: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
