"""The site inventory: sites, spaces, doors and edge nodes, as one validated tree.

One file describes everything; edge nodes, the collector, the API, the broker ACL
generator, the dashboards and the simulator all read it.
"""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from station.ids import Ident  # identifiers: one rule (station/ids.py)

from .machines import Machine


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    """A time zone by name, built once."""
    return ZoneInfo(name)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpaceKind(str, Enum):
    fablab = "fablab"
    coworking = "coworking"
    meeting = "meeting"
    ticket_office = "ticket_office"
    shop = "shop"
    venue = "venue"


class SiteKind(str, Enum):
    main = "main"
    mini = "mini"
    mobile = "mobile"


class LockType(str, Enum):
    fail_safe = "fail_safe"  # unlocks when power is lost (fire egress)
    fail_secure = "fail_secure"  # stays locked when power is lost


class NodeProfile(str, Enum):
    door_node = "door_node"
    room_node = "room_node"
    machine_node = "machine_node"


class Interval(Strict):
    """An opening interval within one day, local time; ``close`` after ``open``.

    Written in YAML as ``"08:00-20:00"`` or as ``{open: "08:00", close: "20:00"}``.
    """

    open: time
    close: time

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value):
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", value)
            if not match:
                raise ValueError(f"opening interval {value!r} is not like 08:00-20:00")
            return {"open": match[1], "close": match[2]}
        return value

    def __str__(self) -> str:
        return f"{self.open:%H:%M}-{self.close:%H:%M}"

    @field_validator("close")
    @classmethod
    def _after_open(cls, close: time, info) -> time:
        opening = info.data.get("open")
        if opening is not None and close <= opening:
            raise ValueError(f"closes at {close:%H:%M}, not after it opens at {opening:%H:%M}")
        return close


class OpeningHours(Strict):
    """Per weekday, a list of intervals; a missing day means closed all day."""

    mon: list[Interval] = Field(default_factory=list)
    tue: list[Interval] = Field(default_factory=list)
    wed: list[Interval] = Field(default_factory=list)
    thu: list[Interval] = Field(default_factory=list)
    fri: list[Interval] = Field(default_factory=list)
    sat: list[Interval] = Field(default_factory=list)
    sun: list[Interval] = Field(default_factory=list)

    def day(self, weekday: int) -> list[Interval]:
        """Intervals of a weekday, Monday being 0 (as ``datetime.weekday()``)."""
        return getattr(self, WEEKDAYS[weekday])

    def is_open(self, weekday: int, at: time) -> bool:
        return any(i.open <= at < i.close for i in self.day(weekday))


class Space(Strict):
    id: Ident
    name: str = Field(min_length=1, max_length=80)
    kind: SpaceKind
    capacity: int = Field(ge=1, le=2000)
    area_m2: float = Field(gt=0, le=5000)
    volume_m3: float = Field(gt=0, le=50000)
    ventilation_ach: float = Field(default=2.0, gt=0, le=30, description="Air changes per hour.")
    bookable: bool = True
    booking: Literal["room", "seat"] = Field(
        default="room", description="room: one booking holds the whole space; seat: bookings share it up to its "
                                    "capacity (coworking desks).")
    max_booking_minutes: int = Field(default=240, ge=15, le=24 * 60)
    opening_hours: OpeningHours | None = Field(default=None, description="Overrides the site's hours.")
    floor: int = 0


class Door(Strict):
    id: Ident
    space: Ident
    name: str = Field(min_length=1, max_length=80)
    lock: LockType
    max_unlock_s: float = Field(default=5.0, gt=0, le=60)
    held_open_after_s: float = Field(default=120.0, gt=0, le=3600, description="Open longer than this: door_held_open.")


class Node(Strict):
    id: Ident
    profile: NodeProfile
    doors: list[Ident] = Field(default_factory=list)
    space: Ident | None = Field(default=None, description="The space a room node measures.")
    machines: list[Ident] = Field(default_factory=list, description="The machine a machine node powers.")
    location: str = ""


class Site(Strict):
    id: Ident
    name: str = Field(min_length=1, max_length=80)
    kind: SiteKind
    town: str
    timezone: str = "Europe/Paris"
    opening_hours: OpeningHours
    spaces: list[Space] = Field(min_length=1)
    doors: list[Door] = Field(default_factory=list)
    nodes: list[Node] = Field(default_factory=list)
    machines: list[Machine] = Field(default_factory=list, description="Fab-lab machines (station/inventory/machines.py).")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class Inventory(Strict):
    sites: list[Site] = Field(min_length=1)

    # -- lookups (indexed once: thousands of spaces are looked up per request) ----------
    @cached_property
    def _index(self) -> dict[str, dict[str, tuple]]:
        index: dict[str, dict[str, tuple]] = {"site": {}, "space": {}, "door": {}, "node": {}, "machine": {}}
        for site in self.sites:
            index["site"][site.id] = (site,)
            index["space"].update({s.id: (site, s) for s in site.spaces})
            index["door"].update({d.id: (site, d) for d in site.doors})
            index["node"].update({n.id: (site, n) for n in site.nodes})
            index["machine"].update({m.id: (site, m) for m in site.machines})
        return index

    def _find(self, kind: str, ident: str) -> tuple:
        found = self._index[kind].get(ident)
        if found is None:
            raise KeyError(f"no {kind} {ident!r} in the inventory")
        return found

    def site(self, site_id: str) -> Site:
        return self._find("site", site_id)[0]

    def spaces(self) -> list[tuple[Site, Space]]:
        return [(site, space) for site in self.sites for space in site.spaces]

    def space(self, space_id: str) -> tuple[Site, Space]:
        return self._find("space", space_id)

    def doors(self) -> list[tuple[Site, Door]]:
        return [(site, door) for site in self.sites for door in site.doors]

    def door(self, door_id: str) -> tuple[Site, Door]:
        return self._find("door", door_id)

    def doors_of(self, space_id: str) -> list[Door]:
        site, _ = self.space(space_id)
        return [d for d in site.doors if d.space == space_id]

    def nodes(self) -> list[tuple[Site, Node]]:
        return [(site, node) for site in self.sites for node in site.nodes]

    def node(self, node_id: str) -> tuple[Site, Node]:
        return self._find("node", node_id)

    def machines(self) -> list[tuple[Site, Machine]]:
        return [(site, machine) for site in self.sites for machine in site.machines]

    def machine(self, machine_id: str) -> tuple[Site, Machine]:
        return self._find("machine", machine_id)

    def machines_of(self, space_id: str) -> list[Machine]:
        site, _ = self.space(space_id)
        return [m for m in site.machines if m.space == space_id]

    def machine_node(self, machine_id: str) -> Node | None:
        """The node that powers a machine (None when no node serves it)."""
        site, _ = self.machine(machine_id)
        return next((n for n in site.nodes if machine_id in n.machines), None)

    def opening_hours(self, space_id: str) -> OpeningHours:
        site, space = self.space(space_id)
        return space.opening_hours or site.opening_hours

    def timezone(self, space_id: str) -> ZoneInfo:
        """The time zone a space's opening hours are written in (its site's)."""
        return zone(self.space(space_id)[0].timezone)

    def node_spaces(self, node_id: str) -> set[str]:
        """Spaces a node observes: its own space and the spaces behind its doors."""
        site, node = self.node(node_id)
        spaces = {node.space} if node.space else set()
        door_space = {d.id: d.space for d in site.doors}
        spaces.update(door_space[d] for d in node.doors if d in door_space)
        machine_space = {m.id: m.space for m in site.machines}
        spaces.update(machine_space[m] for m in node.machines if m in machine_space)
        return spaces
