"""Who may do what on the broker: one user per node and per service, deny by default.

Rules are generated from the inventory, never written by hand. Every rule names a
contract channel (``station.contract.topics``), so a topic outside the contract is
refused to everyone. Roles:

- **node** (username = client id = node id): writes its own ``nodes/<node>/status``,
  ``telemetry`` and ``events`` on its site; reads the ``grants`` and ``command`` of the
  doors it serves, nothing else.
- **collector**: reads every node's status, telemetry and events; writes (and reads
  back) room occupancy.
- **api**: writes door grants and commands and room availability (and reads them
  back); reads node status and events and room occupancy.
- **dashboard**: reads room occupancy and availability; writes nothing.
- **bridge** (one per mini-station / bus broker): writes that site's node topics and
  reads that site's door and room topics, on the central broker only.

    users = central_users(inventory)
    text = render_acl(users)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from station.contract.topics import CHANNEL_BY_KEY, ROOT
from station.inventory import Inventory, Node, Site, SiteKind

NODE_CHANNELS = ("status", "telemetry", "events")
DOOR_CHANNELS = ("grants", "command")
ROOM_CHANNELS = ("occupancy", "availability")
SERVICE_ROLES = ("collector", "api", "dashboard")


@dataclass(frozen=True)
class Rule:
    access: str  # "read", "write" or "readwrite"
    topic: str

    def __post_init__(self) -> None:
        if self.access not in ("read", "write", "readwrite"):
            raise ValueError(f"unknown access {self.access!r}")

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
    """MQTT filter matching (``+`` one level, ``#`` the rest)."""
    p, t = pattern.split("/"), topic.split("/")
    for i, part in enumerate(p):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(p) == len(t)


def _topic(site: str, scope: str, ident: str, channel: str) -> str:
    assert f"{scope}/{channel}" in CHANNEL_BY_KEY, f"{scope}/{channel} is not in the contract"
    return f"{ROOT}/{site}/{scope}/{ident}/{channel}"


def node_user(site: Site, node: Node) -> BrokerUser:
    rules = [Rule("write", _topic(site.id, "nodes", node.id, ch)) for ch in NODE_CHANNELS]
    rules += [Rule("read", _topic(site.id, "doors", door, ch)) for door in node.doors for ch in DOOR_CHANNELS]
    return BrokerUser(node.id, "node", site.id, tuple(rules), tuple(node.doors))


def service_user(role: str, username: str | None = None) -> BrokerUser:
    every = "+"
    if role == "collector":
        rules = [Rule("read", _topic(every, "nodes", "+", ch)) for ch in NODE_CHANNELS]
        rules += [Rule("readwrite", _topic(every, "rooms", "+", "occupancy"))]
    elif role == "api":
        rules = [Rule("readwrite", _topic(every, "doors", "+", ch)) for ch in DOOR_CHANNELS]
        rules += [Rule("readwrite", _topic(every, "rooms", "+", "availability")),
                  Rule("read", _topic(every, "rooms", "+", "occupancy")),
                  Rule("read", _topic(every, "nodes", "+", "status")),
                  Rule("read", _topic(every, "nodes", "+", "events"))]
    elif role == "dashboard":
        rules = [Rule("read", _topic(every, "rooms", "+", ch)) for ch in ROOM_CHANNELS]
    else:
        raise ValueError(f"unknown service role {role!r}")
    return BrokerUser(username or role, role, None, tuple(rules))


def bridge_username(site_id: str) -> str:
    return f"bridge-{site_id}"


def bridge_user(site: Site) -> BrokerUser:
    """The central broker's account for a site broker's bridge."""
    rules = [Rule("write", _topic(site.id, "nodes", "+", ch)) for ch in NODE_CHANNELS]
    rules += [Rule("read", _topic(site.id, "doors", "+", ch)) for ch in DOOR_CHANNELS]
    rules += [Rule("read", _topic(site.id, "rooms", "+", ch)) for ch in ROOM_CHANNELS]
    return BrokerUser(bridge_username(site.id), "bridge", site.id, tuple(rules))


def bridged_sites(inventory: Inventory) -> list[Site]:
    """Sites that run their own broker bridged to the central one: mini-stations and the bus."""
    return [s for s in inventory.sites if s.kind in (SiteKind.mini, SiteKind.mobile)]


def central_users(inventory: Inventory, collectors: int = 1) -> list[BrokerUser]:
    """Accounts on the central broker: main-site nodes, services, and one bridge per site broker.

    ``collectors`` > 1 adds ``collector-2`` … for collectors sharing the load (MQTT v5
    shared subscriptions): the client id is the username, so each instance needs its own.
    """
    bridged = {s.id for s in bridged_sites(inventory)}
    users = [node_user(site, node) for site, node in inventory.nodes() if site.id not in bridged]
    users += [service_user(role) for role in SERVICE_ROLES]
    users += [service_user("collector", f"collector-{i}") for i in range(2, collectors + 1)]
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
