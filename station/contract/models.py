"""Payload models of the MQTT contract v1.

Every message carries ``v`` (the schema version, 1) and ``ts`` (an aware UTC time).
Every model is strict about keys (``extra="forbid"``): a typo or a field from a newer
schema is a validation error, which the receiver logs and counts. Numbers are finite
(``1e309``, ``Infinity``, ``NaN`` are refused).

**Time bounds.** Every time in a received payload must lie in a sane range, judged by
the *receiver's* clock, which it passes as validation context (the demo and the
simulator run an accelerated clock, so the wall clock is only the fallback)::

    NodeEvent.model_validate_json(payload, context={"now": clock.now()})

- :data:`Timestamp` — when something happened (every ``ts``, ``since``):
  ``2000-01-01T00:00Z`` ≤ t ≤ receiver's now + :data:`MAX_AHEAD` (1 day of clock skew);
- :data:`ScheduleTime` — what lies ahead (``expires_at``, ``not_before``, ``not_after``,
  ``free_until``, ``next_booking_*``): ``2000-01-01T00:00Z`` ≤ t ≤ now + :data:`MAX_SCHEDULE_AHEAD`
  (ten years).

**Integers** — sequence numbers, versions, counts — are at most :data:`INT64_MAX`: a JSON
integer has no size, and one beyond 64 bits is refused here rather than by the stores
(InfluxDB: ``value out of range``; SQLite keeps it and reads it back as infinity).

Outside, validation fails with the error type ``time_out_of_range`` (:data:`TIME_OUT_OF_RANGE`),
its context carrying ``skew_s`` (time minus the receiver's now). The bounds keep every
time far inside what the stores can hold (nanoseconds since 1970 in 64 bits: 1677–2262).
A message *built in code* (``NodeEvent(...)``) is its sender's, stamped with the
sender's own clock: only a receiver judges it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from station.ids import Ident  # identifiers: one rule (station/ids.py)

SCHEMA_VERSION = 1


#: Ids of events and commands: random, URL-safe (8–64 of A–Z a–z 0–9 _ -).
MessageId = Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

#: A credential hash: HMAC-SHA256 of the card number with the site key, hex encoded.
CredentialHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_AHEAD = timedelta(days=1)
MAX_SCHEDULE_AHEAD = timedelta(days=3652)
TIME_OUT_OF_RANGE = "time_out_of_range"
#: The largest integer a payload may carry: what the stores hold (64-bit signed integers).
INT64_MAX = 2**63 - 1
#: A count, a sequence number, a version as a node reports it: 0 … :data:`INT64_MAX`.
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
#: The longest ``duration_s`` an event may carry (a machine session): a week.
MAX_DURATION_S = 7 * 86400


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _within(ahead: timedelta):
    def check(value: datetime, info: ValidationInfo) -> datetime:
        context = info.context
        if context is None:  # built in code by its sender: only a receiver judges its times
            return value.astimezone(timezone.utc)
        now = context.get("now") or utcnow()
        latest = now + ahead
        # Compared before converting: 9999-12-31T23:00-05:00 cannot even be written in UTC.
        if not EARLIEST <= value <= latest:
            raise PydanticCustomError(
                TIME_OUT_OF_RANGE, "time {time} is outside {earliest} … {latest} (the receiver's clock + {ahead})",
                {"time": value.isoformat(), "earliest": EARLIEST.isoformat(), "latest": latest.isoformat(),
                 "ahead": _days(ahead), "skew_s": (value - now).total_seconds()})
        return value.astimezone(timezone.utc)
    return check


def _days(span: timedelta) -> str:
    return "1 day" if span == timedelta(days=1) else f"{span.days} days"


#: When something happened (``ts``, ``since``): 2000-01-01 … the receiver's now + 1 day.
Timestamp = Annotated[AwareDatetime, AfterValidator(_within(MAX_AHEAD))]
#: What lies ahead (expiries, validity windows, bookings): 2000-01-01 … now + 10 years.
ScheduleTime = Annotated[AwareDatetime, AfterValidator(_within(MAX_SCHEDULE_AHEAD))]
UtcDatetime = Timestamp  # the name earlier code used


def _receiving(context: dict | None) -> dict:
    """Validation context of a receiver: its own ``now``, the wall clock when it gave none."""
    if context is None:
        return {"now": utcnow()}
    return context if "now" in context else {**context, "now": utcnow()}


class Payload(BaseModel):
    """Strict keys, frozen. Parsed (``model_validate*``), its times are judged against the
    receiver's clock (``context={"now": …}``, else the wall clock); built in code, they
    are the sender's own."""

    # No NaN or infinity, whatever the bounds: JSON has no such numbers, and an infinite
    # CO2 or people count that passes ``ge=0`` breaks every receiver that rounds it.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @classmethod
    def model_validate(cls, obj: Any, *, context: dict | None = None, **kwargs: Any):
        return super().model_validate(obj, context=_receiving(context), **kwargs)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *, context: dict | None = None, **kwargs: Any):
        return super().model_validate_json(json_data, context=_receiving(context), **kwargs)

    @classmethod
    def model_validate_strings(cls, obj: Any, *, context: dict | None = None, **kwargs: Any):
        return super().model_validate_strings(obj, context=_receiving(context), **kwargs)


