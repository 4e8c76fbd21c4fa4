"""Receiving a message: decode it and check its sender against the inventory, in one call.

Every component that takes messages off the bus (the collector, the API) calls this,
so that all of them refuse the same things for the same reasons::

    from station.contract.receive import Rejected, receive

    try:
        parsed, message = receive(inventory, msg.topic, msg.payload, now=clock.now())
    except Rejected as exc:
        log.warning("rejected %s: %s: %s", msg.topic, exc.reason, exc.detail)  # count, dead-letter, ack

``now`` is the receiver's clock (an accelerated one in the demo); times in the payload
must lie within the contract's bounds around it (:mod:`station.contract.models`).

Reason codes (``Rejected.reason``; :data:`REASONS` describes each):

=================== ==========================================================================
``bad_topic``       not a topic of the contract (root, channel, identifiers)
``too_large``       payload larger than the channel's ``max_bytes``; not parsed at all
``bad_json``        not JSON, or not a JSON object
``invalid_payload`` JSON that does not fit the channel's model (missing or unknown key, type, range)
``time_out_of_range`` a time before 2000-01-01 or beyond the receiver's now + 1 day (10 years for
                    expiries and bookings); ``Rejected.skew_s`` says by how much for ``ts``
``unknown_node``    ``nodes/<node>/…`` names a node the inventory does not have
``node_mismatch``   the payload's ``node`` is not the topic's node
``site_mismatch``   the node, room or door exists, on another site than the topic's
``door_not_served`` the payload names a door the sending node does not serve
``space_not_observed`` the payload names a space the sending node does not observe
``unknown_room``    ``rooms/<room>/…`` names a space the inventory does not have
``room_mismatch``   the payload's ``room`` is not the topic's room
``unknown_door``    ``doors/<door>/…`` names a door the inventory does not have
``door_mismatch``   the payload's ``door`` (or ``site``) is not the topic's
``machine_not_served`` the payload names a machine the sending node does not power
``unknown_machine`` ``machines/<machine>/…`` names a machine the inventory does not have
``machine_mismatch`` the payload's ``machine`` (or ``site``) is not the topic's
=================== ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ValidationError

from station.inventory import Inventory

from .models import TIME_OUT_OF_RANGE, GrantList, NodeEvent, NodeStatus, Telemetry, utcnow
from .topics import ParsedTopic, TopicError, parse

REASONS: dict[str, str] = {
    "bad_topic": "not a topic of the contract",
    "too_large": "payload larger than the channel allows; not parsed",
    "bad_json": "not JSON, or not a JSON object",
    "invalid_payload": "does not fit the channel's model",
    "time_out_of_range": "a time outside 2000-01-01 … the receiver's now + 1 day (10 years for expiries, bookings)",
    "unknown_node": "the topic's node is not in the inventory",
    "node_mismatch": "the payload's node is not the topic's node",
    "site_mismatch": "node, room or door of another site than the topic's",
    "door_not_served": "names a door the sending node does not serve",
    "space_not_observed": "names a space the sending node does not observe",
    "unknown_room": "the topic's room is not in the inventory",
    "room_mismatch": "the payload's room is not the topic's room",
    "unknown_door": "the topic's door is not in the inventory",
    "door_mismatch": "the payload's door or site is not the topic's",
    "machine_not_served": "names a machine the sending node does not power",
    "unknown_machine": "the topic's machine is not in the inventory",
    "machine_mismatch": "the payload's machine or site is not the topic's",
}


class Rejected(ValueError):
    """A message refused on receipt: ``reason`` is one of :data:`REASONS`, ``detail`` says what.

    ``parsed`` is the topic when it parsed; ``skew_s`` is how far the message's ``ts``
    lies ahead of (positive) or behind (negative) the receiver's clock, when known.
    """

    def __init__(self, reason: str, detail: str, *, parsed: ParsedTopic | None = None,
                 skew_s: float | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.parsed, self.skew_s = reason, detail, parsed, skew_s


@dataclass
class _Index:
    """The inventory as lookups: built once per inventory, then every check is a dict hit."""

    node_site: dict[str, str] = field(default_factory=dict)
    node_doors: dict[str, frozenset[str]] = field(default_factory=dict)
    node_spaces: dict[str, frozenset[str]] = field(default_factory=dict)
    space_site: dict[str, str] = field(default_factory=dict)
    door_site: dict[str, str] = field(default_factory=dict)
    node_machines: dict[str, frozenset[str]] = field(default_factory=dict)
    machine_site: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, inventory: Inventory) -> "_Index":
        index = cls()
        for site, node in inventory.nodes():
            index.node_site[node.id] = site.id
            index.node_doors[node.id] = frozenset(node.doors)
            index.node_machines[node.id] = frozenset(node.machines)
            index.node_spaces[node.id] = frozenset(inventory.node_spaces(node.id))
        index.space_site = {space.id: site.id for site, space in inventory.spaces()}
        index.door_site = {door.id: site.id for site, door in inventory.doors()}
        index.machine_site = {machine.id: site.id for site, machine in inventory.machines()}
        return index


_indexes: dict[int, tuple[Inventory, _Index]] = {}


def _index(inventory: Inventory) -> _Index:
    entry = _indexes.get(id(inventory))
    if entry is None or entry[0] is not inventory:
        if len(_indexes) > 8:  # tests build many inventories; a process uses one
            _indexes.clear()
        entry = _indexes[id(inventory)] = (inventory, _Index.of(inventory))
    return entry[1]


def receive(inventory: Inventory, topic: str, payload: bytes, now: datetime | None = None
            ) -> tuple[ParsedTopic, BaseModel]:
    """Parse ``topic``, validate ``payload`` (times against ``now``, the wall clock when
    None) and check its sender against ``inventory``; raise :class:`Rejected` otherwise."""
    try:
        parsed = parse(topic)
    except TopicError as exc:
        raise Rejected("bad_topic", str(exc)) from None
    channel = parsed.channel
    if len(payload) > channel.max_bytes:
        raise Rejected("too_large", f"{len(payload)} bytes; {channel.key} takes at most {channel.max_bytes}",
                       parsed=parsed)
    now = now or utcnow()
    try:
        # The model's own validator (what model_validate_json calls), with the receiver's clock.
        message = channel.model.__pydantic_validator__.validate_json(payload, context={"now": now})
    except ValidationError as exc:
        raise _from_validation(exc, parsed) from None
    except Exception as exc:  # noqa: BLE001 - whatever the payload, the receiver goes on
        raise Rejected("invalid_payload", f"{type(exc).__name__}: {exc}"[:300], parsed=parsed) from None
    problem = _sender_problem(_index(inventory), parsed, message)
    if problem is not None:
        raise Rejected(*problem, parsed=parsed, skew_s=(message.ts - now).total_seconds())
    return parsed, message


def _from_validation(exc: ValidationError, parsed: ParsedTopic) -> Rejected:
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(map(str, first["loc"]))
    detail = f"{where}: {first['msg']}" if where else first["msg"]
    if first["type"] in ("json_invalid", "json_type", "model_type"):
        return Rejected("bad_json", detail[:300], parsed=parsed)
    if all(e["type"] == TIME_OUT_OF_RANGE for e in errors):
        ts_error = next((e for e in errors if e["loc"] == ("ts",)), None)
        skew = ts_error["ctx"]["skew_s"] if ts_error else None
        return Rejected("time_out_of_range", detail[:300], parsed=parsed, skew_s=skew)
    return Rejected("invalid_payload", detail[:300], parsed=parsed)


def _sender_problem(index: _Index, parsed: ParsedTopic, message) -> tuple[str, str] | None:
    """(reason, detail) when the payload does not fit its topic and the inventory, else None."""
    site, ident, scope = parsed.site, parsed.ident, parsed.scope
    if scope == "nodes":
        if message.node != ident:
            return "node_mismatch", f"payload node {message.node!r} on the topic of {ident!r}"
        node_site = index.node_site.get(ident)
        if node_site is None:
            return "unknown_node", ident
        if node_site != site:
            return "site_mismatch", f"node {ident!r} belongs to site {node_site!r}, not {site!r}"
        if isinstance(message, NodeEvent):
            if message.door is not None and message.door not in index.node_doors[ident]:
                return "door_not_served", f"node {ident!r} does not serve door {message.door!r}"
            if message.machine is not None and message.machine not in index.node_machines[ident]:
                return "machine_not_served", f"node {ident!r} does not power machine {message.machine!r}"
            if message.space is not None and message.space not in index.node_spaces[ident]:
                return "space_not_observed", f"node {ident!r} does not observe space {message.space!r}"
        elif isinstance(message, Telemetry):
            if message.space not in index.node_spaces[ident]:
                return "space_not_observed", f"node {ident!r} does not observe space {message.space!r}"
        elif isinstance(message, NodeStatus) and message.grant_versions:
            foreign = sorted(set(message.grant_versions) - index.node_doors[ident] - index.node_machines[ident])
            if foreign:
                return "door_not_served", (f"node {ident!r} reports grant versions of doors it does not serve: "
                                           f"{', '.join(foreign)[:200]}")
        return None
    if scope == "rooms":
        if message.room != ident:
            return "room_mismatch", f"payload room {message.room!r} on the topic of {ident!r}"
        room_site = index.space_site.get(ident)
        if room_site is None:
            return "unknown_room", ident
        if room_site != site:
            return "site_mismatch", f"room {ident!r} belongs to site {room_site!r}, not {site!r}"
        return None
    if scope == "machines":
        if message.machine != ident or message.site != site:
            return "machine_mismatch", f"payload {message.site}/{message.machine} on the topic of {site}/{ident}"
        machine_site = index.machine_site.get(ident)
        if machine_site is None:
            return "unknown_machine", ident
        if machine_site != site:
            return "site_mismatch", f"machine {ident!r} belongs to site {machine_site!r}, not {site!r}"
        return None
    if message.door != ident:
        return "door_mismatch", f"payload door {message.door!r} on the topic of {ident!r}"
    if isinstance(message, GrantList) and message.site != site:
        return "door_mismatch", f"payload site {message.site!r} on a topic of site {site!r}"
    door_site = index.door_site.get(ident)
    if door_site is None:
        return "unknown_door", ident
    if door_site != site:
        return "site_mismatch", f"door {ident!r} belongs to site {door_site!r}, not {site!r}"
    return None
