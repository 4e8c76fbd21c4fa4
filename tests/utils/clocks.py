"""Clocks for tests: one moved by hand, one at wall speed from a chosen moment."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from station.clock import Clock

#: A Wednesday, 10:00 in Saint-Omer (CEST): La Station is open 08:00-20:00.
WEDNESDAY_10H = datetime(2026, 6, 10, 8, 0, tzinfo=timezone.utc)


class ManualClock(Clock):
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = WEDNESDAY_10H):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


class FromClock(Clock):
    """Wall-clock time, but starting at ``start`` (bookings need opening hours); ``jump`` moves it on."""

    def __init__(self, start: datetime = WEDNESDAY_10H):
        self._offset = start - datetime.now(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(timezone.utc) + self._offset

    def jump(self, **delta) -> None:
        with self._lock:
            self._offset += timedelta(**delta)
