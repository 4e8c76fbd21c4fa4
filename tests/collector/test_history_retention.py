"""Retention in the history (SQLite file and a real InfluxDB 1.x): person-linked events past
their horizon become per-day counts; everything else, and every count, is unchanged."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone


from station.history import Point

NOW = datetime(2026, 9, 15, 13, 30, tzinfo=timezone.utc)
OLD_DAY = datetime(2026, 5, 4, tzinfo=timezone.utc)  # 134 days before NOW
RECENT = NOW - timedelta(days=10)
DOOR, SPACE, NODE = "porte-salle-aiguillage", "salle-aiguillage", "ls-porte-salle-aiguillage"


def event(at: datetime, kind: str, n: int) -> Point:
    return Point("event", {"site": "la-station", "node": NODE, "kind": kind, "space": SPACE, "door": DOOR},
                 {"seq": n, "count": 1, "id": f"ev-{kind}-{n}"}, at)


def points() -> list[Point]:
    out = []
    n = itertools.count()
    for day, per in ((OLD_DAY, 3), (OLD_DAY + timedelta(days=1), 2), (RECENT, 4)):
        for k in range(per):
            out.append(event(day + timedelta(hours=8, minutes=k), "access_granted", next(n)))
        out.append(event(day + timedelta(hours=9), "access_denied", next(n)))
        out.append(event(day + timedelta(hours=10), "door_opened", next(n)))  # no person: kept
        out.append(Point("occupancy", {"site": "la-station", "space": SPACE},
                         {"occupied": 1, "people_estimate": 3.0}, day + timedelta(hours=8)))
    return out


def daily(history, kind: str, start: datetime, days: int) -> list[float | None]:
    return [v for _, v in history.series(SPACE, "access_daily", "count", start, start + timedelta(days=days),
                                         timedelta(days=1), "sum")]


def test_person_linked_events_past_the_horizon_become_daily_counts(history):
    history.write(points())
    granted_before = history.series(SPACE, "event", "count", OLD_DAY, NOW, timedelta(days=1), "sum")
    occupancy_before = history.series(SPACE, "occupancy", "people_estimate", OLD_DAY, NOW, timedelta(days=1))

    folded = history.forget_people(NOW - timedelta(days=92))

    assert folded == 3 + 1 + 2 + 1  # the old days' access events, not the recent ones
    held = {what: (n, oldest) for what, n, oldest in history.held()}
    person = next(k for k in held if k.startswith("event (person-linked"))
    assert held[person][0] == 4 + 1 and held[person][1] == RECENT + timedelta(hours=8)
    assert held["event (other kinds)"][0] == 3  # door_opened points are untouched
    assert held["access_daily"][0] == 4  # two days × (granted, denied)
    # the old days: per-day counts exactly what the events were, in access_daily
    assert daily(history, "access_granted", OLD_DAY, 2) == [4, 3]  # (3 granted + 1 denied), (2 + 1)
    # events of the recent days are untouched and every aggregate without a person too
    after = history.series(SPACE, "event", "count", OLD_DAY, NOW, timedelta(days=1), "sum")
    for (t, v0), (_, v1) in zip(granted_before, after):
        if t < OLD_DAY + timedelta(days=2):
            assert v1 == (1 if v0 else v0)  # only the door_opened point is left
        else:
            assert v1 == v0
    assert history.series(SPACE, "occupancy", "people_estimate", OLD_DAY, NOW, timedelta(days=1)) == occupancy_before

    assert history.forget_people(NOW - timedelta(days=92)) == 0  # idempotent
    assert daily(history, "access_granted", OLD_DAY, 2) == [4, 3]


def test_a_late_event_of_a_folded_day_adds_to_its_count(history):
    history.write(points())
    history.forget_people(NOW - timedelta(days=92))
    history.write([event(OLD_DAY + timedelta(hours=15), "access_granted", 999)])  # replayed from a node's outbox
    assert history.forget_people(NOW - timedelta(days=92)) == 1
    assert daily(history, "access_granted", OLD_DAY, 2) == [5, 3]


def test_only_whole_days_are_folded(history):
    history.write(points())
    # a horizon in the middle of the second old day: that day waits for the next sweep
    assert history.forget_people(OLD_DAY + timedelta(days=1, hours=8, minutes=1)) == 4
    assert daily(history, "access_granted", OLD_DAY, 2) == [4, None]
