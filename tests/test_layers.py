"""The layers: `station/` imports no component; components import only `station/`.

Every import statement is read from the source (module level and inside functions), so
a lazy import cannot slip past. `lastation/` is the one composition root that wires
the components together (the `station` command and `station demo`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = ("edge", "collector", "api")
ALLOWED = {
    "station": {"station"},
    "edge": {"station", "edge"},
    "collector": {"station", "collector"},
    "api": {"station", "api"},
}
PROJECT = set(COMPONENTS) | {"station", "lastation", "tests", "bench"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str, root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / package).rglob("*.py")):
        for line, top in imports_of(path):
            if top in PROJECT and top not in ALLOWED[package]:
                out.append(f"{path.relative_to(root)}:{line}: imports {top}")
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_layer_allows(package):
    assert violations(package) == []


def test_the_check_sees_a_lazy_import_inside_a_function(tmp_path):
    """The rule would catch the import-inside-a-function that used to slip in."""
    fake = tmp_path / "station"
    fake.mkdir()
    (fake / "sneaky.py").write_text("def run():\n    from api.app import create_app\n    return create_app\n")
    assert violations("station", tmp_path) == ["station/sneaky.py:2: imports api"]
