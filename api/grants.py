"""Grant lists: who may open a door, when — computed from the database, signed, published.

A door's allow-list holds:
- every active badge of active staff and admins (role ``staff``, no window);
- the badges of members who booked the door's space (role ``member``), from
  ``grant_lead_minutes`` before the start to the end of each holding booking;
- for fab-lab spaces, the badges of members trained there (role ``trained``), one entry
  per opening interval within the list's validity, clipped to the training's end.

A list is valid ``grant_ttl_hours``; it is re-issued (new version) when its entries
change or when less than half its validity is left. Versions only grow per door: the
next version is the larger of the previous one plus one and the Unix time in seconds,
so a node that cached lists from a lost (development) database still accepts new ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.contract import GrantEntry, GrantList, GrantRole, topics
from station.contract.signing import sign
from station.inventory import Inventory, SpaceKind

from .db import Database
from .db.models import HOLDING, STAFF_ROLES, Badge, Booking, DoorGrantState, Member, MemberStatus, Training
from .keys import Keys

log = logging.getLogger(__name__)


def opening_windows(inventory: Inventory, space_id: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Whole opening intervals of a space that overlap [start, end), as aware datetimes.

    Not clipped to [start, end): the list stays the same from one sweep to the next and
    changes (new version) only when an interval ends or a new one comes into view."""
    site, _ = inventory.space(space_id)
    tz = ZoneInfo(site.timezone)
    hours = inventory.opening_hours(space_id)
    day = start.astimezone(tz).date() - timedelta(days=1)
    windows = []
    while datetime.combine(day, datetime.min.time(), tzinfo=tz) < end:
        for interval in hours.day(day.weekday()):
            lo = datetime.combine(day, interval.open, tzinfo=tz)
            hi = datetime.combine(day, interval.close, tzinfo=tz)
            if hi > start and lo < end:
                windows.append((lo, hi))
        day += timedelta(days=1)
    return windows


def door_entries(session: Session, inventory: Inventory, door_id: str, now: datetime, until: datetime,
                 lead: timedelta) -> list[GrantEntry]:
    """The allow-list of one door between ``now`` and ``until`` (the list's expiry)."""
    _, door = inventory.door(door_id)
    _, space = inventory.space(door.space)
    active = (Member.status == MemberStatus.active.value, Badge.active.is_(True))
    entries: list[GrantEntry] = []
    staff = session.execute(select(Badge.credential_hash).join(Member).where(
        Member.role.in_(STAFF_ROLES), *active)).scalars()
    entries += [GrantEntry(credential_hash=h, role=GrantRole.staff) for h in staff]
    booked = session.execute(select(Booking.start, Booking.end, Badge.credential_hash)
                             .join(Member, Booking.member_id == Member.id).join(Badge, Badge.member_id == Member.id)
                             .where(Booking.space_id == space.id, Booking.status.in_(HOLDING), Booking.end > now,
                                    Booking.start < until + lead, *active))
    entries += [GrantEntry(credential_hash=h, role=GrantRole.member, not_before=start - lead, not_after=end)
                for start, end, h in booked]
    if space.kind is SpaceKind.fablab:
        trained = session.execute(select(Training.valid_until, Badge.credential_hash)
                                  .join(Member, Training.member_id == Member.id)
                                  .join(Badge, Badge.member_id == Member.id)
                                  .where(Training.space_id == space.id, Training.revoked.is_(False),
                                         Training.valid_until > now, *active))
        for valid_until, h in trained:
            for lo, hi in opening_windows(inventory, space.id, now, min(until, valid_until)):
                entries.append(GrantEntry(credential_hash=h, role=GrantRole.trained, not_before=lo,
                                          not_after=min(hi, valid_until)))
    unique = {(e.credential_hash, e.role.value, e.not_before, e.not_after): e for e in entries}
    return [unique[k] for k in sorted(unique, key=lambda k: (k[0], k[1], k[2] or now, k[3] or now))]


def entries_digest(entries: list[GrantEntry]) -> str:
    data = [e.model_dump(mode="json") for e in entries]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class GrantPublisher:
    """Recomputes, signs, stores and publishes (retained) the grant lists of doors."""

    def __init__(self, db: Database, inventory: Inventory, keys: Keys, *, ttl: timedelta, lead: timedelta,
                 publish=None):
        self.db = db
        self.inventory = inventory
        self.keys = keys
        self.ttl = ttl
        self.lead = lead
        self.publish = publish  # callable(topic, GrantList) or None without MQTT
        self.published = 0
        self._lock = threading.Lock()

    def doors_of(self, space_id: str) -> list[str]:
        return [d.id for _, d in self.inventory.doors() if d.space == space_id]

    def refresh(self, door_id: str, now: datetime, *, force: bool = False) -> GrantList:
        """Re-issue the door's list when its entries changed or it is half expired; return the current list."""
        site, _ = self.inventory.door(door_id)
        with self._lock, self.db.session() as s:
            state = s.get(DoorGrantState, door_id, with_for_update=True)
            expires = now + self.ttl
            entries = door_entries(s, self.inventory, door_id, now, expires, self.lead)
            digest = entries_digest(entries)
            if (state is not None and not force and state.digest == digest
                    and state.expires_at - now > self.ttl / 2):
                return GrantList.model_validate_json(state.payload)
            # Wall-clock seconds as a floor: versions keep growing even if the database is lost.
            version = max((state.version if state else 0) + 1, int(time.time()))
            grant = sign(GrantList(ts=now, site=site.id, door=door_id, version=version, expires_at=expires,
                                   entries=entries, key_id=self.keys.key_id), self.keys.signing)
            if state is None:
                state = DoorGrantState(door_id=door_id)
                s.add(state)
            state.version, state.digest, state.issued_at, state.expires_at = version, digest, now, expires
            state.payload = grant.model_dump_json()
        self.published += 1
        log.info("grant list %s v%d: %d entries", door_id, version, len(entries))
        if self.publish is not None:
            self.publish(topics.door_grants(site.id, door_id), grant)
        return grant

    def refresh_space(self, space_id: str, now: datetime) -> None:
        for door_id in self.doors_of(space_id):
            self.refresh(door_id, now)

    def refresh_all(self, now: datetime) -> None:
        for _, door in self.inventory.doors():
            self.refresh(door.id, now)

    def current(self, door_id: str) -> GrantList | None:
        with self.db.session() as s:
            state = s.get(DoorGrantState, door_id)
            return GrantList.model_validate_json(state.payload) if state else None

    def republish_stored(self) -> None:
        """After a (re)connect: publish every stored list again (same version, same signature)."""
        if self.publish is None:
            return
        with self.db.session() as s:
            states = s.execute(select(DoorGrantState)).scalars().all()
        for state in states:
            grant = GrantList.model_validate_json(state.payload)
            self.publish(topics.door_grants(grant.site, grant.door), grant)
