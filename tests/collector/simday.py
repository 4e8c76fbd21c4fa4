"""A simulated day of a space, replayed through the occupancy engine in-process, against ground truth.

The building comes from the simulator (``edge.simulator.world``: visits, CO2 mass balance,
probabilistic PIR); the messages are those the nodes send (door opened/closed when people
come and go, motion on each rising edge of the PIR, telemetry every minute with the CO2
sensor's noise), built with the shared contract models and fed to the engine in time
order, with no wall-clock wait. Every minute the engine's judgement is recorded next to
the true number of people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from collector.engine import EngineSettings, OccupancyEngine
from edge.simulator.world import SpaceWorld, pir_fires, plan_day
from station.contract import EventKind, NodeEvent, Telemetry
from station.inventory import Inventory, NodeProfile

STEP = timedelta(seconds=10)


@dataclass(frozen=True)
class Minute:
    at: datetime
    people: int
    occupied: bool | None
    estimate: float | None
    open: bool  # within the space's opening hours


def replay_day(inventory: Inventory, space_id: str, day: date, seed: int,
               settings: EngineSettings | None = None, sensor_noise_ppm: float = 8.0,
               with_light: bool = False, engine: OccupancyEngine | None = None) -> list[Minute]:
    """Replay one simulated day of a space; one :class:`Minute` per minute.

    Light is left out by default: the simulator switches lamps on exactly when someone is
    in, which would hand the engine the answer; the figures are for PIR, door and CO2.
    Pass the ``engine`` of the day before to replay consecutive days, as the collector
    runs: what it learned of the space (ventilation, baseline, visit sizes) carries over.
    """
    site, space = inventory.space(space_id)
    rng = random.Random(f"{seed}-{space_id}-{day}")
    world = SpaceWorld(site, space)
    world.visits = plan_day(site, space, day, rng, inventory)
    engine = engine or OccupancyEngine(inventory, settings)
    nodes = [n for _, n in inventory.nodes() if space_id in inventory.node_spaces(n.id)]
    room = next(n for n in nodes if n.profile is NodeProfile.room_node)
    door_node = next(n for n in nodes if n.profile is NodeProfile.door_node)
    door = next(d for d in door_node.doors if inventory.door(d)[1].space == space_id)
    tz = ZoneInfo(site.timezone)
    hours = inventory.opening_hours(space_id)
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    now, end = start, start + timedelta(days=1)
    seq = {room.id: 0, door_node.id: 0}

    def send(node: str, kind: EventKind, at: datetime, **kw) -> None:
        seq[node] += 1
        engine.on_event(NodeEvent(id=f"{node}-{seq[node]:08d}", seq=seq[node], node=node, kind=kind, ts=at, **kw))

    for node in (room.id, door_node.id):
        engine.on_status(node, True, now)
    prev_people, pir_high, door_open_until = 0, False, None
    minutes: list[Minute] = []
    while now < end:
        world.step(now, STEP.total_seconds())
        people = world.people(now)
        if door_open_until is not None and now >= door_open_until:
            send(door_node.id, EventKind.door_closed, now, door=door, space=space_id)
            door_open_until = None
        if people != prev_people:
            if door_open_until is None:
                send(door_node.id, EventKind.door_opened, now, door=door, space=space_id)
            door_open_until = now + timedelta(seconds=6)
        prev_people = people
        fires = pir_fires(people, rng, STEP.total_seconds())
        if fires and not pir_high:
            send(room.id, EventKind.motion, now, space=space_id)
        pir_high = fires
        if now.second == 0:
            engine.on_telemetry(Telemetry(node=room.id, space=space_id, ts=now,
                                          co2_ppm=round(world.co2_ppm + rng.gauss(0, sensor_noise_ppm), 1),
                                          light_lux=world.light_lux(now) if with_light else None))
            engine.evaluate(now, [space_id])
            state = engine.spaces[space_id]
            local = now.astimezone(tz)
            minutes.append(Minute(now, people, state.occupied, state.people_estimate,
                                  hours.is_open(local.weekday(), local.time())))
        else:
            engine.evaluate(now, [space_id])
        now += STEP
    return minutes


def replay_days(inventory: Inventory, space_id: str, days: list[date], seed: int,
                settings: EngineSettings | None = None, **kw) -> list[list[Minute]]:
    """Consecutive days of one space through one engine; a list of minutes per day."""
    engine = OccupancyEngine(inventory, settings)
    return [replay_day(inventory, space_id, day, seed, engine=engine, **kw) for day in days]


def accuracy(minutes: list[Minute], open_only: bool = True) -> float:
    rows = [m for m in minutes if m.open or not open_only]
    return sum((m.people > 0) == bool(m.occupied) for m in rows) / len(rows)


def people_mae(minutes: list[Minute], every: int = 10, open_only: bool = True) -> float:
    """Mean absolute error of the people estimate, both averaged over ``every``-minute buckets."""
    errors = []
    for k in range(0, len(minutes) - every + 1, every):
        bucket = minutes[k:k + every]
        if open_only and not any(m.open for m in bucket):
            continue
        truth = sum(m.people for m in bucket) / every
        guess = sum(m.estimate or 0.0 for m in bucket) / every
        errors.append(abs(truth - guess))
    return sum(errors) / len(errors)


def write_uci_csv(path, inventory: Inventory, space_id: str, days: list[date], seed: int,
                  sensor_noise_ppm: float = 8.0) -> int:
    """Write simulated 1-minute readings of one space in the UCI "Occupancy Detection" format.

    Header ``date,Temperature,Humidity,Light,CO2,HumidityRatio,Occupancy`` (quoted), then
    rows led by a quoted row number, as in the public files. Returns the number of rows.
    """
    import csv

    site, space = inventory.space(space_id)
    rng = random.Random(f"uci-{seed}-{space_id}")
    world = SpaceWorld(site, space)
    for day in days:
        world.visits += plan_day(site, space, day, rng, inventory)
    tz = ZoneInfo(site.timezone)
    now = datetime.combine(days[0], time(0, 0), tzinfo=tz)
    end = datetime.combine(days[-1], time(0, 0), tzinfo=tz) + timedelta(days=1)
    n = 0
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["date", "Temperature", "Humidity", "Light", "CO2", "HumidityRatio", "Occupancy"])
        while now < end:
            world.step(now, STEP.total_seconds())
            if now.second == 0:
                n += 1
                local = now.astimezone(tz).replace(tzinfo=None)
                ratio = 0.00379 * world.humidity_pct / 100 * 1.6  # rough, unused by the engine
                writer.writerow([str(n), local.strftime("%Y-%m-%d %H:%M:%S"), round(world.temperature_c, 2),
                                 round(world.humidity_pct, 3), world.light_lux(now),
                                 round(world.co2_ppm + rng.gauss(0, sensor_noise_ppm), 1), ratio,
                                 int(world.people(now) > 0)])
            now += STEP
    return n
