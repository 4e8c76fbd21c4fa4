"""People from CO2: the mass balance of a ventilated room, read backwards.

A room of volume ``V`` (m³), ventilated at ``ACH`` air changes per hour, with ``n``
people each breathing out ``G`` ≈ 0.018 m³/h of CO2, follows::

    dC/dt = n · G / V · 10⁶  −  ACH · (C − C_out)          [ppm per hour]

so, from the readings::

    n = V / (G · 10⁶) · (dC/dt + ACH · (C − C_out))

``dC/dt`` and ``C`` come from a least-squares line through the readings of a short
window (a few minutes), which averages the sensor's noise; the estimate is read at the
window's middle, where the line is most certain. Steady-state formulas (``dC/dt = 0``)
lag by the room's time constant (1/ACH, often half an hour); this one does not.

After a door passage, :func:`who_stayed` asks which of two stories the readings since
then follow better: "everyone left" (pure decay) or "all but one stayed".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

CO2_OUTDOOR_PPM = 420.0
CO2_PER_PERSON_M3_H = 0.018
MIN_READINGS = 5


@dataclass(frozen=True)
class Co2Fit:
    """A line through CO2 readings, read as people."""

    people: float  # estimate (clipped at 0)
    error: float  # its standard error
    slope: float  # ppm per hour
    level: float  # ppm at ``at``
    at: datetime  # the mean time of the readings
    scatter: float  # ppm, readings around the line

    @property
    def lower(self) -> float:
        """A cautious figure: two standard errors below the estimate."""
        return self.people - 2 * self.error

    def level_at(self, when: datetime) -> float:
        return self.level + self.slope * (when - self.at).total_seconds() / 3600.0


def fit_co2(readings: list[tuple[datetime, float]], volume_m3: float, ventilation_ach: float,
            outdoor_ppm: float = CO2_OUTDOOR_PPM, min_span_s: float = 240.0,
            min_readings: int = MIN_READINGS) -> Co2Fit | None:
    """Fit ``readings`` (time, ppm); None with too few of them or spanning less than ``min_span_s``.

    The error comes from the scatter of the readings around their line, so a noisy
    sensor in a large room says "I cannot tell" instead of inventing people.
    """
    n = len(readings)
    if n < max(3, min_readings) or (readings[-1][0] - readings[0][0]).total_seconds() < min_span_s:
        return None
    t0 = readings[0][0]
    xs = [(at - t0).total_seconds() / 3600.0 for at, _ in readings]
    ys = [ppm for _, ppm in readings]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    residuals = [y - (my + slope * (x - mx)) for x, y in zip(xs, ys)]
    scatter = max(2.0, (sum(r * r for r in residuals) / (n - 2)) ** 0.5)  # sensors resolve ~1-2 ppm
    per_ppm_h = volume_m3 / (CO2_PER_PERSON_M3_H * 1e6)
    people = per_ppm_h * (slope + ventilation_ach * (my - outdoor_ppm))
    error = per_ppm_h * scatter * (1 / sxx + ventilation_ach ** 2 / n) ** 0.5
    from datetime import timedelta

    return Co2Fit(max(0.0, people), error, slope, my, t0 + timedelta(hours=mx), scatter)


def people_from_co2(readings: list[tuple[datetime, float]], volume_m3: float, ventilation_ach: float,
                    **kw) -> tuple[float, float] | None:
    """(people, standard error) for ``readings``, or None (see :func:`fit_co2`)."""
    fit = fit_co2(readings, volume_m3, ventilation_ach, **kw)
    return None if fit is None else (fit.people, fit.error)


def predict(start_ppm: float, people: float, hours: float, volume_m3: float, ventilation_ach: float,
            outdoor_ppm: float = CO2_OUTDOOR_PPM) -> float:
    """CO2 after ``hours`` with ``people`` in the room, from ``start_ppm`` (the balance, solved)."""
    steady = outdoor_ppm + people * CO2_PER_PERSON_M3_H / (volume_m3 * ventilation_ach) * 1e6
    return steady + (start_ppm - steady) * math.exp(-ventilation_ach * hours)


def who_stayed(before: Co2Fit, door_at: datetime, after: list[tuple[datetime, float]], volume_m3: float,
               ventilation_ach: float, outdoor_ppm: float = CO2_OUTDOOR_PPM) -> bool | None:
    """After a passage, do the readings say people stayed? None while they cannot tell.

    Compares "nobody stayed" with "all but one of the ``before.people`` stayed",
    both started from the level the line before the door reached at the door.
    """
    if not after or before.people < 2:
        return None
    start = before.level_at(door_at)
    stayed = before.people - 1
    sse_empty = sse_stayed = 0.0
    for at, ppm in after:
        hours = (at - door_at).total_seconds() / 3600.0
        sse_empty += (ppm - predict(start, 0.0, hours, volume_m3, ventilation_ach, outdoor_ppm)) ** 2
        sse_stayed += (ppm - predict(start, stayed, hours, volume_m3, ventilation_ach, outdoor_ppm)) ** 2
    log_ratio = (sse_empty - sse_stayed) / (2 * before.scatter ** 2)
    if abs(log_ratio) < 1.0:  # less than e:1 either way
        return None
    return log_ratio > 0
