"""Fab-lab machines in the inventory: each in a fab lab, powered by one machine node, checked."""

from pathlib import Path

import pytest

from station.inventory import DEFAULT_INVENTORY, ConfigError, load_inventory


def test_both_fab_labs_and_the_bus_have_machines(inventory):
    by_space = {}
    for _, machine in inventory.machines():
        by_space.setdefault(machine.space, []).append(machine)
    assert set(by_space) == {"fablab-bois", "fablab-numerique", "bus-atelier"}
    kinds = {m.kind.value for m in by_space["fablab-numerique"]}
    assert {"laser_cutter", "printer_3d", "vinyl_cutter", "embroidery"} <= kinds
    assert "cnc_router" in {m.kind.value for m in by_space["fablab-bois"]}
    assert {m.kind.value for m in by_space["bus-atelier"]} == {"laser_cutter", "printer_3d", "vinyl_cutter"}


def test_every_machine_is_powered_by_its_own_machine_node(inventory):
    for site, machine in inventory.machines():
        node = inventory.machine_node(machine.id)
        assert node is not None and node.profile.value == "machine_node" and node.machines == [machine.id]
        assert inventory.node(node.id)[0].id == site.id
        assert inventory.node_spaces(node.id) == {machine.space}


def test_lasers_and_cnc_need_extraction_and_estop_and_a_contactor(inventory):
    for _, machine in inventory.machines():
        if machine.kind.value in ("laser_cutter", "cnc_router"):
            assert {s.value for s in machine.safety} == {"extraction", "estop"}, machine.id
            assert machine.power.switching == "contactor"
        if machine.idle.sensor == "current":
            assert machine.idle.channel is not None


def test_shared_training_names_the_same_qualification(inventory):
    printers = [m for _, m in inventory.machines() if m.kind.value == "printer_3d"]
    assert len(printers) >= 3 and {m.training_id for m in printers} == {"impression-3d"}
    _, embroidery = inventory.machine("brodeuse-brother")
    assert embroidery.training_id == "brodeuse-brother"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_INVENTORY.read_text()
    assert old in text
    path = tmp_path / "inventory.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_machine_outside_a_fab_lab_is_refused_with_its_line(tmp_path):
    path = _broken(tmp_path, "  - id: laser-trotec\n    space: fablab-numerique",
                   "  - id: laser-trotec\n    space: coworking-quai")
    with pytest.raises(ConfigError) as err:
        load_inventory(path)
    assert "machine 'laser-trotec' stands in 'coworking-quai', which is not a fab lab" in str(err.value)
    lines = path.read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t == "  - id: laser-trotec") + 1
    assert f"{path}:{line}: sites[0].machines[0].space:" in str(err.value)


def test_machine_node_without_its_machine_is_refused(tmp_path):
    path = _broken(tmp_path, "machines: [laser-trotec]", "machines: [laser-perdu]")
    with pytest.raises(ConfigError) as err:
        load_inventory(path)
    assert "powers machine 'laser-perdu', which site 'la-station' does not have" in str(err.value)


def test_current_sensor_needs_a_channel_and_mains_over_5_a_a_contactor(tmp_path):
    path = _broken(tmp_path, "idle: {sensor: current, channel: 0, threshold_a: 0.6,", "idle: {sensor: current, threshold_a: 0.6,")
    with pytest.raises(ConfigError, match="needs its MCP3008 channel"):
        load_inventory(path)
    path = _broken(tmp_path, "power: {volts: 400, amps: 16, switching: contactor}", "power: {volts: 400, amps: 16, switching: relay}")
    with pytest.raises(ConfigError, match="switched by a contactor"):
        load_inventory(path)
