"""The shared MQTT contract (v1): topics and payload models for edge, collector and API.

Receivers decode with ``station.contract.receive.receive(inventory, topic, payload, now)``
(the module, not re-exported here: it keeps its name).
"""

from . import topics
from .models import (
    EARLIEST,
    INT64_MAX,
    MAX_AHEAD,
    MAX_SCHEDULE_AHEAD,
    SCHEMA_VERSION,
    TIME_OUT_OF_RANGE,
    DoorAction,
    DoorCommand,
    EventKind,
    GrantEntry,
    GrantList,
    GrantRole,
    MachineGrantList,
    Message,
    NodeEvent,
    NodeState,
    NodeStatus,
    RoomAvailability,
    RoomOccupancy,
    RoomStatus,
    Telemetry,
    Window,
    utcnow,
)
from .receive import REASONS, Rejected
from .topics import CHANNELS, Role, TopicError, decode, parse

__all__ = [
    "EARLIEST", "INT64_MAX", "MAX_AHEAD", "MAX_SCHEDULE_AHEAD", "REASONS", "Rejected", "Role", "TIME_OUT_OF_RANGE",
    "SCHEMA_VERSION", "CHANNELS", "DoorAction", "DoorCommand", "EventKind", "GrantEntry",
    "GrantList", "GrantRole", "MachineGrantList", "Message", "NodeEvent", "NodeState", "NodeStatus",
    "RoomAvailability", "RoomOccupancy", "RoomStatus", "Telemetry", "TopicError",
    "Window", "decode", "parse", "topics", "utcnow",
]
