"""Log in (argon2 password → bearer token), log out, who am I. Failed logins are throttled."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from ..db.models import Member, MemberStatus, Token
from ..deps import ClockDep, CurrentUser, SessionDep
from ..security import digest, new_secret, verify_password
from ..service import audit

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


@router.post("/login", response_model=TokenPublic, summary="Exchange a password for a bearer token",
             responses={401: {"description": "Wrong email or password"},
                        429: {"description": "Too many failed logins; retry later"}})
def login(body: Login, request: Request, session: SessionDep, clock: ClockDep) -> TokenPublic:
    now = clock.now()
    throttle = request.app.state.throttle
    email = body.email.strip().lower()
    keys = [f"login:{email}", f"client:{request.client.host if request.client else '?'}"]
    wait = throttle.retry_after(session, keys, now)
    if wait is not None:
        raise HTTPException(429, f"too many failed logins; retry in {wait:.0f} s",
                            headers={"Retry-After": str(max(1, int(wait)))})
    member = session.execute(select(Member).where(func.lower(Member.email) == email)).scalar_one_or_none()
    if member is None or not verify_password(member.password_hash, body.password):
        throttle.failed(session, keys, now)
        audit(session, now, "login_failed", email[:120])
        session.commit()  # the failure and the audit entry stay although the request fails
        raise HTTPException(401, "wrong email or password")
    if member.status != MemberStatus.active.value:
        raise HTTPException(403, "this account is suspended")
    throttle.succeeded(session, keys)
    secret = new_secret("st")
    expires = now + timedelta(hours=request.app.state.settings.token_ttl_hours)
    session.add(Token(digest=digest(secret), member_id=member.id, kind="login", created_at=now, expires_at=expires))
    session.commit()  # before the response: the client uses the token at once
    return TokenPublic(access_token=secret, expires_at=expires)


@router.post("/logout", status_code=204, summary="Revoke the token used for this request")
def logout(request: Request, user: CurrentUser, session: SessionDep) -> None:
    token = session.get(Token, request.state.token.id)
    if token.kind != "login":
        raise HTTPException(400, "API keys are revoked by an administrator, not logged out")
    token.revoked = True
    session.commit()
