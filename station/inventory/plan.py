"""The floor plan: the spaces of a site drawn as shapes, in a small file beside the inventory.

``inventory/la-station-plan.yaml`` gives, per floor, a rectangle for every space of the
site (metres, origin top-left) and unlabelled context areas (the hall, the platform).
It is checked like the inventory — ``FILE:LINE: field: reason`` — and against it: every
space named exists on that site and on that floor (the inventory's ``floor``), every
space of the site has a shape, shapes stay inside their floor and never overlap. The
API serves it (``GET /api/v1/plan``) and the board draws it as SVG, coloured and
labelled by each space's live status.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from station.yamlfile import ConfigError, Loc, _dotted, describe, line_of, read

from .model import Ident, Inventory, Strict


class Rect(Strict):
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    w: float = Field(gt=0)
    h: float = Field(gt=0)

    def overlaps(self, other: "Rect") -> bool:
        return self.x < other.x + other.w and other.x < self.x + self.w and \
            self.y < other.y + other.h and other.y < self.y + self.h


class SpaceShape(Rect):
    space: Ident


class Area(Rect):
    name: str = Field(min_length=1, max_length=80)


class Floor(Strict):
    floor: int
    name: str = Field(min_length=1, max_length=80)
    width: float = Field(gt=0, le=10_000)
    height: float = Field(gt=0, le=10_000)
    spaces: list[SpaceShape] = Field(min_length=1)
    areas: list[Area] = Field(default_factory=list)


class FloorPlan(Strict):
    site: Ident
    floors: list[Floor] = Field(min_length=1)


def check_plan(plan: FloorPlan, inventory: Inventory) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    try:
        site = inventory.site(plan.site)
    except KeyError:
        return [(("site",), f"site {plan.site!r} is not in the inventory")]
    spaces = {s.id: s for s in site.spaces}
    drawn: dict[str, Loc] = {}
    for fi, floor in enumerate(plan.floors):
        for si, shape in enumerate(floor.spaces):
            loc = ("floors", fi, "spaces", si)
            space = spaces.get(shape.space)
            if space is None:
                problems.append((loc + ("space",), f"space {shape.space!r} is not a space of site {site.id!r}"))
                continue
            if shape.space in drawn:
                problems.append((loc + ("space",), f"space {shape.space!r} is drawn twice (first at "
                                                   f"{_dotted(drawn[shape.space])})"))
            drawn[shape.space] = loc
            if space.floor != floor.floor:
                problems.append((loc + ("space",), f"space {shape.space!r} is on floor {space.floor} in the "
                                                   f"inventory, drawn on floor {floor.floor}"))
            if shape.x + shape.w > floor.width or shape.y + shape.h > floor.height:
                problems.append((loc, f"space {shape.space!r} goes past the floor's {floor.width} × {floor.height}"))
            for other in floor.spaces[:si]:
                if other.space != shape.space and shape.overlaps(other):
                    problems.append((loc, f"space {shape.space!r} overlaps {other.space!r}"))
    for space_id in spaces:
        if space_id not in drawn:
            problems.append((("floors",), f"space {space_id!r} of site {site.id!r} has no shape"))
    return problems


def plan_path(inventory_path: Path | str) -> Path:
    """Where an inventory's plan lives: ``la-station.yaml`` → ``la-station-plan.yaml``."""
    p = Path(inventory_path)
    return p.with_name(f"{p.stem}-plan{p.suffix}")


def load_plan(path: Path | str, inventory: Inventory) -> FloorPlan:
    """Read and check a plan file; raise ConfigError with ``file:line: field: reason``."""
    path = Path(path)
    data, lines = read(path)
    try:
        plan = FloorPlan.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(path, exc, lines)) from None
    problems = check_plan(plan, inventory)
    if problems:
        raise ConfigError([f"{path}:{line_of(loc, lines)}: {_dotted(loc)}: {msg}" for loc, msg in problems])
    return plan