class Message(Payload):
    """Base of every payload: schema version and UTC timestamp, no unknown keys."""

    v: Literal[1] = SCHEMA_VERSION
    ts: Timestamp = Field(default_factory=utcnow, description=(
        "When the sender produced it (UTC); a receiver refuses it before 2000-01-01 or more than "
        "1 day ahead of its own clock."))

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
    outbox_depth: Count | None = None
    grant_versions: dict[Ident, Count] = Field(
        default_factory=dict, description="Grant list version cached for each door (and machine) of the node."
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
    access_granted = "access_granted"
    access_denied = "access_denied"
    exit_request = "exit_request"
    tamper = "tamper"
    fire_release = "fire_release"
    fire_cleared = "fire_cleared"
    reader_lockout = "reader_lockout"
    reader_error = "reader_error"
    sensor_fault = "sensor_fault"
    sensor_recovered = "sensor_recovered"  # a sensor that was not answering answers again
    outbox_alarm = "outbox_alarm"
    grants_rejected = "grants_rejected"
    command_applied = "command_applied"
    command_rejected = "command_rejected"
    machine_on = "machine_on"
    machine_off = "machine_off"
    machine_denied = "machine_denied"
    machine_fault = "machine_fault"


class NodeEvent(Message):
    """``nodes/<node>/events`` — one thing that happened, exactly identified.

    ``id`` is unique; ``seq`` grows by one per node so that receivers can detect gaps
    and order replays. Receivers deduplicate by ``id``.
    """

    id: MessageId
    seq: Count
    node: Ident
    kind: EventKind
    space: Ident | None = None
    door: Ident | None = None
    credential_hash: CredentialHash | None = None
    reason: str | None = Field(default=None, max_length=200)
    command: MessageId | None = Field(default=None, description="command_applied / command_rejected: the command's id.")
    machine: Ident | None = Field(default=None, description="machine_*: the machine.")
    duration_s: float | None = Field(default=None, ge=0, le=MAX_DURATION_S,
                                     description="machine_off: how long the power was on, in the node's clock.")


# --------------------------------------------------------------------------- doors


class GrantRole(str, Enum):
    member = "member"
    staff = "staff"
    trained = "trained"


class GrantEntry(Payload):
    """One credential allowed through a door between ``not_before`` and ``not_after``."""

    credential_hash: CredentialHash
    role: GrantRole = GrantRole.member
    not_before: ScheduleTime | None = None
    not_after: ScheduleTime | None = None


class GrantList(Message):
    """``doors/<door>/grants`` — retained; the door's whole allow-list, signed.

    The signature is Ed25519 over the canonical JSON of every other field
    (see :func:`station.access.canonical_bytes`).
    """

    site: Ident
    door: Ident
    version: int = Field(ge=1, le=INT64_MAX)
    expires_at: ScheduleTime
    entries: list[GrantEntry] = Field(default_factory=list)
    key_id: str = Field(min_length=1, max_length=64)
    signature: str = Field(default="", max_length=200, description="Base64 Ed25519 signature.")

    @property
    def resource(self) -> str:
        return self.door


class Window(Payload):
    """A span of time ``[start, end)``."""

    start: ScheduleTime
    end: ScheduleTime

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


class MachineGrantList(Message):
    """``machines/<machine>/grants`` — retained; a machine's allow-list, signed like a door's.

    The same entries as a door's (:class:`GrantEntry`), read by the machine rule
    (:class:`station.access.GrantIndex`): ``trained`` entries span the training's
    validity, ``member`` entries a booking of this machine. ``free_windows`` are the
    opening hours in which a trained member may use it without a booking
    (``free_to_use`` machines), ``booked_windows`` every booking's span (no names), and
    ``out_of_order`` refuses everyone until staff clear it.
    """

    site: Ident
    machine: Ident
    version: int = Field(ge=1, le=INT64_MAX)
    expires_at: ScheduleTime
    entries: list[GrantEntry] = Field(default_factory=list)
    free_to_use: bool = True
    free_windows: list[Window] = Field(default_factory=list, max_length=1000)
    booked_windows: list[Window] = Field(default_factory=list, max_length=5000)
    out_of_order: bool = False
    out_of_order_reason: str | None = Field(default=None, max_length=200)
    key_id: str = Field(min_length=1, max_length=64)
    signature: str = Field(default="", max_length=200, description="Base64 Ed25519 signature.")

    @property
    def resource(self) -> str:
        return self.machine


class DoorAction(str, Enum):
    unlock_once = "unlock_once"
    lockdown = "lockdown"
    release = "release"
    normal = "normal"


class DoorCommand(Message):
    """``doors/<door>/command`` — a staff command, signed like grant lists, sequenced, expiring.

    ``seq`` grows per door (:func:`station.access.next_version`); a node applies only a
    command newer than the last one it applied, remembered across restarts, so a
    captured command cannot be replayed (see :mod:`station.access.commands`).
    """

    id: MessageId
    seq: int = Field(ge=1, le=INT64_MAX)
    door: Ident
    action: DoorAction
    expires_at: ScheduleTime
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
    since: Timestamp | None = None
    people_low: float | None = Field(default=None, ge=0, description="10th percentile of the people count.")
    people_high: float | None = Field(default=None, ge=0, description="90th percentile of the people count.")
    reason: str | None = Field(default=None, max_length=200,
                               description='Why, in words: "motion 2 min ago; CO2 rising 40 ppm/10 min".')


class RoomStatus(str, Enum):
    free = "free"
    occupied = "occupied"
    reserved = "reserved"
    unknown = "unknown"


class RoomAvailability(Message):
    """``rooms/<room>/availability`` — retained; what the board shows."""

    room: Ident
    status: RoomStatus
    free_until: ScheduleTime | None = None
    next_booking_start: ScheduleTime | None = None
    next_booking_end: ScheduleTime | None = None
