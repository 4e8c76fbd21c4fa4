"""`station broker gen`: files, modes, password format, regeneration, bad input."""

from __future__ import annotations

import base64
import json
import re
import subprocess

import pytest
from tests.utils.cli import flat, invoke

from station.broker.acl import bridged_sites, central_users, service_user
from station.broker.gen import GenError, GenOptions, generate
from station.broker.passwords import ITERATIONS, SALT_BYTES, hash_password, read_password_file, verify
from lastation.cli import app

from .conftest import credentials_file, mode


def test_hash_verifies_lines_written_by_mosquitto_passwd(tmp_path):
    path = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "alice", "correct horse"], check=True)
    hashed = read_password_file(path)["alice"]
    assert verify("correct horse", hashed)
    assert not verify("correct horse!", hashed)


def test_hash_has_mosquitto_7_format():
    hashed = hash_password("secret")
    _, kind, iterations, salt, digest = hashed.split("$")
    assert (kind, int(iterations)) == ("7", ITERATIONS)
    assert len(base64.b64decode(salt)) == SALT_BYTES
    assert len(base64.b64decode(digest)) == 64
    assert hash_password("secret") != hashed  # a fresh salt every time


def test_gen_writes_every_file_with_secret_modes(gen_root, inventory):
    result = generate(inventory, gen_root / "b", GenOptions())
    out = result.out
    for name in ("mosquitto.conf", "passwd", "acl", "credentials.json", "broker.json"):
        assert (out / name).exists(), name
    assert mode(out / "credentials.json") == 0o600
    assert mode(out / "passwd") == 0o600
    users = credentials_file(result)
    expected = {u.username for u in central_users(inventory)}
    expected |= {n.id for s in bridged_sites(inventory) for n in s.nodes}
    assert set(users) == expected
    assert {"collector", "api", "dashboard", "bridge-bus-fablab"} <= set(users)
    hashes = read_password_file(out / "passwd")
    assert set(hashes) == {u.username for u in central_users(inventory)}
    assert all(verify(users[u], h) for u, h in hashes.items())
    for site in bridged_sites(inventory):
        sdir = result.site_dirs[site.id]
        assert mode(sdir / "mosquitto.conf") == 0o600  # holds the bridge password
        assert set(read_password_file(sdir / "passwd")) == {n.id for n in site.nodes}


def test_gen_conf_is_production_shaped(gen_root, inventory):
    result = generate(inventory, gen_root / "b", GenOptions())
    conf = result.config.read_text()
    settings = [line.split(None, 1) for line in conf.splitlines() if line and not line.startswith("#")]
    keys = {k for k, *_ in settings}
    values = {k: (v[0] if v else "") for k, *v in settings}
    assert values["allow_anonymous"] == "false"
    assert values["persistence"] == "true"
    assert values["use_username_as_clientid"] == "true"
    assert values["listener"] == "1883"
    for limit in ("max_packet_size", "max_inflight_messages", "max_queued_messages", "max_connections",
                  "max_keepalive"):
        assert limit in keys, limit
    log_types = [v[0] for k, *v in settings if k == "log_type"]
    assert "debug" not in log_types and "all" not in log_types and "subscribe" not in log_types
    assert f"password_file {result.out / 'passwd'}" in conf
    assert f"acl_file {result.out / 'acl'}" in conf


def test_gen_with_tls_dir_listens_on_8883_with_dev_ca(gen_root, inventory):
    result = generate(inventory, gen_root / "b", GenOptions(tls_dir=gen_root / "tls"))
    conf = result.config.read_text()
    assert re.search(r"^listener 8883\b", conf, re.M)
    assert f"cafile {gen_root / 'tls' / 'ca.crt'}" in conf
    assert mode(gen_root / "tls" / "ca.key") == 0o600
    site_conf = (result.site_dirs["bus-fablab"] / "mosquitto.conf").read_text()
    assert "bridge_cafile" in site_conf and "address localhost:8883" in site_conf


