"""Payload models of the MQTT contract v1.

Every message carries ``v`` (the schema version, 1) and ``ts`` (an aware UTC time).
Every model is strict about keys (``extra="forbid"``): a typo or a field from a newer
schema is a validation error, which the receiver logs and counts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

SCHEMA_VERSION = 1

#: Identifiers of sites, spaces, doors and nodes: lowercase, digits and dashes.
#: They end up in topics and broker usernames, so ``+``, ``#`` and ``/`` are impossible.
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]

#: A credential hash: HMAC-SHA256 of the card number with the site key, hex encoded.
CredentialHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Message(BaseModel):
    """Base of every payload: schema version and UTC timestamp, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = SCHEMA_VERSION
    ts: UtcDatetime = Field(default_factory=utcnow, description="When the sender produced it (UTC).")

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


# --------------------------------------------------------------------------- nodes


class NodeState(str, Enum):
    online = "online"
    offline = "offline"


class NodeStatus(Message):
    """``nodes/<node>/status`` — retained; the last will carries ``offline``."""

    node: Ident
    state: NodeState
    version: str | None = None
    config_hash: str | None = None
    uptime_s: float | None = Field(default=None, ge=0)
    outbox_depth: int | None = Field(default=None, ge=0)
    grant_versions: dict[Ident, int] = Field(
        default_factory=dict, description="Grant list version cached for each door of the node."
    )


class Telemetry(Message):
    """``nodes/<node>/telemetry`` — periodic readings of a room node.

    A reading is ``null`` when the node has no such sensor or the sensor is faulty;
    ``faults`` names the faulty sensors so that a dead sensor never reads as zero.
    """

    node: Ident
    space: Ident
    co2_ppm: float | None = Field(default=None, ge=0, le=40000)
    temperature_c: float | None = Field(default=None, ge=-40, le=85)
    humidity_pct: float | None = Field(default=None, ge=0, le=100)
    light_lux: float | None = Field(default=None, ge=0, le=200000)
    faults: list[str] = Field(default_factory=list)


class EventKind(str, Enum):
    door_opened = "door_opened"
    door_closed = "door_closed"
    door_forced = "door_forced"
    door_held_open = "door_held_open"
    motion = "motion"
    motion_cleared = "motion_cleared"
    access_granted = "access_granted"
    access_denied = "access_denied"
    exit_request = "exit_request"
    tamper = "tamper"
    fire_release = "fire_release"
    fire_cleared = "fire_cleared"
    reader_lockout = "reader_lockout"
    reader_error = "reader_error"
    sensor_fault = "sensor_fault"
    outbox_alarm = "outbox_alarm"
    grants_rejected = "grants_rejected"
    command_applied = "command_applied"
    command_rejected = "command_rejected"


class NodeEvent(Message):
    """``nodes/<node>/events`` — one thing that happened, exactly identified.

    ``id`` is unique; ``seq`` grows by one per node so that receivers can detect gaps
    and order replays. Receivers deduplicate by ``id``.
    """

    id: Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    seq: int = Field(ge=0)
    node: Ident
    kind: EventKind
    space: Ident | None = None
    door: Ident | None = None
    credential_hash: CredentialHash | None = None
    reason: str | None = Field(default=None, max_length=200)


# --------------------------------------------------------------------------- doors


class GrantRole(str, Enum):
    member = "member"
    staff = "staff"
    trained = "trained"


class GrantEntry(BaseModel):
    """One credential allowed through a door between ``not_before`` and ``not_after``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credential_hash: CredentialHash
    role: GrantRole = GrantRole.member
    not_before: UtcDatetime | None = None
    not_after: UtcDatetime | None = None


class GrantList(Message):
    """``doors/<door>/grants`` — retained; the door's whole allow-list, signed.

    The signature is Ed25519 over the canonical JSON of every other field
    (see :func:`station.contract.signing.canonical_bytes`).
    """

    site: Ident
    door: Ident
    version: int = Field(ge=1)
    expires_at: UtcDatetime
    entries: list[GrantEntry] = Field(default_factory=list)
    key_id: str = Field(min_length=1, max_length=64)
    signature: str = Field(default="", max_length=200, description="Base64 Ed25519 signature.")


class DoorAction(str, Enum):
    unlock_once = "unlock_once"
    lockdown = "lockdown"
    release = "release"
    normal = "normal"


class DoorCommand(Message):
    """``doors/<door>/command`` — a staff command, signed like grant lists, expiring."""

    id: Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    door: Ident
    action: DoorAction
    expires_at: UtcDatetime
    issued_by: str = Field(min_length=1, max_length=100)
    key_id: str = Field(min_length=1, max_length=64)
    signature: str = Field(default="", max_length=200)


# --------------------------------------------------------------------------- rooms


class RoomOccupancy(Message):
    """``rooms/<room>/occupancy`` — retained; the collector's judgement of a space.

    ``occupied`` is ``null`` when the collector cannot tell (its nodes are offline).
    """

    room: Ident
    occupied: bool | None
    confidence: float = Field(ge=0, le=1)
    people_estimate: float | None = Field(default=None, ge=0)
    co2_ppm: float | None = Field(default=None, ge=0)
    since: UtcDatetime | None = None


class RoomStatus(str, Enum):
    free = "free"
    occupied = "occupied"
    reserved = "reserved"
    unknown = "unknown"


class RoomAvailability(Message):
    """``rooms/<room>/availability`` — retained; what the board shows."""

    room: Ident
    status: RoomStatus
    free_until: UtcDatetime | None = None
    next_booking_start: UtcDatetime | None = None
    next_booking_end: UtcDatetime | None = None
