"""Space closures and programmed events, imported from an iCalendar (RFC 5545) file or URL.

The cultural venue publishes its programme as an ICS calendar; the building closes on
bank holidays or for works. Each event becomes a :class:`~api.db.calendars.BlockedPeriod`
of one or more spaces, and bookings over it are refused (rule ``closed``); the day
view shows it.

Which space? The event's ``LOCATION`` when it names a space (its id or its name, any
case), else the spaces the import is given (``--space``, ``--site``). Which kind? An
event whose ``CATEGORIES`` say ``closure`` / ``fermeture`` is a closure; others take
the import's kind (``closure`` by default, ``event`` for a programme). All-day events
cover whole local days; floating times are the site's; ``RRULE`` / ``EXDATE`` are
expanded up to the booking horizon; cancelled and transparent (free) events block
nothing. Importing a source again replaces what it gave before (an event removed from
the programme frees its slot): idempotent.

``station api import-closures FILE_OR_URL [--space ID]… [--site ID] [--kind event]``, or
``POST /api/v1/closures/import`` (staff) with the ICS text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable

import icalendar
from dateutil.rrule import rrulestr
from sqlalchemy import delete, select

from station.inventory import Inventory

from .db import Database
from .db.calendars import BlockedPeriod
from .db.models import HOLDING, Booking

CLOSURE_WORDS = {"closure", "closed", "fermeture", "fermé", "ferme"}


class CalendarUnreadable(ValueError):
    """The calendar cannot be read at all (not iCalendar, unreachable URL)."""


@dataclass
class Imported:
    source: str
    periods: int = 0
    spaces: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # one line per event not imported, with why
    overlapping: list[int] = field(default_factory=list)  # holding bookings the new periods cover


def read_source(source: str, *, timeout_s: float = 15.0) -> bytes:
    """The bytes of a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            r = httpx.get(source, timeout=timeout_s, follow_redirects=True)
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise CalendarUnreadable(f"{source}: {exc}") from None
        return r.content
    try:
        with open(source, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CalendarUnreadable(f"{source}: {exc.strerror}") from None


def _space_index(inventory: Inventory) -> dict[str, str]:
    index = {}
    for _, space in inventory.spaces():
        index[space.id.lower()] = space.id
        index[space.name.lower()] = space.id
    return index


def as_aware(value, tz) -> datetime:
    """A DTSTART/DTEND value as an aware datetime (dates: local midnight; floating: local)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=tz)
    raise ValueError(f"not a date or time: {value!r}")


def _occurrences(event, tz, window: tuple[datetime, datetime]) -> list[tuple[datetime, datetime]]:
    start_value = event.decoded("DTSTART")
    start = as_aware(start_value, tz)
    if event.get("DTEND") is not None:
        end = as_aware(event.decoded("DTEND"), tz)
    elif event.get("DURATION") is not None:
        end = start + event.decoded("DURATION")
    else:
        end = start + (timedelta(days=1) if not isinstance(start_value, datetime) else timedelta(0))
    length = end - start
    if length <= timedelta(0):
        return []
    if event.get("RRULE") is None:
        return [(start, end)]
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
    excluded = set()
    for exdate in event.get("EXDATE", []) if isinstance(event.get("EXDATE"), list) else [event.get("EXDATE")]:
        if exdate is not None:
            excluded.update(as_aware(d.dt, tz) for d in exdate.dts)
    lo, hi = window
    return [(s, s + length) for s in rule.between(lo - length, hi, inc=True) if s not in excluded]


def parse(ics: bytes | str, inventory: Inventory, *, spaces: Iterable[str] = (), kind: str = "closure",
          window: tuple[datetime, datetime]) -> tuple[list[dict], list[str]]:
    """The periods an ICS calendar blocks within ``window``, and one line per event skipped."""
    try:
        calendar = icalendar.Calendar.from_ical(ics)
    except ValueError as exc:
        raise CalendarUnreadable(f"not an iCalendar file: {exc}") from None
    names = _space_index(inventory)
    default_spaces = list(spaces)
    periods, skipped = [], []
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID") or "")
        summary = str(event.get("SUMMARY") or "")[:200]
        label = f"{summary or '(no summary)'} [{uid or 'no UID'}]"
        if str(event.get("STATUS") or "").upper() == "CANCELLED" or str(event.get("TRANSP") or "").upper() == "TRANSPARENT":
            skipped.append(f"{label}: cancelled or free time, blocks nothing")
            continue
        if event.get("DTSTART") is None or not uid:
            skipped.append(f"{label}: no DTSTART or no UID")
            continue
        location = str(event.get("LOCATION") or "").strip().lower()
        targets = [names[location]] if location in names else default_spaces
        if not targets:
            skipped.append(f"{label}: LOCATION {location!r} names no space and no --space was given")
            continue
        categories = {c.lower() for c in _categories(event)}
        period_kind = "closure" if categories & CLOSURE_WORDS else kind
        for space_id in targets:
            tz = inventory.timezone(space_id)
            try:
                occurrences = _occurrences(event, tz, window)
            except (ValueError, TypeError) as exc:
                skipped.append(f"{label}: {exc}")
                break
            for start, end in occurrences:
                if end > window[0] and start < window[1]:
                    periods.append({"space_id": space_id, "start": start.astimezone(timezone.utc),
                                    "end": end.astimezone(timezone.utc), "kind": period_kind,
                                    "summary": summary, "uid": uid[:255]})
    return periods, skipped


def _categories(event) -> list[str]:
    value = event.get("CATEGORIES")
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(c) for v in values for c in getattr(v, "cats", [v])]


def import_calendar(db: Database, inventory: Inventory, ics: bytes | str, *, source: str, now: datetime,
                    horizon_days: int, spaces: Iterable[str] = (), kind: str = "closure") -> Imported:
    """Replace what ``source`` blocked with what its calendar says now (one transaction)."""
    for space_id in spaces:
        inventory.space(space_id)  # KeyError: an unknown space is the caller's mistake
    today = datetime.combine(now.date(), time(0), tzinfo=timezone.utc) - timedelta(days=1)
    periods, skipped = parse(ics, inventory, spaces=spaces, kind=kind,
                             window=(today, now + timedelta(days=horizon_days)))
    result = Imported(source=source, skipped=skipped)
    with db.session() as s:
        s.execute(delete(BlockedPeriod).where(BlockedPeriod.source == source))
        seen = set()
        for p in periods:
            key = (p["uid"], p["space_id"], p["start"])
            if key in seen:
                continue
            seen.add(key)
            s.add(BlockedPeriod(**p, source=source[:500], imported_at=now))
            result.periods += 1
            result.spaces.add(p["space_id"])
            clash = s.execute(select(Booking.id).where(Booking.space_id == p["space_id"], Booking.status.in_(HOLDING),
                                                       Booking.start < p["end"], Booking.end > p["start"])).scalars()
            result.overlapping.extend(clash)
    return result


def blocked_between(session, space_ids: Iterable[str], start: datetime, end: datetime) -> list[BlockedPeriod]:
    return list(session.execute(select(BlockedPeriod).where(BlockedPeriod.space_id.in_(list(space_ids)),
                                                            BlockedPeriod.start < end, BlockedPeriod.end > start)
                                .order_by(BlockedPeriod.start)).scalars())
