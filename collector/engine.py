"""The occupancy engine: per space, fuse motion, doors and CO2 into a judgement.

Pure and clock-free: every call takes ``now``, so the same engine runs live, in the
simulator at 60× and over recorded data.

Rules (hysteresis so it does not flicker):
- motion makes a space occupied at once;
- it stays occupied while motion is recent (``motion_hold``) or the CO2 balance says
  people are there; it becomes vacant only when both have gone quiet;
- a door opening with no motion afterwards is weak evidence (someone may have left);
- a space whose nodes have all gone quiet or offline for ``unknown_after`` is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from station.contract import EventKind, NodeEvent, RoomOccupancy, Telemetry
from station.inventory import Inventory, Space

CO2_OUTDOOR_PPM = 420.0
CO2_PER_PERSON_M3_H = 0.018


@dataclass
class EngineSettings:
    motion_hold: timedelta = timedelta(minutes=10)
    door_hold: timedelta = timedelta(minutes=2)
    unknown_after: timedelta = timedelta(minutes=5)
    co2_people_threshold: float = 0.7


@dataclass
class SpaceState:
    space: Space
    nodes: set[str]
    occupied: bool | None = None
    since: datetime | None = None
    confidence: float = 0.0
    people_estimate: float | None = None
    co2_ppm: float | None = None
    co2_at: datetime | None = None
    last_motion: datetime | None = None
    last_door: datetime | None = None
    seen: dict[str, datetime] = field(default_factory=dict)
    offline: set[str] = field(default_factory=set)

    def snapshot(self, now: datetime) -> RoomOccupancy:
        return RoomOccupancy(room=self.space.id, occupied=self.occupied, confidence=round(self.confidence, 3),
                             people_estimate=None if self.people_estimate is None else round(self.people_estimate, 1),
                             co2_ppm=self.co2_ppm, since=self.since, ts=now)


class OccupancyEngine:
    """Occupancy of every space of an inventory."""

    def __init__(self, inventory: Inventory, settings: EngineSettings | None = None):
        self.settings = settings or EngineSettings()
        self.spaces: dict[str, SpaceState] = {}
        self.node_spaces: dict[str, set[str]] = {}
        for site, space in inventory.spaces():
            self.spaces[space.id] = SpaceState(space, set())
        for site, node in inventory.nodes():
            spaces = inventory.node_spaces(node.id)
            self.node_spaces[node.id] = spaces
            for space_id in spaces:
                self.spaces[space_id].nodes.add(node.id)

    # -- inputs -------------------------------------------------------------------------
    def _touch(self, node: str, at: datetime) -> list[SpaceState]:
        states = [self.spaces[s] for s in self.node_spaces.get(node, ())]
        for state in states:
            state.seen[node] = max(at, state.seen.get(node, at))
            state.offline.discard(node)
        return states

    def on_event(self, event: NodeEvent) -> None:
        states = self._touch(event.node, event.ts)
        if event.space:
            states = [s for s in states if s.space.id == event.space] or states
        for state in states:
            if event.kind is EventKind.motion:
                state.last_motion = max(event.ts, state.last_motion or event.ts)
            elif event.kind in (EventKind.door_opened, EventKind.door_closed, EventKind.access_granted):
                state.last_door = max(event.ts, state.last_door or event.ts)

    def on_telemetry(self, telemetry: Telemetry) -> None:
        for state in self._touch(telemetry.node, telemetry.ts):
            if telemetry.co2_ppm is not None and (state.co2_at is None or telemetry.ts >= state.co2_at):
                state.co2_ppm, state.co2_at = telemetry.co2_ppm, telemetry.ts

    def on_status(self, node: str, online: bool, at: datetime) -> None:
        if online:
            self._touch(node, at)
        else:
            for space_id in self.node_spaces.get(node, ()):
                self.spaces[space_id].offline.add(node)

    # -- judgement ----------------------------------------------------------------------
    def co2_people(self, state: SpaceState) -> float | None:
        """People that would hold today's CO2 level at steady state (mass balance)."""
        if state.co2_ppm is None:
            return None
        excess = max(0.0, state.co2_ppm - CO2_OUTDOOR_PPM)
        space = state.space
        return excess * space.ventilation_ach * space.volume_m3 / (CO2_PER_PERSON_M3_H * 1e6)

    def evaluate(self, now: datetime) -> list[RoomOccupancy]:
        """Re-judge every space; return the snapshots of those whose judgement changed."""
        changed = []
        for state in self.spaces.values():
            before = (state.occupied, round(state.people_estimate or 0))
            self._judge(state, now)
            if (state.occupied, round(state.people_estimate or 0)) != before:
                changed.append(state.snapshot(now))
        return changed

    def _judge(self, state: SpaceState, now: datetime) -> None:
        s = self.settings
        alive = [n for n, at in state.seen.items() if n not in state.offline and now - at <= s.unknown_after]
        if not alive:
            if state.occupied is not None:
                state.occupied, state.since, state.confidence = None, now, 0.0
            return
        recent_motion = state.last_motion is not None and now - state.last_motion <= s.motion_hold
        recent_door = state.last_door is not None and now - state.last_door <= s.door_hold
        co2_people = self.co2_people(state)
        co2_says = co2_people is not None and co2_people >= s.co2_people_threshold
        state.people_estimate = co2_people
        if recent_motion:
            occupied, confidence = True, 0.95 if co2_says or co2_people is None else 0.8
        elif recent_door:
            occupied, confidence = True, 0.6
        elif co2_says and state.occupied:
            occupied, confidence = True, 0.6  # sitting still: CO2 holds the judgement
        else:
            occupied = False
            confidence = 0.9 if co2_people is not None and co2_people < 0.3 else 0.7
        if occupied and state.people_estimate is not None:
            state.people_estimate = max(1.0, state.people_estimate)
        if not occupied:
            state.people_estimate = 0.0 if co2_people is not None else None
        if occupied != state.occupied:
            state.since = now
        state.occupied, state.confidence = occupied, confidence

    def snapshot(self, now: datetime) -> list[RoomOccupancy]:
        return [state.snapshot(now) for state in self.spaces.values()]
