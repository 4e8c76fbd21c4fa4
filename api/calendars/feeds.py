"""iCalendar (RFC 5545) feeds, built from the database on each request.

- A space's feed is public: its holding bookings as busy blocks titled "Réservé" (no
  names, no titles), and its closures and programmed events by their summary.
- A member's feed is private (a token URL, :mod:`.tokens`): their own bookings with
  the space, the site, the state (checked in at…, released as a no-show at…, cancelled
  ones as ``STATUS:CANCELLED``).

Each booking keeps one UID everywhere (:func:`booking_uid`): the feeds, the CalDAV room
calendars, and the UID a member's own CalDAV event had when it became the booking — so a
calendar app never shows it twice. Times are UTC (``Z``); ``X-WR-TIMEZONE`` names the
site's zone; ``REFRESH-INTERVAL`` asks apps to come back every 5 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from station.inventory import Inventory

from ..db.calendars import BlockedPeriod, CalDavEvent
from ..db.models import HOLDING, Booking, BookingStatus
from ..messages import clock_time

BUSY = "Réservé"
PRODID = "-//La Station//Calendars//FR"
#: How far back the feeds go (the future is bounded by the booking horizon).
PAST = timedelta(days=31)


def booking_uid(booking_id: int, imported: dict[int, str] | None = None) -> str:
    if imported and booking_id in imported:
        return imported[booking_id]
    return f"station-booking-{booking_id}@la-station"


def imported_uids(session: Session, booking_ids) -> dict[int, str]:
    """UIDs of bookings that came from a member's CalDAV event (they keep that UID)."""
    ids = list(booking_ids)
    if not ids:
        return {}
    rows = session.execute(select(CalDavEvent.booking_id, CalDavEvent.uid).where(CalDavEvent.booking_id.in_(ids)))
    return {b: u for b, u in rows}


def new_calendar(name: str, tz: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz)
    cal.add("refresh-interval", timedelta(minutes=5), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT5M")
    return cal


def busy_event(booking: Booking, uid: str, now: datetime) -> icalendar.Event:
    """A booking as a room calendar shows it: busy, no name, no title."""
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", now)
    ev.add("dtstart", booking.start)
    ev.add("dtend", booking.end)
    ev.add("summary", BUSY)
    ev.add("transp", "OPAQUE")
    ev.add("status", "CONFIRMED")
    ev.add("x-station-booking", str(booking.id))
    return ev


def blocked_event(period: BlockedPeriod, now: datetime) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", f"station-blocked-{period.id}@la-station")
    ev.add("dtstamp", now)
    ev.add("dtstart", period.start)
    ev.add("dtend", period.end)
    ev.add("summary", period.summary or ("Fermé" if period.kind == "closure" else "Événement"))
    ev.add("categories", ["closure" if period.kind == "closure" else "event"])
    ev.add("transp", "OPAQUE")
    return ev


def space_feed(session: Session, inventory: Inventory, space_id: str, now: datetime) -> bytes:
    site, space = inventory.space(space_id)
    cal = new_calendar(f"{space.name} — {site.name}", site.timezone)
    bookings = session.execute(select(Booking).where(Booking.space_id == space_id, Booking.status.in_(HOLDING),
                                                     Booking.end > now - PAST).order_by(Booking.start)).scalars().all()
    uids = imported_uids(session, (b.id for b in bookings))
    for b in bookings:
        cal.add_component(busy_event(b, booking_uid(b.id, uids), now))
    periods = session.execute(select(BlockedPeriod).where(BlockedPeriod.space_id == space_id,
                                                          BlockedPeriod.end > now - PAST)
                              .order_by(BlockedPeriod.start)).scalars()
    for p in periods:
        cal.add_component(blocked_event(p, now))
    return cal.to_ical()


def _state(b: Booking, tz) -> str:
    if b.status is BookingStatus.checked_in and b.checked_in_at:
        return f"Badgée à {clock_time(b.checked_in_at, tz, 'fr')} / checked in at {clock_time(b.checked_in_at, tz, 'en')}"
    if b.status is BookingStatus.no_show:
        at = b.ended_at or b.end
        return (f"Libérée à {clock_time(at, tz, 'fr')} : personne n'a badgé / "
                f"released at {clock_time(at, tz, 'en')}: nobody badged in")
    if b.status is BookingStatus.released:
        return "Libérée / released"
    if b.status is BookingStatus.cancelled:
        return "Annulée / cancelled"
    return "Confirmée / confirmed"


def member_feed(session: Session, inventory: Inventory, member_id: int, member_name: str, now: datetime) -> bytes:
    tz_name = inventory.sites[0].timezone
    cal = new_calendar(f"La Station — {member_name}", tz_name)
    bookings = session.execute(select(Booking).where(Booking.member_id == member_id, Booking.end > now - PAST)
                               .order_by(Booking.start)).scalars().all()
    uids = imported_uids(session, (b.id for b in bookings))
    for b in bookings:
        try:
            site, space = inventory.space(b.space_id)
        except KeyError:
            continue  # a space removed from the inventory
        tz = inventory.timezone(b.space_id)
        ev = icalendar.Event()
        ev.add("uid", booking_uid(b.id, uids))
        ev.add("dtstamp", now)
        ev.add("created", b.created_at)
        ev.add("dtstart", b.start)
        ev.add("dtend", b.end)
        ev.add("summary", f"{space.name}" + (f" — {b.title}" if b.title else ""))
        ev.add("location", f"{space.name}, {site.name}")
        ev.add("description", _state(b, tz))
        ev.add("status", "CONFIRMED" if b.status in HOLDING else "CANCELLED")
        ev.add("transp", "OPAQUE" if b.status in HOLDING else "TRANSPARENT")
        ev.add("x-station-booking", str(b.id))
        ev.add("x-station-status", b.status.value)
        cal.add_component(ev)
    return cal.to_ical()
