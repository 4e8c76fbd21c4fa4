"""Labelled multi-day recordings of a simulated space, the shape of a real room's data set.

A recording is what a sensor logger in a room would have written over weeks, next to the
truth: every ``interval_s`` seconds the number of people, the CO2 reading, the light
reading, whether any PIR saw motion during the sample, and whether the door opened.

It is built to be hard in the ways real rooms are hard, so an engine tuned on one week of
one room fails here as it fails on a second week:

- nights, weekends and holidays with nobody, the air handling slowed to infiltration
  outside opening hours (so CO2 after a meeting decays at two different rates);
- an outdoor CO2 level that drifts from day to day and a sensor whose zero drifts too;
- daylight under a changing sky, the sun falling on the light sensor some afternoons, and
  lamps left on after the last person left (until the cleaner at 22:00, or the morning);
- people who sit still for long spells, unseen by the PIRs.

:func:`build_world` makes the :class:`~edge.simulator.world.SpaceWorld`,
:func:`record` samples it, :func:`write_columns` writes the ``columns`` CSV that
``station occupancy-eval --format columns`` reads. :func:`small_office` is a room like
the public "room occupancy" recordings: 0–3 people, two PIRs, 30-second samples.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from station.inventory import Inventory, Site, Space

from .world import SpaceWorld, plan_day

STEP_S = 10.0
PIR_BUSY_10S = 0.25  # chance a PIR sees one moving person in 10 s
PIR_QUIET_10S = 0.004  # … one person sitting still at a desk
QUIET_AFTER_MIN = 12.0  # mean minutes of moving about before a quiet spell
QUIET_FOR_MIN = 25.0  # mean length of a quiet spell


@dataclass(frozen=True)
class Sample:
    at: datetime  # end of the sample, UTC
    people: int
    co2_ppm: float
    light_lux: float
    motion: int  # 1 if a PIR saw motion during the sample
    door: int  # 1 if the door was open at some time during the sample


def _daily_walk(rng: random.Random, start: date, days: int, first: float, sd: float,
                low: float, high: float) -> list[float]:
    values, v = [], first
    for _ in range(days + 2):
        values.append(v)
        v = min(high, max(low, v + rng.gauss(0, sd)))
    return values


def _interpolate(values: list[float], origin: datetime, now: datetime) -> float:
    x = (now - origin).total_seconds() / 86400.0
    k = max(0, min(len(values) - 2, int(x)))
    f = min(1.0, max(0.0, x - k))
    return values[k] * (1 - f) + values[k + 1] * f


def build_world(site: Site, space: Space, inventory: Inventory, start: date, days: int, rng: random.Random, *,
                holidays: tuple[date, ...] = (), hvac_night_share: float = 0.3, lamps_left_on: float = 0.2,
                sunny_afternoons: float = 0.3) -> SpaceWorld:
    """A world for ``days`` days from ``start`` (local), with its visits, weather and habits."""
    tz = ZoneInfo(site.timezone)
    origin = datetime.combine(start, time(0, 0), tzinfo=tz).astimezone(timezone.utc)
    world = SpaceWorld(site, space)
    hours = inventory.opening_hours(space.id)
    outdoor = _daily_walk(rng, start, days, rng.uniform(405, 440), 8.0, 390.0, 490.0)
    world.outdoor_ppm = lambda now: _interpolate(outdoor, origin, now)
    world.co2_ppm = outdoor[0] + 20
    clouds = [rng.uniform(0.2, 1.0) for _ in range(days * 24 + 48)]

    def sky(now: datetime) -> float:
        h = (now - origin).total_seconds() / 3600.0
        k = max(0, min(len(clouds) - 2, int(h)))
        f = min(1.0, max(0.0, h - k))
        return clouds[k] * (1 - f) + clouds[k + 1] * f

    world.sky = sky
    world.lamp_lux = rng.uniform(150.0, 600.0)
    world.daylight_lux = rng.uniform(150.0, 900.0)
    air_on: list[tuple[datetime, datetime]] = []
    sun: list[tuple[datetime, datetime, float]] = []
    for k in range(days):
        day = start + timedelta(days=k)
        if day not in holidays:
            world.visits += plan_day(site, space, day, rng, inventory)
            for interval in hours.day(day.weekday()):
                a = datetime.combine(day, interval.open, tzinfo=tz).astimezone(timezone.utc)
                b = datetime.combine(day, interval.close, tzinfo=tz).astimezone(timezone.utc)
                air_on.append((a - timedelta(hours=1), b + timedelta(hours=1)))
        if rng.random() < sunny_afternoons:
            a = datetime.combine(day, time(rng.randint(13, 16), rng.randint(0, 59)), tzinfo=tz).astimezone(timezone.utc)
            sun.append((a, a + timedelta(minutes=rng.randint(30, 120)), rng.uniform(150, 500)))
    full = space.ventilation_ach
    world.ventilation_ach = lambda now: full if any(a <= now < b for a, b in air_on) else full * hvac_night_share

    def sun_lux(now: datetime) -> float:
        for a, b, peak in sun:
            if a <= now < b:
                return peak * math.sin(math.pi * (now - a) / (b - a))
        return 0.0

    world.sun_lux = sun_lux
    by_day: dict[date, datetime] = {}
    for v in world.visits:
        d = v.end.astimezone(tz).date()
        by_day[d] = max(by_day.get(d, v.end), v.end)
    for d, last in sorted(by_day.items()):
        if rng.random() < lamps_left_on:
            until = (datetime.combine(d, time(22, 0), tzinfo=tz) if rng.random() < 0.5
                     else datetime.combine(d + timedelta(days=1), time(7, 30), tzinfo=tz)).astimezone(timezone.utc)
            if until > last:
                world.lamps_left_on.append((last, until))
    return world


def record(world: SpaceWorld, start: datetime, end: datetime, rng: random.Random, *, interval_s: float = 60.0,
           pirs: int = 2, co2_noise_ppm: float = 8.0, sensor_drift_ppm_per_day: float = 3.0,
           sensor_offset_ppm: float | None = None) -> list[Sample]:
    """Sample ``world`` every ``interval_s`` seconds from ``start`` to ``end`` (UTC), stepping it every 10 s.

    The PIRs see each moving person with :data:`PIR_BUSY_10S` per 10 s; the room goes through
    quiet spells (everyone at a desk) when they see almost nothing. The CO2 sensor has
    noise, a zero offset and a zero that wanders by ``sensor_drift_ppm_per_day``.
    """
    per_sample = max(1, int(round(interval_s / STEP_S)))
    samples: list[Sample] = []
    now, k = start, 0
    # an NDIR sensor's zero is rarely true: off by up to a hundred ppm, unless given
    offset = rng.uniform(-20.0, 120.0) if sensor_offset_ppm is None else sensor_offset_ppm
    quiet, last_day = False, None
    motion = door = 0
    prev = world.people(now)
    while now < end:
        world.step(now, STEP_S)
        people = world.people(now)
        if people != prev:
            door, quiet = 1, False
        prev = people
        if people:
            switch = STEP_S / 60.0 / (QUIET_FOR_MIN if quiet else QUIET_AFTER_MIN)
            quiet = quiet != (rng.random() < switch)
            rate = PIR_QUIET_10S if quiet else PIR_BUSY_10S
            miss = (1 - rate) ** people
            motion |= any(rng.random() > miss for _ in range(pirs))
        day = now.date()
        if day != last_day:
            offset += rng.gauss(0, sensor_drift_ppm_per_day)
            last_day = day
        k += 1
        now += timedelta(seconds=STEP_S)
        if k % per_sample == 0:
            samples.append(Sample(now, people, round(world.co2_ppm + offset + rng.gauss(0, co2_noise_ppm), 1),
                                  round(max(0.0, world.light_lux(now) + rng.gauss(0, 3)), 1), int(motion), door))
            motion = door = 0
    return samples


def write_columns(path: Path, samples: list[Sample], *, with_door: bool = True) -> int:
    """Write ``samples`` as the ``columns`` CSV (``time,people,co2_ppm,light_lux,motion[,door]``)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "people", "co2_ppm", "light_lux", "motion"] + (["door"] if with_door else []))
        for s in samples:
            writer.writerow([s.at.isoformat().replace("+00:00", "Z"), s.people, s.co2_ppm, s.light_lux, s.motion]
                            + ([s.door] if with_door else []))
    return len(samples)


