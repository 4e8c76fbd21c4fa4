"""The site inventory: sites, spaces, doors and edge nodes, as one validated tree.

One file describes everything; edge nodes, the collector, the API, the broker ACL
generator, the dashboards and the simulator all read it.
"""

from __future__ import annotations

import re
from datetime import time
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
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

    # -- lookups ------------------------------------------------------------------------
    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(f"no site {site_id!r} in the inventory")

    def spaces(self) -> list[tuple[Site, Space]]:
        return [(site, space) for site in self.sites for space in site.spaces]

    def space(self, space_id: str) -> tuple[Site, Space]:
        for site, space in self.spaces():
            if space.id == space_id:
                return site, space
        raise KeyError(f"no space {space_id!r} in the inventory")

    def doors(self) -> list[tuple[Site, Door]]:
        return [(site, door) for site in self.sites for door in site.doors]

    def door(self, door_id: str) -> tuple[Site, Door]:
        for site, door in self.doors():
            if door.id == door_id:
                return site, door
        raise KeyError(f"no door {door_id!r} in the inventory")

    def nodes(self) -> list[tuple[Site, Node]]:
        return [(site, node) for site in self.sites for node in site.nodes]

    def node(self, node_id: str) -> tuple[Site, Node]:
        for site, node in self.nodes():
            if node.id == node_id:
                return site, node
        raise KeyError(f"no node {node_id!r} in the inventory")

    def opening_hours(self, space_id: str) -> OpeningHours:
        site, space = self.space(space_id)
        return space.opening_hours or site.opening_hours

    def node_spaces(self, node_id: str) -> set[str]:
        """Spaces a node observes: its own space and the spaces behind its doors."""
        site, node = self.node(node_id)
        spaces = {node.space} if node.space else set()
        door_space = {d.id: d.space for d in site.doors}
        spaces.update(door_space[d] for d in node.doors if d in door_space)
        return spaces
