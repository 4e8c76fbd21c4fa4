"""Topics of the MQTT contract v1: one typed table, builders and a parser.

Every topic is ``station/v1/<site>/<scope>/<id>/<channel>``; the table below maps
each (scope, channel) to its payload model, QoS, retain flag, the roles that send it
and the roles that receive it, and the largest payload a receiver accepts. Edge
nodes, the collector and the API all build and parse topics here, and the broker's
ACL is generated from the same rows (``station.broker.acl``): a role may publish a
channel exactly when it is one of the row's ``senders`` and subscribe to it exactly
when it is one of its ``receivers``. A node's rights are narrowed to its own topics:
its own ``nodes/<node>/…``, the ``doors/<door>/…`` of the doors it serves and the
``machines/<machine>/…`` of the machines it powers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from pydantic import BaseModel

from station.ids import IDENT

from .models import (
    DoorCommand,
    GrantList,
    MachineGrantList,
    NodeEvent,
    NodeStatus,
    RoomAvailability,
    RoomOccupancy,
    Telemetry,
    utcnow,
)

ROOT = "station/v1"
_IDENT = IDENT


class Role(str, Enum):
    """Who talks on the bus; each broker account has one role."""

    node = "node"  # an edge node: only its own node topics and its own doors
    collector = "collector"
    api = "api"
    dashboard = "dashboard"  # boards and Grafana: read-only


#: How the table's roles read in documents.
ROLE_NAMES = {Role.node: "edge", Role.collector: "collector", Role.api: "API", Role.dashboard: "boards"}

KIB = 1024


@dataclass(frozen=True)
class Channel:
    """One row of the contract table."""

    scope: str  # "nodes", "doors", "rooms" or "machines"
    name: str  # "status", "telemetry", ...
    model: type[BaseModel]
    qos: int
    retained: bool
    senders: tuple[Role, ...]
    receivers: tuple[Role, ...]
    max_bytes: int  # a larger payload is refused before it is parsed
    content: str

    @property
    def key(self) -> str:
        return f"{self.scope}/{self.name}"

    @property
    def sender(self) -> str:
        return ", ".join(ROLE_NAMES[r] for r in self.senders)

    @property
    def receiver_names(self) -> str:
        return ", ".join(ROLE_NAMES[r] for r in self.receivers)

    def pattern(self, site: str = "<site>", ident: str = "<id>") -> str:
        placeholder = {"nodes": "<node>", "doors": "<door>", "rooms": "<room>", "machines": "<machine>"}[self.scope]
        return f"{ROOT}/{site}/{self.scope}/{placeholder if ident == '<id>' else ident}/{self.name}"


N, C, A, D = Role.node, Role.collector, Role.api, Role.dashboard

# Services read back what they publish (a restarted API or collector sees the retained
# state it left). The collector stores the API's availability: boards compare bookings
# with real use.
CHANNELS: tuple[Channel, ...] = (
    Channel("nodes", "status", NodeStatus, 1, True, (N,), (C, A), 16 * KIB,
            "online/offline (last will), software version, config hash, uptime, outbox depth, grant versions"),
    Channel("nodes", "telemetry", Telemetry, 1, False, (N,), (C,), 16 * KIB,
            "periodic readings: CO2 ppm, temperature, humidity, light; faulty sensors named"),
    Channel("nodes", "events", NodeEvent, 1, False, (N,), (C, A), 16 * KIB,
            "door, motion, access, exit, fire, tamper events; unique id and per-node sequence number"),
    Channel("doors", "grants", GrantList, 1, True, (A,), (N, A), 240 * KIB,
            "the door's full allow-list: credential hashes with validity windows, version, expiry, Ed25519 signature"),
    Channel("doors", "command", DoorCommand, 1, False, (A,), (N, A), 16 * KIB,
            "staff unlock once / lockdown / release / normal, signed, with expiry"),
    Channel("rooms", "occupancy", RoomOccupancy, 1, True, (C,), (A, D, C), 16 * KIB,
            "occupied, confidence, people estimate, CO2, since"),
    Channel("rooms", "availability", RoomAvailability, 1, True, (A,), (D, C, A), 16 * KIB,
            "free / occupied / reserved / unknown, free until, next booking"),
    Channel("machines", "grants", MachineGrantList, 1, True, (A,), (N, A), 240 * KIB,
            "a machine's allow-list (trained, booked), free-to-use windows, booked windows, out of order; "
            "same format and signature as doors'"),
)
del N, C, A, D

CHANNEL_BY_KEY: dict[str, Channel] = {c.key: c for c in CHANNELS}


class TopicError(ValueError):
    """A topic that is not part of the contract."""


class ParsedTopic(NamedTuple):
    site: str
    scope: str
    ident: str
    channel: Channel


def _check(kind: str, value: str) -> str:
    if not _IDENT.match(value):
        raise TopicError(f"invalid {kind} id {value!r}: use lowercase letters, digits and dashes")
    return value


def _build(scope: str, name: str, site: str, ident: str) -> str:
    return f"{ROOT}/{_check('site', site)}/{scope}/{_check(scope[:-1], ident)}/{name}"


def node_status(site: str, node: str) -> str:
    return _build("nodes", "status", site, node)


def node_telemetry(site: str, node: str) -> str:
    return _build("nodes", "telemetry", site, node)


def node_events(site: str, node: str) -> str:
    return _build("nodes", "events", site, node)


def door_grants(site: str, door: str) -> str:
    return _build("doors", "grants", site, door)


def door_command(site: str, door: str) -> str:
    return _build("doors", "command", site, door)


def machine_grants(site: str, machine: str) -> str:
    return _build("machines", "grants", site, machine)


def room_occupancy(site: str, room: str) -> str:
    return _build("rooms", "occupancy", site, room)


def room_availability(site: str, room: str) -> str:
    return _build("rooms", "availability", site, room)


def subscription(scope: str, name: str, site: str = "+") -> str:
    """A wildcard subscription for one channel, across sites by default."""
    if f"{scope}/{name}" not in CHANNEL_BY_KEY:
        raise TopicError(f"no channel {scope}/{name} in the contract")
    return f"{ROOT}/{site}/{scope}/+/{name}"


@functools.lru_cache(maxsize=8192)  # a building has a few hundred topics; errors are not kept
def parse(topic: str) -> ParsedTopic:
    """Split a contract topic into site, scope, id and channel; raise TopicError otherwise."""
    parts = topic.split("/")
    if len(parts) != 6 or "/".join(parts[:2]) != ROOT:
        raise TopicError(f"not a {ROOT} topic: {topic!r}")
    _, _, site, scope, ident, name = parts
    channel = CHANNEL_BY_KEY.get(f"{scope}/{name}")
    if channel is None:
        raise TopicError(f"unknown channel {scope}/{name} in {topic!r}")
    _check("site", site)
    _check(scope[:-1], ident)
    return ParsedTopic(site, scope, ident, channel)


def decode(topic: str, payload: bytes, *, now: datetime | None = None) -> tuple[ParsedTopic, BaseModel]:
    """Parse the topic and validate the payload against its model, times judged against
    ``now`` (the receiver's clock; the wall clock when not given).

    Raises TopicError or pydantic.ValidationError; callers log and count, never crash.
    Receivers that also check the sender use :func:`station.contract.receive.receive`.
    """
    parsed = parse(topic)
    return parsed, parsed.channel.model.model_validate_json(payload, context={"now": now or utcnow()})
