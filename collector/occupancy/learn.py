"""What the engine learns about each space, online, from its own readings.

Nothing here is hand-set per room: the inventory gives a first guess (the ventilation
rate, the volume), and the readings correct it.

- :class:`AirModel` — the CO2 *baseline* (what "nobody" reads, which drifts with the
  outdoor air and the building), the *ventilation rate* (from the decays it observes
  once people have left; overall and per hour of the week, since air handling runs on a
  schedule) and the sensor's *noise*.
- :class:`LampModel` — the light the lamps add (learned from their switching steps) and
  whether they are on now, told apart from daylight, which ramps and flickers but
  does not step by the lamps' amount and stay there.
- :class:`MotionModel` — how often the PIR reports motion while people are in.

Each model is a plain object with ``to_dict``/``from_dict``, so the collector can keep
what it learned across restarts (:meth:`collector.occupancy.OccupancyEngine.state_dict`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from operator import itemgetter
from datetime import datetime, timedelta, timezone


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_US = timedelta(microseconds=1)
OUTDOOR_PPM = 420.0
FIRST_BASELINE_MAX = 600.0  # a first reading above this is people, not the baseline
FIRST_STEP_SHARE = 0.35


def _line(points: list[tuple[float, float]]) -> tuple[float, float, float, float, float] | None:
    """Least-squares line through (hours, ppm): (slope per hour, level at the last point,
    slope standard error, scatter of the points around the line, mean level)."""
    n = len(points)
    if n < 4:
        return None
    xs, ys = zip(*points)
    mx = sum(xs) / n
    my = sum(ys) / n
    dx = [x - mx for x in xs]
    sxx = sum([d ** 2 for d in dx])
    if sxx <= 0:
        return None
    slope = sum([d * (y - my) for d, y in zip(dx, ys)]) / sxx
    resid = sum([(y - my - slope * d) ** 2 for d, y in zip(dx, ys)])
    scatter = math.sqrt(max(resid, 1e-9) / (n - 2))
    return slope, my + slope * (points[-1][0] - mx), scatter / math.sqrt(sxx), scatter, my


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class AirModel:
    """CO2 of one space: baseline ``c0`` (ppm), ventilation ``ach`` (1/h), sensor ``noise`` (ppm)."""

    c0: float | None = None
    ach: float = 2.0
    noise: float = 5.0
    ach_prior: float = 2.0
    sxx: float = 0.0  # ventilation regression: sum of (C - c0)² over vacant decays
    sxy: float = 0.0  # ... and of (C - c0)·(-dC/dt)
    k_high: float = 0.0  # the fastest relative decay seen lately (1/h), decaying memory
    decays: int = 0  # windows that fed k_high
    # (time, ppm, µs since the epoch), the last ~30 min: the fits subtract integers, which
    # gives the very floats timedelta.total_seconds() would, at a fraction of the cost
    readings: deque = field(default_factory=deque, repr=False)
    last_decay_at: datetime | None = None
    recent_k: deque = field(default_factory=lambda: deque(maxlen=600), repr=False)  # (hour of week, 1/h)
    lows: deque = field(default_factory=deque, repr=False)  # (hour start, lowest level in it), a day
    learned_at: datetime | None = None
    _by_hour: dict = field(default_factory=dict, repr=False)  # ventilation_at's answers until a new decay

    WINDOW = timedelta(minutes=30)
    _WINDOW_US = WINDOW // ONE_US
    PRIOR_XX = 2.0e5  # the inventory's ventilation rate weighs like a few decay windows
    ENVELOPE_MIN = 10  # decay windows (one per 5-minute block) before the envelope replaces the regression
    ENVELOPE_Q = 0.75
    SAME_RATE = 0.35  # the two halves of a decay window agree within this share
    KNOWN_ERROR = 0.1  # relative error of a rate learned at this hour
    GUESS_ERROR = 0.4  # ... of the overall rate used at an hour never seen decaying

    # -- readings ---------------------------------------------------------------------
    def add(self, at: datetime, ppm: float) -> None:
        us = (at - EPOCH) // ONE_US
        readings = self.readings
        readings.append((at, ppm, us))
        oldest = us - self._WINDOW_US
        while readings and readings[0][2] < oldest:
            readings.popleft()
        if self.c0 is None:
            # First guess: the first reading (the baseline follows the readings down at
            # once, so too high a guess heals; too low would not).
            self.c0 = min(ppm, FIRST_BASELINE_MAX)

    def _daily_low(self, at: datetime) -> None:
        """Every space is empty at some time of a day: a baseline below the lowest level of
        the last day (a sensor reading high, a building that never airs out) is raised."""
        level = self.level()
        if level is None:
            return
        if not self.lows or at - self.lows[-1][0] >= self.HOUR:
            self.lows.append((at, level))
        elif level < self.lows[-1][1]:
            self.lows[-1] = (self.lows[-1][0], level)
        while self.lows and at - self.lows[0][0] > self.DAY:
            self.lows.popleft()
        if len(self.lows) >= 24 and self.c0 is not None:
            low = min(map(itemgetter(1), self.lows))
            if low > self.c0 + max(20.0, 3 * self.noise):
                self.c0 = low

    def level(self) -> float | None:
        """A spike-proof current level: the median of the last three readings."""
        if not self.readings:
            return None
        r = self.readings
        last = sorted(r[-k][1] for k in range(1, min(3, len(r)) + 1))
        return last[len(last) // 2]

    def fit(self, span: timedelta) -> tuple[float, float, float] | None:
        """Line through the readings of the last ``span``, spikes (> 6 noise from the median) left out."""
        if not self.readings:
            return None
        end = self.readings[-1][2]
        oldest = end - span // ONE_US
        xs = [((us - end) / 1_000_000 / 3600.0, p) for _, p, us in self.readings if us >= oldest]
        if len(xs) < 4:
            return None
        first = _line(xs)
        if first is None:
            return None
        slope, last, _, scatter, _ = first
        tol = max(4 * scatter, 4 * self.noise, 15.0)
        kept = [(x, y) for x, y in xs if abs(y - (last + slope * x)) <= tol]
        return _line(kept) if len(kept) < len(xs) else first

    def _exponential(self) -> bool:
        """Does the last 20 minutes decay like an empty room, at one rate towards the
        baseline? Air settling towards the level of someone still in slows down (and a
        door left open, then shut, speeds up then slows): the two halves disagree."""
        end = self.readings[-1][2]
        halves = ([], [])
        for _, p, us in self.readings:
            seconds = (end - us) / 1_000_000
            age = seconds / 60.0
            if age <= 20.0:
                halves[0 if age > 10.0 else 1].append(((us - end) / 1_000_000 / 3600.0, p))
        rates = []
        for half in halves:
            line = _line(half)
            if line is None or line[4] - self.c0 <= 20.0:
                return False
            rates.append(-line[0] / (line[4] - self.c0))
        early, late = rates
        return early > 0 and late > 0 and abs(early - late) <= self.SAME_RATE * max(early, late)

    # -- learning ---------------------------------------------------------------------
    def learn(self, at: datetime, p_vacant: float) -> None:
        """Update baseline, ventilation and noise from the window ending at ``at``.

        ``p_vacant`` is the engine's current belief that nobody is in: the baseline and
        the ventilation are learned from what the room does when it is empty.
        """
        self._daily_low(at)
        fit = self.fit(timedelta(minutes=20))
        if fit is None or self.c0 is None:
            return
        slope, level, se, scatter, mean = fit
        span_h = (self.readings[-1][2] - self.readings[0][2]) / 1_000_000 / 3600.0
        # The baseline cannot be above what the room reads: follow it down at once
        # (the median of the last readings: one low spike is not the air).
        now_level = self.level()
        if now_level is not None and now_level < self.c0 - self.noise:
            self.c0 = now_level
        excess = level - self.c0
        flat = abs(slope) <= 3 * se + 15.0
        since = (at - self.learned_at).total_seconds() / 60.0 if self.learned_at else 1.0
        self.learned_at = at
        if p_vacant >= 0.9 and flat and excess < 120:
            # Nobody in and the air steady: this is what "nobody" reads now (outdoor drift).
            self.c0 += (level - self.c0) * min(1.0, max(0.0, since) / 60.0)  # ~1 h memory
        # The fastest decay seen bounds the ventilation: people only slow a decay down.
        # The line's slope is the decay's mid-window slope: compare it with the mid-window
        # excess (against the last point, a fast decay would look faster still).
        mid = mean - self.c0
        if span_h >= 0.3 and excess > max(80.0, 10 * self.noise) and slope < -3 * se and self._exponential():
            k = -slope / mid
            if self.last_decay_at is not None:
                days = (at - self.last_decay_at).total_seconds() / 86400.0
                self.k_high *= 0.5 ** max(0.0, days / 3.0)
            self.last_decay_at = at
            self.k_high = max(self.k_high, k)
            self.decays += 1
            if p_vacant >= 0.5:
                self.recent_k.append((self._hour(at), k))
                self._by_hour.clear()
            if p_vacant >= 0.9:
                self.sxx += mid * mid
                self.sxy += mid * (-slope)
                # forget slowly: a week of decays weighs as much as the latest night
                self.sxx *= 0.999
                self.sxy *= 0.999
            self._update_ach()
        if p_vacant >= 0.9 and flat:
            self.noise += (min(max(scatter, 1.0), 3 * self.noise + 5) - self.noise) * min(1.0, 0.02 * max(0.0, since))

    def _update_ach(self) -> None:
        if len(self.recent_k) >= self.ENVELOPE_MIN:
            self.ach = min(20.0, max(0.05, _quantile([k for _, k in self.recent_k], self.ENVELOPE_Q)))
            return
        ach = (self.ach_prior * self.PRIOR_XX + self.sxy) / (self.PRIOR_XX + self.sxx)
        if self.decays >= 20 and self.k_high > 0 and ach > 1.25 * self.k_high:
            # Never a decay this fast: the ventilation is slower than the first guess.
            ach = self.k_high
            self.ach_prior = ach
        self.ach = min(20.0, max(0.05, ach))

    HOUR = timedelta(hours=1)
    DAY = timedelta(hours=24)

    @staticmethod
    def _hour(at: datetime) -> int:
        """The hour of the week, weekend hours apart from working days' (0–47)."""
        return at.hour + (24 if at.weekday() >= 5 else 0)

    def ach_at(self, at: datetime) -> float:
        """The ventilation rate at this hour of the week.

        People only ever slow a decay down, so the rate is the upper envelope (a high
        quantile, robust to the odd gust) of the decays seen at this hour and the next
        ones: a decay towards the level of someone still in, wrongly believed gone, does
        not drag the rate down. Until enough decays are seen, the space's overall rate.
        """
        return self.ventilation_at(at)[0]

    def ventilation_at(self, at: datetime) -> tuple[float, float]:
        """(rate, its relative uncertainty) at this hour of the week: tight when decays at
        this hour were seen, loose when it is the space's overall rate standing in."""
        if len(self.recent_k) >= self.ENVELOPE_MIN:
            hour = self._hour(at)
            known = self._by_hour.get(hour)
            if known is None:
                known = self._by_hour[hour] = self._envelope_at_hour(hour)
            if known:
                return known, self.KNOWN_ERROR
        return self.ach, self.GUESS_ERROR

    def _envelope_at_hour(self, hour: int) -> float:
        """The envelope of the decays seen at this hour of the week and beside it, 0 with
        too few (a scan of up to 600 decays: once per hour and new decay, not per CO2 block)."""
        near = {hour, (hour + 1) % 24 + (hour // 24) * 24, (hour - 1) % 24 + (hour // 24) * 24}
        ks = [k for h, k in self.recent_k if h in near]
        if len(ks) < self.ENVELOPE_MIN:
            return 0.0
        return min(20.0, max(0.05, _quantile(ks, self.ENVELOPE_Q)))

    # -- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"c0": self.c0, "ach": self.ach, "noise": self.noise, "ach_prior": self.ach_prior,
                "sxx": self.sxx, "sxy": self.sxy, "k_high": self.k_high, "decays": self.decays,
                "recent_k": [[h, round(k, 4)] for h, k in self.recent_k]}

    @classmethod
    def from_dict(cls, data: dict) -> "AirModel":
        c0 = data.get("c0")
        return cls(c0=None if c0 is None else float(c0), ach=float(data.get("ach", 2.0)),
                   noise=float(data.get("noise", 5.0)), ach_prior=float(data.get("ach_prior", 2.0)),
                   sxx=float(data.get("sxx", 0.0)), sxy=float(data.get("sxy", 0.0)),
                   k_high=float(data.get("k_high", 0.0)), decays=int(data.get("decays", 0)),
                   recent_k=deque(((int(h), float(k)) for h, k in data.get("recent_k") or []
                                   if 0 <= int(h) < 48 and float(k) > 0), maxlen=600))


@dataclass
class LampModel:
    """The lamps of one space: the light they add (``level``, lux) and whether they are on."""

    level: float | None = None
    steps: int = 0  # switching steps learned from
    on: bool | None = None
    switched_at: datetime | None = None
    recent: deque = field(default_factory=lambda: deque(maxlen=4), repr=False)  # (time, lux)
    pending: tuple | None = None  # a step seen, waiting for the next reading to confirm it

    MIN_STEP = 60.0
    STEP_GAP = timedelta(seconds=200)  # readings further apart do not show a switch

    @property
    def dark(self) -> bool:
        """Lamps off and hardly any daylight either (known once the lamps' level is)."""
        if self.level is None or self.on is not False or not self.recent:
            return False
        return self.recent[-1][1] < 0.15 * self.level

    def add(self, at: datetime, lux: float) -> str | None:
        """One light reading; returns "on" or "off" when it confirms the lamps switched."""
        event = None
        if self.pending is not None:
            direction, step, before, after, when = self.pending
            self.pending = None
            # A lamp step stays: the next reading sits near the stepped level. Sun through
            # a cloud gap overshoots or falls back.
            if abs(lux - after) <= max(0.15 * abs(step), 30.0):
                event = self._switch(direction, abs(step), when)
        recent = self.recent
        if event is None and recent:
            for back in (1, 2):
                if len(recent) < back:
                    break
                then, prev = recent[-back]
                if at - then > self.STEP_GAP:
                    break
                step = lux - prev
                # (a step smaller than MIN_STEP is never one: most readings stop here)
                if (step >= self.MIN_STEP or step <= -self.MIN_STEP) and self._plausible(step, prev, lux):
                    self.pending = ("on" if step > 0 else "off", step, prev, lux, at)
                    break
        recent.append((at, lux))
        if self.level is not None and self.on and lux < 0.5 * self.level:
            self.on, self.switched_at = False, at  # lamps alone give more than this
        return event

    def _plausible(self, step: float, before: float, after: float) -> bool:
        size = abs(step)
        if size < self.MIN_STEP:
            return False
        if self.level is None:
            # First lesson: a sharp step that stays, a third of the light or more (lamps
            # switched in the dark, or in daylight dimmer than the lamps).
            return size >= FIRST_STEP_SHARE * max(before, after)
        if not 0.6 * self.level <= size <= 1.7 * self.level:
            return False
        if step > 0 and self.on:
            return False
        if step < 0 and self.on is False:
            return False
        return True

    def _switch(self, direction: str, size: float, at: datetime) -> str:
        weight = 1.0 / min(self.steps + 1, 20)
        self.level = size if self.level is None else self.level + (size - self.level) * weight
        self.steps += 1
        self.on = direction == "on"
        self.switched_at = at
        return direction

    def to_dict(self) -> dict:
        return {"level": self.level, "steps": self.steps}

    @classmethod
    def from_dict(cls, data: dict) -> "LampModel":
        return cls(level=data.get("level"), steps=int(data.get("steps") or 0))


@dataclass
class MotionModel:
    """How often the PIR reports motion (events per minute) while people are in."""

    rate: float = 1.0
    seen: bool = False  # a motion sensor has spoken in this space
    minutes: float = 0.0
    events: float = 0.0

    def observe(self, minutes: float, moved: bool, p_occupied: float) -> None:
        if p_occupied < 0.9 or minutes <= 0:
            return
        self.minutes = self.minutes * 0.995 + minutes
        self.events = self.events * 0.995 + (1.0 if moved else 0.0)
        if self.minutes >= 30:
            # A rate of "minutes with motion", bounded so that one busy hour or a quiet
            # reader does not make the model blind either way.
            self.rate = min(4.0, max(0.2, self.events / self.minutes))

    def to_dict(self) -> dict:
        return {"rate": self.rate, "seen": self.seen, "minutes": self.minutes, "events": self.events}

    @classmethod
    def from_dict(cls, data: dict) -> "MotionModel":
        return cls(rate=float(data.get("rate", 1.0)), seen=bool(data.get("seen")),
                   minutes=float(data.get("minutes", 0.0)), events=float(data.get("events", 0.0)))
