"""deploy/docker-compose.yml: Docker does not run here, so its ports, variables and
volumes are checked against the settings, generated files and repository paths they name."""

from __future__ import annotations

import re
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from station.broker.acl import central_users
from lastation.cli import app

from .settings_index import REPO, api_env_vars, collector_env_vars, read_env_file

COMPOSE = REPO / "deploy" / "docker-compose.yml"
SECRET = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services(compose) -> dict:
    return compose["services"]


def env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def env_files(service: dict) -> list[Path]:
    files = service.get("env_file") or []
    return [Path(f) for f in ([files] if isinstance(files, str) else files)]


def published(service: dict) -> dict[int, int]:
    """container port → host port."""
    out = {}
    for p in service.get("ports", []):
        parts = str(p).split(":")
        out[int(parts[-1])] = int(parts[-2])
    return out


def volumes(service: dict) -> list[tuple[str, str]]:
    return [tuple(str(v).split(":")[:2]) for v in service.get("volumes", [])]


def example_for(path: Path) -> Path | None:
    """The placeholder file documenting an operator-written env file (not the generated ones)."""
    candidate = REPO / "deploy" / "env.example" / path.name
    return candidate if candidate.exists() else None


def test_stack_has_the_expected_services(compose):
    assert {"mosquitto", "influxdb", "grafana", "collector", "api"} <= set(services(compose))
    assert services(compose)["influxdb"]["image"].startswith("influxdb:2.7")
    assert services(compose)["mosquitto"]["image"].startswith("eclipse-mosquitto:2")


def test_no_secret_is_written_in_the_compose_file(compose):
    for name, svc in services(compose).items():
        for key in env(svc):
            assert not SECRET.search(key) or key.endswith("_FILE"), f"{name}: {key} belongs in an env_file"
        for path in env_files(svc):
            assert path.is_absolute() and not str(path).startswith(str(REPO)), f"{name}: {path} inside the repo"


def test_collector_and_api_variables_are_settings_the_code_reads(compose):
    known = {"collector": collector_env_vars(), "api": api_env_vars()}
    for name, names in known.items():
        svc = services(compose)[name]
        unknown = {k for k in env(svc) if k not in names}
        assert not unknown, f"{name}: {unknown} are read by nothing"
        for path in env_files(svc):
            example = example_for(path)
            if example:
                unknown = set(read_env_file(example)) - names
                assert not unknown, f"{example}: {unknown} are read by nothing"


def test_generated_broker_env_files_are_the_ones_gen_writes(compose, inventory):
    roles = {u.username for u in central_users(inventory)}
    for name in ("collector", "api"):
        generated = [p for p in env_files(services(compose)[name]) if "/broker/env/" in str(p)]
        assert [p.name for p in generated] == [f"{name}.env"]
        assert name in roles


def test_broker_listeners_and_paths_match_the_documented_gen_command(compose):
    args = shlex.split(compose["x-station-broker-gen"])
    out = Path(args[args.index("--out") + 1])
    tls = Path(args[args.index("--tls-dir") + 1])
    # Regenerate into a scratch copy of the same layout and read the listeners back.
    root = Path(tempfile.mkdtemp())
    try:
        moved = [a.replace(str(out), str(root / "broker")).replace(str(tls), str(root / "tls")) for a in args]
        res = CliRunner().invoke(app, ["broker", "gen", *moved])
        assert res.exit_code == 0, res.output
        conf = (root / "broker" / "mosquitto.conf").read_text()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    listeners = {int(m[1]): m[2] for m in re.finditer(r"^listener (\d+) ?(\S*)$", conf, re.M)}
    mosq = services(compose)["mosquitto"]
    assert mosq["command"][-1] == str(out / "mosquitto.conf")
    tls_port = next(p for p in listeners if "cafile" in conf.split(f"listener {p}", 1)[1].split("listener", 1)[0])
    assert tls_port in published(mosq), "the TLS listener must be published"
    mounts = dict(volumes(mosq))
    assert mounts.get(str(out)) == str(out) and mounts.get(str(tls)) == str(tls)
    assert ":ro" not in next(v for v in mosq["volumes"] if v.startswith(str(out))), "persistence needs rw"
    for name in ("collector", "api"):
        e = env(services(compose)[name])
        assert e["STATION_MQTT_HOST"] == "mosquitto"
        port = int(e["STATION_MQTT_PORT"])
        assert port in listeners and port not in published(mosq), f"{name}: internal listener, not published"
        assert listeners[port] in ("", "0.0.0.0"), "the internal listener must be reachable on the compose network"


def test_influx_bucket_and_org_agree_everywhere(compose):
    s = services(compose)
    influx, collector, grafana, api = env(s["influxdb"]), env(s["collector"]), env(s["grafana"]), env(s["api"])
    assert collector["STATION_INFLUX_BUCKET"] == influx["DOCKER_INFLUXDB_INIT_BUCKET"] == grafana["STATION_INFLUX_BUCKET"]
    assert api["STATION_HISTORY_INFLUX_DATABASE"] == influx["DOCKER_INFLUXDB_INIT_BUCKET"]
    assert collector["STATION_INFLUX_ORG"] == influx["DOCKER_INFLUXDB_INIT_ORG"]
    url = "http://influxdb:8086"
    assert collector["STATION_INFLUX_URL"] == grafana["STATION_INFLUX_URL"] == api["STATION_HISTORY_INFLUX_URL"] == url
    assert 8086 in published(s["influxdb"])
    example = read_env_file(REPO / "deploy" / "env.example" / "influxdb.env")
    assert "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN" in example


def test_grafana_gets_the_repository_provisioning_and_every_variable_it_uses(compose):
    grafana = services(compose)["grafana"]
    mounts = dict(volumes(grafana))
    base = COMPOSE.parent
    provisioning = next(h for h, c in mounts.items() if c == "/etc/grafana/provisioning")
    assert (base / provisioning).resolve() == REPO / "dashboards" / "grafana" / "provisioning"
    providers = yaml.safe_load((REPO / "dashboards/grafana/provisioning/dashboards/la-station.yaml").read_text())
    boards_path = providers["providers"][0]["options"]["path"]
    boards_host = next(h for h, c in mounts.items() if c == boards_path)
    assert list((base / boards_host).resolve().glob("*.json")), "no dashboards where the provider looks"
    used = set()
    for f in (REPO / "dashboards/grafana/provisioning").rglob("*.yaml"):
        used |= set(re.findall(r"\$\{(\w+)\}", f.read_text()))
    provided = set(env(grafana))
    for path in env_files(grafana):
        provided |= set(read_env_file(example_for(path)))
    assert used and used <= provided, f"missing for Grafana: {used - provided}"


def test_api_port_command_and_mounts_agree(compose):
    api = services(compose)["api"]
    cmd = api["command"]
    port = int(cmd[cmd.index("--port") + 1])
    assert port in published(api)
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    e = env(api)
    mounts = dict((c, h) for h, c in volumes(api))
    assert e["STATION_INVENTORY"] in mounts
    assert (COMPOSE.parent / mounts[e["STATION_INVENTORY"]]).resolve() == REPO / "inventory" / "la-station.yaml"
    for key in ("STATION_SIGNING_KEY_FILE", "STATION_SITE_KEY_FILE"):
        assert any(e[key].startswith(c + "/") for c in mounts), f"{key} is not on a mounted volume"
    collector = services(compose)["collector"]
    cmounts = dict((c, h) for h, c in volumes(collector))
    assert env(collector)["STATION_STATE_DIR"] in cmounts


def test_image_build_copies_what_exists():
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    for src in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert (REPO / src).exists(), src
