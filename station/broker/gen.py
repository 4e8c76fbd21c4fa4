"""``station broker gen``: the broker configuration, generated from the inventory.

Writes into ``OUT``::

    mosquitto.conf          central broker (``mosquitto -c OUT/mosquitto.conf``)
    passwd, acl             its password file ($7$ hashes) and ACL (deny by default)
    credentials.json        username → password for every account (mode 0600)
    env/<user>.env          STATION_MQTT_USERNAME/PASSWORD for one account (mode 0600), for
                            systemd ``EnvironmentFile=``, docker-compose ``env_file:`` or a node
    broker.json             what ``station broker check`` needs: port, CA, users and rules
    sites/<site>/mosquitto.conf, passwd, acl   one bridged broker per mini-station and the bus

Regenerating keeps every existing password (read back from ``credentials.json``)
unless ``rotate`` is set; accounts that left the inventory are dropped.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from station.inventory import Inventory

from .acl import (BrokerUser, bridge_username, bridged_sites, central_users, name_clashes, render_acl,
                  site_users)
from .certs import TlsFiles, ensure_dev_tls, issue_server_cert
from .passwords import new_password, write_password_file, write_secret
from .templates import CENTRAL_LIMITS, BridgeSettings, Limits, central_conf, site_conf

BROKER_USER = "mosquitto"


class GenError(RuntimeError):
    """Generation cannot proceed (unreadable credentials, a TLS directory without keys, ...)."""


@dataclass
class GenOptions:
    port: int | None = None  # default 8883 with TLS, 1883 without
    bind: str = ""  # all interfaces
    tls_dir: Path | None = None
    tls_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    rotate: bool = False
    central_host: str = "localhost"  # the address site brokers bridge to
    site_port: int | None = None  # default 8883 with site_tls, 1883 without
    site_tls: bool = False  # TLS on site listeners too: a certificate per site broker from the CA
    site_host: str = "{site}.local"  # the name nodes use for their site broker
    site_bind: str = ""
    broker_user: str | None = BROKER_USER  # mosquitto drops to this user when started as root
    bridge_restart: tuple[int, int] = (2, 30)
    local_port: int | None = None  # a second, plain listener for services on the same host
    local_bind: str = "127.0.0.1"
    collectors: int = 1  # collector instances: `collector`, or collector-1 … collector-M
    apis: int = 1  # API instances: `api`, or api-1 … api-N

    @property
    def central_port(self) -> int:
        return self.port or (8883 if self.tls_dir else 1883)

    @property
    def site_listener_port(self) -> int:
        return self.site_port or (8883 if self.site_tls else 1883)


@dataclass
class GenResult:
    out: Path
    credentials: dict[str, str]
    central_users: list[BrokerUser]
    site_dirs: dict[str, Path] = field(default_factory=dict)
    kept: int = 0
    created: int = 0
    tls: TlsFiles | None = None

    @property
    def config(self) -> Path:
        return self.out / "mosquitto.conf"


def central_limits(accounts: int) -> Limits:
    """The central broker's limits for this many accounts: room for every one of them
    connected at once, twice over (reconnects overlap), never below the default."""
    from dataclasses import replace

    return replace(CENTRAL_LIMITS, max_connections=max(CENTRAL_LIMITS.max_connections, 2 * accounts))


def load_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        users = data["users"]
        return {str(u): str(p) for u, p in users.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GenError(f"{path}: cannot read existing credentials ({exc}); fix it or pass --rotate") from exc


def _owner(options: GenOptions) -> tuple[int, int] | None:
    """The uid/gid mosquitto runs as after dropping root, when we are root and it exists."""
    if os.geteuid() != 0 or not options.broker_user or options.broker_user == "root":
        return None
    try:
        entry = pwd.getpwnam(options.broker_user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _give(paths: list[Path], owner: tuple[int, int] | None) -> None:
    if owner:
        for p in paths:
            os.chown(p, *owner)


def _broker_files(directory: Path, users: list[BrokerUser], credentials: dict[str, str],
                  owner: tuple[int, int] | None, header: str) -> tuple[Path, Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    passwd, acl, data = directory / "passwd", directory / "acl", directory / "data"
    write_password_file(passwd, {u.username: credentials[u.username] for u in users})
    write_secret(acl, render_acl(users, header), mode=0o640)
    data.mkdir(exist_ok=True)
    data.chmod(0o700)
    _give([passwd, acl, data], owner)
    return passwd, acl, data


def _describe(user: BrokerUser) -> dict:
    return {"role": user.role, "site": user.site, "doors": list(user.doors),
            "rules": [[r.access, r.topic] for r in user.rules]}


def _site_certificate(tls: TlsFiles, sdir: Path, site_id: str, options: GenOptions,
                      owner: tuple[int, int] | None) -> tuple[Path, Path, Path]:
    """The site broker's certificate, issued once by the CA in the TLS directory and kept after."""
    cert, key = sdir / "server.crt", sdir / "server.key"
    if not (cert.exists() and key.exists()):
        if not (tls.ca.parent / "ca.key").exists():
            raise GenError(f"{tls.ca.parent}: no ca.key to issue the certificate of site broker {site_id}")
        hosts = [options.site_host.format(site=site_id), "localhost", "127.0.0.1"]
        issued = issue_server_cert(tls.ca.parent, hosts, name=f"site-{site_id}")
        shutil.move(issued.cert, cert)
        shutil.move(issued.key, key)
    _give([key], owner)
    return sdir / "central-ca.crt", cert, key


