"""The occupancy engine in a process of its own (``engine_process``, what ``station
collector run`` uses): the same judgements as in the collector's process, and a dead or
stalled engine process costs judgements for a moment, never the collector."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest

from collector.occupancy.worker import EngineProcess, EngineUnavailable
from collector.service import Collector
from station.contract import EventKind, NodeEvent, Telemetry, topics
from tests.utils.clocks import ManualClock

SITE, NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"


def a_meeting(c: Collector, minutes: range, seq: list[int]) -> list:
    """Minutes of salle-aiguillage: people from minute 10 to 60 (door, lamps, motion, CO2
    rising), then an empty room airing out. Returns the judgement every 5 minutes."""
    judged = []
    co2 = 430.0
    for minute in minutes:
        now = c.clock.advance(minutes=1)
        inside = 10 <= minute < 60
        co2 = co2 + 25 if inside else 430 + (co2 - 430) * 0.9
        c.handle(topics.node_telemetry(SITE, NODE),
                 Telemetry(node=NODE, space=SPACE, co2_ppm=round(co2, 1), light_lux=450.0 if inside else 8.0,
                           ts=now).to_json())
        if inside and minute % 2 == 0:
            seq[0] += 1
            c.handle(topics.node_events(SITE, NODE),
                     NodeEvent(id=f"evt-proc-{seq[0]:06d}", seq=seq[0], node=NODE, kind=EventKind.motion,
                               space=SPACE, ts=now + timedelta(seconds=20)).to_json())
        c.store.run_pending()
        c.judge_touched()
        if minute % 5 == 4:
            judged.append([s.model_dump(exclude={"ts"}) for s in c.engine.snapshots(now, [SPACE])])
    return judged


def test_an_engine_in_its_own_process_judges_as_the_one_in_the_collectors(make_collector):
    here, apart = make_collector(False), make_collector(True)
    assert isinstance(apart.engine, EngineProcess) and apart.engine.pid != os.getpid()
    judged_here = a_meeting(here, range(120), [0])
    judged_apart = a_meeting(apart, range(120), [0])
    occupied = [j[0]["occupied"] for j in judged_here]
    assert True in occupied and occupied[-1] is False  # the meeting was seen, and its end
    assert judged_apart == judged_here
    assert apart.engine.state_dict() == here.engine.state_dict()


def test_a_killed_engine_process_is_replaced_and_starts_from_what_was_learned(make_collector):
    c = make_collector(True)
    seq = [0]
    a_meeting(c, range(70), seq)
    learned = c.engine.state_dict()  # what the tick saves every few minutes
    old = c.engine.pid
    os.kill(old, signal.SIGKILL)
    time.sleep(0.2)
    judged = a_meeting(c, range(70, 120), seq)  # the first judgement after the kill is lost, not the collector
    assert c.engine.pid not in (None, old)
    assert c.metrics.registry.get_sample_value("station_collector_engine_restarts_total") == 1
    assert judged and judged[-1][0]["occupied"] is False
    restored = c.engine.state_dict()["spaces"][SPACE]
    assert restored["air"]["c0"] is not None and learned["spaces"][SPACE]["air"]["decays"] <= restored["air"]["decays"]
    assert c.history.count("telemetry") == 120  # every message stored, whatever the engine did


def test_a_stalled_engine_process_counts_as_dead(inventory):
    engine = EngineProcess(inventory, timeout_s=1.0)
    try:
        stalled = engine.pid
        os.kill(stalled, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(EngineUnavailable):
            engine.evaluate(ManualClock().now(), [SPACE])
        assert time.monotonic() - started < 5
        assert engine.restarts == 1 and engine.pid != stalled
        assert engine.evaluate(ManualClock().now(), [SPACE]) == []  # the new one answers
    finally:
        engine.close()


def test_stop_saves_what_the_engine_process_learned_and_ends_it(make_collector):
    c = make_collector(True, state="kept")
    a_meeting(c, range(90), [0])
    pid = c.engine.pid
    learned = c.engine.state_dict()
    c.stop()
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()
    again = make_collector(True, state="kept")
    assert again.engine.state_dict() == learned


def test_a_bad_saved_model_is_set_aside_with_the_engine_in_its_own_process(make_collector, tmp_path):
    state = tmp_path / "bad"
    state.mkdir(mode=0o700)
    (state / "occupancy-model.json").write_text('{"version": 1, "spaces": {"salle-aiguillage": {"air": {"c0": "x"}}}}')
    c = make_collector(True, state="bad")
    assert (state / "occupancy-model.bad").exists()
    assert c.engine.state_dict()["spaces"][SPACE]["air"]["c0"] is None


def test_the_engine_process_leaves_ctrl_c_to_the_collector(make_collector):
    """A terminal's Ctrl-C reaches the whole process group: the engine process must outlive
    it, so that the collector can still save what it learned and stop it."""
    c = make_collector(True)
    a_meeting(c, range(30), [0])
    pid = c.engine.pid
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    assert c.engine.state_dict()["spaces"][SPACE]["air"]["c0"] is not None
    assert c.engine.pid == pid and c.engine.restarts == 0


@pytest.mark.parametrize("engine_process", [False, True], ids=["in-process", "own-process"])
def test_a_judgement_that_fails_does_not_stop_storing(make_collector, engine_process):
    """The store thread judges after each batch: an engine bug there once stopped the
    thread for good (nothing stored or acknowledged after it)."""
    c = make_collector(engine_process)
    evaluate = c.engine.evaluate
    failures = []

    def broken(now, spaces=None):
        if not failures:
            failures.append(now)
            raise ZeroDivisionError("a bug in a judgement")
        return evaluate(now, spaces)
    c.engine.evaluate = broken
    c.store.start()
    try:
        for minute in range(3):
            now = c.clock.advance(minutes=1)
            c.handle(topics.node_telemetry(SITE, NODE),
                     Telemetry(node=NODE, space=SPACE, co2_ppm=500.0, light_lux=300.0, ts=now).to_json())
            deadline = time.monotonic() + 10
            while c.history.count("telemetry") < minute + 1 and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        c.store.stop(2.0)
    assert failures and c.history.count("telemetry") == 3


def test_without_a_process_to_be_had_the_engine_runs_in_the_collectors(make_collector, monkeypatch, caplog):
    import collector.service

    def no_process(*a, **kw):
        raise OSError(24, "Too many open files")
    monkeypatch.setattr(collector.service, "EngineProcess", no_process)
    c = make_collector(True)
    assert not isinstance(c.engine, EngineProcess)
    assert "runs in the collector's process" in caplog.text
    judged = a_meeting(c, range(70), [0])
    assert True in [j[0]["occupied"] for j in judged]


def test_messages_handled_without_a_judgement_do_not_pile_up(make_collector):
    c = make_collector(False)
    start = c.clock.now()
    for k in range(Collector.FEED_EVERY * 20 + 5):
        c.handle(topics.node_telemetry(SITE, NODE),
                 Telemetry(node=NODE, space=SPACE, co2_ppm=500.0, ts=c.clock.advance(seconds=1)).to_json())
        if k % 1000 == 0:
            c.store.run_pending()
    assert len(c._heard) < Collector.FEED_EVERY * 20
    assert c.engine.spaces[SPACE].co2_at >= start + timedelta(seconds=Collector.FEED_EVERY * 20)
