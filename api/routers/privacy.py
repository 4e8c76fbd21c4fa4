"""Privacy: the information notice, a member's own data, erasure (issue 19; docs/privacy.md).

- ``GET /api/v1/privacy/notice`` — the notice (fr/en, from the settings), public;
- ``GET /api/v1/members/me/export`` — everything the API holds about the caller, JSON, or
  CSV with ``?format=csv`` or ``Accept: text/csv`` (GDPR art. 15, 20);
- ``POST /api/v1/members/me/erase`` — the caller erases their own account, confirming with
  their e-mail (art. 17); ``POST /api/v1/members/{id}/erase`` — staff erase a member (an
  administrator a staff or admin account).

After an erasure every door's grant list is re-issued at once, so the person's cards are
refused as soon as the nodes have their new list.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from ..db.models import Member, MemberStatus, Role
from ..fields import Text
from ..deps import ClockDep, Person, RowId, RuntimeDep, SessionDep, SettingsDep, StaffUser, may_manage
from ..erasure import erase_member
from ..export import as_csv, member_export
from ..notice import render
from ..retention import ANONYMOUS_EMAIL

router = APIRouter(prefix="/api/v1", tags=["privacy"])


class NoticeLanguage(BaseModel):
    text: str
    short: str


class NoticePublic(BaseModel):
    controller: str
    contact: str
    fr: NoticeLanguage
    en: NoticeLanguage
    retention_days: dict[str, int]


class EraseSelf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: Text = Field(min_length=3, max_length=254, description="Your e-mail, typed again: erasure cannot be undone.")


class KeptRows(BaseModel):
    what: str
    rows: int
    why: str


class ErasurePublic(BaseModel):
    erased: bool = True
    removed: dict[str, int]
    kept: list[KeptRows] = Field(description="What the law requires to keep, anonymised, and why.")
    grant_lists_reissued: int


@router.get("/privacy/notice", response_model=NoticePublic, summary="The information notice (fr, en)")
def read_privacy_notice(settings: SettingsDep) -> NoticePublic:
    notice = render(settings.notice, settings.retention)
    return NoticePublic(**notice, retention_days={k: v for k, v in settings.retention.model_dump().items()
                                                  if k.endswith("_days")})


@router.get("/members/me/export", summary="Everything held about me (JSON or CSV)",
            responses={200: {"content": {"application/json": {}, "text/csv": {}},
                             "description": "The archive: profile, badges (hashes), trainings, bookings, access "
                                            "events within retention, audit rows about me"}})
def export_my_data(request: Request, user: Person, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                   format: Literal["json", "csv"] | None = None) -> Response:
    member = session.get(Member, user.id)
    archive = member_export(session, member, clock.now(), settings.retention)
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    stamp = clock.now().strftime("%Y%m%d")
    if wants_csv:
        return Response(as_csv(archive), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="mes-donnees-{stamp}.csv"'})
    import json

    return Response(json.dumps(archive, ensure_ascii=False, indent=1), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="mes-donnees-{stamp}.json"'})


def _erase(target: Member, by: str, session, runtime, clock) -> ErasurePublic:
    if target.role is Role.admin:
        admins = session.execute(select(func.count()).select_from(Member).where(
            Member.role == Role.admin, Member.status == MemberStatus.active, Member.id != target.id)).scalar_one()
        if admins == 0:
            raise HTTPException(409, "the last active administrator cannot be erased; appoint another first")
    now = clock.now()
    result = erase_member(session, target, now, by=by)
    session.commit()  # durable before the doors hear of it
    # the doors that could admit the person first, then every other door's list, at once
    for space in sorted(result.doors_first or ()):
        runtime.grants.refresh_space(space, clock.now())
    runtime.grants.refresh_all(clock.now())
    for space in sorted(result.spaces):
        runtime.space_changed(space)
    for machine in sorted(result.machines):
        runtime.machine_changed(machine)
    runtime.rooms.bookings_changed()
    return ErasurePublic(removed={k: v for k, v in result.removed.items() if v}, kept=result.kept,
                         grant_lists_reissued=len(runtime.inventory.doors()))


@router.post("/members/me/erase", response_model=ErasurePublic, summary="Erase my account (art. 17)",
             responses={409: {"description": "The last administrator"}, 422: {"description": "Wrong confirmation"}})
def erase_my_account(body: EraseSelf, user: Person, session: SessionDep, runtime: RuntimeDep,
                     clock: ClockDep) -> ErasurePublic:
    target = session.get(Member, user.id)
    if body.confirm.strip().lower() != target.email.lower():
        from ..deps import unprocessable

        raise unprocessable("type your e-mail to confirm the erasure", field="confirm", rule="confirmation")
    return _erase(target, "self", session, runtime, clock)


@router.post("/members/{member_id}/erase", response_model=ErasurePublic, summary="Erase a member (staff)",
             responses={404: {"description": "No such member"},
                        403: {"description": "Staff and admin accounts are erased by administrators only"},
                        409: {"description": "The last administrator"}})
def erase_member_account(member_id: RowId, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                         clock: ClockDep) -> ErasurePublic:
    target = session.get(Member, member_id)
    if target is None or target.email == ANONYMOUS_EMAIL or target.role not in (Role.member, Role.staff, Role.admin):
        raise HTTPException(404, "no such member")
    if not may_manage(user, target):
        raise HTTPException(403, "staff and admin accounts are erased by administrators only")
    return _erase(target, "self" if target.id == user.id else f"member:{user.id}", session, runtime, clock)
