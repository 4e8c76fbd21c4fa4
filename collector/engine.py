"""The occupancy engine: per space, fuse motion, doors, badges, CO2 and light into a judgement.

Pure and clock-free: every call takes ``now`` (or the message's ``ts``), so the same
engine runs live, in the simulator at 60×, and over recorded data
(``station occupancy-eval``).

The rules ("wasp in a box", with CO2 for people who sit still):

- **Sealed room.** Motion seen *after* the door last moved means someone is inside, and
  stays inside until the door moves again — however still they sit. (A space whose
  motion is that old, ``sealed_max``, and whose CO2 says nobody, is let go: a door
  contact may have failed.)
- **Door grace.** A door that just moved makes the space occupied for ``door_grace``
  (someone came in, or someone left and others may remain); motion within the grace
  seals it again.
- **Emptied.** Lamps switched off around a passage with no motion since empty the space
  at once. Otherwise, after the grace with no motion, the space is vacant — unless the
  CO2 since the door says people stayed (:func:`collector.co2.who_stayed`: "nobody
  stayed" against "all but one stayed"), which a still crowd needs: it holds a PIR high,
  so no new motion edge comes. While a crowd (``crowd_people``) was there and the
  readings cannot tell yet, the judgement waits up to ``verdict_max``.
- **Air only** (spaces without motion or door signals, and offline evaluation): CO2
  people estimate and light switched on, with hysteresis — enter at ``co2_enter_people``,
  leave below ``co2_leave_people`` held for ``vacate_dwell``. Lamps (a step up of
  ``light_step_lux``) count while the light stays above half the step, and after
  ``lamps_alone`` only if the CO2 agrees; lamps switched off with a CO2 that is not
  rising mean the last one left.
- **Unknown.** A space whose nodes are all offline or silent for ``unknown_after``.

``people_estimate`` is the dynamic CO2 mass balance (:mod:`collector.co2`) over the last
``co2_window`` of readings, at least one while occupied, at least the number of distinct
badges granted at its doors in the last ``badge_window``, at most the capacity.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from station.contract import EventKind, NodeEvent, RoomOccupancy, Telemetry
from station.inventory import Inventory, Space

from .co2 import CO2_OUTDOOR_PPM, CO2_PER_PERSON_M3_H, Co2Fit, fit_co2, who_stayed  # noqa: F401 - re-exported

DOOR_KINDS = (EventKind.door_opened, EventKind.door_closed, EventKind.door_forced, EventKind.exit_request)


@dataclass
class EngineSettings:
    door_grace: timedelta = timedelta(minutes=2)
    passage_max: timedelta = timedelta(seconds=60)  # a door closing this soon ends one passage
    sealed_max: timedelta = timedelta(hours=3)
    motion_hold: timedelta = timedelta(minutes=15)  # spaces with motion but no door signal
    unknown_after: timedelta = timedelta(minutes=5)
    co2_window: timedelta = timedelta(minutes=8)
    co2_hold_people: float = 1.0  # lower bound (estimate − 2 standard errors)
    crowd_people: float = 3.0  # lower bound
    verdict_max: timedelta = timedelta(minutes=6)
    co2_enter_people: float = 0.5  # lower bound
    co2_leave_people: float = 0.5  # estimate
    vacate_dwell: timedelta = timedelta(minutes=5)
    light_step_lux: float = 150.0
    lamps_alone: timedelta = timedelta(minutes=15)  # lamps on, CO2 not yet telling: trust the lamps
    badge_window: timedelta = timedelta(minutes=30)


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
    co2: deque = field(default_factory=deque)  # (time, ppm) within the window
    fit: Co2Fit | None = None  # of ``co2``, recomputed when a reading arrives
    fit_stale: bool = True
    light_lux: float | None = None
    lights_on_at: datetime | None = None
    lamp_lux: float = 0.0  # what the lamps added when they came on (the step)
    lights_off_at: datetime | None = None
    last_motion: datetime | None = None
    last_door: datetime | None = None
    door_opened_at: datetime | None = None
    before_door: Co2Fit | None = None  # the CO2 line when the door last moved
    low_since: datetime | None = None  # air-only mode: CO2 below the leave threshold since
    badges: deque = field(default_factory=deque)  # (time, credential hash)
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
            elif event.kind is EventKind.door_closed and state.door_opened_at is not None \
                    and timedelta(0) <= event.ts - state.door_opened_at <= self.settings.passage_max:
                pass  # the end of a passage: the door moved when it opened
            elif event.kind in DOOR_KINDS:
                if state.last_door is None or event.ts > state.last_door:
                    state.last_door = event.ts
                    state.before_door = self.co2_fit(state)
                if event.kind is EventKind.door_opened:
                    state.door_opened_at = event.ts
            elif event.kind is EventKind.access_granted:
                if event.credential_hash:
                    state.badges.append((event.ts, event.credential_hash))

    def on_telemetry(self, telemetry: Telemetry) -> None:
        for state in self._touch(telemetry.node, telemetry.ts):
            self.add_reading(state, telemetry.ts, telemetry.co2_ppm, telemetry.light_lux)

    def add_reading(self, state: SpaceState, at: datetime, co2_ppm: float | None, light_lux: float | None) -> None:
        """One air reading of a space (live telemetry or a row of recorded data)."""
        if co2_ppm is not None and (state.co2_at is None or at >= state.co2_at):
            state.co2_ppm, state.co2_at = co2_ppm, at
            state.co2.append((at, co2_ppm))
            state.fit_stale = True
            while state.co2 and at - state.co2[0][0] > self.settings.co2_window:
                state.co2.popleft()
        if light_lux is not None:
            if state.light_lux is not None:
                step = light_lux - state.light_lux
                if step >= self.settings.light_step_lux:
                    state.lights_on_at, state.lamp_lux = at, step
                elif step <= -self.settings.light_step_lux:
                    state.lights_off_at = at
            state.light_lux = light_lux

    def on_status(self, node: str, online: bool, at: datetime) -> None:
        if online:
            self._touch(node, at)
        else:
            for space_id in self.node_spaces.get(node, ()):
                self.spaces[space_id].offline.add(node)

    # -- judgement ----------------------------------------------------------------------
    def co2_fit(self, state: SpaceState) -> Co2Fit | None:
        """People the CO2 readings of the window account for (see :mod:`collector.co2`)."""
        if state.fit_stale:
            state.fit = fit_co2(list(state.co2), state.space.volume_m3, state.space.ventilation_ach)
            state.fit_stale = False
        return state.fit

    def evaluate(self, now: datetime, spaces=None) -> list[RoomOccupancy]:
        """Re-judge every space (or those named); return the snapshots of those that changed."""
        changed = []
        states = self.spaces.values() if spaces is None else [self.spaces[s] for s in spaces]
        for state in states:
            before = (state.occupied, round(state.people_estimate or 0))
            self.judge(state, now)
            if (state.occupied, round(state.people_estimate or 0)) != before:
                changed.append(state.snapshot(now))
        return changed

    def judge(self, state: SpaceState, now: datetime, *, check_alive: bool = True) -> None:
        s = self.settings
        if check_alive:
            alive = [n for n, at in state.seen.items() if n not in state.offline and now - at <= s.unknown_after]
            if not alive:
                if state.occupied is not None:
                    state.occupied, state.since, state.confidence, state.people_estimate = None, now, 0.0, None
                return
        fit = self.co2_fit(state)
        est, sure = (fit.people, fit.lower) if fit else (None, None)
        if not state.nodes:  # no motion or door signal: recorded air readings
            occupied, confidence = self._air_only(state, now, fit)
        else:
            occupied, confidence = self._wasp(state, now, est, sure)
        self._estimate_people(state, now, occupied, est)
        if occupied != state.occupied:
            state.since = now
        state.occupied, state.confidence = occupied, confidence

    def _wasp(self, state: SpaceState, now: datetime, est: float | None, sure: float | None) -> tuple[bool, float]:
        s = self.settings
        motion, door = state.last_motion, state.last_door
        if motion is not None and (door is None or motion >= door):
            age = now - motion
            if door is None and age > s.motion_hold:  # no door signal: motion alone, with a hold
                return bool(sure is not None and sure >= s.co2_hold_people and state.occupied), 0.6
            if age > s.sealed_max and (est is None or est < s.co2_leave_people):
                return False, 0.6
            return True, 0.95 if age <= timedelta(minutes=10) else 0.85
        if door is not None and state.lights_off_at is not None and state.lights_off_at >= door - s.door_grace:
            return False, 0.85  # the last one out switched the lamps off
        if door is not None and now - door <= s.door_grace:
            return True, 0.6
        if state.occupied:
            # A still crowd keeps a PIR high, so no new motion edge: did the passage empty the
            # room, or did people stay? The CO2 since the door tells the two stories apart.
            before = state.before_door
            after = [r for r in state.co2 if r[0] > door]
            verdict = None if before is None else who_stayed(before, door, after, state.space.volume_m3,
                                                             state.space.ventilation_ach)
            if verdict:
                return True, 0.7
            if verdict is None and before is not None and before.lower >= s.crowd_people \
                    and now - door <= s.verdict_max:
                return True, 0.6  # a crowd was here: wait for readings that tell
            if verdict is None and now - door > s.verdict_max and sure is not None and sure >= s.co2_hold_people:
                return True, 0.6
        return False, 0.9 if est is None or est < s.co2_leave_people else 0.75

    def _air_only(self, state: SpaceState, now: datetime, fit: Co2Fit | None) -> tuple[bool, float]:
        s = self.settings
        est, sure = (fit.people, fit.lower) if fit else (None, None)
        # Lamps are on after a step up, until a step down or until the light falls below
        # half that step (daylight fading out of a step that was a cloud, not a switch).
        lights_on = state.lights_on_at is not None and (state.lights_off_at is None
                                                        or state.lights_off_at < state.lights_on_at) \
            and (state.light_lux or 0.0) >= state.lamp_lux / 2
        lights_off = state.lights_off_at is not None and (state.lights_on_at is None
                                                          or state.lights_off_at > state.lights_on_at)
        # Lamps alone are not people: once the CO2 has had time to tell, it must agree.
        if lights_on and (est is None or est >= s.co2_leave_people or now - state.lights_on_at <= s.lamps_alone):
            state.low_since = None
            return True, 0.8
        if est is None:
            return False, 0.3
        # Lamps switched off, and the CO2 not rising: the last one out. (The balance may
        # still read people in a falling CO2 when the real ventilation is slower than the
        # inventory says; people in the dark make it rise.)
        if lights_off and (sure < s.co2_enter_people or fit.slope <= 0):
            state.low_since = None
            return False, 0.75
        if not state.occupied:
            if sure >= s.co2_enter_people:
                state.low_since = None
                return True, 0.7
            return False, 0.8 if est < s.co2_leave_people else 0.6
        if est >= s.co2_leave_people:
            state.low_since = None
            return True, 0.8
        state.low_since = state.low_since or now
        if now - state.low_since >= s.vacate_dwell:
            return False, 0.75
        return True, 0.6

    def _estimate_people(self, state: SpaceState, now: datetime, occupied: bool, est: float | None) -> None:
        s = self.settings
        while state.badges and now - state.badges[0][0] > s.badge_window:
            state.badges.popleft()
        if not occupied:
            state.people_estimate = 0.0 if est is not None else None
            return
        badged = len({h for at, h in state.badges if state.since is None or at >= state.since - s.door_grace})
        if est is None:
            state.people_estimate = float(badged) if badged else None
            return
        state.people_estimate = min(float(state.space.capacity), max(1.0, est, float(badged)))

    def snapshot(self, now: datetime) -> list[RoomOccupancy]:
        return [state.snapshot(now) for state in self.spaces.values()]
