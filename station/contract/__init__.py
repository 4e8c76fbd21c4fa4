"""The shared MQTT contract (v1): topics and payload models for edge, collector and API."""

from . import topics
from .models import (
    SCHEMA_VERSION,
    DoorAction,
    DoorCommand,
    EventKind,
    GrantEntry,
    GrantList,
    GrantRole,
    Message,
    NodeEvent,
    NodeState,
    NodeStatus,
    RoomAvailability,
    RoomOccupancy,
    RoomStatus,
    Telemetry,
    utcnow,
)
from .topics import CHANNELS, TopicError, decode, parse

__all__ = [
    "SCHEMA_VERSION", "CHANNELS", "DoorAction", "DoorCommand", "EventKind", "GrantEntry",
    "GrantList", "GrantRole", "Message", "NodeEvent", "NodeState", "NodeStatus",
    "RoomAvailability", "RoomOccupancy", "RoomStatus", "Telemetry", "TopicError",
    "decode", "parse", "topics", "utcnow",
]
