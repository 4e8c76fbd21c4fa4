"""hardware/ is read by the code and by people: keep the documents in step with the profiles."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from edge.config import load_edge_config
from edge.profiles import load_profile
from station.inventory import DEFAULT_INVENTORY
from tests.edge.helpers import KeySet

ROOT = Path(__file__).resolve().parents[2]
HW = ROOT / "hardware"

ROWS = {  # profile pin → the row of the wiring table that documents it
    "door_node": {"wiegand_d0": "Wiegand DATA0", "wiegand_d1": "Wiegand DATA1", "strike_relay": "strike relay",
                  "door_contact": "door contact", "exit_button": "exit button", "fire_input": "fire input",
                  "tamper": "tamper", "led_green": "LED green", "led_red": "LED red", "buzzer": "buzzer"},
    "room_node": {"pir": "PIR out", "status_led": "status LED"},
    "machine_node": {"wiegand_d0": "Wiegand DATA0", "wiegand_d1": "Wiegand DATA1", "power_relay": "power relay",
                     "estop": "E-stop", "extraction": "extraction", "running": "running", "led_green": "LED green",
                     "led_red": "LED red", "buzzer": "buzzer"},
}


@pytest.mark.parametrize("profile", ["door_node", "room_node", "machine_node"])
def test_wiring_table_gives_the_profiles_pins(profile):
    text = (HW / f"wiring-{profile.replace('_', '-')}.md").read_text()
    pins = load_profile(profile).pins
    assert set(ROWS[profile]) == set(pins)
    for name, row in ROWS[profile].items():
        line = next(line for line in text.splitlines() if line.startswith(f"| {row} |"))
        assert re.search(rf"\|\s*{pins[name]} \(\d+\)\s*\|", line), f"{row}: GPIO{pins[name]} not in {line!r}"


def test_install_script_parses_and_dry_runs():
    assert subprocess.run(["bash", "-n", str(HW / "install-raspberry-pi-os.sh")]).returncode == 0
    out = subprocess.run(["bash", str(HW / "install-raspberry-pi-os.sh"), "--dry-run", "--source", str(ROOT)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "station-edge.service" in out.stdout and "pip install" in out.stdout and "[edge]" in out.stdout


def test_systemd_unit_verifies_and_runs_the_edge_command(tmp_path):
    unit = (HW / "station-edge.service").read_text()
    assert "ExecStart=/opt/station/venv/bin/station edge run --config /etc/station/edge.yaml" in unit
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (Debian: systemd)")
    local = tmp_path / "station-edge.service"
    local.write_text(unit.replace("/opt/station/venv/bin/station", str(ROOT / ".venv" / "bin" / "station")))
    out = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
    problems = [line for line in out.stderr.splitlines() if "station-edge.service" in line]
    assert problems == [], problems


def test_example_config_is_a_valid_edge_config(tmp_path):
    keys = KeySet(tmp_path / "keys")
    data = yaml.safe_load((HW / "edge.example.yaml").read_text())
    data["inventory"] = str(DEFAULT_INVENTORY)
    data["data_dir"] = str(tmp_path / "data")
    data["keys"].update(public_key=str(keys.paths.public), hmac_key=str(keys.paths.hmac))
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")  # files named in it must exist
    data["mqtt"]["tls_ca"] = str(tmp_path / "ca.pem")
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(data))
    config, _, digest = load_edge_config(path)
    assert config.node == "ls-porte-salle-aiguillage" and config.access.lockout_after == 5 and digest
