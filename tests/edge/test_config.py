"""`station edge run --config FILE [--validate-config]`: clear reports for bad configs, a real run."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli import app
from station.contract import NodeStatus, topics
from station.inventory import DEFAULT_INVENTORY
from station.mqtt import MqttBus
from tests.conftest import wait_until
from tests.edge.helpers import KeySet

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def write_config(tmp_path: Path, text: str) -> Path:
    KeySet(tmp_path / "keys")
    path = tmp_path / "edge.yaml"
    path.write_text(text.format(inventory=DEFAULT_INVENTORY))
    return path


GOOD = """\
node: ls-porte-salle-aiguillage
inventory: {inventory}
data_dir: data
mqtt:
  port: 1883
keys:
  public_key: keys/signing.pub.pem
  hmac_key: keys/site-hmac.key
access:
  lockout_after: 3
"""


def validate(path: Path):
    return runner.invoke(app, ["run", "--config", str(path), "--validate-config"])


def test_a_good_config_validates(tmp_path):
    result = validate(write_config(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    assert "ok — node ls-porte-salle-aiguillage (door_node)" in result.output


@pytest.mark.parametrize("change,expected", [
    (("lockout_after: 3", "lockout_afterr: 3"), r"edge.yaml:10: access.lockout_afterr: unknown key"),
    (("port: 1883", "port: 99999"), r"edge.yaml:5: mqtt.port: Input should be less than or equal to 65535"),
    (("node: ls-porte-salle-aiguillage", "node: ls-porte-nowhere"), r"edge.yaml:1: node: 'ls-porte-nowhere' is not"),
    (("data_dir: data\n", ""), r"edge.yaml:1: data_dir: Field required"),
    (("keys/site-hmac.key", "keys/missing.key"), r"missing.key: cannot read the site HMAC key"),
    (("keys/signing.pub.pem", "keys/site-hmac.key"), r"site-hmac.key:1: not a PEM public key"),
])
def test_a_bad_config_fails_with_file_line_and_reason(tmp_path, change, expected):
    result = validate(write_config(tmp_path, GOOD.replace(*change)))
    assert result.exit_code == 2
    assert re.search(expected, result.output), result.output


def test_a_door_node_without_keys_is_refused(tmp_path):
    text = GOOD.split("keys:")[0] + "access:\n  lockout_after: 3\n"
    result = validate(write_config(tmp_path, text))
    assert result.exit_code == 2 and "a door node needs keys.public_key" in result.output


def test_a_profile_with_a_pin_used_twice_is_refused(tmp_path):
    profile = (ROOT / "hardware/profiles/door_node.yaml").read_text().replace("buzzer: 26", "buzzer: 5")
    (tmp_path / "door.yaml").write_text(profile)
    result = validate(write_config(tmp_path, GOOD + "profile: door.yaml\n"))
    assert result.exit_code == 2 and "door.yaml" in result.output and "GPIO5 is already used" in result.output


def test_the_key_set_the_api_writes_is_the_one_a_node_config_names(tmp_path):
    """`station api keys DIR` writes the files the edge config names: one set, one format."""
    from lastation.cli import app as station

    result = runner.invoke(station, ["api", "keys", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    public = (tmp_path / "keys" / "signing.pub.pem").read_bytes()
    assert runner.invoke(station, ["api", "keys", str(tmp_path / "keys")]).exit_code == 0
    assert (tmp_path / "keys" / "signing.pub.pem").read_bytes() == public  # kept, not replaced
    for secret in ("signing.pem", "site-hmac.key"):
        assert oct(os.stat(tmp_path / "keys" / secret).st_mode & 0o777) == "0o600"
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD.format(inventory=DEFAULT_INVENTORY))
    assert validate(path).exit_code == 0


def test_a_password_in_the_config_file_is_refused(tmp_path):
    result = validate(write_config(tmp_path, GOOD.replace("port: 1883", "port: 1883\n  password: hunter2")))
    assert result.exit_code == 2 and "mqtt.password" in result.output and "password_file" in result.output


@pytest.mark.mosquitto
def test_edge_run_goes_online_and_offline_on_sigterm(tmp_path, mosquitto, mqtt_settings):
    path = write_config(tmp_path, GOOD.replace("port: 1883", f"port: {mosquitto.port}"))
    statuses: list[NodeStatus] = []
    watcher = MqttBus("watch-status", mqtt_settings)
    watcher.subscribe(topics.node_status("la-station", "ls-porte-salle-aiguillage"),
                      lambda t, p: statuses.append(NodeStatus.model_validate_json(p)))
    watcher.start()
    proc = subprocess.Popen([sys.executable, "-m", "lastation.cli", "edge", "run", "--config", str(path)], cwd=ROOT,
                            env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        online = wait_until(lambda: next((s for s in statuses if s.state.value == "online"), None), timeout=15)
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        wait_until(lambda: statuses[-1].state.value == "offline", timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.stop()
    assert proc.returncode == 0, proc.stdout.read()
    assert online.outbox_depth is not None and online.config_hash
    assert (tmp_path / "data" / "outbox.sqlite3").exists()
