"""The spaces' bookings on a CalDAV server (Nextcloud, Radicale…), both ways.

One calendar per bookable space, its id the space's id, its name the space's name
(created when missing), under the configured account (``STATION_CALDAV_URL``,
``_USERNAME``, ``_PASSWORD`` or ``_PASSWORD_FILE``).

**Out** — every booking change reaches :meth:`CalDavSync.space_changed` (from
``Runtime.space_changed``), which only marks the space: a worker thread publishes it,
so a booking never waits for the calendar server. Publishing makes the calendar hold
exactly the space's holding bookings of the window (a month back, then the future):
busy events titled "Réservé" with no name, each with the booking's one UID
(:func:`api.calendars.feeds.booking_uid`) — idempotent: publishing twice changes
nothing, and an event for a cancelled or released booking is removed. A server that is
down or refuses is retried later (2 s, doubling, up to ``caldav_retry_max_s``), the
space staying marked; bookings go on meanwhile.

**In** — every ``caldav_pull_interval_s`` (and at start) the worker reads each calendar
for events it did not write: a member who adds an event to a room's calendar asks for
that room. The member is the event's ``ORGANIZER`` e-mail (else the first ``ATTENDEE``)
matched to a member's e-mail. If the booking rules allow it, it becomes a booking of
that member and the event is rewritten as ours ("Réservé", no names, same UID); if not
— unknown address, suspended account, recurring event, any booking rule — it is
marked declined: ``STATUS:CANCELLED``, the room as an attendee with
``PARTSTAT=DECLINED``, and the reason as ``COMMENT``s in French and English
(``X-STATION-DECLINED`` holds the rule code). Each event is judged once
(table ``caldav_events``); moving a declined event to other times judges it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Callable

import icalendar
from sqlalchemy import func, select

from station.inventory import Inventory

from .. import audit
from ..booking_rules import BookingRefused, check_booking
from ..closures import as_aware
from ..db import Database
from ..db.calendars import CalDavEvent
from ..db.models import HOLDING, PEOPLE_ROLES, Booking, BookingStatus, Member, MemberStatus, SpaceRow
from ..settings import ApiSettings
from .feeds import PAST, PRODID, booking_uid, busy_event, imported_uids

log = logging.getLogger(__name__)
RETRY_FIRST_S = 2.0


class CalDavSync:
    def __init__(self, settings: ApiSettings, db: Database, inventory: Inventory, clock, *,
                 booking_lock: threading.Lock, on_booked: Callable[[str], None] | None = None):
        self.settings, self.db, self.inventory, self.clock = settings, db, inventory, clock
        self.booking_lock, self.on_booked = booking_lock, on_booked
        self.spaces = [space.id for _, space in inventory.spaces() if space.bookable]
        self.counts: Counter[str] = Counter()  # published, removed, booked, declined, failures
        self.last_error: str | None = None
        self._dirty: set[str] = set(self.spaces)
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._client = None
        self._calendars: dict[str, object] = {}
        self._retry_s = RETRY_FIRST_S
        self._retry_at = 0.0
        self._next_pull = 0.0

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="api-caldav", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(10)

    def space_changed(self, space_id: str) -> None:
        """A booking of the space changed: publish it soon (never waits for the server)."""
        if space_id in self.spaces:
            with self._cond:
                self._dirty.add(space_id)
                self._cond.notify_all()

    @property
    def pending(self) -> set[str]:
        with self._cond:
            return set(self._dirty)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop:
                    now = time.monotonic()
                    due = [t for t in (self._next_pull, self._retry_at if self._dirty else None) if t is not None]
                    if self._dirty and now >= self._retry_at or now >= self._next_pull:
                        break
                    self._cond.wait(max(0.05, min(due) - now))
                if self._stop:
                    return
            try:
                self.sync_once(pull=time.monotonic() >= self._next_pull)
                self._retry_s, self._retry_at = RETRY_FIRST_S, 0.0
            except Exception as exc:  # the server is down or refuses: retry later, never raise
                self.counts["failures"] += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("CalDAV sync failed (retry in %.0f s): %s", self._retry_s, self.last_error)
                self._client, self._calendars = None, {}
                self._retry_at = time.monotonic() + self._retry_s
                self._next_pull = max(self._next_pull, self._retry_at)
                self._retry_s = min(self._retry_s * 2, self.settings.caldav_retry_max_s)

    def sync_once(self, *, pull: bool = True) -> None:
        """Publish every marked space, then (``pull``) read every calendar; raises on failure
        (the marked spaces stay marked)."""
        for space_id in sorted(self.pending):
            self.publish(space_id)
            with self._cond:
                self._dirty.discard(space_id)
        if pull:
            for space_id in self.spaces:
                self.pull(space_id)
            self._next_pull = time.monotonic() + self.settings.caldav_pull_interval_s
            for space_id in sorted(self.pending):  # what the pull booked
                self.publish(space_id)
                with self._cond:
                    self._dirty.discard(space_id)

    # -- the server ---------------------------------------------------------------------
    def _password(self) -> str | None:
        if self.settings.caldav_password_file is not None:
            return self.settings.caldav_password_file.read_text().strip()
        return self.settings.caldav_password

    def calendar(self, space_id: str):
        """The space's calendar, created when missing."""
        import caldav
        from caldav.lib.error import NotFoundError

        if space_id in self._calendars:
            return self._calendars[space_id]
        if self._client is None:
            self._client = caldav.DAVClient(url=self.settings.caldav_url, username=self.settings.caldav_username,
                                            password=self._password(), timeout=15)
        principal = self._client.principal()
        _, space = self.inventory.space(space_id)
        calendar = principal.calendar(cal_id=space_id)
        try:
            calendar.get_display_name()
        except NotFoundError:
            calendar = principal.make_calendar(name=space.name, cal_id=space_id)
        self._calendars[space_id] = calendar
        return calendar

    # -- out: bookings -> calendar -------------------------------------------------------
    def publish(self, space_id: str) -> None:
        now = self.clock.now()
        calendar = self.calendar(space_id)
        with self.db.session() as s:
            bookings = s.execute(select(Booking).where(Booking.space_id == space_id, Booking.status.in_(HOLDING),
                                                       Booking.end > now - PAST)).scalars().all()
            uids = imported_uids(s, (b.id for b in bookings))
        wanted = {booking_uid(b.id, uids): b for b in bookings}
        for obj in calendar.events():
            ev = _event(obj)
            if ev is None or ev.get("x-station-booking") is None:
                continue  # a member's event: judged by pull()
            uid = str(ev.get("uid"))
            booking = wanted.pop(uid, None)
            if booking is None:
                if as_aware(ev.decoded("dtend"), None) > now - PAST:
                    obj.delete()
                    self.counts["removed"] += 1
            elif (as_aware(ev.decoded("dtstart"), None), as_aware(ev.decoded("dtend"), None)) != (booking.start, booking.end):
                obj.data = _document(busy_event(booking, uid, now))
                obj.save()
                self.counts["published"] += 1
        for uid, booking in wanted.items():
            calendar.save_event(_document(busy_event(booking, uid, now)))
            self.counts["published"] += 1

    # -- in: members' events -> bookings ----------------------------------------------------
    def pull(self, space_id: str) -> None:
        for obj in self.calendar(space_id).events():
            ev = _event(obj)
            if ev is None or ev.get("x-station-booking") is not None:
                continue
            self._judge(space_id, obj, ev)

    def _judge(self, space_id: str, obj, ev) -> None:
        uid = str(ev.get("uid") or "")[:255]
        site_tz = self.inventory.timezone(space_id)
        try:
            start = as_aware(ev.decoded("dtstart"), site_tz)
            end = as_aware(ev.decoded("dtend"), site_tz) if ev.get("dtend") is not None else start + ev.decoded("duration")
        except (KeyError, ValueError, TypeError):
            return  # not an event we can place in time; leave it alone
        now = self.clock.now()
        with self.db.session() as s:
            seen = s.execute(select(CalDavEvent).where(CalDavEvent.space_id == space_id,
                                                       CalDavEvent.uid == uid)).scalar_one_or_none()
            if seen is not None and (seen.state == "booked" or (seen.start, seen.end) == (start, end)):
                return
        refused, booking_id = self._book(space_id, uid, ev, start, end, now)
        with self.db.session() as s:
            seen = s.execute(select(CalDavEvent).where(CalDavEvent.space_id == space_id,
                                                       CalDavEvent.uid == uid)).scalar_one_or_none()
            if seen is None:
                seen = CalDavEvent(space_id=space_id, uid=uid)
                s.add(seen)
            seen.start, seen.end, seen.seen_at = start, end, now
            seen.state = "declined" if refused else "booked"
            seen.booking_id = booking_id
            seen.rule = refused.rule if refused else None
            seen.reason = refused.text("fr")[:300] if refused else None
        if refused is None:
            with self.db.session() as s:
                booking = s.get(Booking, booking_id)
            obj.data = _document(busy_event(booking, uid, now))
            obj.save()
            self.counts["booked"] += 1
            if self.on_booked is not None:
                self.on_booked(space_id)
        else:
            obj.data = _declined(obj.data, space_id, self.inventory, refused)
            obj.save()
            self.counts["declined"] += 1

    def _book(self, space_id: str, uid: str, ev, start: datetime, end: datetime,
              now: datetime) -> tuple[BookingRefused | None, int | None]:
        if ev.get("rrule") is not None:
            return BookingRefused(422, "recurring"), None
        emails = _addresses(ev)
        with self.booking_lock, self.db.session() as s:
            member = None
            for email in emails:
                member = s.execute(select(Member).where(func.lower(Member.email) == email,
                                                        Member.role.in_(PEOPLE_ROLES))).scalar_one_or_none()
                if member is not None:
                    break
            if member is None:
                return (BookingRefused(422, "unknown_organizer", email=emails[0]) if emails
                        else BookingRefused(422, "no_organizer")), None
            if member.status is not MemberStatus.active:
                return BookingRefused(403, "member_suspended", email=member.email), None
            s.get(SpaceRow, space_id, with_for_update=True)
            try:
                check_booking(s, self.inventory, space_id=space_id, start=start, end=end, attendees=1, now=now,
                              horizon=timedelta(days=self.settings.booking_horizon_days))
            except BookingRefused as refused:
                return refused, None
            booking = Booking(space_id=space_id, member_id=member.id, start=start, end=end, attendees=1,
                              title=str(ev.get("summary") or "")[:120], status=BookingStatus.confirmed,
                              created_at=now)
            s.add(booking)
            s.flush()
            audit.record(s, now, "booking_created", "caldav", member_id=member.id, space_id=space_id,
                         detail={"booking": booking.id, "start": start.isoformat(), "end": end.isoformat(),
                                 "caldav_uid": uid})
            return None, booking.id


