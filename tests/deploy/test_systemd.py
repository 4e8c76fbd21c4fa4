"""deploy/systemd: units start real commands with real options, secrets come from files outside the repo."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from lastation.cli import app as station_app

from .settings_index import REPO, api_env_vars, collector_env_vars, command, options_of, read_env_file

UNITS = REPO / "deploy" / "systemd"
SECRET = re.compile(r"PASSWORD|TOKEN|SECRET")


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections → (key, value) pairs; systemd allows repeated keys, so no configparser."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path}: cannot parse {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit, section, key) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def environment(unit) -> dict[str, str]:
    out = {}
    for v in values(unit, "Service", "Environment"):
        for assignment in shlex.split(v):
            k, _, val = assignment.partition("=")
            out[k] = val
    return out


@pytest.mark.parametrize("name", ["station-broker", "station-collector", "station-api"])
def test_unit_has_the_sections_systemd_needs(name):
    unit = parse_unit(UNITS / f"{name}.service")
    assert values(unit, "Unit", "Description")
    assert len(values(unit, "Service", "ExecStart")) == 1
    assert values(unit, "Install", "WantedBy") == ["multi-user.target"]
    assert values(unit, "Service", "Restart") == ["on-failure"]


def test_broker_unit_runs_the_generated_config():
    unit = parse_unit(UNITS / "station-broker.service")
    argv = shlex.split(values(unit, "Service", "ExecStart")[0])
    assert Path(argv[0]).name == "mosquitto" and argv[1:3] == ["-c", "/etc/station/broker/mosquitto.conf"]
    assert values(unit, "Service", "ReadWritePaths") == ["/etc/station/broker/data"]  # gen's persistence dir


@pytest.mark.parametrize("name,sub,known", [("station-collector", ("collector", "run"), collector_env_vars),
                                            ("station-api", ("api", "run"), api_env_vars)])
def test_service_units_call_real_commands_and_read_secrets_from_files(name, sub, known):
    unit = parse_unit(UNITS / f"{name}.service")
    argv = shlex.split(values(unit, "Service", "ExecStart")[0])
    assert Path(argv[0]).name == "station" and tuple(argv[1:3]) == sub
    group = next(g.typer_instance for g in station_app.registered_groups if g.name == sub[0])
    cmd_options = options_of(command(group, sub[1]))
    for arg in argv[3:]:
        if arg.startswith("-"):
            assert arg in cmd_options, f"{name}: `station {' '.join(sub)}` has no option {arg}"
    env = environment(unit)
    assert env and set(env) <= known(), f"{name}: {set(env) - known()} are read by nothing"
    assert not any(SECRET.search(k) for k in env), f"{name}: a secret is written in the unit"
    files = values(unit, "Service", "EnvironmentFile")
    role = sub[0]
    assert f"/etc/station/broker/env/{role}.env" in files  # written by `station broker gen`
    for f in files:
        assert f.startswith("/etc/station/"), f
        example = REPO / "deploy" / "env.example" / Path(f).name
        if "/broker/env/" not in f:
            assert example.exists(), f"no example for {f}"
            assert set(read_env_file(example)) <= known(), f"{example}: unknown variables"
    assert values(unit, "Service", "User") == ["station"], "services run unprivileged"


def test_services_reach_the_broker_on_the_local_listener():
    for name in ("station-collector", "station-api"):
        env = environment(parse_unit(UNITS / f"{name}.service"))
        assert env["STATION_MQTT_HOST"] == "127.0.0.1" and env["STATION_MQTT_PORT"] == "1883"
    readme = (REPO / "deploy" / "README.md").read_text()
    assert "--local-port 1883" in readme  # the gen command that opens that listener is documented


def test_systemd_analyze_accepts_the_units():
    """systemd's own parser: no unknown key or section, no value it cannot parse.

    Commands that are only installed on the server (/opt/station/...) are not an error here.
    """
    for unit in sorted(UNITS.glob("*.service")):
        res = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True)
        bad = [line for line in (res.stdout + res.stderr).splitlines()
               if any(word in line for word in ("Unknown key", "Unknown section", "Failed to parse", "Invalid"))]
        assert not bad, f"{unit.name}: {bad}"
