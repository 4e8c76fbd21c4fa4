"""The hidden state of a space and how evidence moves it: a small hidden Markov model.

The state is "nobody", or people who are either **active** (the PIR sees them often)
or **still** (reading, watching a screen: the PIR rarely fires); how many they are is a
distribution over a grid — every count up to 16, then steps of about half again up to
the capacity — so a 300-seat venue costs a few dozen numbers, not 300.

One step of the filter is the textbook forward recursion:

1. **predict** (:meth:`Belief.predict`): people arrive, leave, or fall still, at rates
   per minute. A door passage makes arrivals and departures likely in its step; a space
   whose doors are watched and stayed shut barely changes ("wasp in a box": whoever
   moved after the door closed is still inside, however still they sit).
2. **observe**: every signal multiplies each state by its likelihood —
   :meth:`~Belief.observe_motion` (motion or its absence, by state),
   :meth:`~Belief.observe_co2` (the CO2 change since the last reading, against the
   mass balance of *n* breathing people in a ventilated volume),
   :meth:`~Belief.observe_factors` (a lamp switched, a badge, a door).
3. normalise.

Everything is pure arithmetic on three numbers and a short list: a step costs a few
microseconds, a CO2 block a few tens.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass

SQRT_2PI = math.sqrt(2 * math.pi)
ACH_ERROR = 0.1  # relative error of the learned ventilation rate (default)
OUTLIER_SHARE = 0.1  # blocks the mass balance does not explain at all (a window opened…)
OUTLIER_SD = 200.0
PERSON_SPREAD = 0.05  # how much a group breathes out differs from the nominal G
RATE_ERROR = 40.0  # ppm/h the mass balance misses (mixing, breathing, doors)


def count_grid(capacity: int) -> list[int]:
    """People counts the filter tracks: 1..16, then ×1.5 steps up to ``capacity``."""
    capacity = max(1, capacity)
    grid = list(range(1, min(capacity, 16) + 1))
    n = 16.0
    while grid[-1] < capacity:
        n *= 1.5
        grid.append(min(capacity, int(round(n))))
    return grid


@dataclass
class Rates:
    """Transition rates per minute."""

    arrive: float  # nobody → somebody
    leave: float  # everybody leaves together
    change: float  # one more or one fewer (a step on the count grid)
    settle: float  # active → still
    wake: float  # still → active
    last_out: float = 1.0  # scales "the last one leaves" (lamps on: people switch them off going)


def _gauss(x: float, var: float) -> float:
    return math.exp(-0.5 * x * x / var) / (SQRT_2PI * math.sqrt(var))


_OUTLIER = OUTLIER_SHARE * _gauss(0.0, OUTLIER_SD ** 2)


@functools.lru_cache(maxsize=64)
def _motion_weights(grid: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(min(n, 4) ** 0.5 for n in grid)


def moves(minutes: float, rates: Rates) -> tuple[float, float, float, float, float, float]:
    """The jump (:meth:`Belief.jump`) that ``minutes`` at ``rates`` make: computed once for a
    stretch the filter walks in equal pieces."""
    exp = math.exp
    return (1.0 - exp(-rates.arrive * minutes), 1.0 - exp(-rates.leave * rates.last_out * minutes),
            1.0 - exp(-rates.change * minutes), 1.0 - exp(-rates.settle * minutes),
            1.0 - exp(-rates.wake * minutes), rates.last_out)


@functools.lru_cache(maxsize=256)
def _at_least(grid: tuple[int, ...], people: int, factor: float, extra: float) -> tuple[float, ...]:
    """Likelihood of each count when ``people`` distinct badges came in: fewer is unlikely,
    more means someone came in on another's badge."""
    return tuple(factor ** (people - n) if n < people else extra ** (n - people) for n in grid)


def _first_guess(grid: list[int]) -> list[float]:
    """Who walks in, before a space has taught it: mostly one or a few people."""
    scale = max(2.0, grid[-1] / 4.0)
    widths = [grid[0]] + [grid[j] - grid[j - 1] for j in range(1, len(grid))]
    w = [math.exp(-(n - 1) / scale) * width for n, width in zip(grid, widths)]
    total = sum(w)
    return [x / total for x in w]


