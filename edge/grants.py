"""The grant lists of a node's doors (or its machine), verified and cached on disk.

A machine node keeps its machine's list the same way (``model=MachineGrantList``,
``machines/<machine>/grants``, ``<data_dir>/machine-grants/<machine>.json``).

A grant list arrives retained on ``doors/<door>/grants``. It is trusted only when its
Ed25519 signature verifies with a key of the node's key ring (by the list's
``key_id``), it names this site and door, and its version is newer than the cached
one; it is then written to ``<data_dir>/grants/<door>.json`` (atomically, fsynced,
mode 0600) and indexed by credential hash (:class:`station.access.GrantIndex`). At
start the cache is read back and verified again, so a file altered on the SD card is
refused like a tampered message; its times are not judged then (a node may boot with
its clock days behind, and must still decide from the list it verified). The same
version received again (the retained copy after a reconnect) is accepted silently
without rewriting.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from station.access import Decision, GrantIndex, NodeKeys, SignatureError, verify
from station.contract import GrantList, MachineGrantList
from station.durable import private_dir, private_file, write_durably

log = logging.getLogger(__name__)


class GrantRejected(ValueError):
    """A grant list that must not be used; the message says why."""


class GrantCache:
    """Verified grant lists per door, persisted under ``directory``."""

    def __init__(self, directory: Path, site: str, doors: list[str], keys: NodeKeys | None, *,
                 staff_when_expired: bool = True, model: type[GrantList] | type[MachineGrantList] = GrantList):
        self.directory = Path(directory)
        private_dir(self.directory)  # 0700: signed lists of credential hashes
        self.site, self.doors, self.keys = site, list(doors), keys
        self.staff_when_expired = staff_when_expired
        self.model = model
        self._doors: dict[str, GrantIndex] = {}
        self._lock = threading.Lock()
        self.load_problems: list[str] = []
        for door in self.doors:
            path = self._path(door)
            if not path.exists():
                continue
            try:
                private_file(path)  # restored from a backup, copied by hand: 0600 again
                grants = self._read_cached(path)
                self._check(grants, door)
            except (GrantRejected, ValidationError, ValueError, OSError) as exc:
                problem = f"{path}: cached grant list refused: {str(exc).splitlines()[0]}"
                self.load_problems.append(problem)
                log.error(problem)
                continue
            self._doors[door] = GrantIndex(grants)

    def _read_cached(self, path: Path) -> GrantList | MachineGrantList:
        """The list this node verified and wrote, read back. Its times are not judged
        against the clock (no validation context): a node without a real-time clock may
        boot days behind, and a ``ts`` "in the future" must not shut the door on everyone
        while the network is down. The signature, checked again by the caller, is what
        tells our own file from a tampered one."""
        return self.model.__pydantic_validator__.validate_json(path.read_bytes())

    def _path(self, door: str) -> Path:
        return self.directory / f"{door}.json"

    # -- updates ------------------------------------------------------------------------
    def _check(self, grants: GrantList | MachineGrantList, door: str) -> None:
        if not isinstance(grants, self.model):
            raise GrantRejected(f"a {type(grants).__name__} where a {self.model.__name__} belongs")
        if grants.resource != door or grants.site != self.site:
            raise GrantRejected(f"list for {grants.site}/{grants.resource} on the topic of {self.site}/{door}")
        if self.keys is None:
            raise GrantRejected("no site public key configured: cannot verify grant lists")
        try:
            verify(grants, self.keys.ring)
        except SignatureError as exc:
            raise GrantRejected(str(exc)) from None

    def update(self, door: str, grants: GrantList | MachineGrantList) -> bool:
        """Verify and store a list; True if it replaced the cached one.

        Raises GrantRejected for a bad signature, another site or door, or an older
        version. The same version again returns False (retained redelivery).
        """
        if door not in self.doors:
            raise GrantRejected(f"{door!r} is not a door (or machine) of this node")
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
            self._doors[door] = GrantIndex(grants)
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
        index = self._doors.get(door)
        if index is None:
            return Decision(False, "no grant list for this door" if self.model is GrantList
                            else "no grant list for this machine")
        return index.decide(credential_hash, now, staff_when_expired=self.staff_when_expired)
