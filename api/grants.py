"""Grant lists: who may open a door or power a machine, when — computed from the database,
signed, published.

A door's allow-list holds:
- every active badge of active staff and admins (role ``staff``, no window);
- the badges of members who booked the door's space (role ``member``), from
  ``grant_lead_minutes`` before the start to the end of each holding booking;
- for fab-lab spaces, the badges of members trained there (role ``trained``), one entry
  per opening interval within the list's validity, clipped to the training's end.

A list is valid ``grant_ttl_hours``; it is re-issued (new version, see
:func:`station.access.next_version`) when its entries change or when less than half its
validity is left, signed with :func:`station.access.issue_grant_list` — the one format
the nodes verify.

A machine's list (:func:`machine_entries`, the rule is :mod:`station.access.grants`)
holds the badges of active members trained on it (``trained``, until the training ends),
their bookings of it (``member``, start to end, no lead: the slot before is someone
else's), every booking's span (``booked_windows``, no names), the space's opening
intervals minus bookings and closures for a free-to-use machine (``free_windows``), and
``out_of_order`` as staff set it. Staff get no blanket entry: they are trained like anyone.

**One publisher, doors and machines alike.** Several API instances share one database,
and each change of a list is published once, by the instance that issued it:

- issuing is serialised per door or machine (its row ``FOR UPDATE`` and, on PostgreSQL,
  a transaction advisory lock ``grants:<scope>/<id>`` that also covers one with no row
  yet): the second instance to look finds the new digest stored and publishes nothing;
- the API reads the retained lists back from the broker (``doors/+/grants``,
  ``machines/+/grants``); a stored list the broker does not hold (a broker that lost its
  data) is published again only by the *repairer* — the instance holding PostgreSQL's
  session advisory lock ``grant-repair`` (on SQLite, the one instance) — and only once it
  has been missing for ``repair_grace_s`` (wall seconds), so that a list another instance
  (or this one) has just published is not sent twice while its retained copy is on its
  way back;
- a reconnect publishes no list at all: the retained copies are the broker's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from station.access import KeyRing, SignatureError, booking_window, issue_grant_list, verify
from station.contract import GrantEntry, GrantList, GrantRole, MachineGrantList, Window, topics
from station.contract.receive import Rejected, receive
from station.inventory import Inventory, SpaceKind

from .db import Database
from .db.calendars import BlockedPeriod
from .db.machines import MachineBooking, MachineGrantState, MachineRow
from .db.session import lock_key
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
    active = (Member.status == MemberStatus.active, Badge.active.is_(True))
    entries: list[GrantEntry] = []
    staff = session.execute(select(Badge.credential_hash).join(Member).where(
        Member.role.in_(STAFF_ROLES), *active)).scalars()
    entries += [GrantEntry(credential_hash=h, role=GrantRole.staff) for h in staff]
    booked = session.execute(select(Booking.start, Booking.end, Badge.credential_hash)
                             .join(Member, Booking.member_id == Member.id).join(Badge, Badge.member_id == Member.id)
                             .where(Booking.space_id == space.id, Booking.status.in_(HOLDING), Booking.end > now,
                                    Booking.start < until + lead, *active))
    for start, end, h in booked:
        not_before, not_after = booking_window(start, end, lead)
        entries.append(GrantEntry(credential_hash=h, role=GrantRole.member, not_before=not_before, not_after=not_after))
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
    return entries


def _minus(windows: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]
           ) -> list[tuple[datetime, datetime]]:
    """``windows`` with the spans of ``holes`` cut out."""
    out = []
    for lo, hi in windows:
        pieces = [(lo, hi)]
        for h_lo, h_hi in holes:
            pieces = [p for a, b in pieces for p in ((a, min(b, h_lo)), (max(a, h_hi), b)) if p[0] < p[1]]
        out += pieces
    return out


def machine_entries(session: Session, inventory: Inventory, machine_id: str, now: datetime, until: datetime
                    ) -> tuple[list[GrantEntry], dict]:
    """The entries of one machine's list between ``now`` and ``until``, and the list's own fields."""
    _, machine = inventory.machine(machine_id)
    row = session.get(MachineRow, machine_id)
    active = (Member.status == MemberStatus.active, Badge.active.is_(True))
    trained = session.execute(select(Training.valid_until, Badge.credential_hash)
                              .join(Member, Training.member_id == Member.id).join(Badge, Badge.member_id == Member.id)
                              .where(Training.machine == machine.training_id, Training.revoked.is_(False),
                                     Training.valid_until > now, *active))
    entries = [GrantEntry(credential_hash=h, role=GrantRole.trained, not_after=valid_until)
               for valid_until, h in trained]
    bookings = session.execute(select(MachineBooking).where(
        MachineBooking.machine_id == machine_id, MachineBooking.status.in_(HOLDING), MachineBooking.end > now,
        MachineBooking.start < until)).scalars().all()
    booked = sorted((b.start, b.end) for b in bookings)
    if bookings:  # every active badge of each booker
        badges = session.execute(select(Badge.member_id, Badge.credential_hash).join(Member).where(
            Badge.member_id.in_({b.member_id for b in bookings}), *active)).all()
        for b in bookings:
            entries += [GrantEntry(credential_hash=h, role=GrantRole.member, not_before=b.start, not_after=b.end)
                        for m, h in badges if m == b.member_id]
    free: list[tuple[datetime, datetime]] = []
    if machine.free_to_use:
        closed = [(c.start, c.end) for c in session.execute(select(BlockedPeriod).where(
            BlockedPeriod.space_id == machine.space, BlockedPeriod.end > now, BlockedPeriod.start < until)).scalars()]
        free = _minus(opening_windows(inventory, machine.space, now, until), booked + closed)
    fields = dict(free_to_use=machine.free_to_use, free_windows=[Window(start=a, end=b) for a, b in free],
                  booked_windows=[Window(start=a, end=b) for a, b in booked],
                  out_of_order=bool(row and row.out_of_order),
                  out_of_order_reason=row.out_of_order_reason if row and row.out_of_order else None)
    return entries, fields


def entries_digest(entries: list[GrantEntry], fields: dict | None = None) -> str:
    from station.access import sorted_entries

    data = [e.model_dump(mode="json") for e in sorted_entries(entries)]
    if fields:  # a machine list's own fields change its digest too
        data.append({k: ([w.model_dump(mode="json") for w in v] if isinstance(v, list) else v)
                     for k, v in sorted(fields.items())})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class _Kind:
    """How the publisher handles one kind of resource: its state table, list model, topic."""

    scope: str  # the contract's scope: "doors" or "machines"
    state: type
    key: str  # the state table's primary key column
    model: type
    topic: object

    def ident(self, state) -> str:
        return getattr(state, self.key)


DOORS = _Kind("doors", DoorGrantState, "door_id", GrantList, topics.door_grants)
MACHINES = _Kind("machines", MachineGrantState, "machine_id", MachineGrantList, topics.machine_grants)
KINDS = (DOORS, MACHINES)


class GrantPublisher:
    """Recomputes, signs, stores and publishes (retained) the grant lists of doors and machines."""

    def __init__(self, db: Database, inventory: Inventory, keys: Keys, *, ttl: timedelta, lead: timedelta,
                 clock, publish=None, repair_grace_s: float = 10.0):
        self.db = db
        self.clock = clock
        self.inventory = inventory
        self.keys = keys
        self.ttl = ttl
        self.lead = lead
        self.publish = publish  # callable(topic, GrantList) publishing retained, or None without MQTT
        self.published = 0
        self.retained: dict[str, int] = {}  # door (or "machines/<id>") -> our version the broker holds (read back)
        self.rejected: Counter[str] = Counter()
        self.accepted = 0  # lists read back, and retained lists cleared (an empty payload)
        #: callable(topic, payload, reason, detail) keeping a refused list (api.dead_letters)
        self.dead_letter = None
        self._lock = threading.Lock()
        self.repair_grace_s = repair_grace_s
        self._missing_since: dict[str, tuple[int, float]] = {}  # door -> (version, monotonic time first missed)
        self._repair = RepairLock(db)

    def doors_of(self, space_id: str) -> list[str]:
        return [d.id for _, d in self.inventory.doors() if d.space == space_id]

    def refresh(self, door_id: str, now: datetime, *, force: bool = False) -> GrantList:
        """Re-issue the door's list when its entries changed or it is half expired; return the current list."""
        return self._refresh(DOORS, door_id, now, force)

    def refresh_machine(self, machine_id: str, now: datetime, *, force: bool = False) -> MachineGrantList:
        """The same for a machine (its bookings, trainings or service state changed)."""
        return self._refresh(MACHINES, machine_id, now, force)

    def _refresh(self, kind: _Kind, ident: str, now: datetime, force: bool):
        site, _ = self.inventory.door(ident) if kind is DOORS else self.inventory.machine(ident)
        with self._lock, self.db.session() as s:
            self.db.exclusive(s, f"grants:{kind.scope}/{ident}")  # instances take turns, also before the row exists
            state = s.get(kind.state, ident, with_for_update=True)
            expires = now + self.ttl
            if kind is DOORS:
                entries, fields = door_entries(s, self.inventory, ident, now, expires, self.lead), {}
            else:
                entries, fields = machine_entries(s, self.inventory, ident, now, expires)
            digest = entries_digest(entries, fields)
            if (state is not None and not force and state.digest == digest
                    and state.expires_at - now > self.ttl / 2):
                return self._stored(kind, state)
            grant = issue_grant_list(site=site.id, **{kind.scope[:-1]: ident}, entries=entries, now=now,
                                     expires_at=expires, previous_version=state.version if state else None,
                                     signer=self.keys.signer, **fields)
            if state is None:
                state = kind.state(**{kind.key: ident})
                s.add(state)
            state.version, state.digest, state.issued_at, state.expires_at = grant.version, digest, now, expires
            state.payload = grant.model_dump_json()
        self.published += 1
        log.info("grant list %s v%d: %d entries", ident, grant.version, len(entries))
        self._send(kind, grant)
        return grant

    def _send(self, kind: _Kind, grant) -> None:
        if self.publish is not None:
            self.publish(kind.topic(grant.site, grant.resource), grant)

    def refresh_space(self, space_id: str, now: datetime) -> None:
        """The space's bookings or closures changed: its doors' lists, and its machines' (free windows)."""
        for door_id in self.doors_of(space_id):
            self.refresh(door_id, now)
        for machine in self.inventory.machines_of(space_id):
            self.refresh_machine(machine.id, now)

    def refresh_all(self, now: datetime) -> None:
        for _, door in self.inventory.doors():
            self.refresh(door.id, now)
        for _, machine in self.inventory.machines():
            self.refresh_machine(machine.id, now)

    def refresh_member(self, member_id: int, now: datetime) -> None:
        """A member's badges, status or trainings changed: refresh the doors whose list can
        hold them — every door for staff; the doors of their bookings and trainings otherwise
        — and the machines: of those spaces, and every machine a training of theirs qualifies for."""
        machines: set[str] = set()
        with self.db.session() as s:
            member = s.get(Member, member_id)
            if member is None or member.role in STAFF_ROLES:
                spaces = None
            else:
                keys = set(s.execute(select(Training.machine).where(Training.member_id == member_id)).scalars())
                machines = {m.id for _, m in self.inventory.machines() if m.training_id in keys}
                spaces = set(s.execute(select(Booking.space_id).where(
                    Booking.member_id == member_id, Booking.status.in_(HOLDING), Booking.end > now)).scalars())
                spaces |= set(s.execute(select(Training.space_id).where(Training.member_id == member_id)).scalars())
                spaces |= set(s.execute(select(MachineRow.space_id).join(
                    MachineBooking, MachineBooking.machine_id == MachineRow.id).where(
                    MachineBooking.member_id == member_id, MachineBooking.end > now)).scalars())
        if spaces is None:
            self.refresh_all(now)
            return
        for space in sorted(spaces):
            self.refresh_space(space, now)
            machines -= {m.id for m in self.inventory.machines_of(space)}
        for machine_id in sorted(machines):
            self.refresh_machine(machine_id, now)

    def current(self, door_id: str) -> GrantList | None:
        with self.db.session() as s:
            state = s.get(DoorGrantState, door_id)
            return self._stored(DOORS, state) if state else None

    def current_machine(self, machine_id: str) -> MachineGrantList | None:
        with self.db.session() as s:
            state = s.get(MachineGrantState, machine_id)
            return self._stored(MACHINES, state) if state else None

    def _stored(self, kind: _Kind, state):
        """A list this API issued, read back (its times judged by this API's clock)."""
        return kind.model.model_validate_json(state.payload, context={"now": self.clock.now()})

    # -- the broker's retained copies ---------------------------------------------------
    def saw_retained(self, topic: str, payload: bytes) -> None:
        """A list read back from the broker (ours, another instance's, stale, or anyone's).

        What the broker holds on a topic is the last message it took there, so the last
        one read decides: a list signed with our key, by its version; anything else — not
        a list, not signed by us, or the topic cleared — holds no list of ours, and the
        repairer publishes the stored one again (:meth:`publish_missing`)."""
        key = _retained_key(topic)
        if not payload:
            self.accepted += 1
            if key is not None:
                self.retained.pop(key, None)
            return
        try:
            parsed, grant = receive(self.inventory, topic, payload, self.clock.now())
            try:
                verify(grant, KeyRing.of(self.keys.signer.public_key))
            except SignatureError as exc:
                raise Rejected("bad_signature", str(exc), parsed=parsed) from None
        except Rejected as exc:
            self.rejected[exc.reason] += 1
            log.warning("retained grant list on %s refused: %s", topic[:200], str(exc)[:300])
            if self.dead_letter is not None:
                self.dead_letter(topic, payload, exc.reason, exc.detail)
            if key is not None:
                self.retained.pop(key, None)
            return
        self.accepted += 1
        self.retained[key] = grant.version

    def publish_missing(self) -> int:
        """Publish every stored list the broker does not hold (or holds an older version
        of) for ``repair_grace_s`` — on the repairer instance only (see the module)."""
        if self.publish is None:
            return 0
        now, due = time.monotonic(), []
        for kind in KINDS:
            with self.db.session() as s:
                states = s.execute(select(kind.state)).scalars().all()
            for state in states:
                key = kind.ident(state) if kind is DOORS else f"{kind.scope}/{kind.ident(state)}"
                if self.retained.get(key, 0) >= state.version:
                    self._missing_since.pop(key, None)
                    continue
                version, since = self._missing_since.get(key, (None, now))
                if version != state.version:
                    since = now
                self._missing_since[key] = (state.version, since)
                if now - since >= self.repair_grace_s:
                    due.append((kind, key, state))
        if not due or not self._repair.held():
            return 0
        for kind, key, state in due:
            self._send(kind, self._stored(kind, state))
            self.retained[key] = state.version
            self._missing_since.pop(key, None)
            log.warning("grant list %s v%d was missing from the broker: published again", key, state.version)
        return len(due)

    def close(self) -> None:
        self._repair.release()


