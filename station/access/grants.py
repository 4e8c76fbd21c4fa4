"""Grant lists: who may use a door (or a machine) when — issued by the API, decided on the node.

One authority, one format, one set of rules for every resource:

- **Entries.** A credential hash with a role (``staff``, ``member`` for a booking,
  ``trained`` for a training) and an optional validity window ``[not_before, not_after)``.
- **Versions** only grow per resource: :func:`next_version` is the larger of the
  previous version plus one and the wall clock in milliseconds, so a node that cached a
  list from a lost (development) database still accepts the next one, and two issuers
  can never hand a node an "older" list by accident.
- **Expiry.** A list past its ``expires_at`` stops admitting members and trained
  members; staff entries keep working if the node is configured so
  (``staff_when_expired``), so that staff can always get in when the network is down
  for longer than a list lives.
- **Decision** (:class:`GrantIndex`): a dict lookup and a few compares, no network —
  milliseconds on a Raspberry Pi with 10,000 entries.

**Doors and machines: one engine, one entry per resource kind.** A door's list
(:class:`~station.contract.GrantList`) admits a valid ``staff``, ``member`` or ``trained``
entry. A machine's list (:class:`~station.contract.MachineGrantList`) carries the same
entries, and its rule is stricter::

    trained on that machine, training valid now            (a ``trained`` entry)
    ∧ ( booked by them now                                 (a ``member`` entry)
        ∨ free to use now: in a free window, nobody's booking )
    ∧ not out of order ∧ the list not expired

Staff get no blanket entry on a machine: they are trained like anyone (a laser cuts
staff fingers too). An expired machine list admits nobody — no ``staff_when_expired``
exception: a revoked training must take effect. A granted machine decision carries
``until``: when the session must end (the booking's end, or the end of the free window
— the next booking or closing time), so the node warns before it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from station.contract import GrantEntry, GrantList, GrantRole, MachineGrantList, Window

from .keys import Signer
from .signing import sign


def next_version(previous: int | None) -> int:
    """The next version of a resource's list (or command sequence): always above ``previous``."""
    return max((previous or 0) + 1, time.time_ns() // 1_000_000)


def booking_window(start: datetime, end: datetime, lead: timedelta) -> tuple[datetime, datetime]:
    """When a booking's badge opens the door: ``lead`` before the start until the end."""
    return start - lead, end


def sorted_entries(entries: Iterable[GrantEntry]) -> list[GrantEntry]:
    """Entries without duplicates, in a stable order (so equal lists have equal digests)."""
    far = datetime.max.replace(tzinfo=None)

    def key(e: GrantEntry):
        return (e.credential_hash, e.role.value, (e.not_before.replace(tzinfo=None) if e.not_before else far),
                (e.not_after.replace(tzinfo=None) if e.not_after else far))

    unique = {key(e): e for e in entries}
    return [unique[k] for k in sorted(unique)]


def issue_grant_list(*, site: str, door: str | None = None, machine: str | None = None,
                     entries: Iterable[GrantEntry], now: datetime, expires_at: datetime,
                     previous_version: int | None, signer: Signer, **machine_fields) -> GrantList | MachineGrantList:
    """A new signed list for a door — or, given ``machine`` (and the machine list's own
    fields: ``free_to_use``, ``free_windows``, ``booked_windows``, ``out_of_order``…), for
    a machine — with the next version."""
    if (door is None) == (machine is None):
        raise ValueError("a grant list is for one door or one machine")
    common = dict(ts=now, site=site, version=next_version(previous_version), expires_at=expires_at,
                  entries=sorted_entries(entries), key_id=signer.key_id)
    if door is not None:
        if machine_fields:
            raise ValueError(f"not fields of a door's list: {', '.join(sorted(machine_fields))}")
        return sign(GrantList(door=door, **common), signer)
    for name in ("free_windows", "booked_windows"):
        if name in machine_fields:
            machine_fields[name] = sorted_windows(machine_fields[name])
    return sign(MachineGrantList(machine=machine, **common, **machine_fields), signer)


def sorted_windows(windows: Iterable[Window]) -> list[Window]:
    """Windows without duplicates, by start (so equal lists have equal digests)."""
    unique = {(w.start, w.end): w for w in windows}
    return [unique[k] for k in sorted(unique)]


@dataclass(frozen=True)
class Decision:
    """The outcome of one badge at one resource."""

    granted: bool
    reason: str
    role: GrantRole | None = None
    until: datetime | None = None  # machines: when the session must end (warning before)


def _valid(entry: GrantEntry, now: datetime) -> bool:
    return (entry.not_before is None or entry.not_before <= now) and (entry.not_after is None or now < entry.not_after)


class GrantIndex:
    """A verified list, indexed by credential hash, that answers "admit this badge now?" —
    for a door or a machine, by the rule of the list's kind."""

    def __init__(self, grants: GrantList | MachineGrantList):
        self.grants = grants
        self.kind = "machine" if isinstance(grants, MachineGrantList) else "door"
        self.index: dict[str, list[GrantEntry]] = {}
        for entry in grants.entries:
            self.index.setdefault(entry.credential_hash, []).append(entry)

    @property
    def version(self) -> int:
        return self.grants.version

    @property
    def resource(self) -> str:
        return self.grants.resource

    def decide(self, credential_hash: str, now: datetime, *, staff_when_expired: bool = True) -> Decision:
        if self.kind == "machine":
            return self._decide_machine(credential_hash, now)
        entries = self.index.get(credential_hash)
        if not entries:
            return Decision(False, "unknown badge")
        expired = now >= self.grants.expires_at
        reason = "outside its validity window"
        for entry in entries:
            if entry.not_before is not None and now < entry.not_before:
                continue
            if entry.not_after is not None and now >= entry.not_after:
                continue
            if expired and not (entry.role is GrantRole.staff and staff_when_expired):
                reason = "grant list expired"
                continue
            return Decision(True, "granted" if not expired else "granted (staff, list expired)", entry.role)
        return Decision(False, reason, entries[0].role)

    def _decide_machine(self, credential_hash: str, now: datetime) -> Decision:
        grants: MachineGrantList = self.grants  # type: ignore[assignment]
        if grants.out_of_order:
            reason = "out of order" + (f": {grants.out_of_order_reason}" if grants.out_of_order_reason else "")
            return Decision(False, reason[:200])
        if now >= grants.expires_at:
            return Decision(False, "grant list expired")
        entries = self.index.get(credential_hash, ())
        trained = [e for e in entries if e.role is GrantRole.trained]
        if not trained:
            return Decision(False, "not trained on this machine")
        if not any(_valid(e, now) for e in trained):
            return Decision(False, "training expired", GrantRole.trained)
        booking = next((e for e in entries if e.role is GrantRole.member and _valid(e, now)), None)
        if booking is not None:
            return Decision(True, "booked", GrantRole.member, until=booking.not_after)
        if any(w.holds(now) for w in grants.booked_windows):
            return Decision(False, "booked by someone else", GrantRole.trained)
        if not grants.free_to_use:
            return Decision(False, "this machine needs a booking", GrantRole.trained)
        window = next((w for w in grants.free_windows if w.holds(now)), None)
        if window is None:
            return Decision(False, "outside opening hours", GrantRole.trained)
        return Decision(True, "free to use", GrantRole.trained, until=window.end)
