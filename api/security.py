"""Passwords (argon2), opaque tokens and API keys (stored as SHA-256), login throttling."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .db.models import LoginFailure

_hasher = PasswordHasher()
#: Verified against when the login is unknown, so that timing does not tell which logins exist.
_DUMMY = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str) -> str:
    """A bearer secret: ``st_`` for login tokens, ``sk_`` for API keys."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class LoginThrottle:
    """Failed logins, counted in the database so that every API process — uvicorn
    workers, replicas behind a proxy — shares one count (rows older than the window are
    removed as new failures come; keys are SHA-256 digests, no address or e-mail in clear).

    The rule (``login_*`` settings, ``window`` 15 min by default):

    - **account and client**: ``max_failures`` (5) failures for one account from one
      client address lock that client out of that account for the window;
    - **client**: ``client_max`` (20) failures from one address, whatever the accounts,
      lock that address out (guessing across accounts);
    - **account**: ``account_max`` (50) failures for one account from anywhere throttle
      that account — for unknown devices only.

    A device that logged in to the account before presents its device token (issued at
    every successful login, kept by the browser): its failures are counted on their own
    (``max_failures`` per device), and the account-wide and per-address limits caused by
    others do not apply to it. So nobody can lock the real administrator out of their own
    browser by guessing their password from elsewhere, while guessing stays slow.
    """

    def __init__(self, max_failures: int, window: timedelta, *, client_max: int = 20, account_max: int = 50):
        self.max_failures = max_failures
        self.window = window
        self.client_max = client_max
        self.account_max = account_max

    @classmethod
    def from_settings(cls, settings) -> "LoginThrottle":
        return cls(settings.login_max_failures, timedelta(seconds=settings.login_window_s),
                   client_max=settings.login_client_max_failures, account_max=settings.login_account_max_failures)

    def limits(self, email: str, client: str, device: str | None) -> dict[str, int]:
        """The counters a login attempt is checked against, and their limits."""
        if device is not None:
            return {f"device:{device}": self.max_failures}
        return {f"login:{email}|client:{client}": self.max_failures, f"client:{client}": self.client_max,
                f"account:{email}": self.account_max}

    def retry_after(self, session: Session, limits: dict[str, int], now: datetime) -> float | None:
        """Seconds to wait when any counter is over its limit, else None."""
        digests = {digest(k): n for k, n in limits.items()}
        rows = session.execute(
            select(LoginFailure.key, func.count(), func.min(LoginFailure.at))
            .where(LoginFailure.key.in_(list(digests)), LoginFailure.at >= now - self.window)
            .group_by(LoginFailure.key)).all()
        waits = [(first + self.window - now).total_seconds() for key, count, first in rows if count >= digests[key]]
        return max(waits) if waits else None

    def failed(self, session: Session, limits: dict[str, int], now: datetime) -> None:
        """Note a failure on each counter (the caller commits)."""
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - self.window))
        session.add_all(LoginFailure(key=digest(k), at=now) for k in limits)

    def succeeded(self, session: Session, limits: dict[str, int]) -> None:
        """Forget this client's (or device's) failures for the account (the caller commits)."""
        own = [k for k in limits if not k.startswith(("client:", "account:"))]
        session.execute(delete(LoginFailure).where(LoginFailure.key.in_([digest(k) for k in own])))