class Belief:
    """P(nobody), P(active), P(still), and the people count given somebody is in.

    The count is kept as its own distribution ``q`` over the grid, shared by the active
    and still states (how many are in does not depend on whether they sit still): the
    chain itself has three states, so a step costs a few multiplications, and only the
    CO2 and the badges, which speak of the count, touch ``q``.
    """

    __slots__ = ("grid", "p0", "pa", "ps", "q", "enter", "_motion_scale", "_shift", "_mix", "_last_out",
                 "_motion_lik")

    def __init__(self, capacity: int, p_occupied: float = 0.1):
        self.grid = tuple(count_grid(capacity))
        self.enter = _first_guess(self.grid)  # who walks in; learned (learn_group)
        self.p0, self.pa, self.ps = 1.0 - p_occupied, p_occupied / 2, p_occupied / 2
        self.q = list(self.enter)
        self._motion_scale = None
        self._motion_lik = None  # (arguments, likelihoods) of the last motion observation
        self._shift = self._mix = 0.0  # count moves and arrivals not yet folded into q
        self._last_out = 1.0

    # -- summaries --------------------------------------------------------------------
    @property
    def p_occupied(self) -> float:
        return self.pa + self.ps

    @property
    def p_vacant(self) -> float:
        return self.p0

    def count_given_occupied(self) -> tuple[float, float, float]:
        """(mean, 10th percentile, 90th percentile) of the people count, given somebody is in."""
        q = self._counts()
        mean = sum(m * n for m, n in zip(q, self.grid))
        low = high = None
        acc = 0.0
        for m, n in zip(q, self.grid):
            acc += m
            if low is None and acc >= 0.1:
                low = n
            if high is None and acc >= 0.9:
                high = n
        return mean, float(low or self.grid[0]), float(high or self.grid[-1])

    def learn_group(self, weight: float = 0.15) -> None:
        """Fold the settled count of a visit into who walks in: a meeting room learns that
        groups arrive, a desk that one person does (a floor of the first guess stays)."""
        if self.p_occupied <= 0.5:
            return
        first = _first_guess(self.grid)
        self.enter = [(1 - weight) * e + weight * (0.9 * c + 0.1 * f)
                      for e, c, f in zip(self.enter, self._counts(), first)]
        total = sum(self.enter)
        self.enter = [e / total for e in self.enter]

    def p_still(self) -> float:
        return self.ps

    # -- predict ----------------------------------------------------------------------
    def predict(self, minutes: float, rates: Rates) -> None:
        """Let ``minutes`` pass: people arrive, leave, settle or stir at ``rates``."""
        if minutes > 0:
            self.jump(*moves(minutes, rates))

    def jump(self, arrive: float, leave: float, change: float, settle: float = 0.0, wake: float = 0.0,
             last_out: float = 1.0) -> None:
        """Transition with these probabilities (a door passage is one jump, whatever its duration).

        ``leave``: everybody goes together; ``change``: one more or one fewer;
        ``last_out`` scales the move from one person to nobody (``leave`` is already scaled).
        The count moves lazily (:meth:`_counts`): most steps only need the three states.
        """
        occupied = self.pa + self.ps
        half = change * 0.5
        gone = occupied * (leave + (1.0 - leave) * half * last_out * self.q[0])
        stay = occupied - gone
        entering = self.p0 * arrive
        if half > 0.0:
            self._shift += half
            self._last_out = last_out
        inside = stay + entering
        if inside > 0.0 and entering > 0.0:
            self._mix = 1.0 - (1.0 - self._mix) * (stay / inside)
        if self._shift > 0.2 or self._mix > 0.2:
            self._counts()
        ratio = stay / occupied if occupied > 0.0 else 0.0
        a = self.pa * ratio + entering
        s = self.ps * ratio
        self.pa = a * (1.0 - settle) + s * wake
        self.ps = s * (1.0 - wake) + a * settle
        self.p0 = self.p0 * (1.0 - arrive) + gone

    def _counts(self) -> list[float]:
        """The count distribution, with the moves and arrivals waiting folded in."""
        q = self.q
        half, mix = self._shift, self._mix
        if half > 0.0 and len(q) > 1:
            half = min(half, 0.5)
            k = len(q)
            shifted = [0.0] * k
            last_out = self._last_out
            for j in range(k):
                m = q[j]
                up = m * half if j + 1 < k else 0.0
                down = m * half * (last_out if j == 0 else 1.0)
                shifted[j] += m - up - down
                if up:
                    shifted[j + 1] += up
                if j:
                    shifted[j - 1] += down
            total = sum(shifted)
            if total > 0.0:
                q = [x / total for x in shifted]
        if mix > 0.0:
            q = [(1.0 - mix) * x + mix * e for x, e in zip(q, self.enter)]
        if half > 0.0 or mix > 0.0:
            self.q = q
            self._shift = self._mix = 0.0
            self._motion_scale = None
        return q

    # -- observe ----------------------------------------------------------------------
    def _apply(self, vacant: float, active: float, still: float) -> None:
        """Multiply the three states by their likelihoods and normalise."""
        p0, pa, ps = self.p0 * vacant, self.pa * active, self.ps * still
        total = p0 + pa + ps
        if total <= 0.0 or not math.isfinite(total):
            return  # evidence that no state explains (a broken sensor): keep the prior
        floor = 1e-9  # never certain: a state can always come back
        p0, pa, ps = p0 / total, pa / total, ps / total
        # max(x, floor), without three calls (this runs for every piece of evidence)
        p0, pa, ps = (p0 if p0 >= floor else floor), (pa if pa >= floor else floor), (ps if ps >= floor else floor)
        total = p0 + pa + ps
        self.p0, self.pa, self.ps = p0 / total, pa / total, ps / total

    def _count_evidence(self, lik: list[float]) -> float:
        """Update the count by a likelihood per grid count; returns the occupied likelihood."""
        weighted = [x * w for x, w in zip(self._counts(), lik)]
        total = sum(weighted)
        if total > 0.0 and math.isfinite(total):
            self.q = [v if (v := x / total) >= 1e-12 else 1e-12 for x in weighted]  # max(), without a call
            self._motion_scale = None
        return total

    def observe_motion(self, minutes: float, moved: bool, active: float, still: float, false: float) -> None:
        """Motion (or none) over ``minutes``; rates per minute for active people, still ones, nobody."""
        minutes = max(minutes, 1.0 / 60)
        if self._motion_scale is None:  # more people, more motion (a PIR saturates: up to 4)
            self._motion_scale = sum(map(operator.mul, self.q, _motion_weights(self.grid)))
        scale = self._motion_scale
        key = (minutes, moved, active, still, false, scale)
        cached = self._motion_lik
        if cached is None or cached[0] != key:  # a stretch's equal pieces reuse it
            exp = math.exp
            if moved:
                lik = (1.0 - exp(-false * minutes), 1.0 - exp(-(active * scale + false) * minutes),
                       1.0 - exp(-(still * scale + false) * minutes))
            else:
                lik = (exp(-false * minutes), exp(-(active * scale + false) * minutes),
                       exp(-(still * scale + false) * minutes))
            cached = self._motion_lik = (key, lik)
        self._apply(*cached[1])

    def observe_co2(self, rise: float, hours: float, excess: float, per_person: float, ach: float,
                    noise_var: float, ach_error: float = ACH_ERROR) -> None:
        """The CO2 rose by ``rise`` ppm in ``hours``, ``excess`` ppm above the baseline.

        The mass balance: ``dC/dt = n·per_person − ach·excess`` (``per_person`` =
        G·10⁶/V, ppm per hour per person). The spread allows for the sensor noise
        (twice, a difference of two readings), for air that does not mix at once, for
        the uncertainty of the learned ventilation, for people breathing more or less
        than the nominal G, and for the odd absurd reading (a heavy tail). ``noise_var`` is
        the variance of the measured rise (two block means of noisy readings).
        """
        if hours <= 0:
            return
        base = noise_var + (20.0 * 20.0) * hours + ((ach_error * ach * excess + RATE_ERROR) * hours) ** 2
        # exact over the interval: the excess decays as exp(−ach·t), people add towards
        # their steady state n·per_person/ach
        decay = 1.0 - math.exp(-ach * hours)
        drift = -excess * decay
        effective_h = decay / ach if ach > 0 else hours
        outlier = _OUTLIER
        fit = 1.0 - OUTLIER_SHARE
        vacant = fit * _gauss(rise - drift, base) + outlier
        # _gauss for each count, inlined (a CO2 block of a big venue walks a few dozen counts)
        exp, sqrt = math.exp, math.sqrt
        gap, per_h, spread2 = rise - drift, per_person * effective_h, PERSON_SPREAD * PERSON_SPREAD
        lik = []
        for n in self.grid:
            source = n * per_h
            x = gap - source
            var = base + spread2 * source * source
            lik.append(fit * (exp(-0.5 * x * x / var) / (SQRT_2PI * sqrt(var))) + outlier)
        occupied = self._count_evidence(lik)
        self._apply(vacant, occupied, occupied)

    def observe_factors(self, vacant: float, occupied: float) -> None:
        """Scale nobody by ``vacant`` and every occupied state by ``occupied``."""
        if vacant != occupied:
            self._apply(vacant, occupied, occupied)

    def observe_at_least(self, people: int, factor: float = 0.3, extra: float = 0.5) -> None:
        """Evidence that at least ``people`` are in (distinct badges lately): fewer is less likely."""
        if people <= 0:
            return
        occupied = self._count_evidence(_at_least(self.grid, people, factor, extra))
        self._apply(factor ** people, occupied, occupied)

    # -- persistence ------------------------------------------------------------------
    def to_list(self) -> list[float]:
        return [round(x, 9) for x in (self.p0, self.pa, self.ps, *self._counts())]

    def load(self, values: list[float]) -> None:
        if len(values) == 3 + len(self.q) and all(v >= 0 for v in values) and sum(values[:3]) > 0:
            s = sum(values[:3])
            self.p0, self.pa, self.ps = (v / s for v in values[:3])
            if sum(values[3:]) > 0:
                self.q = [v / sum(values[3:]) for v in values[3:]]
