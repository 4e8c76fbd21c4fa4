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
    judgements = []
    for k in range(0, 120):  # two hours: motion every 7 minutes or so, evaluated every minute
        at = T0 + timedelta(minutes=k)
        if k % 7 == 3:
            ev(engine, ROOM, EventKind.motion, at)
        alive(engine, at)
        judgements += [c.occupied for c in engine.evaluate(at, [SPACE])]
    # a snapshot goes out when the judgement or the rounded headcount changes; the
    # judgement itself changes once, at the first motion
    flips = [b for a, b in zip([False] + judgements, judgements) if a != b]
    assert flips == [True]


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
    state = judged(engine, T0 + timedelta(minutes=2))
    assert 3.0 <= state.people_estimate < 3.5  # three badges; maybe someone came in on another's
    assert state.people_low <= 3 <= state.people_high


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
    for at, ppm in co2_readings(5, 21):
        engine.on_telemetry(Telemetry(node=ROOM, space=SPACE, co2_ppm=ppm, ts=at))
    state = judged(engine, T0 + timedelta(minutes=20))  # four 5-minute blocks of the mass balance
    assert state.occupied is True and state.people_estimate == pytest.approx(5, abs=0.5)
    assert state.people_low <= 5 <= state.people_high
    assert "CO2 rising" in state.snapshot(T0 + timedelta(minutes=20)).reason


def test_reason_says_why_a_space_is_judged_occupied(engine):
    ev(engine, ROOM, EventKind.motion, T0)
    alive(engine, T0 + timedelta(minutes=2))
    snapshot = judged(engine, T0 + timedelta(minutes=2)).snapshot(T0 + timedelta(minutes=2))
    assert snapshot.occupied is True
    assert "motion 2 min ago" in snapshot.reason and len(snapshot.reason) <= 200
    assert 0.5 < snapshot.confidence <= 1.0


def _learned_engine(inventory):
    """An engine that has watched two simulated days of salle-aiguillage (rows, as occupancy-eval feeds them)."""
    from datetime import date

    from collector.evaluate import Row
    from edge.simulator.recording import recording

    engine = OccupancyEngine(inventory)
    state = engine.spaces[SPACE]
    for s in recording(inventory, SPACE, date(2026, 3, 2), 2, seed=3, sensor_offset_ppm=60.0):
        row = Row(s.at, int(s.people > 0), s.people, s.co2_ppm, s.light_lux)
        engine.add_reading(state, row.at, row.co2, row.light)
        engine.step(state, row.at)
        engine.judge(state, row.at, check_alive=False)
    return engine


def test_what_the_engine_learned_survives_a_restart(inventory, tmp_path):
    import json

    from collector.occupancy.store import MODEL_FILE, load_model, save_model

    engine = _learned_engine(inventory)
    air, lamps = engine.spaces[SPACE].air, engine.spaces[SPACE].lamps
    assert air.c0 > 440 and air.decays > 0 and lamps.level is not None  # it did learn: a sensor 60 ppm high
    path = tmp_path / MODEL_FILE
    save_model(engine, path)
    fresh = OccupancyEngine(inventory)
    assert load_model(fresh, path) == len(fresh.spaces)
    again = fresh.spaces[SPACE]
    assert (again.air.c0, again.air.ach, again.lamps.level) == (air.c0, air.ach, lamps.level)
    assert again.air.ventilation_at(T0) == pytest.approx(air.ventilation_at(T0), rel=1e-3)
    assert again.belief.enter == pytest.approx(engine.spaces[SPACE].belief.enter, abs=1e-5)
    assert json.loads(path.read_text())["version"] == 1


def test_an_unreadable_model_file_is_set_aside_and_the_engine_starts_afresh(inventory, tmp_path):
    from collector.occupancy.store import MODEL_FILE, load_model

    path = tmp_path / MODEL_FILE
    path.write_text('{"version": 1, "spaces": {"salle-aiguillage": {"air": {"c0": "high"}}}}')
    engine = OccupancyEngine(inventory)
    assert load_model(engine, path) == 0
    assert not path.exists() and (tmp_path / "occupancy-model.bad").exists()
    assert engine.spaces[SPACE].air.c0 is None  # first guesses, as on a first start


def test_the_collector_loads_the_model_at_start_and_saves_it_at_stop(inventory, tmp_path):
    from collector.occupancy.store import MODEL_FILE, save_model
    from collector.service import Collector
    from station.mqtt import MqttSettings

    state_dir = tmp_path / "state"
    state_dir.mkdir()
    learned = _learned_engine(inventory)
    save_model(learned, state_dir / MODEL_FILE)
    collector = Collector(inventory, MqttSettings(port=1), client_id="collector-model", state_dir=state_dir)
    try:
        assert collector.engine.spaces[SPACE].air.c0 == learned.spaces[SPACE].air.c0
        collector.engine.spaces[SPACE].air.c0 = 499.0  # learned more while running
        collector._save_model()  # what the tick does every 10 minutes and stop() at the end
    finally:
        collector.history.close()
        collector.dead_letters.close()
    fresh = OccupancyEngine(inventory)
    from collector.occupancy.store import load_model

    load_model(fresh, state_dir / MODEL_FILE)
    assert fresh.spaces[SPACE].air.c0 == 499.0


def test_evidence_at_the_instant_of_the_last_judgement_is_still_judged(engine):
    """A clock that stands still (a test's manual clock, a burst within one tick): a door and
    a motion stamped at the same instant as the judgement before still count."""
    assert judged(engine, T0).occupied is False
    ev(engine, DOOR_NODE, EventKind.door_opened, T0)
    ev(engine, ROOM, EventKind.motion, T0)
    assert [c.occupied for c in engine.evaluate(T0, [SPACE])] == [True]
