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
    """At most ``max_failures`` failed logins per account and per client in ``window``.

    Counted in the database (:class:`api.db.models.LoginFailure`), so that several API
    processes — uvicorn workers, replicas behind a proxy — share one count; an attacker
    gets no more tries by landing on another process. Rows older than the window are
    removed as new failures come.
    """

    def __init__(self, max_failures: int, window: timedelta):
        self.max_failures = max_failures
        self.window = window

    def retry_after(self, session: Session, keys: list[str], now: datetime) -> float | None:
        """Seconds to wait when any key is locked out, else None."""
        rows = session.execute(
            select(LoginFailure.key, func.count(), func.min(LoginFailure.at))
            .where(LoginFailure.key.in_([digest(k) for k in keys]), LoginFailure.at >= now - self.window)
            .group_by(LoginFailure.key)).all()
        waits = [(first + self.window - now).total_seconds() for _, count, first in rows if count >= self.max_failures]
        return max(waits) if waits else None

    def failed(self, session: Session, keys: list[str], now: datetime) -> None:
        """Note a failure for each key (the caller commits)."""
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - self.window))
        session.add_all(LoginFailure(key=digest(k), at=now) for k in keys)

    def succeeded(self, session: Session, keys: list[str]) -> None:
        """Forget the keys' failures (the caller commits)."""
        session.execute(delete(LoginFailure).where(LoginFailure.key.in_([digest(k) for k in keys])))
