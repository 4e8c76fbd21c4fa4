"""Fab-lab members using machines in the simulated building (issue 15).

A member admitted to a fab lab often goes to a machine: a free-to-use one straight away,
or one that needs a booking (the CNC router) booked through the API first, as they
would on the board. They badge at the machine's reader (a real Wiegand frame into its
node), work, and badge off — or, one time in five, walk away and leave it idle, which
the node's CT clamp notices (the simulator's current drops): warning, grace, cut. Once
a day someone hits an emergency stop (the E-stop input of a powered machine opens for
a simulated minute). The simulator acts like people, never like the authority: the
nodes decide from the lists the API signed.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)


@dataclass
class MachineUse:
    machine: str
    card: str
    until: datetime
    idle: bool


class MachineUsers:
    """Plans and plays the machine uses of a :class:`~edge.simulator.BuildingSimulator`."""

    USE_PROBABILITY = 0.6
    IDLE_PROBABILITY = 0.2
    ESTOP_HOUR = 15

    def __init__(self, sim, rng: random.Random):
        self.sim, self.rng = sim, rng
        self.uses: dict[str, MachineUse] = {}  # machine -> the use under way
        self._estop_days: set[date] = set()
        self._estop_release: tuple[str, datetime] | None = None

    def arrived(self, world, visit, now: datetime) -> None:
        """Someone was admitted to a fab lab for ``visit``: maybe they use a machine."""
        people = self.sim.people_of_api
        if people is None or self.rng.random() > self.USE_PROBABILITY:
            return
        free = [m for m in self.sim.inventory.machines_of(world.space.id) if m.id not in self.uses
                and self._node(m.id) is not None]
        if not free:
            return
        machine = self.rng.choice(free)
        card = people.card_for(world, visit)
        if card is None:
            return
        minutes = self.rng.randint(15, max(15, min(machine.max_session_minutes, 90)))
        until = min(visit.end, now + timedelta(minutes=minutes))
        if until <= now + timedelta(minutes=5):
            return
        if not machine.free_to_use or (machine.bookable and self.rng.random() < 0.3):
            if not people.book_machine(world, visit, machine.id, now, until):
                self.sim.counters["machine_booking_refused"] += 1
                return
        powered = self.sim.present_machine_badge(machine.id, card)
        self.sim.counters["machine_on" if powered else "machine_refused"] += 1
        if powered:
            idle = self.rng.random() < self.IDLE_PROBABILITY
            self.uses[machine.id] = MachineUse(machine.id, card, until, idle)
            if idle:  # they walk away: the clamp reads no work from now on
                self.sim.idle_machines.add(self._node(machine.id))

    def step(self, now: datetime) -> None:
        """Uses that end (badge off), machines the node cut, the day's emergency stop."""
        for machine_id, use in list(self.uses.items()):
            node = self._node(machine_id)
            edge = self.sim.nodes[node]
            if not edge.machine.powered:  # the node cut it (idle, session end, E-stop)
                self.uses.pop(machine_id)
                self.sim.idle_machines.discard(node)
            elif now >= use.until and not use.idle:
                self.sim.present_machine_badge(machine_id, use.card)
                self.uses.pop(machine_id)
        self._emergency_stop(now)

    def _emergency_stop(self, now: datetime) -> None:
        if self._estop_release is not None and now >= self._estop_release[1]:
            node = self._estop_release[0]
            self.sim.factories[node].pin(self.sim.nodes[node].profile.pins["estop"]).drive_low()
            self._estop_release = None
        for site in self.sim.sites:
            local = now.astimezone(ZoneInfo(site.timezone))
            if local.hour < self.ESTOP_HOUR or local.date() in self._estop_days:
                continue
            powered = [self._node(m) for m in self.uses if self._node(m) in {n.id for n in site.nodes}]
            if not powered:
                continue
            self._estop_days.add(local.date())
            node = self.rng.choice(powered)
            log.info("simulated emergency stop at %s", node)
            self.sim.factories[node].pin(self.sim.nodes[node].profile.pins["estop"]).drive_high()
            self._estop_release = (node, now + timedelta(minutes=1))
            self.sim.counters["emergency_stop"] += 1

    def _node(self, machine_id: str) -> str | None:
        return next((n for n, e in self.sim.nodes.items() if machine_id in e.node.machines), None)
