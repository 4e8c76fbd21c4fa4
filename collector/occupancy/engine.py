"""The occupancy engine: per space, a Bayesian filter over "nobody / n people" fed by every signal.

Pure and clock-free: every call takes ``now`` (or the message's ``ts``), so the same
engine runs live, in the simulator at 60×, and over recorded data
(``station occupancy-eval``).

Per space the engine keeps a :class:`~collector.occupancy.belief.Belief` (the hidden
Markov model) and what it has learned of the room
(:mod:`collector.occupancy.learn`). Messages only queue evidence (cheap: the collector
calls ``on_event`` for every message); the filter steps when a judgement is asked and
evidence is waiting, or once a minute otherwise, walking the evidence in time order:

- **doors** split the step: motion before a passage is the leaver's, after it the
  stayer's; the passage itself is a jump where arrivals and departures are likely.
  Between passages a watched door keeps the count nearly fixed; a door held open, or a
  space whose doors are not watched, changes at ordinary rates.
- **motion** and its absence (active people move, still people rarely);
- **CO2**, in five-minute blocks: the rise between two block means against the mass
  balance with the learned baseline and ventilation (a block that spans a door passage
  or a lamp switch mixes two rooms and is left out);
- **lamps** switching: a jump of the chain (on: people came in; off: the last ones left,
  more surely when the room goes dark), weighted by how rarely lamps switch with nobody
  coming or going; while lamps are on, leaving without switching them off is rare;
- **badges** granted at the space's doors: at least that many came in.

The judgement is P(occupied) with a little hysteresis; the confidence reported is the
probability of the judgement given (with a little doubt the filter cannot know of,
:attr:`EngineSettings.doubt_occupied`), ``people_estimate`` the posterior mean of the
count (with a 10–90 % interval), and ``reason`` names the evidence in the building's words.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from station.contract import EventKind, NodeEvent, NodeState, NodeStatus, RoomOccupancy, Telemetry
from station.inventory import Inventory, NodeProfile

from .belief import Belief, Rates, moves
from .learn import AirModel, LampModel, MotionModel
from .space import EngineSettings, SpaceState

log = logging.getLogger(__name__)

DOOR_KINDS = (EventKind.door_opened, EventKind.door_closed, EventKind.door_forced, EventKind.exit_request,
              EventKind.door_held_open)
READING, EVENT, STATUS = 0, 1, 2  # what a heard() tuple carries


def heard(message: Telemetry | NodeEvent | NodeStatus) -> tuple:
    """What the engine takes of a message, as a small tuple (cheap to queue, and to send to
    an engine in another process): (READING, node, ts, co2, light), (EVENT, node, ts, kind,
    space, credential hash) or (STATUS, node, ts, online)."""
    if isinstance(message, Telemetry):
        return READING, message.node, message.ts, message.co2_ppm, message.light_lux
    if isinstance(message, NodeEvent):
        return EVENT, message.node, message.ts, message.kind, message.space, message.credential_hash
    return STATUS, message.node, message.ts, message.state is NodeState.online


class OccupancyEngine:
    """Occupancy of every space of an inventory."""

    def __init__(self, inventory: Inventory, settings: EngineSettings | None = None):
        self.settings = settings or EngineSettings()
        self._rates_by: dict = {}  # the transition rates of each door and lamp situation
        self.spaces: dict[str, SpaceState] = {}
        self.node_spaces: dict[str, set[str]] = {}
        for site, space in inventory.spaces():
            state = SpaceState(space, set(), Belief(space.capacity))
            state.air.ach = state.air.ach_prior = space.ventilation_ach
            self.spaces[space.id] = state
        for site, node in inventory.nodes():
            spaces = inventory.node_spaces(node.id)
            self.node_spaces[node.id] = spaces
            for space_id in spaces:
                state = self.spaces[space_id]
                state.nodes.add(node.id)
                if node.profile is NodeProfile.door_node:
                    state.watched_door = True
                if node.profile is NodeProfile.room_node:
                    state.motion.seen = True  # room nodes carry a PIR

    # -- inputs -------------------------------------------------------------------------
    def _touch(self, node: str, at: datetime) -> list[SpaceState]:
        states = [self.spaces[s] for s in self.node_spaces.get(node, ())]
        for state in states:
            previous = state.seen.get(node)
            if previous is None or at > previous:
                state.seen[node] = at
            state.offline.discard(node)
        return states

    def on_event(self, event: NodeEvent) -> None:
        self.event(event.node, event.ts, event.kind, event.space, event.credential_hash)

    def on_telemetry(self, telemetry: Telemetry) -> None:
        self.reading(telemetry.node, telemetry.ts, telemetry.co2_ppm, telemetry.light_lux)

    def event(self, node: str, at: datetime, kind: EventKind, space: str | None = None,
              credential_hash: str | None = None) -> None:
        """A node's event (motion, a door, a badge granted) at ``at``."""
        states = self._touch(node, at)
        if space:
            states = [s for s in states if s.space.id == space] or states
        for state in states:
            if kind is EventKind.motion:
                self.add_motion(state, at)
            elif kind in DOOR_KINDS:
                self.add_door(state, at, opened=kind is not EventKind.door_closed,
                              closed=kind is EventKind.door_closed)
            elif kind is EventKind.access_granted and credential_hash:
                state.badges.append((at, credential_hash))
                state.pending_badge = True

    def reading(self, node: str, at: datetime, co2_ppm: float | None, light_lux: float | None) -> None:
        """A room node's air reading at ``at``."""
        for state in self._touch(node, at):
            self.add_reading(state, at, co2_ppm, light_lux)

    def on_status(self, node: str, online: bool, at: datetime) -> None:
        if online:
            self._touch(node, at)
        else:
            for space_id in self.node_spaces.get(node, ()):
                self.spaces[space_id].offline.add(node)

    def feed(self, items: list[tuple]) -> None:
        """Messages heard, as :func:`heard` tuples, in the order heard (one that cannot be
        taken is logged: it cannot stop the ones behind it)."""
        for item in items:
            try:
                what = item[0]
                if what == READING:
                    self.reading(item[1], item[2], item[3], item[4])
                elif what == EVENT:
                    self.event(item[1], item[2], item[3], item[4], item[5])
                else:
                    self.on_status(item[1], item[3], item[2])
            except Exception:  # noqa: BLE001 - a bug on one message must not cost the engine the rest
                log.exception("occupancy engine: cannot take %r", item[:3])

    def close(self) -> None:
        """Nothing to release in this process (:class:`~collector.occupancy.worker.EngineProcess` has)."""

    def add_motion(self, state: SpaceState, at: datetime) -> None:
        state.motion.seen = True
        state.pending_motion.append(at)
        if state.last_motion is None or at > state.last_motion:
            state.last_motion = at

    def add_door(self, state: SpaceState, at: datetime, *, opened: bool = True, closed: bool = False) -> None:
        """A door of the space moved: opened (or forced, exit request), or ``closed``."""
        state.watched_door = True
        if closed:
            if state.door_open_at is not None and at - state.door_open_at <= self.settings.passage_max:
                state.door_open_at = None
                return  # the end of a passage counted when the door opened
            state.door_open_at = None
        elif opened and state.door_open_at is None:
            state.door_open_at = at
        state.pending_doors.append(at)
        if state.last_door is None or at > state.last_door:
            state.last_door = at

    def add_reading(self, state: SpaceState, at: datetime, co2_ppm: float | None, light_lux: float | None) -> None:
        """One air reading of a space (live telemetry or a row of recorded data).

        The evidence waits for the next step (a lamp switch, a closed CO2 block); the
        filter steps here only when a second piece would overwrite a waiting one. A
        reading no newer than the last one (redelivered, replayed late) says nothing new:
        the lamp learner would take a redelivered reading as the next one confirming its
        own step.
        """
        if light_lux is not None and (state.light_at is None or at > state.light_at):
            state.light_lux, state.light_at = light_lux, at
            switched = state.lamps.add(at, light_lux)
            if switched:
                if state.pending_lamp is not None:
                    self.step(state, at)
                state.pending_lamp = switched
        if co2_ppm is not None and (state.co2_at is None or at > state.co2_at):
            state.co2_ppm, state.co2_at = co2_ppm, at
            state.air.add(at, co2_ppm)
            if self._block(state, at, co2_ppm):
                # what the room does when empty, learned once per block (not per reading)
                state.air.learn(at, state.belief.p_vacant)

    def _block(self, state: SpaceState, at: datetime, ppm: float) -> bool:
        """Add a reading to the CO2 block; True when it closed the block before it."""
        block = state.block
        closed = False
        if block and (at - block[0][0] >= self.settings.co2_block or at - block[-1][0] > self.settings.co2_block):
            closed = True
            n = len(block)
            t0 = block[0][0]
            mean_t = t0 + sum(((t - t0) for t, _ in block), timedelta()) / n
            mean = sorted(p for _, p in block)[n // 2] if n >= 5 else sum(p for _, p in block) / n
            previous = state.last_block
            if previous is not None and mean_t - previous[0] <= 3 * self.settings.co2_block:
                hours = (mean_t - previous[0]).total_seconds() / 3600.0
                var = state.air.noise ** 2 * (1.0 / n + 1.0 / previous[2])
                excess = previous[1] - (state.air.c0 if state.air.c0 is not None else previous[1])
                if state.pending_co2 is not None:
                    self.step(state, at)
                state.pending_co2 = (mean - previous[1], hours, max(0.0, excess), var, previous[0])
            state.last_block = (mean_t, mean, n)
            block.clear()
        block.append((at, ppm))
        return closed

    # -- the filter ---------------------------------------------------------------------
    def _rates(self, state: SpaceState, at: datetime) -> Rates:
        s = self.settings
        shut = state.watched_door and (state.door_open_at is None or at - state.door_open_at <= s.passage_max)
        key = (shut, state.watched_door, bool(state.lamps.on))
        rates = self._rates_by.get(key)
        if rates is None:
            scale = s.door_shut if shut else 1.0
            settle = s.settle_watched if state.watched_door else s.settle_unwatched
            last_out = s.lamps_left_on if state.lamps.on else 1.0
            rates = self._rates_by[key] = Rates(s.arrive * scale, s.leave * scale, s.change * scale, settle,
                                                s.wake, last_out)
        return rates

    def step(self, state: SpaceState, now: datetime) -> None:
        """Move the belief to ``now`` with all the evidence waiting."""
        s = self.settings
        belief = state.belief
        start = state.last_step or now
        if now < start:
            now = start
        # Walk the evidence in time order: a motion ends a stretch that had motion, a door
        # passage is a jump; the stretch up to ``now`` had none.
        if state.pending_motion or state.pending_doors:
            motions = []
            for at in sorted(state.pending_motion):  # a PIR re-triggering within seconds is one motion
                if not motions or (at - motions[-1]).total_seconds() > s.motion_merge_s:
                    motions.append(at)
            doors = []
            for at in sorted(state.pending_doors):  # one passage, however many times the contact bounced
                if not doors or (at - doors[-1]).total_seconds() > s.motion_merge_s:
                    doors.append(at)
            marks = sorted([(at, "motion") for at in motions] + [(at, "door") for at in doors])
            state.pending_motion, state.pending_doors = [], []
            marks.append((now, "end"))
        else:
            marks = [(now, "end")]
        cursor = start
        motion = state.motion
        for mark_at, kind in marks:
            end = min(max(mark_at, cursor), now)
            minutes = (end - cursor).total_seconds() / 60.0
            rates = self._rates(state, cursor)
            moved = kind == "motion"
            observed = motion.seen and (minutes > 0 or moved)
            # a long stretch in pieces of two minutes: people settle and stir within it
            pieces = max(1, min(30, math.ceil(minutes / 2))) if motion.seen else 1
            piece = moves(minutes / pieces, rates) if minutes > 0 else None
            for k in range(pieces):
                if piece is not None:
                    belief.jump(*piece)
                if observed:
                    belief.observe_motion(minutes / pieces, moved and k == pieces - 1, motion.rate, s.still_motion,
                                          s.false_motion)
            if observed:
                motion.observe(minutes, moved, belief.p_occupied)
            if kind == "door":
                belief.jump(s.passage_arrive, s.passage_leave, s.passage_change, 0.0, 1.0,
                            s.lamps_left_on if state.lamps.on else 1.0)
            cursor = end
        if state.pending_badge:
            state.pending_badge = False
            while state.badges and now - state.badges[0][0] > s.badge_window:
                state.badges.popleft()
            belief.observe_factors(0.05, 1.0)
            belief.observe_at_least(len({h for _, h in state.badges}))
        if state.pending_lamp is not None:
            # A switch is evidence about what just happened (people came in, or the last
            # ones left), so it acts as a jump of the chain, weighted by how rarely lamps
            # switch with nobody coming or going.
            if state.pending_lamp == "on":
                belief.jump(s.lamp_switch_move, 0.0, 0.0, 0.0, 1.0)
                belief.observe_factors(1.0 / s.lamp_on_odds, 1.0)
            else:
                belief.jump(0.0, s.lamp_switch_move, s.passage_change, 0.0, 1.0)
                belief.observe_factors(1.0, 1.0 / (s.lamp_off_odds * (5.0 if state.lamps.dark else 1.0)))
            state.pending_lamp = None
        elif state.lamps.dark and now > start:
            # Somebody in the dark would switch the lamps on soon: the longer it stays
            # dark, the less likely anybody is there.
            belief.observe_factors(1.0, math.exp(-s.dark_stay * (now - start).total_seconds() / 60.0))
        if state.pending_co2 is not None:
            rise, hours, excess, var, since = state.pending_co2
            state.pending_co2 = None
            # People came or went within the interval (a door, a lamp): its mass balance mixes
            # two rooms, one full and one empty, and says little about the room now.
            mixed = (state.last_door is not None and state.last_door > since) or \
                (state.lamps.switched_at is not None and state.lamps.switched_at > since)
            if not mixed:
                ach, ach_error = state.air.ventilation_at(now)
                belief.observe_co2(rise, hours, excess, state.per_person, ach, var, ach_error)
        state.last_step = now
        state.steps += 1

    # -- judgement ----------------------------------------------------------------------
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
                    state.occupied, state.since, state.confidence = None, now, 0.0
                    state.people_estimate = state.people_low = state.people_high = None
                return
        waiting = state.pending_motion or state.pending_doors or state.pending_badge \
            or state.pending_co2 is not None or state.pending_lamp is not None
        last = state.last_step
        if last is None or (waiting and now - last >= s.min_step) or now - last >= s.idle_step \
                or (waiting and state.occupied is not True):
            self.step(state, now)
        if state.steps == state.judged_step and state.occupied is not None:
            return  # nothing new: the judgement and the estimate stand
        state.judged_step = state.steps
        p = state.belief.p_occupied
        if state.occupied is True:
            occupied = p >= s.leave_at
        else:
            occupied = p >= s.enter_at
        if occupied != state.occupied:
            state.since = now
            state.group_learned = False
        elif occupied and not state.group_learned and state.since is not None and now - state.since >= s.group_after:
            state.belief.learn_group()  # the visit has settled: how many came
            state.group_learned = True
        state.occupied = occupied
        # The filter does not know when its own model is wrong (a sensor moved, a party in
        # the dark): a little doubt, measured on the public training data, keeps "0.99"
        # from meaning 0.94.
        state.p_occupied = p * (1.0 - s.doubt_occupied) + (1.0 - p) * s.doubt_vacant
        state.confidence = state.p_occupied if occupied else 1.0 - state.p_occupied
        self._estimate_people(state, now)

    def _estimate_people(self, state: SpaceState, now: datetime) -> None:
        if not state.occupied:
            state.people_estimate = state.people_low = state.people_high = 0.0
            return
        mean, low, high = state.belief.count_given_occupied()
        while state.badges and now - state.badges[0][0] > self.settings.badge_window:
            state.badges.popleft()
        since = state.since - timedelta(minutes=2) if state.since else None
        badged = len({h for at, h in state.badges if since is None or at >= since})
        cap = float(state.space.capacity)
        state.people_estimate = min(cap, max(1.0, mean, float(badged)))
        state.people_low = min(cap, max(1.0, low, float(badged)))
        state.people_high = min(cap, max(state.people_low, high))

    def snapshot(self, now: datetime) -> list[RoomOccupancy]:
        return [state.snapshot(now) for state in self.spaces.values()]

    def snapshots(self, now: datetime, spaces) -> list[RoomOccupancy]:
        """Re-judge the spaces named and return the snapshot of each, changed or not."""
        self.evaluate(now, spaces)
        return [self.spaces[s].snapshot(now) for s in spaces]

    # -- what was learned ---------------------------------------------------------------
    def state_dict(self) -> dict:
        """What the engine learned of each space, JSON-ready (the collector keeps it on disk)."""
        return {"version": 1, "spaces": {sid: {"air": st.air.to_dict(), "lamps": st.lamps.to_dict(),
                                               "motion": st.motion.to_dict(),
                                               "groups": [round(e, 6) for e in st.belief.enter]}
                                         for sid, st in self.spaces.items()}}

    def load_state(self, data: dict) -> int:
        """Restore what :meth:`state_dict` saved; spaces no longer in the inventory are ignored."""
        if not isinstance(data, dict) or data.get("version") != 1:
            return 0
        loaded = 0
        for sid, saved in (data.get("spaces") or {}).items():
            state = self.spaces.get(sid)
            if state is None or not isinstance(saved, dict):
                continue
            seen = state.motion.seen
            state.air = AirModel.from_dict(saved.get("air") or {})
            state.lamps = LampModel.from_dict(saved.get("lamps") or {})
            state.motion = MotionModel.from_dict(saved.get("motion") or {})
            state.motion.seen = state.motion.seen or seen
            groups = saved.get("groups")
            if isinstance(groups, list) and len(groups) == len(state.belief.enter) \
                    and all(isinstance(g, (int, float)) and g >= 0 for g in groups) and sum(groups) > 0:
                state.belief.enter = [g / sum(groups) for g in groups]
            loaded += 1
        return loaded
