"""Integers beyond what the stores hold (64-bit) are refused on receipt, on either store.

JSON numbers have no size: ``"seq": 1e400`` is refused as not finite, but the integer
``"seq": 100…0`` (400 digits) is a Python int. Accepted, it reaches a store that cannot
hold it (InfluxDB 1.x: ``value out of range``, the message then refused by the store and
the batch split to find it; SQLite keeps the JSON and a series
over it reads back ``inf``). The contract refuses it first, as any out-of-range field.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from station.contract import topics

SITE, NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"
DOOR_NODE, DOOR = "ls-porte-salle-aiguillage", "porte-salle-aiguillage"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
BEYOND = {"2**63": 2**63, "10**19": 10**19, "10**400": 10**400}


def event_payload(seq, k: int = 0) -> bytes:
    return json.dumps({"v": 1, "ts": (T0 + timedelta(seconds=k)).isoformat(), "id": f"evt-counter-{k:04d}",
                       "seq": seq, "node": NODE, "kind": "motion", "space": SPACE}).encode()


def status_payload(k: int = 0, **fields) -> bytes:
    return json.dumps({"v": 1, "ts": (T0 + timedelta(seconds=k)).isoformat(), "node": DOOR_NODE,
                       "state": "online", **fields}).encode()


@pytest.fixture()
def collector(unconnected_collector):
    return unconnected_collector


def cases():
    for label, value in BEYOND.items():
        yield f"seq={label}", topics.node_events(SITE, NODE), event_payload(value)
        yield f"outbox_depth={label}", topics.node_status(SITE, DOOR_NODE), status_payload(outbox_depth=value)
        yield (f"grant_version={label}", topics.node_status(SITE, DOOR_NODE),
               status_payload(grant_versions={DOOR: value}))
    yield "grant_version=-1", topics.node_status(SITE, DOOR_NODE), status_payload(grant_versions={DOOR: -1})


CASES = list(cases())


@pytest.mark.parametrize("name, topic, payload", CASES, ids=[c[0] for c in CASES])
def test_an_integer_the_stores_cannot_hold_is_refused_on_receipt_and_blocks_nothing(collector, name, topic,
                                                                                     payload):
    collector.handle(topic, payload)
    collector.handle(topics.node_events(SITE, NODE), event_payload(7, k=1))  # a good one behind it
    collector.handle(topics.node_status(SITE, DOOR_NODE), status_payload(k=2, outbox_depth=2**63 - 1,
                                                                         grant_versions={DOOR: 2**63 - 1}))
    collector.store.run_pending()
    assert collector.dead_letters.flush()
    channel = topics.parse(topic).channel.key
    assert dict(collector.rejected) == {(channel, "invalid_payload"): 1}
    [letter] = collector.dead_letters.latest()
    assert letter.reason == "invalid_payload" and letter.topic == topic
    # The good ones behind it are stored, and read back as numbers (no value the store cannot hold).
    end, minute = T0 + timedelta(minutes=1), timedelta(minutes=1)
    assert [v for _, v in collector.history.series(SPACE, "event", "seq", T0, end, minute, "count")] == [1]
    assert [v for _, v in collector.history.series(SPACE, "event", "seq", T0, end, minute, "max")] == [7]
    assert [v for _, v in collector.history.series(None, "node_status", "outbox_depth", T0, end, minute,
                                                   "max")] == [float(2**63 - 1)]
