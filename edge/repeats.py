"""Reports of a thing that repeats, at most one per period, each naming how many were not.

Every event a node emits goes to its outbox and, with the network cut, stays there until
the broker is back. Noise sent down a reader's wires, or taps on a locked-out reader or
on a machine's reader, for hours, must not fill it: the ``door_forced`` that follows
would be refused. Those repeats are counted always, reported at once the first time,
then at most once every ``every_s`` seconds with the count of those in between.

    >>> repeats = RepeatedReports(10.0, now=lambda: 0.0)
    >>> repeats.report("reader_error"), repeats.report("reader_error")
    (0, None)
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class RepeatedReports:
    """``report(kind)``: report this one? Unreported count since the last report, or None."""

    def __init__(self, every_s: float, *, now: Callable[[], float] = time.monotonic):
        self.every_s = every_s
        self._now = now  # a monotonic counter: a wall clock set back must not silence reports
        self._last: dict[str, tuple[float, int]] = {}  # kind -> (last reported, not reported since)
        self._lock = threading.Lock()

    def report(self, kind: str) -> int | None:
        with self._lock:
            now = self._now()
            last, unreported = self._last.get(kind, (None, 0))
            if last is not None and now - last < self.every_s:
                self._last[kind] = (last, unreported + 1)
                return None
            self._last[kind] = (now, 0)
            return unreported


def since_last_report(unreported: int) -> str:
    """What a reason gets appended: how many of the same were not reported since the last."""
    return f" ({unreported} more since the last report)" if unreported else ""
