"""A node whose clock runs fast: its messages are accepted (up to a day ahead, the contract's
tolerance) and stored at their own ``ts``, but the occupancy engine hears them at the
collector's time. Heard at their own time, one reading stamped 23 h ahead moved the
space's evidence a day into the future: every real reading after it was older, so
ignored, and the judgement froze ("occupied") until the clock caught up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from collector.service import Collector
from station.contract import EventKind, NodeEvent, Telemetry, topics
from station.mqtt import MqttSettings
from tests.utils.clocks import ManualClock

SITE, NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"


@pytest.fixture()
def collector(inventory, tmp_path):
    clock = ManualClock()
    c = Collector(inventory, MqttSettings(port=1), client_id="collector-fast-clock", state_dir=tmp_path / "state",
                  clock=clock)
    yield c
    c.history.close()
    c.dead_letters.close()
    c.seen.close()


def a_meeting(collector: Collector, fast_by: timedelta | None) -> list[tuple[int, bool | None]]:
    """Four people for an hour (CO2 rising, motion), then nobody for two hours; at the
    meeting's 30th minute one reading and one motion event from a clock ``fast_by`` ahead.
    Returns (minute, occupied) every 15 minutes."""
    clock, seq, co2, judged = collector.clock, 0, 420.0, []

    def send(message, channel):
        collector.handle(channel(SITE, NODE), message.to_json())

    for minute in range(180):
        now = clock.advance(minutes=1)
        if minute < 60:
            co2 += 40
            seq += 1
            send(NodeEvent(id=f"evt-fast-{seq:06d}", seq=seq, node=NODE, kind=EventKind.motion, space=SPACE, ts=now),
                 topics.node_events)
        else:
            co2 = 420 + (co2 - 420) * 0.95
        send(Telemetry(node=NODE, space=SPACE, co2_ppm=co2, ts=now), topics.node_telemetry)
        if fast_by is not None and minute == 30:
            send(Telemetry(node=NODE, space=SPACE, co2_ppm=co2, ts=now + fast_by), topics.node_telemetry)
            seq += 1
            send(NodeEvent(id=f"evt-fast-{seq:06d}", seq=seq, node=NODE, kind=EventKind.motion, space=SPACE,
                           ts=now + fast_by), topics.node_events)
        collector.store.run_pending()
        collector.judge_touched()
        if minute % 15 == 14:
            judged.append((minute + 1, collector.engine.spaces[SPACE].occupied))
    return judged


def test_a_reading_from_a_fast_clock_does_not_freeze_the_judgement_of_its_space(collector):
    judged = dict(a_meeting(collector, fast_by=timedelta(hours=23)))
    assert judged[45] is True and judged[60] is True  # the meeting
    assert [judged[m] for m in (150, 165, 180)] == [False, False, False]  # they left: vacant again
    assert sum(collector.rejected.values()) == 0  # accepted (a day of skew is the contract's tolerance) …
    ahead = collector.metrics.registry.get_sample_value("station_collector_clock_ahead_total", {"node": NODE})
    assert ahead == 2  # … and counted as a fast clock


def test_the_fast_reading_is_stored_at_its_own_time(collector):
    start = collector.clock.now()
    a_meeting(collector, fast_by=timedelta(hours=23))
    later = start + timedelta(hours=23)
    values = collector.history.series(SPACE, "telemetry", "co2_ppm", later, later + timedelta(hours=1),
                                      timedelta(hours=1), "count")
    assert [v for _, v in values] == [1]  # written as sent: a redelivery rewrites the same point
