"""What the engine holds per space, and how it tunes itself: :class:`SpaceState`, :class:`EngineSettings`.

A space's state is its belief (:class:`~collector.occupancy.belief.Belief`), what was
learned of it (:mod:`collector.occupancy.learn`), the evidence waiting for the next
step, and the judgement last made, which :meth:`SpaceState.snapshot` turns into the
contract's :class:`~station.contract.RoomOccupancy` with its reason in words.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from station.contract import RoomOccupancy
from station.inventory import Space

from .belief import Belief
from .learn import AirModel, LampModel, MotionModel

CO2_PER_PERSON_M3_H = 0.018


@dataclass
class EngineSettings:
    unknown_after: timedelta = timedelta(minutes=5)
    idle_step: timedelta = timedelta(seconds=60)  # step at least this often while asked
    doubt_occupied: float = 0.03  # P(vacant) when the filter is sure of people
    doubt_vacant: float = 0.003  # P(occupied) when it is sure of nobody
    motion_merge_s: float = 10.0  # motions closer than this are one
    min_step: timedelta = timedelta(seconds=1)  # bursts of messages: one step, not one per message
    co2_block: timedelta = timedelta(minutes=5)
    passage_max: timedelta = timedelta(seconds=60)  # a door closing this soon ends one passage
    badge_window: timedelta = timedelta(minutes=30)
    # transitions, per minute, when nothing says people moved
    arrive: float = 1 / 240
    leave: float = 1 / 180
    change: float = 1 / 30
    door_shut: float = 0.02  # ... scaled by this while the space's doors are watched and shut
    # a door passage: someone came in / the count changed / everybody left
    passage_arrive: float = 0.5
    passage_change: float = 0.7
    passage_leave: float = 0.1
    # people's activity, per minute
    settle_watched: float = 1 / 30
    settle_unwatched: float = 1 / 40
    wake: float = 1 / 60
    still_motion: float = 1 / 120
    false_motion: float = 1 / 720
    # lamps: lamps do not switch on by themselves; people switch them off as they go, and
    # rarely leave them on; in the dark, people rarely come in without switching them on
    lamp_on_odds: float = 1000.0
    lamp_off_odds: float = 300.0  # ... 5× more when the room goes dark: nobody stays in the dark
    lamps_left_on: float = 0.01
    group_after: timedelta = timedelta(minutes=25)  # a visit's headcount has settled by then
    lamp_switch_move: float = 0.3  # a lamp switch: share of them that come with people arriving/leaving
    dark_stay: float = 0.5  # per minute: people in the dark switch the lamps on
    enter_at: float = 0.55
    leave_at: float = 0.45


@dataclass
class SpaceState:
    space: Space
    nodes: set[str]
    belief: Belief
    watched_door: bool = False  # a door contact of this space reports to the engine
    air: AirModel = field(default_factory=AirModel)
    lamps: LampModel = field(default_factory=LampModel)
    motion: MotionModel = field(default_factory=MotionModel)
    occupied: bool | None = None
    since: datetime | None = None
    steps: int = 0  # steps of the filter so far
    judged_step: int = -1  # the step the judgement was made on
    group_learned: bool = False  # this visit's headcount has been folded into who walks in
    confidence: float = 0.0
    p_occupied: float = 0.0  # the calibrated P(occupied) the confidence is read from
    people_estimate: float | None = None
    people_low: float | None = None
    people_high: float | None = None
    co2_ppm: float | None = None
    co2_at: datetime | None = None
    light_lux: float | None = None
    light_at: datetime | None = None
    last_step: datetime | None = None
    last_motion: datetime | None = None
    last_door: datetime | None = None
    door_open_at: datetime | None = None  # open and not closed since
    pending_motion: list = field(default_factory=list)
    pending_doors: list = field(default_factory=list)
    pending_badge: bool = False
    pending_lamp: str | None = None
    pending_co2: tuple | None = None
    block: list = field(default_factory=list)  # (time, ppm) of the CO2 block being filled
    last_block: tuple | None = None  # (mean time, mean ppm, readings)
    badges: deque = field(default_factory=deque)  # (time, credential hash)
    seen: dict[str, datetime] = field(default_factory=dict)
    offline: set[str] = field(default_factory=set)

    @property
    def per_person(self) -> float:
        """ppm per hour one person adds to the space's air."""
        return CO2_PER_PERSON_M3_H * 1e6 / max(self.space.volume_m3, 1.0)

    def snapshot(self, now: datetime) -> RoomOccupancy:
        return RoomOccupancy(room=self.space.id, occupied=self.occupied, confidence=round(self.confidence, 3),
                             people_estimate=None if self.people_estimate is None else round(self.people_estimate, 1),
                             people_low=self.people_low, people_high=self.people_high,
                             co2_ppm=self.co2_ppm, since=self.since, reason=self.reason(now), ts=now)

    def reason(self, now: datetime) -> str | None:
        """Why: the evidence in the building's words ("motion 2 min ago; CO2 rising 40 ppm/10 min")."""
        if self.occupied is None:
            return "sensors offline or silent"
        parts = []
        if self.last_motion is not None and now - self.last_motion <= timedelta(hours=2):
            parts.append(f"motion {_ago(now - self.last_motion)} ago")
        elif self.motion.seen and self.occupied:
            parts.append("no motion lately (people sitting still?)")
        if self.last_door is not None and now - self.last_door <= timedelta(minutes=30):
            parts.append(f"door {_ago(now - self.last_door)} ago")
        fit = self.air.fit(timedelta(minutes=10))
        if fit is not None:
            per10 = fit[0] / 6.0
            if abs(per10) >= max(10.0, 2 * fit[2] / 6.0):
                parts.append(f"CO2 {'rising' if per10 > 0 else 'falling'} {abs(per10):.0f} ppm/10 min")
            elif self.air.c0 is not None:
                parts.append(f"CO2 steady, {fit[1] - self.air.c0:+.0f} ppm over the baseline")
        if self.lamps.on is not None:
            parts.append("lamps on" if self.lamps.on else "lamps off")
        recent = {h for at, h in self.badges if now - at <= timedelta(minutes=30)}
        if recent:
            parts.append(f"{len(recent)} badge{'s' if len(recent) > 1 else ''} in 30 min")
        return "; ".join(parts)[:200] or None


def _ago(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


