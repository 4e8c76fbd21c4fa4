"""The occupancy engine's rules, one situation at a time (clock-free: every input carries its time)."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from collector.co2 import fit_co2, predict, who_stayed
from collector.engine import OccupancyEngine
from station.contract import EventKind, NodeEvent, Telemetry

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SPACE, ROOM, DOOR_NODE, DOOR = "salle-aiguillage", "ls-salle-salle-aiguillage", "ls-porte-salle-aiguillage", None
_ids = itertools.count()


def ev(engine, node, kind, at, **kw):
    n = next(_ids)
    engine.on_event(NodeEvent(id=f"evt-test-{n:08d}", seq=n, node=node, kind=kind, ts=at, space=SPACE, **kw))


def alive(engine, at):
    engine.on_status(ROOM, True, at)
    engine.on_status(DOOR_NODE, True, at)


def judged(engine, at):
    engine.evaluate(at)
    return engine.spaces[SPACE]


@pytest.fixture()
def engine(inventory):
    e = OccupancyEngine(inventory)
    alive(e, T0)
    return e


def test_space_with_quiet_nodes_and_no_events_is_vacant(engine):
    assert judged(engine, T0 + timedelta(minutes=1)).occupied is False


def test_people_sitting_still_behind_a_closed_door_stay_occupied(engine):
    ev(engine, DOOR_NODE, EventKind.door_opened, T0)
    ev(engine, DOOR_NODE, EventKind.door_closed, T0 + timedelta(seconds=8))
    ev(engine, ROOM, EventKind.motion, T0 + timedelta(minutes=1))
    for minute in range(2, 90, 5):  # an hour and a half without a single motion
        alive(engine, T0 + timedelta(minutes=minute))
        assert judged(engine, T0 + timedelta(minutes=minute)).occupied is True


def test_door_passage_without_motion_afterwards_empties_the_space_after_the_grace(engine):
    ev(engine, ROOM, EventKind.motion, T0)
    ev(engine, DOOR_NODE, EventKind.door_opened, T0 + timedelta(minutes=30))
    ev(engine, DOOR_NODE, EventKind.door_closed, T0 + timedelta(minutes=30, seconds=6))
    alive(engine, T0 + timedelta(minutes=31))
    assert judged(engine, T0 + timedelta(minutes=31)).occupied is True  # within the grace: maybe someone stayed
    alive(engine, T0 + timedelta(minutes=33))
    state = judged(engine, T0 + timedelta(minutes=33))
    assert state.occupied is False and state.since == T0 + timedelta(minutes=33)


def test_judgement_does_not_flicker_while_people_move_now_and_then(engine):
    ev(engine, DOOR_NODE, EventKind.door_opened, T0)
    changes = 0
    for k in range(0, 120):  # two hours: motion every 7 minutes or so, evaluated every minute
        at = T0 + timedelta(minutes=k)
        if k % 7 == 3:
            ev(engine, ROOM, EventKind.motion, at)
        alive(engine, at)
        changes += len(engine.evaluate(at, [SPACE]))
    assert changes == 1


def test_space_becomes_unknown_when_its_nodes_go_offline_or_silent(engine, inventory):
    ev(engine, ROOM, EventKind.motion, T0)
    assert judged(engine, T0).occupied is True
    engine.on_status(ROOM, False, T0 + timedelta(minutes=1))
    engine.on_status(DOOR_NODE, False, T0 + timedelta(minutes=1))
    changed = engine.evaluate(T0 + timedelta(minutes=1))
    assert [c.occupied for c in changed if c.room == SPACE] == [None]
    silent = OccupancyEngine(inventory)
    alive(silent, T0)
    assert judged(silent, T0 + timedelta(minutes=4)).occupied is False
    assert judged(silent, T0 + timedelta(minutes=6)).occupied is None  # unknown_after = 5 min


def test_badges_granted_at_the_door_raise_the_people_estimate(engine):
    for k in range(3):
        ev(engine, DOOR_NODE, EventKind.access_granted, T0 + timedelta(seconds=k * 20), door="porte-salle-aiguillage",
           credential_hash=f"{k:064x}")
    ev(engine, ROOM, EventKind.motion, T0 + timedelta(minutes=1))
    assert judged(engine, T0 + timedelta(minutes=2)).people_estimate == 3.0


def co2_readings(people: float, minutes: int, start_ppm: float = 450.0, volume: float = 61.6, ach: float = 2.0):
    return [(T0 + timedelta(minutes=m), predict(start_ppm, people, m / 60, volume, ach)) for m in range(minutes)]


@pytest.mark.parametrize("people", [0, 1, 4, 8])
def test_co2_mass_balance_counts_the_people_of_a_clean_signal(people):
    fit = fit_co2(co2_readings(people, 8), volume_m3=61.6, ventilation_ach=2.0)
    assert fit.people == pytest.approx(people, abs=0.3)


def test_co2_after_a_passage_tells_who_stayed():
    before = fit_co2(co2_readings(6, 8), 61.6, 2.0)
    door = T0 + timedelta(minutes=7)
    level = before.level_at(door)
    left = [(door + timedelta(minutes=m), predict(level, 0, m / 60, 61.6, 2.0)) for m in (1, 2)]
    stayed = [(door + timedelta(minutes=m), predict(level, 5, m / 60, 61.6, 2.0)) for m in (1, 2)]
    assert who_stayed(before, door, left, 61.6, 2.0) is False
    assert who_stayed(before, door, stayed, 61.6, 2.0) is True


def test_telemetry_feeds_the_people_estimate_while_occupied(engine):
    ev(engine, ROOM, EventKind.motion, T0)
    for at, ppm in co2_readings(5, 9, start_ppm=900.0):
        engine.on_telemetry(Telemetry(node=ROOM, space=SPACE, co2_ppm=ppm, ts=at))
    state = judged(engine, T0 + timedelta(minutes=8))
    assert state.occupied is True and state.people_estimate == pytest.approx(5, abs=0.5)