def small_office(volume_m3: float = 75.0, ventilation_ach: float = 1.5) -> Inventory:
    """A small office like the public multi-sensor recordings: 3 desks, weekdays 09:00–18:00."""
    return Inventory.model_validate({"sites": [{
        "id": "lab", "name": "Lab", "kind": "main", "town": "-", "timezone": "Europe/Paris",
        "opening_hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "spaces": [{"id": "office", "name": "Office", "kind": "coworking", "capacity": 3, "area_m2": 25,
                    "volume_m3": volume_m3, "ventilation_ach": ventilation_ach}]}]})


def recording(inventory: Inventory, space_id: str, start: date, days: int, seed: int, *,
              interval_s: float = 60.0, pirs: int = 2, holidays: tuple[date, ...] = (),
              sensor_offset_ppm: float | None = None, **world_kw) -> list[Sample]:
    """The samples of ``days`` simulated days of one space from local midnight of ``start``."""
    site, space = inventory.space(space_id)
    rng = random.Random(f"recording-{seed}-{space_id}-{start}")
    world = build_world(site, space, inventory, start, days, rng, holidays=holidays, **world_kw)
    tz = ZoneInfo(site.timezone)
    a = datetime.combine(start, time(0, 0), tzinfo=tz).astimezone(timezone.utc)
    b = datetime.combine(start + timedelta(days=days), time(0, 0), tzinfo=tz).astimezone(timezone.utc)
    return record(world, a, b, rng, interval_s=interval_s, pirs=pirs, sensor_offset_ppm=sensor_offset_ppm)
