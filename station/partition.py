"""Which collector takes which sites: a deterministic partition, the same on every machine.

Collectors scale out by *site*, each one a plain persistent subscription to its own
sites' topics (``station/v1/<site>/nodes/+/…``), never an MQTT ``$share`` group: a
shared group is a door any account can walk through (Mosquitto grants every SUBACK
and filters on delivery, so a node joining the group takes its turn and the message
is dropped), while a plain subscription of a node account gets only what its ACL lets
it read and takes nothing from anyone else.

Collector ``k`` of ``M`` (``partition: "k/M"``, ``STATION_PARTITION=2/3``) owns the sites
for which it has the highest *rendezvous* weight (highest random weight hashing,
SHA-256 of ``"<site>/<k>"``): every collector computes the same answer from the site
ids alone, without talking to the others, and going from ``M`` to ``M + 1``
collectors moves only the sites the new one wins (about ``1 / (M + 1)`` of them); a
new site moves nothing. See ``docs/scaling.md`` for rebalancing.

    >>> owner("la-station", 2)
    2
    >>> partition_sites(["a", "b", "c"], Partition(1, 1))
    ['a', 'b', 'c']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Partition:
    """Member ``index`` (1-based) of ``count`` collectors."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (1 <= self.index <= self.count):
            raise ValueError(f"partition {self.index}/{self.count}: the index must be between 1 and {self.count}")

    @classmethod
    def parse(cls, spec: str) -> "Partition":
        """``"2/3"`` → ``Partition(2, 3)``; ValueError naming the spec otherwise."""
        match = _SPEC.match(spec or "")
        if not match:
            raise ValueError(f"partition {spec!r}: expected k/M, e.g. 2/3")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _weight(site: str, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{site}/{index}".encode()).digest()[:8], "big")


def owner(site: str, count: int) -> int:
    """The collector (1 … ``count``) that owns ``site``."""
    if count < 1:
        raise ValueError("at least one collector")
    return max(range(1, count + 1), key=lambda k: (_weight(site, k), -k))


def partition_sites(sites: Iterable[str], partition: Partition) -> list[str]:
    """The sites (in the order given) that collector ``partition`` owns."""
    return [s for s in sites if owner(s, partition.count) == partition.index]


def assignment(sites: Iterable[str], count: int) -> dict[int, list[str]]:
    """Every collector's sites: ``{1: [...], 2: [...], ...}`` (a collector may own none)."""
    out: dict[int, list[str]] = {k: [] for k in range(1, count + 1)}
    for s in sites:
        out[owner(s, count)].append(s)
    return out
