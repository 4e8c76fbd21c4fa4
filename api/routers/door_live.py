"""The live state ``GET /api/v1/doors`` carries for each door (staff).

The state comes from the door's events (:mod:`api.door_states`); the node's grant list
version from its retained status (:mod:`api.fleet`), next to the API's.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DoorEvent(BaseModel):
    kind: str
    ts: datetime
    reason: str | None = None


class DoorLivePublic(BaseModel):
    state: str = Field(description="closed, open, held (open too long), forced (opened while locked) or unknown")
    since: datetime | None = Field(description="Since when the door is in this state")
    lock_mode: str = Field(description="normal, lockdown (staff badges only) or release (unlocked until normal)")
    lock_mode_since: datetime | None
    fire: bool = Field(description="The node reports the fire alarm")
    fire_since: datetime | None
    node: str | None = Field(description="The door node that serves it")
    node_state: str = Field(description="online, offline, stale or unknown")
    node_grant_version: int | None = Field(description="The grant list version cached on the node")
    last_events: list[DoorEvent] = Field(description="Newest first (no names)")


def door_live(runtime, door) -> DoorLivePublic:
    live = runtime.door_states.get(door.id)
    node = next((n for _, n in runtime.inventory.nodes() if door.id in n.doors), None)
    status = runtime.fleet.status.get(node.id) if node else None
    since = live.alarm_since if live.state in ("forced", "held") else live.contact_since
    return DoorLivePublic(state=live.state, since=since, lock_mode=live.lock_mode,
                          lock_mode_since=live.lock_mode_since, fire=live.fire, fire_since=live.fire_since,
                          node=node.id if node else None,
                          node_state=runtime.fleet.state(node.id) if node else "unknown",
                          node_grant_version=status.grant_versions.get(door.id) if status else None,
                          last_events=[DoorEvent(**e) for e in live.last_events])
