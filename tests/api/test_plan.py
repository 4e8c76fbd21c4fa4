"""The floor plan file: checked against the inventory with file:line: field: reason, served."""

from __future__ import annotations

import pytest

from station.inventory import ConfigError, DEFAULT_INVENTORY
from station.inventory.plan import load_plan, plan_path


def test_the_shipped_plan_draws_every_space_of_the_station_once(inventory):
    plan = load_plan(plan_path(DEFAULT_INVENTORY), inventory)
    drawn = [s.space for f in plan.floors for s in f.spaces]
    assert sorted(drawn) == sorted(s.id for s in inventory.site("la-station").spaces)


@pytest.mark.parametrize("change, problem", [
    (("salle-aiguillage, x: 36", "salle-nowhere, x: 36"), "space 'salle-nowhere' is not a space of site 'la-station'"),
    (("{space: guichet, x: 22, y: 0, w: 5, h: 6}", "{space: guichet, x: 22, y: 0, w: 5, h: 6, colour: red}"), "unknown key"),
    (("{space: boutique, x: 27,", "{space: boutique, x: 80,"), "goes past the floor"),
    (("{space: salle-depot, x: 37,", "{space: salle-depot, x: 30,"), "overlaps 'boutique'"),
    (("- floor: 1\n  name: Étage\n  width: 84\n  height: 20\n  spaces:\n  - {space: coworking-verriere, x: 22, y: 0, w: 14, h: 10}\n",
      "- floor: 1\n  name: Étage\n  width: 84\n  height: 20\n  spaces:\n"), "space 'coworking-verriere' of site 'la-station' has no shape"),
    (("{space: fablab-bois, x: 47, y: 0, w: 15, h: 12}", "{space: fablab-bois, x: 47, y: 0, w: 15, h: 12}\n  - {space: salle-aiguillage, x: 0, y: 19.5, w: 1, h: 0.5}"),
     "space 'salle-aiguillage' is on floor 1 in the inventory, drawn on floor 0"),
])
def test_a_broken_plan_names_file_line_field_and_reason(tmp_path, inventory, change, problem):
    text = plan_path(DEFAULT_INVENTORY).read_text()
    assert change[0] in text
    broken = tmp_path / "plan.yaml"
    broken.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as err:
        load_plan(broken, inventory)
    assert any(problem in p and p.startswith(f"{broken}:") for p in err.value.problems), err.value.problems


def test_the_api_serves_the_plan_and_the_other_sites(client):
    body = client.get("/api/v1/plan").json()
    assert body["plan"]["site"] == "la-station" and len(body["plan"]["floors"]) == 2
    sites = {s["id"]: s for s in body["sites"]}
    assert "bus-fablab" in sites and sites["bus-fablab"]["online"] is None and len(sites) == 6
