"""Retention in the history: person-linked events past their horizon become per-day counts.

An ``event`` point of kind ``access_granted`` / ``access_denied`` carries a door, a time to
the nanosecond and the event's id: joined with a booking or the audit log it says who went
where. Past ``access_events_days`` (three months, CNIL n° 42) each is folded into an
``access_daily`` point — one per day (00:00 UTC), site, space, door and kind, ``count``
events — and deleted. Counts per day stay exactly what they were; the movement is gone.

Whole days only (:func:`station.privacy.day_floor`), so a day is counted once from all of
its events; a late event of a day already folded adds to that day's count. Both stores
implement ``forget_people(before)`` (returns events folded) and ``held()`` (per
measurement: rows, oldest point).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from station.privacy import PERSON_EVENT_KINDS

ROLLUP = "access_daily"
ROLLUP_TAGS = ("site", "space", "door", "kind")
DAY_NS = 86_400 * 1_000_000_000


def fold(events, existing: dict | None = None) -> Counter:
    """``events``: (time_ns, tags) of person-linked events → {(day_ns, tag values…): count},
    added to ``existing`` counts of the same keys."""
    out: Counter = Counter(existing or {})
    for ns, tags in events:
        out[(ns // DAY_NS * DAY_NS, *(tags.get(k) or "" for k in ROLLUP_TAGS))] += 1
    return out


def rollup_tags(key) -> dict[str, str]:
    return {k: v for k, v in zip(ROLLUP_TAGS, key[1:]) if v}


__all__ = ["PERSON_EVENT_KINDS", "ROLLUP", "ROLLUP_TAGS", "DAY_NS", "fold", "rollup_tags", "datetime"]
