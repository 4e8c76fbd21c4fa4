"""The inventory file: La Station as described, and clear errors for bad files."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from station.inventory import DEFAULT_INVENTORY, ConfigError, load_inventory


def test_la_station_has_its_twelve_spaces(inventory):
    site = inventory.site("la-station")
    kinds = Counter(s.kind.value for s in site.spaces)
    assert kinds == {"fablab": 2, "coworking": 2, "meeting": 5, "ticket_office": 1, "shop": 1, "venue": 1}
    for space in site.spaces:
        assert space.volume_m3 > space.area_m2 * 2.3, f"{space.id}: ceiling lower than 2.3 m"
        assert space.capacity * 1.5 <= space.area_m2 + 10, f"{space.id}: crowded beyond 1.5 m² per person"


def test_mini_stations_and_the_bus(inventory):
    minis = [s for s in inventory.sites if s.kind.value == "mini"]
    assert len(minis) == 5
    for site in minis:
        assert [s.kind.value for s in site.spaces] == ["coworking"]
        assert sum(1 for n in site.nodes if n.profile.value == "door_node") == 1
    bus = [s for s in inventory.sites if s.kind.value == "mobile"]
    assert len(bus) == 1 and bus[0].spaces[0].kind.value == "fablab"


def test_every_door_has_a_node_and_every_space_a_room_node(inventory):
    served = {d for _, n in inventory.nodes() for d in n.doors}
    assert served == {d.id for _, d in inventory.doors()}
    measured = {n.space for _, n in inventory.nodes() if n.space}
    assert measured == {s.id for _, s in inventory.spaces()}


def _broken(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = DEFAULT_INVENTORY.read_text()
    assert old in text
    path = tmp_path / "inventory.yaml"
    path.write_text(text.replace(old, new, count))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_key_names_file_line_and_field(tmp_path):
    path = _broken(tmp_path, "    capacity: 8\n", "    capacity: 8\n    capcity: 9\n")
    with pytest.raises(ConfigError) as err:
        load_inventory(path)
    line = _line_of(path, "capcity")
    assert str(err.value) == f"{path}:{line}: sites[0].spaces[4].capcity: unknown key"


def test_door_pointing_at_a_missing_space(tmp_path):
    path = _broken(tmp_path, "    space: salle-depot\n    name: Porte", "    space: salle-perdue\n    name: Porte")
    with pytest.raises(ConfigError) as err:
        load_inventory(path)
    assert f"{path}:{_line_of(path, 'salle-perdue')}: sites[0].doors[8].space: door 'porte-salle-depot' points at " \
           "space 'salle-perdue'" in str(err.value)


@pytest.mark.parametrize("doors", ["[]", "[porte-salle-aiguillage, porte-salle-quai-2]"])
def test_a_door_node_serves_exactly_one_door(tmp_path, doors):
    """One reader, one strike: a second door's commands and lists would reach a node that
    drives no strike for it."""
    path = _broken(tmp_path, "    doors: [porte-salle-aiguillage]", f"    doors: {doors}")
    if "quai-2" in doors:  # that door's own node lets it go
        text = path.read_text().replace("    doors: [porte-salle-quai-2]", "    doors: []", 1)
        path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_inventory(path)
    assert "a door node serves exactly one door (one reader, one strike)" in str(err.value)
    assert f"{path}:{_line_of(path, doors)}: sites[0].nodes[" in str(err.value)


def test_node_listed_twice(tmp_path):
    path = _broken(tmp_path, "- id: arques-salle", "- id: arques-porte")
    with pytest.raises(ConfigError) as err:
        load_inventory(path)
    second = [i for i, l in enumerate(path.read_text().splitlines(), 1) if "id: arques-porte" in l][1]
    assert f"{path}:{second}: sites[1].nodes[1].id: node 'arques-porte' is listed twice" in str(err.value)


def test_bad_value_and_bad_yaml(tmp_path):
    path = _broken(tmp_path, "lock: fail_secure", "lock: sometimes")
    with pytest.raises(ConfigError, match=r"doors\[0\]\.lock: Input should be 'fail_safe' or 'fail_secure'"):
        load_inventory(path)
    path.write_text("sites: [\n")
    with pytest.raises(ConfigError, match=r"inventory.yaml:2: invalid YAML"):
        load_inventory(path)


def test_cli_check_prints_one_line_and_exits_non_zero(tmp_path):
    path = _broken(tmp_path, "    capacity: 8\n", "    capacity: -3\n")
    result = subprocess.run([sys.executable, "-m", "lastation.cli", "inventory", "check", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"{path}:{_line_of(path, 'capacity: -3')}: sites[0].spaces[4].capacity: "
                     "Input should be greater than or equal to 1"]
    ok = subprocess.run([sys.executable, "-m", "lastation.cli", "inventory", "check", str(DEFAULT_INVENTORY)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "7 sites, 18 spaces" in ok.stdout
