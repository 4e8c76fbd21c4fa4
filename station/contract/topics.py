"""Topics of the MQTT contract v1: one typed table, builders and a parser.

Every topic is ``station/v1/<site>/<scope>/<id>/<channel>``; the table below maps
each (scope, channel) to its payload model, QoS, retain flag, sender and receivers.
Edge nodes, the collector and the API all build and parse topics here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import BaseModel

from .models import (
    DoorCommand,
    GrantList,
    NodeEvent,
    NodeStatus,
    RoomAvailability,
    RoomOccupancy,
    Telemetry,
)

ROOT = "station/v1"
_IDENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Channel:
    """One row of the contract table."""

    scope: str  # "nodes", "doors" or "rooms"
    name: str  # "status", "telemetry", ...
    model: type[BaseModel]
    qos: int
    retained: bool
    sender: str
    receivers: str
    content: str

    @property
    def key(self) -> str:
        return f"{self.scope}/{self.name}"

    def pattern(self, site: str = "<site>", ident: str = "<id>") -> str:
        placeholder = {"nodes": "<node>", "doors": "<door>", "rooms": "<room>"}[self.scope]
        return f"{ROOT}/{site}/{self.scope}/{placeholder if ident == '<id>' else ident}/{self.name}"


CHANNELS: tuple[Channel, ...] = (
    Channel("nodes", "status", NodeStatus, 1, True, "edge", "all",
            "online/offline (last will), software version, config hash, uptime, outbox depth, grant versions"),
    Channel("nodes", "telemetry", Telemetry, 1, False, "edge", "collector",
            "periodic readings: CO2 ppm, temperature, humidity, light; faulty sensors named"),
    Channel("nodes", "events", NodeEvent, 1, False, "edge", "collector, API",
            "door, motion, access, exit, fire, tamper events; unique id and per-node sequence number"),
    Channel("doors", "grants", GrantList, 1, True, "API", "edge",
            "the door's full allow-list: credential hashes with validity windows, version, expiry, Ed25519 signature"),
    Channel("doors", "command", DoorCommand, 1, False, "API", "edge",
            "staff unlock once / lockdown / release / normal, signed, with expiry"),
    Channel("rooms", "occupancy", RoomOccupancy, 1, True, "collector", "API, boards",
            "occupied, confidence, people estimate, CO2, since"),
    Channel("rooms", "availability", RoomAvailability, 1, True, "API", "boards",
            "free / occupied / reserved / unknown, free until, next booking"),
)

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


def room_occupancy(site: str, room: str) -> str:
    return _build("rooms", "occupancy", site, room)


def room_availability(site: str, room: str) -> str:
    return _build("rooms", "availability", site, room)


def subscription(scope: str, name: str, site: str = "+") -> str:
    """A wildcard subscription for one channel, across sites by default."""
    if f"{scope}/{name}" not in CHANNEL_BY_KEY:
        raise TopicError(f"no channel {scope}/{name} in the contract")
    return f"{ROOT}/{site}/{scope}/+/{name}"


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


def decode(topic: str, payload: bytes) -> tuple[ParsedTopic, BaseModel]:
    """Parse the topic and validate the payload against its model.

    Raises TopicError or pydantic.ValidationError; callers log and count, never crash.
    """
    parsed = parse(topic)
    return parsed, parsed.channel.model.model_validate_json(payload)