def test_regenerating_keeps_passwords_and_rotate_replaces_them(gen_root, inventory):
    first = credentials_file(generate(inventory, gen_root / "b", GenOptions()))
    again = credentials_file(generate(inventory, gen_root / "b", GenOptions()))
    assert again == first
    rotated = credentials_file(generate(inventory, gen_root / "b", GenOptions(rotate=True)))
    assert set(rotated) == set(first)
    assert all(rotated[u] != first[u] for u in first)


def test_corrupt_credentials_file_fails_with_its_name(gen_root, inventory):
    out = gen_root / "b"
    generate(inventory, out, GenOptions())
    (out / "credentials.json").write_text("{not json")
    with pytest.raises(GenError, match="credentials.json"):
        generate(inventory, out, GenOptions())


def test_acl_has_no_patterns_and_one_block_per_user(gen_root, inventory):
    result = generate(inventory, gen_root / "b", GenOptions())
    acl = (result.out / "acl").read_text()
    assert not re.search(r"^pattern", acl, re.M)
    users = re.findall(r"^user (\S+)$", acl, re.M)
    assert sorted(users) == sorted(u.username for u in central_users(inventory))
    # The dashboard block only reads.
    block = acl.split("user dashboard\n", 1)[1].split("\n\n", 1)[0]
    assert block and all(line.startswith("topic read ") for line in block.splitlines())


def test_cli_gen_reports_what_it_wrote(gen_root):
    res = invoke(app, ["broker", "gen", "--out", str(gen_root / "b"), "--port", "18830"])
    assert res.exit_code == 0, res.output
    assert "central broker on port 18830" in flat(res.output)
    assert "bus-fablab" in flat(res.output)
    res = invoke(app, ["broker", "gen", "--out", str(gen_root / "b"), "--port", "18830"])
    assert "0 new" in flat(res.output)


def test_cli_gen_with_bad_inventory_names_file_and_line(gen_root):
    bad = gen_root / "bad.yaml"
    bad.write_text("sites:\n- id: x\n  name: X\n  kind: main\n  town: T\n  opening_hours: {}\n  spaces: []\n")
    res = invoke(app, ["broker", "gen", "--inventory", str(bad), "--out", str(gen_root / "b")])
    assert res.exit_code == 2
    assert f"{bad}:7: sites[0].spaces" in flat(res.output)
    assert not (gen_root / "b").exists()


def test_env_files_hold_each_clients_credentials(gen_root, inventory):
    result = generate(inventory, gen_root / "b", GenOptions())
    env = result.out / "env"
    assert mode(env) == 0o700
    text = (env / "collector.env").read_text()
    assert mode(env / "collector.env") == 0o600
    assert text.splitlines() == ["STATION_MQTT_USERNAME=collector",
                                 f"STATION_MQTT_PASSWORD={result.credentials['collector']}",
                                 "STATION_MQTT_CLIENT_ID=collector"]
    assert (env / "arques-porte.env").exists()  # a node's file, to copy onto its Pi
    assert not list(env.glob("bridge-*.env"))  # bridges authenticate from their site config


def test_broker_config_examples_match_the_generator():
    from station.broker.templates import examples
    from tests.deploy.settings_index import REPO

    for name, text in examples().items():
        path = REPO / "broker_config" / name
        assert path.read_text() == text, f"{path} drifted: run `station broker examples broker_config`"


def test_dev_config_still_allows_anonymous_only_on_loopback():
    from station.broker.dev import DEV_CONFIG

    text = DEV_CONFIG.read_text()
    assert "allow_anonymous true" in text
    listeners = [line for line in text.splitlines() if line.startswith("listener")]
    assert listeners and all(line.split()[2] == "127.0.0.1" for line in listeners)


def test_extra_collectors_get_their_own_accounts_with_collector_rights(gen_root, inventory):
    result = generate(inventory, gen_root / "b", GenOptions(collectors=3))
    users = {u.username: u for u in result.central_users}
    assert {"collector-1", "collector-2", "collector-3"} <= set(users) and "collector" not in users
    assert users["collector-3"].rules == users["collector-1"].rules == service_user("collector").rules
    env = (result.out / "env" / "collector-2.env").read_text()
    assert env.startswith("STATION_MQTT_USERNAME=collector-2\n")
    assert "STATION_MQTT_CLIENT_ID=collector-2\n" in env and "STATION_PARTITION=2/3\n" in env


