"""Who may do what on the broker: one user per node and per service, deny by default.

Every rule is generated from the contract's channel table
(:data:`station.contract.topics.CHANNELS`): an account of a role may write a channel
when the role is one of its ``senders`` and read it when it is one of its
``receivers`` — the table the code subscribes and publishes with, so the two cannot
drift (``tests/broker/test_channels.py`` proves it against a real Mosquitto). A topic
outside the contract is refused to everyone. Scopes:

- **node** (username = client id = node id): only its own ``nodes/<node>/…`` on its
  site, the ``doors/<door>/…`` of the doors it serves and the ``machines/<machine>/…``
  of the machines it powers.
- **collector**, **api**, **dashboard**: every site and id of the channels of their role.
- **bridge** (one per mini-station / bus broker, on the central broker only): that
  site's topics of every channel its nodes send (written up) and of every channel a
  role living at the site — its nodes, its boards — receives (read down).

    users = central_users(inventory)
    text = render_acl(users)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from paho.mqtt.client import topic_matches_sub

from station.contract.topics import CHANNEL_BY_KEY, CHANNELS, ROOT, Channel, Role
from station.inventory import Inventory, Node, Site, SiteKind

SERVICE_ROLES = (Role.collector.value, Role.api.value, Role.dashboard.value)
#: Roles that live at a site, behind its bridge: what they receive is carried down to it.
SITE_ROLES = (Role.node, Role.dashboard)


def access_of(senders: bool, receivers: bool) -> str | None:
    """The ACL access for a role that sends and/or receives a channel."""
    return "readwrite" if senders and receivers else "write" if senders else "read" if receivers else None


def role_access(role: Role, channel: Channel) -> str | None:
    return access_of(role in channel.senders, role in channel.receivers)


def bridge_channels() -> tuple[list[Channel], list[Channel]]:
    """(channels a site's bridge carries up, channels it carries down)."""
    up = [c for c in CHANNELS if Role.node in c.senders]
    down = [c for c in CHANNELS if any(r in c.receivers for r in SITE_ROLES)]
    return up, down


@dataclass(frozen=True)
class Rule:
    access: str  # "read", "write" or "readwrite"
    topic: str

    def __post_init__(self) -> None:
        if self.access not in ("read", "write", "readwrite"):
            raise ValueError(f"unknown access {self.access!r}")
        if self.topic.startswith("$"):  # $share/…, $SYS/…: never granted (see station/partition.py)
            raise ValueError(f"{self.topic!r}: no rule may name a $ topic")

    def allows(self, access: str, topic: str) -> bool:
        return (self.access == "readwrite" or self.access == access) and topic_matches(self.topic, topic)


@dataclass(frozen=True)
class BrokerUser:
    """A broker account: its username (also its client id), role, site and rules."""

    username: str
    role: str
    site: str | None = None
    rules: tuple[Rule, ...] = field(default=())
    doors: tuple[str, ...] = ()

    def may(self, access: str, topic: str) -> bool:
        return any(r.allows(access, topic) for r in self.rules)


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest), as paho (and the broker) match."""
    return topic_matches_sub(pattern, topic)


def _topic(site: str, scope: str, ident: str, channel: str) -> str:
    assert f"{scope}/{channel}" in CHANNEL_BY_KEY, f"{scope}/{channel} is not in the contract"
    return f"{ROOT}/{site}/{scope}/{ident}/{channel}"


def node_user(site: Site, node: Node) -> BrokerUser:
    """A node's account: its own node topics, its own doors' and machines' topics, on its own site."""
    own = {"nodes": [node.id], "doors": list(node.doors), "rooms": [], "machines": list(node.machines)}
    rules = [Rule(access, _topic(site.id, scope, ident, ch.name))
             for scope in own for ident in own[scope]
             for ch in CHANNELS if ch.scope == scope and (access := role_access(Role.node, ch))]
    return BrokerUser(node.id, Role.node.value, site.id, tuple(rules), tuple(node.doors))


