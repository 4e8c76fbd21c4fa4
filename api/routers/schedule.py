"""``GET /api/v1/schedule``: one day of every space, for the board's day view.

Per space: its opening intervals that day, its holding bookings (no names; the
viewer's own marked ``mine`` with their id), its closures and programmed events, and
an occupancy band — when the collector judged it occupied that day (from the history
store, in 10-minute buckets, when one is configured) and whether it is now. ``now``
is the server's clock, which the board uses instead of the phone's.
"""

from __future__ import annotations

import time as monotonic
from datetime import date as Date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from station.history import HistoryError

from ..closures import blocked_between
from ..db.models import HOLDING, Booking
from ..deps import ClockDep, InventoryDep, OptionalUser, RuntimeDep, SessionDep
from ..fields import Day, Identifier, errors

router = APIRouter(prefix="/api/v1", tags=["rooms"])
BAND_EVERY = timedelta(minutes=10)


class Span(BaseModel):
    start: datetime
    end: datetime


class ScheduledBooking(Span):
    mine: bool
    id: int | None = None  # only the viewer's own
    status: str
    attendees: int


class Blocked(Span):
    kind: str
    summary: str


class SpaceDay(BaseModel):
    id: str
    opening: list[Span]
    bookings: list[ScheduledBooking]
    blocked: list[Blocked]
    occupied: list[Span]
    occupied_now: bool | None


class Schedule(BaseModel):
    date: Date
    timezone: str
    now: datetime
    spaces: list[SpaceDay]


def _bands_of(runtime, cache: dict, spaces: list[str], lo: datetime, hi: datetime, key) -> dict[str, list[Span]]:
    """Occupied spans per space from the history, read once a minute at most per day."""
    history = runtime.history
    if history is None or hi <= lo:
        return {}
    hit = cache.get(key)
    if hit is not None and hit[0] > monotonic.monotonic():
        return hit[1]
    bands: dict[str, list[Span]] = {}
    for space_id in spaces:
        try:
            series = history.series(space_id, "occupancy", "occupied", lo, hi, BAND_EVERY, "max")
        except (HistoryError, OSError, ValueError):
            continue
        spans: list[Span] = []
        for at, value in series:
            if value is not None and value >= 0.5:
                if spans and spans[-1].end >= at:
                    spans[-1].end = at + BAND_EVERY
                else:
                    spans.append(Span(start=at, end=at + BAND_EVERY))
        bands[space_id] = spans
    cache[key] = (monotonic.monotonic() + 60, bands)
    return bands


@router.get("/schedule", response_model=Schedule, summary="One day of every space (the board's day view)",
            responses=errors((404, "No such site")))
def read_schedule(request: Request, session: SessionDep, runtime: RuntimeDep, inventory: InventoryDep, clock: ClockDep,
                  user: OptionalUser, site: Identifier | None = Query(default=None),
                  date: Day | None = Query(default=None, description="The day (site's time); default today")) -> Schedule:
    sites = inventory.sites if site is None else [s for s in inventory.sites if s.id == site]
    if not sites:
        raise HTTPException(404, f"no site {site!r}")
    now = clock.now()
    tz_name = sites[0].timezone
    day = date or now.astimezone(inventory.timezone(sites[0].spaces[0].id)).date()
    if abs((day - now.date()).days) > 400:
        raise HTTPException(404, "no schedule that far from today")
    spaces = [(s, sp) for s in sites for sp in s.spaces]
    ids = [sp.id for _, sp in spaces]
    tz = ZoneInfo(tz_name)
    lo = datetime.combine(day, time(0), tzinfo=tz)
    hi = lo + timedelta(days=1)
    bookings = session.execute(select(Booking).where(Booking.space_id.in_(ids), Booking.status.in_(HOLDING),
                                                     Booking.start < hi, Booking.end > lo)
                               .order_by(Booking.start)).scalars().all()
    blocked = blocked_between(session, ids, lo, hi)
    bands = _bands_of(runtime, request.app.state.schedule_bands, ids, lo, min(hi, now), (day, site))
    out = []
    for s, sp in spaces:
        stz = inventory.timezone(sp.id)
        opening = [Span(start=datetime.combine(day, i.open, tzinfo=stz), end=datetime.combine(day, i.close, tzinfo=stz))
                   for i in inventory.opening_hours(sp.id).day(day.weekday())]
        mine = lambda b: user is not None and b.member_id == user.id  # noqa: E731
        occ = runtime.occupancy.get(sp.id)
        out.append(SpaceDay(
            id=sp.id, opening=opening,
            bookings=[ScheduledBooking(start=b.start, end=b.end, mine=mine(b), id=b.id if mine(b) else None,
                                       status=b.status.value, attendees=b.attendees)
                      for b in bookings if b.space_id == sp.id],
            blocked=[Blocked(start=p.start, end=p.end, kind=p.kind, summary=p.summary)
                     for p in blocked if p.space_id == sp.id],
            occupied=bands.get(sp.id, []), occupied_now=occ.occupied if occ is not None else None))
    return Schedule(date=day, timezone=tz_name, now=now, spaces=out)
