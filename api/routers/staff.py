"""The staff console's own API: its session cookie, its live stream, alerts and today's view.

**Session cookie.** ``EventSource`` cannot send an ``Authorization`` header and a page
load cannot either, so after logging in (``POST /api/v1/auth/login``) the console calls
``POST /api/v1/staff/session`` with its bearer token and gets it back as an
``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` over HTTPS) — the token never
appears in a URL, so never in an access log or a browser history. The cookie is
accepted only by the staff pages and ``GET /api/v1/staff/stream``, which change
nothing; every change still needs the bearer header, so a forged cross-site request
carries no authority.

**Stream.** ``GET /api/v1/staff/stream`` (staff) sends ``hello``, then ``alert``
(``raised`` / ``cleared``), ``door``, ``node``, ``unknown_card``, ``command`` and
``bookings`` events. They carry ids and states, never names: the pages fetch what they
show through the authenticated API. The public stream (``/api/v1/stream``) carries none
of them. Before every frame the stream checks its session again (token not revoked nor
expired, account active, role staff or admin) and ends when it no longer is: a console
left open after a logout elsewhere, a suspension or a demotion hears nothing more.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..db.models import STAFF_ROLES, Booking, BookingStatus, Member, MemberStatus, Token
from ..deps import ClockDep, InventoryDep, OptionalUser, RuntimeDep, SessionDep, StaffUser, _resolve
from ..fields import errors
from ..stream import event_stream

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])
COOKIE = "station_staff"
STAFF_ONLY = errors(401, (403, "Staff only"))


def cookie_user(request: Request) -> Member | None:
    """The staff console's cookie, resolved like a bearer token (raises 401/403 like it)."""
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 200:
        return None
    return _resolve(request, secret)


# -- session ------------------------------------------------------------------------------
@router.post("/session", status_code=204, responses=STAFF_ONLY,
             summary="Keep this login as the console's cookie (for page loads and the event stream)")
def create_staff_session(request: Request, response: Response, user: StaffUser) -> None:
    token = request.state.token
    if token.kind != "login":
        raise HTTPException(403, "log in as a person; API keys have no console")
    secret = request.headers.get("authorization", "").partition(" ")[2]
    max_age = int((token.expires_at - request.app.state.runtime.clock.now()).total_seconds()) if token.expires_at else None
    response.set_cookie(COOKIE, secret, max_age=max_age, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


@router.delete("/session", status_code=204, summary="Forget the console's cookie (log out with POST /auth/logout)")
def delete_staff_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


# -- stream -------------------------------------------------------------------------------
@router.get("/stream", summary="Alerts, doors, nodes, unknown cards, commands, bookings as Server-Sent Events (staff)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"},
                       **STAFF_ONLY})
async def read_staff_stream(request: Request, runtime: RuntimeDep, user: OptionalUser) -> StreamingResponse:
    if user is None:
        user = await run_in_threadpool(cookie_user, request)
    if user is None:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})
    if user.role not in STAFF_ROLES:
        raise HTTPException(403, "staff only")
    token_id = request.state.token.id
    return event_stream(runtime.staff_hub, request, allowed=lambda: still_staff(runtime, token_id))


def still_staff(runtime, token_id: int) -> bool:
    """Whether the stream's login is still a staff session (checked before each frame)."""
    now = runtime.clock.now()
    with runtime.db.session() as session:
        token = session.get(Token, token_id)
        if token is None or token.revoked or (token.expires_at is not None and token.expires_at <= now):
            return False
        member = session.get(Member, token.member_id)
        return member is not None and member.status is MemberStatus.active and member.role in STAFF_ROLES


# -- clock, alerts and today --------------------------------------------------------------
class ClockPublic(BaseModel):
    now: datetime = Field(description="The API's clock (accelerated in `station demo`)")
    timezone: str = Field(description="The main site's time zone")


@router.get("/clock", response_model=ClockPublic, responses=STAFF_ONLY,
            summary="The API's clock, which the console's \"since\" and \"now\" follow (staff)")