def service_user(role: str, username: str | None = None) -> BrokerUser:
    """A service's account: its role's channels, every site and id."""
    if role not in SERVICE_ROLES:
        raise ValueError(f"unknown service role {role!r}")
    rules = [Rule(access, _topic("+", ch.scope, "+", ch.name))
             for ch in CHANNELS if (access := role_access(Role(role), ch))]
    return BrokerUser(username or role, role, None, tuple(rules))


def bridge_username(site_id: str) -> str:
    return f"bridge-{site_id}"


def bridge_local_client_id(site_id: str) -> str:
    """The client id of a site's bridge on its own site broker."""
    return f"local-{bridge_username(site_id)}"


#: Names the broker setup gives its own accounts and clients, at any instance count:
#: ``collector``, ``api-3``, ``dashboard``, ``bridge-<site>``, ``local-bridge-<site>``.
RESERVED_NAME = re.compile(rf"^(?:(?:{'|'.join(SERVICE_ROLES)})(?:-\d+)?|(?:local-)?bridge-.+)$")


def name_clashes(inventory: Inventory) -> list[str]:
    """Nodes named like an account or client of the broker setup itself.

    A username is also its client id and keys the credentials, env files and ACL
    blocks, so such a node would share that account (its password, merged rights,
    one session) or kick the bridge off its site broker."""
    return [f"node {node.id!r} (site {site.id}) has a name the broker keeps for its own accounts "
            "(collector, api, dashboard and their -N instances, bridge-<site>, local-bridge-<site>): "
            "rename the node in the inventory"
            for site, node in inventory.nodes() if RESERVED_NAME.match(node.id)]


def bridge_user(site: Site) -> BrokerUser:
    """The central broker's account for a site broker's bridge."""
    up, down = bridge_channels()
    rules = [Rule(access, _topic(site.id, ch.scope, "+", ch.name))
             for ch in CHANNELS if (access := access_of(ch in up, ch in down))]
    return BrokerUser(bridge_username(site.id), "bridge", site.id, tuple(rules))


def bridged_sites(inventory: Inventory) -> list[Site]:
    """Sites that run their own broker bridged to the central one: mini-stations and the bus."""
    return [s for s in inventory.sites if s.kind in (SiteKind.mini, SiteKind.mobile)]


def instance_names(role: str, count: int) -> list[str]:
    """Account names of ``count`` instances of a service: ``[role]`` for one (the
    single-instance deployment keeps its account), ``role-1`` … ``role-N`` for more."""
    if count < 1:
        raise ValueError(f"{role}: at least one instance")
    return [role] if count == 1 else [f"{role}-{i}" for i in range(1, count + 1)]


def central_users(inventory: Inventory, collectors: int = 1, apis: int = 1) -> list[BrokerUser]:
    """Accounts on the central broker: main-site nodes, services, and one bridge per site broker.

    ``collectors`` / ``apis`` > 1 give one account per instance (``collector-1`` …,
    ``api-1`` …): the broker forces client id = username, so two processes on one account
    take over each other's session, and each instance needs its own persistent session.
    """
    bridged = {s.id for s in bridged_sites(inventory)}
    users = [node_user(site, node) for site, node in inventory.nodes() if site.id not in bridged]
    counts = {Role.collector.value: collectors, Role.api.value: apis, Role.dashboard.value: 1}
    users += [service_user(role, name) for role in SERVICE_ROLES for name in instance_names(role, counts[role])]
    users += [bridge_user(site) for site in bridged_sites(inventory)]
    return users


def site_users(site: Site) -> list[BrokerUser]:
    """Accounts on a site broker: the site's own nodes."""
    return [node_user(site, node) for node in site.nodes]


def render_acl(users: list[BrokerUser], header: str = "") -> str:
    """Mosquitto ``acl_file`` text: one ``user`` block per account, no patterns (deny by default)."""
    lines = ["# La Station broker ACL — generated by `station broker gen`; do not edit by hand.",
             "# Deny by default: a user may only do what its block lists. No `pattern` lines,",
             "# so no rule ever depends on a client-chosen id."]
    if header:
        lines.append(f"# {header}")
    for user in users:
        where = f", site {user.site}" if user.site else ""
        lines += ["", f"# {user.role}{where}", f"user {user.username}"]
        lines += [f"topic {r.access} {r.topic}" for r in user.rules]
    return "\n".join(lines) + "\n"
