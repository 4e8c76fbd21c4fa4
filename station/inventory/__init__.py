"""Load and check the site inventory (the one source of truth for sites, spaces, doors, nodes)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from station.yamlfile import ConfigError, Loc, _dotted, describe, line_of, read

from .model import (
    Door,
    Inventory,
    LockType,
    Node,
    NodeProfile,
    OpeningHours,
    Site,
    SiteKind,
    Space,
    SpaceKind,
)

#: The inventory shipped with the project: La Station, its mini-stations and the bus.
DEFAULT_INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "la-station.yaml"

__all__ = [
    "ConfigError", "DEFAULT_INVENTORY", "Door", "Inventory", "LockType", "Node", "NodeProfile",
    "OpeningHours", "Site", "SiteKind", "Space", "SpaceKind", "check_references", "load_inventory",
]


def check_references(inv: Inventory) -> list[tuple[Loc, str]]:
    """Cross-references the models cannot check alone: unique ids, doors → spaces, nodes → doors."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, dict[str, Loc]] = {"site": {}, "space": {}, "door": {}, "node": {}}

    def unique(kind: str, ident: str, loc: Loc) -> None:
        if ident in seen[kind]:
            first = _dotted(seen[kind][ident])
            problems.append((loc, f"{kind} {ident!r} is listed twice (first at {first})"))
        else:
            seen[kind][ident] = loc

    for si, site in enumerate(inv.sites):
        unique("site", site.id, ("sites", si, "id"))
        for xi, space in enumerate(site.spaces):
            unique("space", space.id, ("sites", si, "spaces", xi, "id"))
        for di, door in enumerate(site.doors):
            unique("door", door.id, ("sites", si, "doors", di, "id"))
        for ni, node in enumerate(site.nodes):
            unique("node", node.id, ("sites", si, "nodes", ni, "id"))

    for si, site in enumerate(inv.sites):
        spaces = {s.id for s in site.spaces}
        doors = {d.id for d in site.doors}
        for di, door in enumerate(site.doors):
            if door.space not in spaces:
                problems.append((("sites", si, "doors", di, "space"),
                                 f"door {door.id!r} points at space {door.space!r}, which site {site.id!r} does not have"))
        served: dict[str, str] = {}
        for ni, node in enumerate(site.nodes):
            base = ("sites", si, "nodes", ni)
            for k, door_id in enumerate(node.doors):
                if door_id not in doors:
                    problems.append((base + ("doors", k),
                                     f"node {node.id!r} serves door {door_id!r}, which site {site.id!r} does not have"))
                elif door_id in served:
                    problems.append((base + ("doors", k),
                                     f"door {door_id!r} is already served by node {served[door_id]!r}"))
                else:
                    served[door_id] = node.id
            if node.space is not None and node.space not in spaces:
                problems.append((base + ("space",),
                                 f"node {node.id!r} measures space {node.space!r}, which site {site.id!r} does not have"))
            if node.profile is NodeProfile.door_node and not node.doors:
                problems.append((base + ("doors",), "a door node must serve at least one door"))
            if node.profile is NodeProfile.room_node and node.space is None:
                problems.append((base + ("space",), "a room node must name the space it measures"))
    return problems


def load_inventory(path: Path | str = DEFAULT_INVENTORY) -> Inventory:
    """Read and validate an inventory file; raise ConfigError with ``file:line: field: reason``."""
    path = Path(path)
    data, lines = read(path)
    try:
        inv = Inventory.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(path, exc, lines)) from None
    problems = check_references(inv)
    if problems:
        raise ConfigError([f"{path}:{line_of(loc, lines)}: {_dotted(loc)}: {msg}" for loc, msg in problems])
    return inv