def test_one_instance_of_each_service_keeps_its_plain_account(gen_root, inventory):
    result = generate(inventory, gen_root / "b", GenOptions())
    names = {u.username for u in result.central_users if u.role in ("api", "collector")}
    assert names == {"api", "collector"}
    assert "STATION_PARTITION" not in (result.out / "env" / "collector.env").read_text()


def test_api_instances_each_get_an_account_password_and_session(gen_root, inventory):
    from station.partition import Partition

    result = generate(inventory, gen_root / "b", GenOptions(apis=3, collectors=2))
    users = {u.username: u for u in result.central_users}
    apis = sorted(n for n, u in users.items() if u.role == "api")
    assert apis == ["api-1", "api-2", "api-3"]
    assert len({result.credentials[n] for n in apis}) == 3
    assert all(users[n].rules == service_user("api").rules for n in apis)
    acl = (result.out / "acl").read_text()
    for n in apis + ["collector-1", "collector-2"]:
        assert f"\nuser {n}\n" in acl
        env = (result.out / "env" / f"{n}.env").read_text()
        assert f"STATION_MQTT_USERNAME={n}\nSTATION_MQTT_PASSWORD={result.credentials[n]}\n" in env
        assert f"STATION_MQTT_CLIENT_ID={n}\n" in env
    assert "STATION_PARTITION" not in (result.out / "env" / "api-1.env").read_text()
    parts = [Partition.parse(line.split("=")[1]) for n in ("collector-1", "collector-2")
             for line in (result.out / "env" / f"{n}.env").read_text().splitlines() if line.startswith("STATION_PARTITION=")]
    assert parts == [Partition(1, 2), Partition(2, 2)]
    # No rule names $share (or any $ topic): the ACL gives no account a shared group.
    assert "$" not in acl.replace("$7$", "")


def test_gen_cli_takes_instance_counts(gen_root, inventory):
    res = invoke(app, ["broker", "gen", "--out", str(gen_root / "b"), "--api-instances", "2",
                       "--collector-instances", "2"])
    assert res.exit_code == 0, res.output
    users = json.loads((gen_root / "b" / "credentials.json").read_text())["users"]
    assert {"api-1", "api-2", "collector-1", "collector-2"} <= set(users) and not {"api", "collector"} & set(users)


def test_site_tls_issues_one_certificate_per_site_and_keeps_it(gen_root, inventory):
    from cryptography import x509

    opts = GenOptions(tls_dir=gen_root / "tls", site_tls=True, site_host="{site}.example.org")
    result = generate(inventory, gen_root / "b", opts)
    sdir = result.site_dirs["mini-arques"]
    cert = x509.load_pem_x509_certificate((sdir / "server.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "mini-arques.example.org" in names.get_values_for_type(x509.DNSName)
    assert mode(sdir / "server.key") == 0o600
    conf = (sdir / "mosquitto.conf").read_text()
    assert re.search(r"^listener 8883\b", conf, re.M) and f"certfile {sdir / 'server.crt'}" in conf
    before = (sdir / "server.crt").read_bytes()
    generate(inventory, gen_root / "b", opts)
    assert (sdir / "server.crt").read_bytes() == before


def test_site_tls_without_tls_dir_is_refused(gen_root, inventory):
    with pytest.raises(GenError, match="--tls-dir"):
        generate(inventory, gen_root / "b", GenOptions(site_tls=True))


def test_the_central_broker_admits_every_account_of_a_large_inventory(gen_root, inventory):
    from station.inventory import Inventory

    data = inventory.model_dump(mode="json")
    main = data["sites"][0]
    room = next(n for n in main["nodes"] if n["profile"] == "room_node")
    main["nodes"] += [{**room, "id": f"extra-{i:04d}"} for i in range(1500)]
    big = Inventory.model_validate(data)
    result = generate(big, gen_root / "big", GenOptions())
    conf = result.config.read_text()
    assert f"max_connections {2 * len(result.central_users)}" in conf and len(result.central_users) > 1500
    small = generate(inventory, gen_root / "small", GenOptions()).config.read_text()
    assert "max_connections 2000" in small
