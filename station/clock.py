"""Clocks: the real one, and an accelerated one for the simulator and `station demo`.

Every component asks its clock for ``now()`` instead of calling ``datetime.now``, so the
whole system can run a simulated day in minutes with consistent timestamps.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone


class Clock:
    """Wall-clock time in UTC."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""
        time.sleep(max(0.0, seconds) / self.speed)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait on ``event`` for ``seconds`` of this clock's time; True if it was set."""
        return event.wait(max(0.0, seconds) / self.speed)


class AcceleratedClock(Clock):
    """Time that starts at ``start`` and runs ``speed`` times faster than the wall clock."""

    def __init__(self, start: datetime, speed: float = 60.0):
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start.astimezone(timezone.utc)
        self.speed = float(speed)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)


def weekday_morning(timezone_name: str, today: datetime | None = None) -> datetime:
    """09:30 local on the latest weekday (today, or the Friday before a weekend): the
    moment ``station demo`` and the simulator start from, so the building is busy."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone_name)
    day = (today or datetime.now(tz)).astimezone(tz).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, datetime.min.time().replace(hour=9, minute=30), tzinfo=tz)