def read_clock(user: StaffUser, clock: ClockDep, inventory: InventoryDep) -> ClockPublic:
    return ClockPublic(now=clock.now(), timezone=inventory.sites[0].timezone)



class AlertPublic(BaseModel):
    id: str
    kind: str = Field(description="door_forced, door_held_open, fire_release, node_offline, node_stale, co2_high, "
                                  "tamper, sensor_fault, outbox_alarm, reader_error, grants_rejected")
    severity: str = Field(description="critical, warning or info")
    since: datetime | None
    site: str
    door: str | None
    node: str | None
    space: str | None
    detail: str | None


@router.get("/alerts", response_model=list[AlertPublic], responses=STAFF_ONLY,
            summary="What needs a person now, critical first (staff)")
def read_alerts(user: StaffUser, runtime: RuntimeDep) -> list[AlertPublic]:
    return [AlertPublic(**a.public()) for a in runtime.alerts.current()]


class SiteOccupancy(BaseModel):
    id: str
    name: str
    kind: str
    spaces: int
    occupied: int
    unknown: int
    people: float = Field(description="Sum of the collector's people estimates")
    capacity: int


class BookingOfDay(BaseModel):
    id: int
    space: str
    space_name: str
    site: str
    member_id: int
    member_name: str
    start: datetime
    end: datetime
    status: BookingStatus
    checked_in_at: datetime | None
    ended_at: datetime | None


class Today(BaseModel):
    day: str
    now: datetime
    sites: list[SiteOccupancy]
    bookings: list[BookingOfDay]


def local_day(inventory, clock, day: date | None) -> tuple[str, datetime, datetime]:
    """The day (today by default, in the main site's time zone) and its bounds."""
    tz = ZoneInfo(inventory.sites[0].timezone)
    day = day or clock.now().astimezone(tz).date()
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    return day.isoformat(), start, datetime(following.year, following.month, following.day, tzinfo=tz)


def bookings_between(session, inventory, start: datetime, end: datetime, site: str | None = None) -> list[BookingOfDay]:
    q = (select(Booking).options(joinedload(Booking.member)).where(Booking.start < end, Booking.end > start)
         .order_by(Booking.start, Booking.id))
    out = []
    for b in session.execute(q).scalars():
        space_site, space = inventory.space(b.space_id)
        if site is not None and space_site.id != site:
            continue
        out.append(BookingOfDay(id=b.id, space=b.space_id, space_name=space.name, site=space_site.id, member_id=b.member_id,
                                member_name=b.member.name, start=b.start, end=b.end, status=b.status,
                                checked_in_at=b.checked_in_at, ended_at=b.ended_at))
    return out


def occupancy_by_site(runtime, inventory) -> list[SiteOccupancy]:
    states = runtime.rooms.states(runtime.clock.now())
    out = []
    for site in inventory.sites:
        occupied = unknown = capacity = 0
        people = 0.0
        for space in site.spaces:
            capacity += space.capacity
            status = states[space.id].status.value
            occupied += status == "occupied"
            unknown += status == "unknown"
            occ = runtime.occupancy.get(space.id)
            people += (occ.people_estimate or 0.0) if occ is not None else 0.0
        out.append(SiteOccupancy(id=site.id, name=site.name, kind=site.kind.value, spaces=len(site.spaces),
                                 occupied=occupied, unknown=unknown, people=round(people, 1), capacity=capacity))
    return out


@router.get("/today", response_model=Today, responses=STAFF_ONLY,
            summary="Today's bookings (with no-shows) and the occupancy of each site (staff)")
def read_today(user: StaffUser, runtime: RuntimeDep, session: SessionDep, inventory: InventoryDep,
               clock: ClockDep) -> Today:
    day, start, end = local_day(inventory, clock, None)
    return Today(day=day, now=clock.now(), sites=occupancy_by_site(runtime, inventory),
                 bookings=bookings_between(session, inventory, start, end))
