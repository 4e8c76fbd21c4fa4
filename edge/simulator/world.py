"""The simulated building: who is in which space, and what the air and light do.

Schedules follow the kind of each space (meetings, fab-lab sessions, coworkers coming
and going, an evening event in the venue). CO2 follows a mass balance per space::

    dC/dt = n · G / V · 10⁶  −  ACH · (C − C_out)          [ppm per hour]

with G ≈ 0.018 m³/h of CO2 per seated adult, V the volume and ACH the air changes per
hour from the inventory. PIR detection is probabilistic: people sitting still are missed.
"""

from __future__ import annotations

import math
import random
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

    def people(self, now: datetime) -> int:
        return sum(v.people for v in self.visits if v.start <= now < v.end)

    def step(self, now: datetime, dt_s: float) -> None:
        n = self.people(now)
        volume = self.space.volume_m3
        hours = dt_s / 3600.0
        gain = n * CO2_PER_PERSON_M3_H / volume * 1e6
        loss = self.space.ventilation_ach * (self.co2_ppm - CO2_OUTDOOR_PPM)
        self.co2_ppm = max(CO2_OUTDOOR_PPM, self.co2_ppm + (gain - loss) * hours)
        target_t = 19.5 + min(4.0, n * 80.0 / volume)  # ~80 W sensible heat per person
        self.temperature_c += (target_t - self.temperature_c) * min(1.0, hours * 2)
        target_h = 42.0 + min(15.0, n * 40.0 / volume)
        self.humidity_pct += (target_h - self.humidity_pct) * min(1.0, hours * 2)

    def light_lux(self, now: datetime) -> float:
        local = now.astimezone(ZoneInfo(self.site.timezone))
        hour = local.hour + local.minute / 60
        daylight = max(0.0, math.sin(math.pi * (hour - 7.5) / 11.0)) * 350.0
        lamps = 300.0 if self.people(now) > 0 else 0.0
        return round(daylight + lamps, 1)


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
