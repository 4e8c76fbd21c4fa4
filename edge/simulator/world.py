"""The simulated building: who is in which space, and what the air and light do.

Schedules follow the kind of each space (meetings, fab-lab sessions, coworkers coming
and going, an evening event in the venue). CO2 follows a mass balance per space::

    dC/dt = n · G / V · 10⁶  −  ACH · (C − C_out)          [ppm per hour]

with G ≈ 0.018 m³/h of CO2 per seated adult, V the volume and ACH the air changes per
hour from the inventory. PIR detection is probabilistic: people sitting still are missed.

A world can also be given what a real room does over weeks (``edge.simulator.recording``
builds such worlds): an outdoor CO2 level that drifts, a ventilation schedule (the air
handling slows at night), a cloud cover, the sun falling on the light sensor, and lamps
left on after everyone has gone. Left at their defaults, the outdoor level, ventilation
and light are the fixed ones above.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from station.inventory import Inventory, Site, Space, SpaceKind

CO2_OUTDOOR_PPM = 420.0
CO2_PER_PERSON_M3_H = 0.018
PIR_DETECT_PER_PERSON_10S = 0.25


@dataclass(frozen=True)
class Visit:
    """``people`` present in a space from ``start`` to ``end`` (UTC)."""

    start: datetime
    end: datetime
    people: int


@dataclass
class SpaceWorld:
    site: Site
    space: Space
    visits: list[Visit] = field(default_factory=list)
    co2_ppm: float = CO2_OUTDOOR_PPM + 30
    temperature_c: float = 19.5
    humidity_pct: float = 45.0
    outdoor_ppm: Callable[[datetime], float] = lambda now: CO2_OUTDOOR_PPM
    ventilation_ach: Callable[[datetime], float] | None = None  # None: the inventory's, always
    sky: Callable[[datetime], float] = lambda now: 1.0  # share of clear-sky daylight reaching the room
    sun_lux: Callable[[datetime], float] = lambda now: 0.0  # direct sun on the sensor
    daylight_lux: float = 350.0
    lamp_lux: float = 300.0
    lamps_left_on: list[tuple[datetime, datetime]] = field(default_factory=list)
    _timeline: tuple[int, list[datetime], list[int]] = field(default=(-1, [], []), init=False, repr=False)

    def people(self, now: datetime) -> int:
        if self._timeline[0] != len(self.visits):
            self._timeline = (len(self.visits), *_timeline(self.visits))
        _, at, count = self._timeline
        k = bisect.bisect_right(at, now)
        return count[k - 1] if k else 0

    def step(self, now: datetime, dt_s: float) -> None:
        n = self.people(now)
        volume = self.space.volume_m3
        hours = dt_s / 3600.0
        outdoor = self.outdoor_ppm(now)
        ach = self.ventilation_ach(now) if self.ventilation_ach else self.space.ventilation_ach
        gain = n * CO2_PER_PERSON_M3_H / volume * 1e6
        # exact decay over the step, so a long step (a recording's 60 s) stays stable
        settled = outdoor + gain / ach
        self.co2_ppm = max(outdoor, settled + (self.co2_ppm - settled) * math.exp(-ach * hours))
        target_t = 19.5 + min(4.0, n * 80.0 / volume)  # ~80 W sensible heat per person
        self.temperature_c += (target_t - self.temperature_c) * min(1.0, hours * 2)
        target_h = 42.0 + min(15.0, n * 40.0 / volume)
        self.humidity_pct += (target_h - self.humidity_pct) * min(1.0, hours * 2)

    def light_lux(self, now: datetime) -> float:
        local = now.astimezone(ZoneInfo(self.site.timezone))
        hour = local.hour + local.minute / 60
        daylight = max(0.0, math.sin(math.pi * (hour - 7.5) / 11.0)) * self.daylight_lux * self.sky(now)
        return round(daylight + self.sun_lux(now) + (self.lamp_lux if self.lamps_on(now) else 0.0), 1)

    def lamps_on(self, now: datetime) -> bool:
        return self.people(now) > 0 or any(a <= now < b for a, b in self.lamps_left_on)


def _timeline(visits: list[Visit]) -> tuple[list[datetime], list[int]]:
    """The people count as a step function: the times it changes and the count from each."""
    changes: dict[datetime, int] = {}
    for v in visits:
        changes[v.start] = changes.get(v.start, 0) + v.people
        changes[v.end] = changes.get(v.end, 0) - v.people
    at, count, n = [], [], 0
    for t in sorted(changes):
        n += changes[t]
        at.append(t)
        count.append(n)
    return at, count


def _local(day: date, hhmm: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, hhmm, tzinfo=tz).astimezone(timezone.utc)


def plan_day(site: Site, space: Space, day: date, rng: random.Random, inventory: Inventory) -> list[Visit]:
    """Visits of one space over one day, within its opening hours."""
    tz = ZoneInfo(site.timezone)
    hours = inventory.opening_hours(space.id).day(day.weekday())
    visits: list[Visit] = []
    for interval in hours:
        start, end = _local(day, interval.open, tz), _local(day, interval.close, tz)
        visits += _plan_interval(space, start, end, rng)
    return visits


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def _plan_interval(space: Space, start: datetime, end: datetime, rng: random.Random) -> list[Visit]:
    cap = space.capacity
    visits: list[Visit] = []
    if space.kind in (SpaceKind.meeting, SpaceKind.fablab):
        t = start + _minutes(rng, 0, 40)
        long = space.kind is SpaceKind.fablab
        while t < end:
            length = _minutes(rng, 90, 240) if long else _minutes(rng, 30, 120)
            people = rng.randint(2, max(2, int(cap * (0.6 if long else 1.0))))
            visits.append(Visit(t, min(end, t + length), people))
            t += length + _minutes(rng, 15, 90)
    elif space.kind is SpaceKind.coworking:
        arrivals = max(1, int(cap * rng.uniform(0.7, 1.1)))
        span = (end - start).total_seconds() / 60
        for _ in range(arrivals):
            at = start + timedelta(minutes=min(span - 30, abs(rng.gauss(60, 90))))
            visits.append(Visit(at, min(end, at + _minutes(rng, 60, 360)), 1))
    elif space.kind in (SpaceKind.ticket_office, SpaceKind.shop):
        visits.append(Visit(start, end, 1))  # the staff member on duty
        t = start + _minutes(rng, 2, 20)
        while t < end:
            visits.append(Visit(t, min(end, t + _minutes(rng, 3, 15)), rng.randint(1, 3)))
            t += _minutes(rng, 10, 45)
    elif space.kind is SpaceKind.venue:
        setup = start + _minutes(rng, 120, 300)
        visits.append(Visit(setup, min(end, setup + _minutes(rng, 60, 150)), rng.randint(2, 5)))
        show = start.replace(hour=17, minute=30)  # 18:30 local in winter
        if show + timedelta(hours=3) <= end:
            visits.append(Visit(show, show + _minutes(rng, 120, 200), rng.randint(cap // 4, cap)))
    return sorted(visits, key=lambda v: v.start)


def pir_fires(people: int, rng: random.Random, dt_s: float = 10.0) -> bool:
    """Does the PIR see motion during ``dt_s`` with ``people`` in the room?"""
    if people <= 0:
        return False
    miss_one = (1 - PIR_DETECT_PER_PERSON_10S) ** (dt_s / 10.0)
    return rng.random() > miss_one ** people
