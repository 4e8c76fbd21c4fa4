"""Calendars: a space's public iCal feed, a member's private one and its URL.

- ``GET /api/v1/rooms/{room_id}/calendar.ics`` — public: busy blocks, no names;
- ``GET /api/v1/members/me/calendar`` — the member's private feed URL (made on first use);
- ``POST /api/v1/members/me/calendar/rotate`` — a new URL; the old one stops at once;
- ``GET /api/v1/calendars/{token}.ics`` — the private feed, authenticated by its token.

Feeds are built on each request from the database, so they are current after every
change; an ``ETag`` lets calendar apps poll cheaply (304 when nothing changed).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Request, Response
from pydantic import BaseModel

from ..calendars import feeds
from ..calendars.tokens import member_of_token, member_token
from ..db.models import Member
from ..deps import ClockDep, InventoryDep, Person, RuntimeDep, SessionDep
from ..fields import Identifier, Text, errors

router = APIRouter(prefix="/api/v1", tags=["calendars"])
ICS = "text/calendar; charset=utf-8"
ICS_RESPONSES = {200: {"content": {"text/calendar": {}}, "description": "An iCalendar (RFC 5545) document"},
                 304: {"description": "Not modified since the ETag given"}}


class CalendarUrl(BaseModel):
    url: str
    created_at: datetime


def _ics(body: bytes, if_none_match: str | None) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ICS, headers=headers)


@router.get("/rooms/{room_id}/calendar.ics", response_class=Response, summary="A space's bookings as iCal (public: busy, no names)",
            responses={**ICS_RESPONSES, **errors((404, "No such space"))})
def read_room_calendar(room_id: Identifier, session: SessionDep, inventory: InventoryDep, clock: ClockDep,
                       if_none_match: str | None = Header(default=None, max_length=500)) -> Response:
    try:
        inventory.space(room_id)
    except KeyError:
        raise HTTPException(404, f"no room {room_id!r}") from None
    return _ics(feeds.space_feed(session, inventory, room_id, clock.now()), if_none_match)


def _url(request: Request, runtime, token: str) -> str:
    base = (runtime.settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/api/v1/calendars/{token}.ics"


@router.get("/members/me/calendar", response_model=CalendarUrl, tags=["members"], responses=errors(403),
            summary="My private calendar feed's URL (keep it secret: it opens my bookings)")
def read_my_calendar(request: Request, user: Person, session: SessionDep, runtime: RuntimeDep,
                     clock: ClockDep) -> CalendarUrl:
    token, feed = member_token(session, runtime.keys, user.id, clock.now())
    session.commit()
    return CalendarUrl(url=_url(request, runtime, token), created_at=feed.created_at)


@router.post("/members/me/calendar/rotate", response_model=CalendarUrl, tags=["members"], responses=errors(403),
             summary="A new private calendar URL; the old one stops working")
def rotate_my_calendar(request: Request, user: Person, session: SessionDep, runtime: RuntimeDep,
                       clock: ClockDep) -> CalendarUrl:
    token, feed = member_token(session, runtime.keys, user.id, clock.now(), rotate=True)
    session.commit()
    return CalendarUrl(url=_url(request, runtime, token), created_at=feed.created_at)


@router.get("/calendars/{token}.ics", response_class=Response, summary="A member's private feed (by its token)",
            responses={**ICS_RESPONSES, **errors((404, "Unknown or revoked token"))})
def read_member_calendar(session: SessionDep, inventory: InventoryDep, clock: ClockDep,
                         token: Annotated[Text, Path(max_length=100)],
                         if_none_match: str | None = Header(default=None, max_length=500)) -> Response:
    member_id = member_of_token(session, token)
    member = session.get(Member, member_id) if member_id is not None else None
    if member is None:
        raise HTTPException(404, "no such calendar")
    return _ics(feeds.member_feed(session, inventory, member.id, member.name, clock.now()), if_none_match)