def _partitions(users: list[BrokerUser]) -> dict[str, str]:
    """Collector account → its ``k/M`` partition of the sites, when there are several."""
    collectors = [u.username for u in users if u.role == "collector"]
    if len(collectors) < 2:
        return {}
    return {name: f"{i}/{len(collectors)}" for i, name in enumerate(collectors, start=1)}


def write_env_files(directory: Path, users: list[BrokerUser], credentials: dict[str, str]) -> None:
    """One ``KEY=value`` file per account that connects as a client (bridges use their site config).

    Services get their client id (= username: their own persistent session); each of
    several collectors its partition of the sites (``STATION_PARTITION=k/M``)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    wanted = {f"{u.username}.env" for u in users if u.role != "bridge"}
    for old in directory.glob("*.env"):
        if old.name not in wanted:
            old.unlink()
    partitions = _partitions(users)
    for u in users:
        if u.role == "bridge":
            continue
        client_id = f"STATION_MQTT_CLIENT_ID={u.username}\n" if u.role in ("collector", "api") else ""
        partition = f"STATION_PARTITION={partitions[u.username]}\n" if u.username in partitions else ""
        write_secret(directory / f"{u.username}.env",
                     f"STATION_MQTT_USERNAME={u.username}\nSTATION_MQTT_PASSWORD={credentials[u.username]}\n"
                     + client_id + partition)


def generate(inventory: Inventory, out: Path, options: GenOptions | None = None) -> GenResult:
    """Write the central broker's files and one bridged broker per mini-station / bus."""
    options = options or GenOptions()
    clashes = name_clashes(inventory)
    if clashes:
        raise GenError("; ".join(clashes))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cred_path = out / "credentials.json"
    previous = {} if options.rotate else load_credentials(cred_path)

    central = central_users(inventory, options.collectors, options.apis)
    sites = bridged_sites(inventory)
    everyone = central + [u for s in sites for u in site_users(s)]
    credentials = {u.username: previous.get(u.username) or new_password() for u in everyone}
    kept = sum(1 for u in everyone if u.username in previous)
    owner = _owner(options)

    if options.site_tls and not options.tls_dir:
        raise GenError("--site-tls needs --tls-dir (the CA that signs the site brokers' certificates)")
    tls = None
    if options.tls_dir:
        try:
            tls = ensure_dev_tls(Path(options.tls_dir).resolve(), options.tls_hosts)
        except FileNotFoundError as exc:
            raise GenError(str(exc)) from exc
        _give([tls.key], owner)

    passwd, acl, data = _broker_files(out, central, credentials, owner, "central broker")
    (out / "mosquitto.conf").write_text(central_conf(
        port=options.central_port, bind=options.bind, passwd=passwd, acl=acl, data=data,
        user=options.broker_user, tls=(tls.ca, tls.cert, tls.key) if tls else None,
        local=(options.local_port, options.local_bind) if options.local_port else None,
        limits=central_limits(len(central))))
    write_env_files(out / "env", everyone, credentials)

    result = GenResult(out, credentials, central, kept=kept, created=len(everyone) - kept, tls=tls)
    sites_root = out / "sites"
    if sites_root.exists():
        known = {s.id for s in sites}
        for old in sites_root.iterdir():
            if old.is_dir() and old.name not in known:
                shutil.rmtree(old)
    site_meta = {}
    for site in sites:
        sdir = sites_root / site.id
        spasswd, sacl, sdata = _broker_files(sdir, site_users(site), credentials, owner, f"site broker {site.id}")
        ca = site_tls = None
        if tls:
            ca = sdir / "central-ca.crt"
            shutil.copyfile(tls.ca, ca)
        if options.site_tls:
            site_tls = _site_certificate(tls, sdir, site.id, options, owner)
        bname = bridge_username(site.id)
        bridge = BridgeSettings(site=site.id, central_host=options.central_host, central_port=options.central_port,
                                username=bname, password=credentials[bname], ca=ca,
                                restart_timeout=options.bridge_restart)
        write_secret(sdir / "mosquitto.conf", site_conf(port=options.site_listener_port, bind=options.site_bind,
                                                        passwd=spasswd, acl=sacl, data=sdata,
                                                        user=options.broker_user, bridge=bridge, tls=site_tls))
        result.site_dirs[site.id] = sdir
        site_meta[site.id] = {"config": str(sdir / "mosquitto.conf"), "port": options.site_listener_port,
                              "bind": options.site_bind, "tls_ca": str(ca) if site_tls else None,
                              "users": {u.username: _describe(u) for u in site_users(site)}}

    write_secret(cred_path, json.dumps({"users": dict(sorted(credentials.items()))}, indent=2) + "\n")
    meta = {
        "central": {"config": str(out / "mosquitto.conf"), "host": options.central_host,
                    "port": options.central_port, "bind": options.bind, "local_port": options.local_port,
                    "tls_ca": str(tls.ca) if tls else None},
        "users": {u.username: _describe(u) for u in central},
        "sites": site_meta,
    }
    (out / "broker.json").write_text(json.dumps(meta, indent=2) + "\n")
    return result
