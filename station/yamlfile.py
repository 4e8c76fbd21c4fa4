"""YAML with line numbers, so that a bad config names its file, line and field.

``load(path, Model)`` parses a YAML file, validates it with a pydantic model and raises
:class:`ConfigError` whose message reads ``FILE:LINE: FIELD: reason``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """A configuration file that cannot be used; ``str()`` is one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _construct(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(yaml.serialize(key_node)).get_single_data() if not isinstance(
                key_node, yaml.ScalarNode) else _scalar(key_node)
            if key in result:
                raise ConfigError([f"{{file}}:{key_node.start_mark.line + 1}: {_dotted(loc + (key,))}: duplicate key"])
            lines[loc + (key,)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, loc + (key,), lines)
            lines[loc + (key,)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, loc + (i,), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def read(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML; return the data and a map from location to line number."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError([f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    lines: dict[Loc, int] = {}
    try:
        data = _construct(node, (), lines) if node is not None else {}
    except ConfigError as exc:
        raise ConfigError([p.replace("{file}", str(path)) for p in exc.problems]) from None
    return data, lines


def line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    """The line of the deepest known part of ``loc``."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def describe(path: Path, error: ValidationError, lines: dict[Loc, int]) -> list[str]:
    problems = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        problems.append(f"{path}:{line_of(loc, lines)}: {_dotted(loc)}: {msg}")
    return problems


def load(path: Path | str, model: type[M], *, context: dict | None = None) -> M:
    """Read ``path`` and validate it as ``model``; raise ConfigError with file:line: field."""
    path = Path(path)
    data, lines = read(path)
    try:
        return model.model_validate(data, context={"lines": lines, **(context or {})})
    except ValidationError as exc:
        raise ConfigError(describe(path, exc, lines)) from None
