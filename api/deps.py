"""Dependencies shared by the routers, as type aliases (``SessionDep``, ``CurrentUser``…).

Authentication: ``Authorization: Bearer <token>`` (a login token or an API key) or
``X-API-Key: <key>``. Roles: member < staff < admin; node and integration are API keys.
"""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from station.clock import Clock
from station.inventory import Inventory

from .commands import DoorCommands
from .db.models import PEOPLE_ROLES, STAFF_ROLES, Member, MemberStatus, Role, Token
from .grants import GrantPublisher
from .messages import language, render
from .room_status import RoomStatus
from .runtime import Runtime
from .security import digest
from .settings import ApiSettings


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_rooms(runtime: RuntimeDep) -> RoomStatus:
    return runtime.rooms


async def get_grants(runtime: RuntimeDep) -> GrantPublisher:
    return runtime.grants


async def get_commands(runtime: RuntimeDep) -> DoorCommands:
    return runtime.commands


async def get_inventory(runtime: RuntimeDep) -> Inventory:
    return runtime.inventory


async def get_clock(runtime: RuntimeDep) -> Clock:
    return runtime.clock


async def get_settings(runtime: RuntimeDep) -> ApiSettings:
    return runtime.settings


def get_session(request: Request) -> Iterator[Session]:
    """A unit of work per request. Handlers that write commit before they return, so that
    the client never sees a response before its change is durable."""
    with request.app.state.runtime.db.session() as s:
        yield s


#: A row id in a path: a positive 32-bit integer (larger numbers are a 422, not an overflow).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
RoomsDep = Annotated[RoomStatus, Depends(get_rooms)]
GrantsDep = Annotated[GrantPublisher, Depends(get_grants)]
CommandsDep = Annotated[DoorCommands, Depends(get_commands)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
InventoryDep = Annotated[Inventory, Depends(get_inventory)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="A login token (POST /api/v1/auth/login) or an API key")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (nodes, integrations)")


def said(request: Request, code: str) -> str:
    """The sentence of ``code`` (:mod:`api.messages`) in the request's ``Accept-Language``."""
    return render(code, language(request.headers.get("accept-language")), {})


def _resolve(request: Request, secret: str) -> Member:
    runtime = request.app.state.runtime
    now = runtime.clock.now()
    with runtime.db.session() as session:
        token = session.execute(select(Token).where(Token.digest == digest(secret))).scalar_one_or_none()
        if token is None or token.revoked or (token.expires_at is not None and token.expires_at <= now):
            raise HTTPException(401, said(request, "token_invalid"), headers={"WWW-Authenticate": "Bearer"})
        member = session.get(Member, token.member_id)
        if member is None or member.status is not MemberStatus.active:
            raise HTTPException(403, said(request, "account_suspended"))
    request.state.token = token
    return member


async def optional_user(request: Request,
                        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                        api_key: Annotated[str | None, Depends(_api_key)]) -> Member | None:
    """The caller, or None when anonymous (no database work for the public board)."""
    secret = api_key or (bearer.credentials if bearer else None)
    if not secret:
        return None
    return await run_in_threadpool(_resolve, request, secret)


OptionalUser = Annotated[Member | None, Depends(optional_user)]


def current_user(request: Request, user: OptionalUser) -> Member:
    if user is None:
        raise HTTPException(401, said(request, "log_in_first"), headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[Member, Depends(current_user)]


def person(user: CurrentUser) -> Member:
    if user.role not in PEOPLE_ROLES:
        raise HTTPException(403, "API keys cannot do this; log in as a member")
    return user


Person = Annotated[Member, Depends(person)]


def staff_user(user: CurrentUser) -> Member:
    if user.role not in STAFF_ROLES:
        raise HTTPException(403, "staff only")
    return user


StaffUser = Annotated[Member, Depends(staff_user)]


def admin_user(user: CurrentUser) -> Member:
    if user.role is not Role.admin:
        raise HTTPException(403, "administrators only")
    return user


AdminUser = Annotated[Member, Depends(admin_user)]


def unprocessable(message: str, *, field: str | None = None, rule: str = "value_error") -> RequestValidationError:
    """A 422 in FastAPI's own shape (``detail[0].msg`` is the readable message), so every
    422 of the API — validation or business rule — has one documented schema."""
    loc = ("body", field) if field else ("body",)
    return RequestValidationError([{"type": rule, "loc": loc, "msg": message, "input": None}])


def is_staff(user: Member | None) -> bool:
    return user is not None and user.role in STAFF_ROLES


def may_manage(user: Member, target: Member) -> bool:
    """Staff manage members; only an administrator changes a staff or admin account
    (its status, badges or role) — staff cannot lock an administrator out."""
    return user.role is Role.admin or (user.role in STAFF_ROLES and target.role is Role.member)
