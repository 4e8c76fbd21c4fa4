"""A reading heard twice (redelivered after a reconnect: telemetry has no id to deduplicate
by) or late (an outbox replay) says nothing new to the occupancy engine.

Before, the lamp learner took a redelivered light reading as the next reading confirming
its own step: one sunny reading in an empty room, delivered twice, read as "lamps
switched on" — the room judged occupied (0.97) — and taught the learner a lamp level.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from collector.service import Collector
from station.contract import Telemetry, topics

SITE, NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"


def an_empty_room_with_one_sunny_reading(c: Collector, *, again: str | None) -> list:
    """40 minutes of an empty, dark room; at minute 20 the sun through a gap in the clouds
    for one reading. ``again``: that reading heard twice ("redelivered"), or an older
    reading heard after it ("late"). Returns what the engine judged each minute."""
    judged, sent = [], []
    for minute in range(40):
        now = c.clock.advance(minutes=1)
        lux = 400.0 if minute == 20 else 5.0
        payload = Telemetry(node=NODE, space=SPACE, co2_ppm=420, light_lux=lux, ts=now).to_json()
        c.handle(topics.node_telemetry(SITE, NODE), payload)
        sent.append(payload)
        if minute == 20 and again == "redelivered":
            c.handle(topics.node_telemetry(SITE, NODE), payload)
        if minute == 20 and again == "late":
            c.handle(topics.node_telemetry(SITE, NODE),
                     Telemetry(node=NODE, space=SPACE, light_lux=400.0, ts=now - timedelta(seconds=30)).to_json())
        c.store.run_pending()
        c.judge_touched()
        state = c.engine.spaces[SPACE]
        judged.append((state.occupied, round(state.p_occupied, 3), state.lamps.on, state.lamps.level))
    return judged


@pytest.mark.parametrize("again", ["redelivered", "late"])
def test_a_light_reading_heard_again_changes_no_judgement(make_collector, again):
    once = an_empty_room_with_one_sunny_reading(make_collector(), again=None)
    twice = an_empty_room_with_one_sunny_reading(make_collector(), again=again)
    assert all(occupied is False for occupied, *_ in twice[5:])
    assert twice == once
