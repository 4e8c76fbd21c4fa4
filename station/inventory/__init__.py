"""Load and check the site inventory (the one source of truth for sites, spaces, doors, nodes)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from station.yamlfile import ConfigError, Loc, _dotted, describe, line_of, read

from .machines import IdleDetection, Machine, MachineKind, MachinePower, SafetyInput
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
    "ConfigError", "DEFAULT_INVENTORY", "Door", "IdleDetection", "Inventory", "LockType", "Machine", "MachineKind",
    "MachinePower", "Node", "NodeProfile", "SafetyInput",
    "OpeningHours", "Site", "SiteKind", "Space", "SpaceKind", "check_references", "load_inventory",
]


def check_references(inv: Inventory) -> list[tuple[Loc, str]]:
    """Cross-references the models cannot check alone: unique ids, doors → spaces, nodes → doors."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, dict[str, Loc]] = {"site": {}, "space": {}, "door": {}, "node": {}, "machine": {}}

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
        for mi, machine in enumerate(site.machines):
            unique("machine", machine.id, ("sites", si, "machines", mi, "id"))

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
            if node.profile is NodeProfile.door_node and len(node.doors) != 1:
                problems.append((base + ("doors",), "a door node serves exactly one door (one reader, one strike)"))
            if node.profile is NodeProfile.room_node and node.space is None:
                problems.append((base + ("space",), "a room node must name the space it measures"))
        problems += _machine_problems(si, site)
    return problems


def _machine_problems(si: int, site: Site) -> list[tuple[Loc, str]]:
    """Machines stand in a fab lab of their site; a machine node powers one machine of its site."""
    problems: list[tuple[Loc, str]] = []
    fablabs = {s.id for s in site.spaces if s.kind is SpaceKind.fablab}
    machines = {m.id for m in site.machines}
    for mi, machine in enumerate(site.machines):
        if machine.space not in fablabs:
            problems.append((("sites", si, "machines", mi, "space"),
                             f"machine {machine.id!r} stands in {machine.space!r}, which is not a fab lab of "
                             f"site {site.id!r}"))
    powered: dict[str, str] = {}
    for ni, node in enumerate(site.nodes):
        base = ("sites", si, "nodes", ni)
        for k, machine_id in enumerate(node.machines):
            if machine_id not in machines:
                problems.append((base + ("machines", k),
                                 f"node {node.id!r} powers machine {machine_id!r}, which site {site.id!r} does not have"))
            elif machine_id in powered:
                problems.append((base + ("machines", k),
                                 f"machine {machine_id!r} is already powered by node {powered[machine_id]!r}"))
            else:
                powered[machine_id] = node.id
        if node.profile is NodeProfile.machine_node and len(node.machines) != 1:
            problems.append((base + ("machines",), "a machine node powers exactly one machine (one reader, one relay)"))
        if node.profile is not NodeProfile.machine_node and node.machines:
            problems.append((base + ("machines",), "only a machine node powers machines"))
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
