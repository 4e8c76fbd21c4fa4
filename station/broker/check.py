"""``station broker check``: connect as each generated user and try what it must not do.

Reads ``broker.json`` and ``credentials.json`` written by ``station broker gen``. For
every account it tries forbidden publishes (Mosquitto answers ``Not authorized`` 0x87
in the MQTT v5 PUBACK) and forbidden subscriptions (Mosquitto 2.0 grants the SUBACK
but filters delivery, so the check publishes marker messages as an allowed user and
proves none arrived). Markers and forbidden publishes use the reserved ids
``zz-broker-check`` so a running installation sees no message on a real door or room.

Caution: client id = username, so connecting as a node briefly takes over that node's
session; run it at commissioning or in a maintenance window.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from station.contract.topics import CHANNELS, ROOT, Role

from .acl import BrokerUser, Rule, topic_matches
from .probe import Answer, Probe

FAKE = "zz-broker-check"


@dataclass
class Attempt:
    """One forbidden action and what the broker did with it; ``refused`` False is a hole."""

    user: str
    role: str
    action: str
    target: str
    outcome: str = ""
    refused: bool = True


@dataclass
class _Listen:
    attempt: Attempt
    probe: Probe
    user: BrokerUser
    suback: Answer


@dataclass
class CheckConfig:
    host: str
    port: int
    ca: Path | None
    users: dict[str, BrokerUser]
    passwords: dict[str, str]
    sites: list[str] = field(default_factory=list)


def load_config(directory: Path, *, host: str | None = None, port: int | None = None,
                site: str | None = None) -> CheckConfig:
    """The central broker (or with ``site``, that site's broker) as described by ``gen``."""
    meta = json.loads((directory / "broker.json").read_text())
    passwords = json.loads((directory / "credentials.json").read_text())["users"]
    if site:
        part, ca, described = meta["sites"][site], meta["sites"][site].get("tls_ca"), meta["sites"][site]["users"]
        default_host = "127.0.0.1"
    else:
        part, ca, described = meta["central"], meta["central"].get("tls_ca"), meta["users"]
        default_host = meta["central"]["host"]
    users = {name: BrokerUser(name, d["role"], d["site"], tuple(Rule(a, t) for a, t in d["rules"]),
                              tuple(d.get("doors", ())))
             for name, d in described.items()}
    # Sites whose nodes use the central broker first (the main site), then the bridged ones.
    central_sites = sorted({u["site"] for u in meta["users"].values() if u["role"] == "node"})
    sites = central_sites + sorted(set(meta["sites"]) - set(central_sites))
    return CheckConfig(host or default_host, port or part["port"], Path(ca) if ca else None, users,
                       passwords, sites)


def forbidden_publishes(user: BrokerUser, sites: list[str]) -> list[str]:
    """Topics this user must not write (checked against its own rules before use)."""
    site = user.site or (sites[0] if sites else "la-station")
    other = next((s for s in sites if s != site), FAKE)
    base = f"{ROOT}/{site}"
    topics = [f"{base}/nodes/{FAKE}/events", f"{base}/doors/{FAKE}/grants", f"{base}/doors/{FAKE}/command",
              f"{base}/rooms/{FAKE}/occupancy", f"{base}/rooms/{FAKE}/availability",
              f"{ROOT}/{other}/nodes/{FAKE}/events", f"{ROOT}/{site}/elsewhere", "$SYS/broker/check"]
    if user.role == "node":
        topics.append(f"{base}/nodes/{user.username}/debug")
        topics += [f"{base}/doors/{d}/grants" for d in user.doors]
    return [t for t in topics if not user.may("write", t)]


def forbidden_subscriptions(user: BrokerUser, sites: list[str]) -> list[str]:
    site = user.site or (sites[0] if sites else "la-station")
    subs = ["#", f"{ROOT}/+/doors/+/grants", f"{ROOT}/+/doors/+/command", f"{ROOT}/{site}/rooms/+/availability",
            f"{ROOT}/{site}/rooms/+/occupancy", f"{ROOT}/+/nodes/+/status"]
    # Mosquitto 2.0 grants any SUBACK and filters on delivery; what counts is what arrives.
    return [s for s in subs if not any(r.topic == s and r.access != "write" for r in user.rules)]


def _probe(cfg: CheckConfig, user: str, password: str | None, timeout: float) -> Probe:
    return Probe(user, password, host=cfg.host, port=cfg.port, ca=cfg.ca, timeout=timeout)


def _marker_publisher(cfg: CheckConfig, roles: tuple[str, ...]) -> BrokerUser | None:
    return next((u for u in cfg.users.values() if u.role in roles), None)


def run_check(cfg: CheckConfig, *, only: set[str] | None = None, timeout: float = 3.0,
              settle_s: float = 1.0) -> list[Attempt]:
    """Try every forbidden action for every user (or only those named); return the attempts."""
    attempts: list[Attempt] = []
    anon = _probe(cfg, None, None, timeout)
    a = Attempt("(anonymous)", "-", "connect", f"{cfg.host}:{cfg.port}")
    ans = anon.connect()
    a.outcome, a.refused = str(ans), ans.refused
    anon.close()
    attempts.append(a)

    listens: list[_Listen] = []
    probes: list[Probe] = []
    try:
        for name, user in sorted(cfg.users.items()):
            if only and name not in only:
                continue
            bad = _probe(cfg, name, "wrong-" + uuid.uuid4().hex, timeout)
            ans = bad.connect()
            bad.close()
            attempts.append(Attempt(name, user.role, "connect", "wrong password", str(ans), ans.refused))
            probe = _probe(cfg, name, cfg.passwords.get(name), timeout)
            ans = probe.connect()
            if ans.refused:
                attempts.append(Attempt(name, user.role, "connect", "own password", f"cannot connect: {ans}",
                                        refused=True))
                probe.close()
                continue
            probes.append(probe)
            for topic in forbidden_publishes(user, cfg.sites):
                ans = probe.publish(topic, b'{"broker_check": true}')
                attempts.append(Attempt(name, user.role, "publish", topic, str(ans), ans.refused))
            for sub in forbidden_subscriptions(user, cfg.sites):
                att = Attempt(name, user.role, "subscribe", sub)
                listens.append(_Listen(att, probe, user, probe.subscribe(sub)))
        markers = _publish_markers(cfg, timeout)
        time.sleep(settle_s)
        for item in listens:
            leaked = [t for t, _ in item.probe.received if topic_matches(item.attempt.target, t)
                      and (t.startswith("$SYS") or not item.user.may("read", t))]
            if item.suback.refused:
                item.attempt.outcome, item.attempt.refused = f"SUBACK {item.suback}", True
            elif leaked:
                item.attempt.outcome = f"RECEIVED {len(leaked)} forbidden message(s), e.g. {leaked[0]}"
                item.attempt.refused = False
            else:
                item.attempt.outcome = f"SUBACK {item.suback}; nothing forbidden arrived ({markers} markers sent)"
            attempts.append(item.attempt)
    finally:
        for probe in probes:
            probe.close()
    order = {name: i for i, name in enumerate(["(anonymous)", *sorted(cfg.users)])}
    return sorted(attempts, key=lambda a: order.get(a.user, len(order)))


def _publish_markers(cfg: CheckConfig, timeout: float) -> int:
    """Allowed users publish non-retained markers on the reserved ids; return how many arrived at the broker."""
    sent = 0
    # Markers on every channel a service sends (from the contract's table); node channels
    # cannot be marked without a node's own id, and are checked by the nodes' attempts.
    services = sorted({r.value for c in CHANNELS for r in c.senders if r is not Role.node})
    for role in services:
        roles, channels = (role,), [f"{c.scope}/{{}}/{c.name}" for c in CHANNELS if Role(role) in c.senders]
        user = _marker_publisher(cfg, roles)
        if user is None or user.username not in cfg.passwords:
            continue
        with _probe(cfg, user.username, cfg.passwords[user.username], timeout) as p:
            for site in cfg.sites:
                for ch in channels:
                    if p.publish(f"{ROOT}/{site}/{ch.format(FAKE)}", b'{"broker_check": true}').code == 0:
                        sent += 1
    return sent


def render_table(attempts: list[Attempt]):
    """A rich table: one row per forbidden attempt, refused in green, holes in red."""
    from rich.table import Table

    table = Table(title="What the broker refused")
    for col in ("user", "role", "tried", "on", "broker's answer"):
        table.add_column(col, overflow="fold")
    for a in attempts:
        style = "green" if a.refused else "bold red"
        table.add_row(a.user, a.role, a.action, a.target, f"[{style}]{a.outcome}[/{style}]")
    return table
