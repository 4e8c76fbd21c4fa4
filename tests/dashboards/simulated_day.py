"""A simulated day of La Station, as the messages the collector receives and the points it writes.

People come and go by the simulator's schedules (edge.simulator.world); CO2 follows its
mass balance; the collector's own occupancy engine judges each space; and the day holds
the incidents staff boards exist for: a forced door, a door held open, a burst of
denied badges, a fire release, a remote unlock, a node that goes offline, a dead sensor.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from collector.engine import OccupancyEngine
from collector.points import PointMaker
from station.history import Point
from edge.simulator.world import SpaceWorld, pir_fires, plan_day
from station.contract import (
    EventKind, NodeEvent, NodeState, NodeStatus, RoomAvailability, RoomStatus, Telemetry,
)
from station.access import hash_credential
from station.inventory import Inventory, NodeProfile

STEP = timedelta(minutes=1)
TZ = ZoneInfo("Europe/Paris")


@dataclass
class Incidents:
    """When each incident of the day happens (UTC), so tests can evaluate alerts at that time."""

    forced: datetime
    held_open: datetime
    denied_burst: datetime
    fire: datetime
    command: datetime
    offline_from: datetime
    offline_to: datetime
    dead_co2_from: datetime
    door: str = "porte-salle-depot"
    offline_node: str = "ls-salle-boutique"
    dead_co2_node: str = "ls-salle-guichet"


@dataclass
class SimulatedDay:
    start: datetime
    end: datetime
    incidents: Incidents
    points: list[Point] = field(default_factory=list)


def _availability(point_maker: PointMaker, room: str, status: RoomStatus, ts: datetime) -> list[Point]:
    message = RoomAvailability(room=room, status=status, ts=ts)
    made = point_maker.of(message)
    if made:
        return made
    raise AssertionError("the collector does not turn rooms/<room>/availability into points")


def simulate_day(inventory: Inventory, day: date, seed: int = 11) -> SimulatedDay:
    rng = random.Random(seed)
    start = datetime.combine(day, time(7, 0), tzinfo=TZ).astimezone(timezone.utc)
    end = datetime.combine(day, time(23, 0), tzinfo=TZ).astimezone(timezone.utc)
    at = lambda hh, mm: datetime.combine(day, time(hh, mm), tzinfo=TZ).astimezone(timezone.utc)  # noqa: E731
    inc = Incidents(forced=at(21, 30), held_open=at(14, 10), denied_burst=at(11, 5), fire=at(16, 40),
                    command=at(8, 15), offline_from=at(13, 0), offline_to=at(13, 20), dead_co2_from=at(15, 0))
    worlds = {space.id: SpaceWorld(site, space) for site, space in inventory.spaces()}
    for w in worlds.values():
        w.visits = plan_day(w.site, w.space, day, rng, inventory)
    engine, pm = OccupancyEngine(inventory), PointMaker(inventory)
    day_out = SimulatedDay(start, end, inc)
    seqs: dict[str, int] = {}
    door_node = {d: n.id for _, n in inventory.nodes() for d in n.doors}
    room_node = {n.space: n.id for _, n in inventory.nodes() if n.profile is NodeProfile.room_node}
    door_of = {d.space: d.id for _, d in inventory.doors()}
    grant_version = {d.id: 1 for _, d in inventory.doors()}
    people_before = {s: 0 for s in worlds}
    site_key = b"simulated-day-site-key"

    def event(node: str, kind: EventKind, ts: datetime, **kw) -> None:
        seqs[node] = seqs.get(node, 0) + 1
        e = NodeEvent(id=uuid.uuid4().hex, seq=seqs[node], node=node, kind=kind, ts=ts, **kw)
        engine.on_event(e)
        day_out.points.extend(pm.of(e))

    now = start
    while now <= end:
        offline = inc.offline_from <= now < inc.offline_to
        for space_id, world in worlds.items():
            world.step(now, STEP.total_seconds())
            n = world.people(now)
            door, rnode = door_of[space_id], room_node[space_id]
            if n > people_before[space_id]:
                for _ in range(min(3, n - people_before[space_id])):
                    card = str(rng.randint(1, 2**24))
                    event(door_node[door], EventKind.access_granted, now, door=door, space=space_id,
                          credential_hash=hash_credential(site_key, card))
            if n != people_before[space_id]:
                event(door_node[door], EventKind.door_opened, now, door=door, space=space_id)
                event(door_node[door], EventKind.door_closed, now + timedelta(seconds=5), door=door, space=space_id)
            people_before[space_id] = n
            if rnode == inc.offline_node and offline:
                continue
            if pir_fires(n, rng, 60):
                event(rnode, EventKind.motion, now, space=space_id)
            dead = rnode == inc.dead_co2_node and now >= inc.dead_co2_from
            t = Telemetry(node=rnode, space=space_id, ts=now, co2_ppm=None if dead else round(world.co2_ppm, 1),
                          temperature_c=round(world.temperature_c, 2), humidity_pct=round(world.humidity_pct, 1),
                          light_lux=world.light_lux(now), faults=["co2"] if dead else [])
            engine.on_telemetry(t)
            day_out.points.extend(pm.of(t))
        if now.minute % 5 == 0:
            for site, node in inventory.nodes():
                down = node.id == inc.offline_node and offline
                status = NodeStatus(node=node.id, ts=now, state=NodeState.offline if down else NodeState.online,
                                    version="0.1.0", config_hash="c0ffee", uptime_s=(now - start).total_seconds(),
                                    outbox_depth=rng.randint(5, 40) if down else 0,
                                    grant_versions={d: grant_version[d] for d in node.doors})
                engine.on_status(node.id, not down, now)
                day_out.points.extend(pm.of(status))
        if now.minute % 30 == 0:
            for d in grant_version:
                grant_version[d] += 1
        engine.evaluate(now)
        for snap in engine.snapshot(now):
            day_out.points.extend(pm.of(snap))
            status = {True: RoomStatus.occupied, False: RoomStatus.free, None: RoomStatus.unknown}[snap.occupied]
            if snap.room == "salle-quai-2" and at(10, 0) <= now < at(11, 0):
                status = RoomStatus.reserved  # booked, nobody came: a no-show for the boards
            day_out.points.extend(_availability(pm, snap.room, status, now))
        now += STEP

    door, node = inc.door, door_node[inc.door]
    event(node, EventKind.door_forced, inc.forced, door=door, reason="opened without grant or exit request")
    event(node, EventKind.door_held_open, inc.held_open, door=door, reason="open for 120 s")
    for k in range(6):
        event(node, EventKind.access_denied, inc.denied_burst + timedelta(seconds=5 * k), door=door,
              credential_hash=hash_credential(site_key, "666"), reason="not in grant list")
    for _, d in inventory.doors():
        if d.space in {s.id for s in inventory.site("la-station").spaces} and d.lock.value == "fail_safe":
            event(door_node[d.id], EventKind.fire_release, inc.fire, door=d.id)
    event(node, EventKind.command_applied, inc.command, door=door, reason="unlock_once")
    for k, (site, machine) in enumerate(inventory.machines()):  # two sessions a machine, one E-stop
        machine_node = inventory.machine_node(machine.id).id
        for hour, minutes in ((10, 20 + 7 * k), (15, 45)):
            on = datetime.combine(day, time(hour, 0), tzinfo=ZoneInfo(site.timezone))
            off = on + timedelta(minutes=minutes)
            card = hash_credential(site_key, str(1000 + k))
            event(machine_node, EventKind.machine_on, on, machine=machine.id, space=machine.space,
                  credential_hash=card, reason="free to use")
            event(machine_node, EventKind.machine_off, off, machine=machine.id, space=machine.space,
                  credential_hash=card, reason="badge", duration_s=(off - on).total_seconds())
        if k == 0:
            event(machine_node, EventKind.machine_fault, datetime.combine(day, time(16, 30), tzinfo=ZoneInfo(site.timezone)),
                  machine=machine.id, space=machine.space, reason="emergency stop pressed; power cut")
    return day_out
