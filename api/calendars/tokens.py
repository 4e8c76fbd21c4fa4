"""Private calendar feed URLs: unguessable, revocable, and only their SHA-256 stored.

The token is ``HMAC-SHA256(feed key, "<member id>:<salt>")`` where the feed key is
derived from the API's signing key (never stored, never sent) and the salt is random
per member: the API can show a member their URL again (``GET /members/me/calendar``)
without keeping it, a copy of the database alone gives no URL, and rotating the salt
(``POST /members/me/calendar/rotate``) makes the old URL stop at once. The feed is then
read with the token alone, in its path — calendar apps cannot send a login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.calendars import CalendarFeed
from ..keys import Keys
from ..security import digest

PREFIX = "cal_"


def feed_key(keys: Keys) -> bytes:
    raw = keys.signer.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                serialization.NoEncryption())
    return hashlib.sha256(b"la-station calendar feeds\0" + raw).digest()


def token_for(keys: Keys, member_id: int, salt: str) -> str:
    mac = hmac.new(feed_key(keys), f"{member_id}:{salt}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def current_feed(session: Session, member_id: int) -> CalendarFeed | None:
    return session.execute(select(CalendarFeed).where(CalendarFeed.member_id == member_id,
                                                      CalendarFeed.revoked_at.is_(None))
                           .order_by(CalendarFeed.id.desc()).limit(1)).scalar_one_or_none()


def member_token(session: Session, keys: Keys, member_id: int, now: datetime, *, rotate: bool = False) -> tuple[str, CalendarFeed]:
    """The member's feed token (made on first use; a new one when ``rotate``). The caller commits."""
    feed = current_feed(session, member_id)
    if feed is not None and rotate:
        feed.revoked_at = now
        feed = None
    if feed is None:
        feed = CalendarFeed(member_id=member_id, salt=secrets.token_hex(16), digest="", created_at=now)
        session.add(feed)
    token = token_for(keys, member_id, feed.salt)
    feed.digest = digest(token)  # also follows a rotated signing key (the old URL then stops)
    session.flush()
    return token, feed


def member_of_token(session: Session, token: str) -> int | None:
    """The member a feed token belongs to, or None (unknown, revoked, malformed)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    feed = session.execute(select(CalendarFeed).where(CalendarFeed.digest == digest(token),
                                                      CalendarFeed.revoked_at.is_(None))).scalar_one_or_none()
    return feed.member_id if feed is not None else None
