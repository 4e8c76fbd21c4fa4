"""Log in (argon2 password → bearer token), log out. Failed logins are throttled
(the rule is in :class:`api.security.LoginThrottle`) and audited without ever storing
what was typed unless it is an existing account's e-mail."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from .. import audit
from ..db.models import LoginDevice, Member, MemberStatus, Token
from ..deps import ClockDep, CurrentUser, SessionDep
from ..fields import Text, errors
from ..security import digest, new_secret, verify_password

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    email: Text = Field(min_length=3, max_length=254)
    password: Text = Field(min_length=1, max_length=1024)
    device_token: Text | None = Field(default=None, max_length=100,
                                     description="The device token of an earlier login of this account on this device")


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    device_token: str = Field(description="Keep it and send it with the next login from this device: failures "
                                          "from elsewhere never lock this device out")


@router.post("/login", response_model=TokenPublic, summary="Exchange a password for a bearer token",
             responses=errors((401, "Wrong email or password"), (403, "This account is suspended"),
                              (429, "Too many failed logins; retry after Retry-After seconds")))
def login(body: Login, request: Request, session: SessionDep, clock: ClockDep) -> TokenPublic:
    now = clock.now()
    throttle = request.app.state.throttle
    email = body.email.strip().lower()
    member = session.execute(select(Member).where(func.lower(Member.email) == email)).scalar_one_or_none()
    device = _known_device(session, member, body.device_token)
    limits = throttle.limits(email, request.client.host if request.client else "?", device.digest if device else None)
    wait = throttle.retry_after(session, limits, now)
    if wait is not None:
        raise HTTPException(429, f"too many failed logins; retry in {wait:.0f} s",
                            headers={"Retry-After": str(max(1, int(wait)))})
    if member is None or not verify_password(member.password_hash, body.password):
        throttle.failed(session, limits, now)
        # What was typed is stored only when it names an existing account (never a
        # password pasted into the e-mail field).
        audit.record(session, now, "login_failed", member.email if member else "unknown account",
                     member_id=member.id if member else None)
        session.commit()  # the failure and the audit entry stay although the request fails
        raise HTTPException(401, "wrong email or password")
    if member.status is not MemberStatus.active:
        raise HTTPException(403, "this account is suspended")
    throttle.succeeded(session, limits)
    secret = new_secret("st")
    expires = now + timedelta(hours=request.app.state.settings.token_ttl_hours)
    session.add(Token(digest=digest(secret), member_id=member.id, kind="login", created_at=now, expires_at=expires))
    device_token = body.device_token if device else new_secret("dv")
    if device is None:
        session.add(LoginDevice(member_id=member.id, digest=digest(device_token), created_at=now, last_used_at=now))
    else:
        device.last_used_at = now
    session.commit()  # before the response: the client uses the token at once
    return TokenPublic(access_token=secret, expires_at=expires, device_token=device_token)


def _known_device(session, member: Member | None, token: str | None) -> LoginDevice | None:
    if member is None or not token:
        return None
    return session.execute(select(LoginDevice).where(LoginDevice.digest == digest(token),
                                                     LoginDevice.member_id == member.id)).scalar_one_or_none()


@router.post("/logout", status_code=204, responses=errors((400, "An API key cannot log out")), summary="Revoke the token used for this request")
def logout(request: Request, user: CurrentUser, session: SessionDep) -> None:
    token = session.get(Token, request.state.token.id)
    if token.kind != "login":
        raise HTTPException(400, "API keys are revoked by an administrator, not logged out")
    token.revoked = True
    session.commit()