class RepairLock:
    """Which API instance repairs the broker's retained lists: the one holding PostgreSQL's
    session advisory lock ``grant-repair`` on a connection of its own (released when the
    instance stops or its connection dies, then taken by another). SQLite: always this one."""

    def __init__(self, db: Database):
        self.db = db
        self._conn = None
        self._lock = threading.Lock()

    def held(self) -> bool:
        if not self.db.postgresql:
            return True
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    self._conn.commit()  # never left idle in a transaction
                    return True
                except Exception:  # noqa: BLE001 - the connection died: the lock went with it
                    self._drop()
            conn = self.db.engine.connect()
            try:
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key("grant-repair")}).scalar()
                conn.commit()
            except Exception:
                conn.close()
                raise
            if got:
                self._conn = conn
                return True
            conn.close()
            return False

    def _drop(self) -> None:
        try:
            self._conn.invalidate()
        finally:
            self._conn = None

    def release(self) -> None:
        """Give the lock up: the connection is closed, not pooled (the lock is its session's)."""
        with self._lock:
            if self._conn is not None:
                self._drop()


def _retained_key(topic: str) -> str | None:
    """``self.retained``'s key of a grant topic: the door, or ``machines/<machine>``."""
    try:
        parsed = topics.parse(topic)
    except topics.TopicError:
        return None
    return parsed.ident if parsed.scope == "doors" else f"{parsed.scope}/{parsed.ident}"
