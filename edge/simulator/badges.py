"""Badges in the simulated building: who holds which card, and the signed lists the doors get.

Every visit of the plan (a meeting, a fab-lab session, a coworker's stay, the shop's
staff on duty) has one badge holder. Their card number is derived from the visit, so a
run is reproducible; the simulator stands in for the API and publishes each door's
grant list, signed with the site key, with a validity window per visit from 5 minutes
before its start to its end. Staff on duty (ticket office, shop) get ``staff`` grants.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from pathlib import Path

from station.contract import GrantEntry, GrantList, GrantRole
from station.contract.signing import hash_credential, sign
from station.inventory import SpaceKind

from ..keys import SiteKeys, generate_dev_keys, load_private_key, load_site_keys
from .world import SpaceWorld, Visit

EARLY = timedelta(minutes=5)


def card_number(space_id: str, visit: Visit) -> int:
    """A stable 24-bit card number (a 26-bit Wiegand card) for the visit's badge holder."""
    digest = hashlib.sha256(f"{space_id}|{visit.start.isoformat()}|{visit.people}".encode()).digest()
    return int.from_bytes(digest[:3], "big") or 1


def role_of(world: SpaceWorld, visit: Visit) -> GrantRole:
    on_duty = world.space.kind in (SpaceKind.ticket_office, SpaceKind.shop) and visit.end - visit.start > timedelta(hours=3)
    if on_duty:
        return GrantRole.staff
    return GrantRole.trained if world.space.kind is SpaceKind.fablab else GrantRole.member


class SimulatedAccess:
    """The site keys and the grant lists of the simulated members."""

    def __init__(self, keys_dir: Path):
        paths = generate_dev_keys(keys_dir)
        self.keys: SiteKeys = load_site_keys(paths["public"], paths["hmac"])
        self._private = load_private_key(paths["private"])

    def grant_list(self, site: str, door: str, world: SpaceWorld, now: datetime) -> GrantList:
        """The door's signed list: one entry per planned visit, valid a day past the last one."""
        entries = [GrantEntry(credential_hash=hash_credential(self.keys.hmac_key, card_number(world.space.id, v)),
                              role=role_of(world, v), not_before=v.start - EARLY, not_after=v.end)
                   for v in world.visits]
        last = max([v.end for v in world.visits] + [now])
        unsigned = GrantList(site=site, door=door, version=time.time_ns() // 1_000_000, entries=entries,
                             key_id=self.keys.key_id, expires_at=last + timedelta(days=1))
        return sign(unsigned, self._private)
