"""The grant lists of a node's doors, verified and cached on disk.

A grant list arrives retained on ``doors/<door>/grants``. It is trusted only when its
Ed25519 signature verifies with the site's public key, it names this site and door,
and its version is newer than the cached one; it is then written to
``<data_dir>/grants/<door>.json`` (atomically, fsynced) and indexed by credential hash.
At start the cache is read back and verified again, so a file altered on the SD card
is refused like a tampered message. The same version received again (the retained
copy after a reconnect) is accepted silently without rewriting.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from station.contract import GrantEntry, GrantList, GrantRole
from station.contract.signing import SignatureError, verify
from station.durable import write_durably

from .keys import SiteKeys

log = logging.getLogger(__name__)


class GrantRejected(ValueError):
    """A grant list that must not be used; the message says why."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one badge at one door."""

    granted: bool
    reason: str
    role: GrantRole | None = None


class _Door:
    def __init__(self, grants: GrantList):
        self.grants = grants
        self.index: dict[str, list[GrantEntry]] = {}
        for entry in grants.entries:
            self.index.setdefault(entry.credential_hash, []).append(entry)


class GrantCache:
    """Verified grant lists per door, persisted under ``directory``."""

    def __init__(self, directory: Path, site: str, doors: list[str], keys: SiteKeys | None, *,
                 staff_when_expired: bool = True):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.site, self.doors, self.keys = site, list(doors), keys
        self.staff_when_expired = staff_when_expired
        self._doors: dict[str, _Door] = {}
        self._lock = threading.Lock()
        self.load_problems: list[str] = []
        for door in self.doors:
            path = self._path(door)
            if not path.exists():
                continue
            try:
                self._check(GrantList.model_validate_json(path.read_bytes()), door)
            except (GrantRejected, ValidationError, ValueError) as exc:
                problem = f"{path}: cached grant list refused: {str(exc).splitlines()[0]}"
                self.load_problems.append(problem)
                log.error(problem)
                continue
            self._doors[door] = _Door(GrantList.model_validate_json(path.read_bytes()))

    def _path(self, door: str) -> Path:
        return self.directory / f"{door}.json"

    # -- updates ------------------------------------------------------------------------
    def _check(self, grants: GrantList, door: str) -> None:
        if grants.door != door or grants.site != self.site:
            raise GrantRejected(f"list for {grants.site}/{grants.door} on the topic of {self.site}/{door}")
        if self.keys is None:
            raise GrantRejected("no site public key configured: cannot verify grant lists")
        try:
            verify(grants, self.keys.public_key)
        except SignatureError as exc:
            raise GrantRejected(str(exc)) from None

    def update(self, door: str, grants: GrantList) -> bool:
        """Verify and store a list; True if it replaced the cached one.

        Raises GrantRejected for a bad signature, another site or door, or an older
        version. The same version again returns False (retained redelivery).
        """
        if door not in self.doors:
            raise GrantRejected(f"door {door!r} is not a door of this node")
        self._check(grants, door)
        with self._lock:
            current = self._doors.get(door)
            if current is not None:
                if grants.version < current.grants.version:
                    raise GrantRejected(f"version {grants.version} is older than the cached {current.grants.version}")
                if grants.version == current.grants.version:
                    if grants.signature != current.grants.signature:
                        raise GrantRejected(f"version {grants.version} again with different content")
                    return False
            self._write(door, grants)
            self._doors[door] = _Door(grants)
        log.info("door %s: grant list version %d (%d entries) cached", door, grants.version, len(grants.entries))
        return True

    def _write(self, door: str, grants: GrantList) -> None:
        write_durably(self._path(door), grants.to_json())

    # -- queries ------------------------------------------------------------------------
    def versions(self) -> dict[str, int]:
        return {door: d.grants.version for door, d in self._doors.items()}

    def get(self, door: str) -> GrantList | None:
        d = self._doors.get(door)
        return d.grants if d else None

    def decide(self, door: str, credential_hash: str, now: datetime) -> Decision:
        """Admit a credential hash at ``now``? No network, a dict lookup and a few compares."""
        d = self._doors.get(door)
        if d is None:
            return Decision(False, "no grant list for this door")
        entries = d.index.get(credential_hash)
        if not entries:
            return Decision(False, "unknown badge")
        expired = now >= d.grants.expires_at
        reason = "outside its validity window"
        for entry in entries:
            if entry.not_before is not None and now < entry.not_before:
                continue
            if entry.not_after is not None and now >= entry.not_after:
                continue
            if expired and not (entry.role is GrantRole.staff and self.staff_when_expired):
                reason = "grant list expired"
                continue
            return Decision(True, "granted" if not expired else "granted (staff, list expired)", entry.role)
        return Decision(False, reason, entries[0].role)