def _event(obj):
    try:
        cal = icalendar.Calendar.from_ical(obj.data)
    except ValueError:
        return None
    events = cal.walk("VEVENT")
    return events[0] if events else None


def _document(event: icalendar.Event) -> str:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add_component(event)
    return cal.to_ical().decode()


def _addresses(ev) -> list[str]:
    """The organizer's e-mail, then the attendees' (lowercase, without ``mailto:``)."""
    found = []
    organizer = ev.get("organizer")
    attendees = ev.get("attendee") or []
    for value in [organizer, *(attendees if isinstance(attendees, list) else [attendees])]:
        if value is None:
            continue
        address = str(value).strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        address = address.lower()
        if "@" in address and address not in found:
            found.append(address)
    return found


def _declined(data: str, space_id: str, inventory: Inventory, refused: BookingRefused) -> str:
    """The member's event, marked declined with the reason (French and English)."""
    cal = icalendar.Calendar.from_ical(data)
    _, space = inventory.space(space_id)
    for ev in cal.walk("VEVENT"):
        for name in ("status", "x-station-declined", "comment"):
            ev.pop(name, None)
        ev.add("status", "CANCELLED")
        ev.add("x-station-declined", refused.rule)
        ev.add("comment", f"Refusé : {refused.text('fr')}", parameters={"LANGUAGE": "fr"})
        ev.add("comment", f"Declined: {refused.text('en')}", parameters={"LANGUAGE": "en"})
        room = f"urn:x-station:space:{space_id}"
        attendees = ev.get("attendee") or []
        attendees = attendees if isinstance(attendees, list) else [attendees]
        ev.pop("attendee", None)
        for a in attendees:
            if str(a) != room:
                ev.add("attendee", a)
        ev.add("attendee", icalendar.vCalAddress(room),
               parameters={"CUTYPE": "ROOM", "PARTSTAT": "DECLINED", "CN": space.name})
    return cal.to_ical().decode()
