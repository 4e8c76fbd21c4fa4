"""Ingestion: validation, rejects counted by channel and reason, the dead-letter store, duplicates."""

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.deadletter import KEPT, QUEUE_FULL, RATE_LIMITED
from collector.service import Collector
from station.contract import EventKind, NodeEvent, Telemetry, topics
from station.mqtt import MqttSettings

SITE, NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"
OUTCOMES = (KEPT, RATE_LIMITED, QUEUE_FULL)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture()
def collector(inventory, tmp_path):
    # Not started: handle() is the whole ingestion path short of the network (see test_broker.py for that).
    c = Collector(inventory, MqttSettings(port=1), client_id="collector-ingest", state_dir=tmp_path / "state")
    yield c
    c.history.close()
    c.dead_letters.close()
    c.seen.close()


def drain(collector: Collector) -> None:
    """Store what the handler queued, as the store thread would; write the dead letters."""
    collector.store.run_pending()
    assert collector.dead_letters.flush()


def event(seq: int, kind: EventKind = EventKind.motion, **kw) -> NodeEvent:
    return NodeEvent(id=f"evt-{NODE}-{seq:06d}", seq=seq, node=NODE, kind=kind, space=SPACE,
                     ts=T0 + timedelta(seconds=seq), **kw)


def test_malformed_json_is_logged_counted_and_kept_as_a_dead_letter(collector, caplog):
    topic = topics.node_events(SITE, NODE)
    with caplog.at_level(logging.WARNING, logger="collector.service"):
        collector.handle(topic, b"{not json")
    drain(collector)
    assert collector.rejected[("nodes/events", "bad_json")] == 1
    assert "rejected message" in caplog.text and "bad_json" in caplog.text
    [letter] = collector.dead_letters.latest()
    assert (letter.topic, letter.reason, letter.excerpt, letter.size) == (topic, "bad_json", b"{not json", 9)
    sample = collector.metrics.registry.get_sample_value(
        "station_collector_rejects_total", {"channel": "nodes/events", "reason": "bad_json"})
    assert sample == 1.0


@pytest.mark.parametrize("topic, payload, reason", [
    (topics.node_telemetry(SITE, NODE), b'{"v": 1, "ts": "2026-03-02T09:00:00Z", "node": "x"}', "invalid_payload"),
    (topics.node_telemetry(SITE, NODE),
     Telemetry(node="ls-porte-salle-aiguillage", space=SPACE, co2_ppm=500).to_json(), "node_mismatch"),
    (topics.node_telemetry(SITE, "ls-inconnu"), Telemetry(node="ls-inconnu", space=SPACE).to_json(), "unknown_node"),
    ("station/v1/la-station/nodes/ls-x/weather", b"{}", "bad_topic"),
    ("station/v2/anything", b"{}", "bad_topic"),
    (topics.node_events(SITE, NODE), b"\xff\xfe\x00", "bad_json"),
])
def test_each_kind_of_bad_message_has_its_reason(collector, topic, payload, reason):
    collector.handle(topic, payload)
    drain(collector)
    assert sum(collector.rejected.values()) == 1
    assert [r for (_, r) in collector.rejected] == [reason]
    assert collector.dead_letters.count() == 1
    assert not collector.received


def test_valid_event_is_stored_and_its_duplicate_counts_once(collector):
    e = event(1)
    collector.handle(topics.node_events(SITE, NODE), e.to_json())
    collector.handle(topics.node_events(SITE, NODE), e.to_json())  # redelivered
    drain(collector)
    assert collector.history.count("event") == 1
    assert collector.metrics.registry.get_sample_value("station_collector_duplicate_events_total") == 1.0
    assert collector.received["nodes/events"] == 2


def test_telemetry_lands_in_the_history_with_site_and_space(collector):
    t = Telemetry(node=NODE, space=SPACE, co2_ppm=812.0, temperature_c=21.0, ts=T0)
    collector.handle(topics.node_telemetry(SITE, NODE), t.to_json())
    drain(collector)
    got = collector.history.series(SPACE, "telemetry", "co2_ppm", T0, T0 + timedelta(minutes=1), timedelta(minutes=1))
    assert got == [(T0, 812.0)]


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                            max_leaves=8)
_fields = st.fixed_dictionaries({}, optional={
    "v": st.sampled_from([1, 2, "1"]), "ts": st.sampled_from(["2026-03-02T09:00:00Z", "yesterday", 3]),
    "node": st.sampled_from([NODE, "ls-porte-salle-aiguillage", "BAD", ""]),
    "space": st.sampled_from([SPACE, None, "x y"]), "id": st.text(max_size=70), "seq": st.integers(-2, 2**70),
    "kind": st.sampled_from([k.value for k in EventKind] + ["explosion"]), "co2_ppm": _json_values,
    "state": st.sampled_from(["online", "offline", "maybe"]), "extra": _json_values})
_payloads = st.one_of(st.binary(max_size=200), _fields.map(lambda d: json.dumps(d).encode()),
                      _json_values.map(lambda d: json.dumps(d).encode()))
_topics = st.one_of(
    st.sampled_from([topics.node_events(SITE, NODE), topics.node_telemetry(SITE, NODE), topics.node_status(SITE, NODE),
                     topics.room_occupancy(SITE, SPACE)]),
    st.text(max_size=80))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(st.tuples(_topics, _payloads), min_size=1, max_size=10))
def test_fuzzed_payloads_never_crash_and_every_reject_is_counted(collector, messages):
    letters = collector.dead_letters
    before_rejected, before_received = sum(collector.rejected.values()), sum(collector.received.values())
    before_letters, before_kept = letters.count(), letters.counts[KEPT]
    before_outcomes = sum(letters.counts[o] for o in OUTCOMES)
    for topic, payload in messages:
        collector.handle(topic, payload)  # must not raise
    drain(collector)
    rejected = sum(collector.rejected.values()) - before_rejected
    received = sum(collector.received.values()) - before_received
    assert rejected + received == len(messages)
    # Every reject is kept as a dead letter or, over the sender's rate, counted.
    assert sum(letters.counts[o] for o in OUTCOMES) - before_outcomes == rejected
    assert letters.count() - before_letters == letters.counts[KEPT] - before_kept


def test_dead_letters_command_lists_the_latest_rejects_as_json(tmp_path):
    from collector.deadletter import DeadLetters
    from lastation.cli import app
    from tests.utils.cli import flat, invoke

    store = DeadLetters(tmp_path / "dead-letters.sqlite")
    store.add("station/v1/la-station/nodes/ls-x/events", "nodes/events", "bad_json", "line 1", b"\xff{",
              sender="ls-x")
    store.add("station/v1/la-station/nodes/ls-x/telemetry", "nodes/telemetry", "unknown_node", "ls-x", b"{}",
              sender="ls-x")
    store.close()
    result = invoke(app, ["collector", "dead-letters", "--state-dir", str(tmp_path), "--reason", "bad_json"])
    assert result.exit_code == 0, result.output
    [line] = result.output.strip().splitlines()
    letter = json.loads(line)
    assert (letter["reason"], letter["topic"], letter["excerpt"], letter["sender"], letter["size"]) == (
        "bad_json", "station/v1/la-station/nodes/ls-x/events", "\ufffd{", "ls-x", 2)
    assert letter["sha256"] == hashlib.sha256(b"\xff{").hexdigest()
    totals = invoke(app, ["collector", "dead-letters", "--state-dir", str(tmp_path), "--summary"])
    assert json.loads(totals.output)["stored"] == 2
    missing = invoke(app, ["collector", "dead-letters", "--state-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no dead-letter store" in flat(missing.output)


def test_room_availability_from_the_api_is_stored_for_the_boards(collector):
    from station.contract import RoomAvailability, RoomStatus

    collector.handle(topics.room_availability(SITE, SPACE),
                     RoomAvailability(room=SPACE, status=RoomStatus.reserved, ts=T0).to_json())
    collector.handle(topics.room_availability(SITE, SPACE),
                     RoomAvailability(room="salle-depot", status=RoomStatus.free, ts=T0).to_json())
    collector.handle(topics.room_availability(SITE, "salle-inconnue"),
                     RoomAvailability(room="salle-inconnue", status=RoomStatus.free, ts=T0).to_json())
    drain(collector)
    assert collector.received["rooms/availability"] == 1
    assert collector.rejected[("rooms/availability", "room_mismatch")] == 1
    assert collector.rejected[("rooms/availability", "unknown_room")] == 1
    series = collector.history.series(SPACE, "availability", "reserved", T0, T0 + timedelta(minutes=1),
                                      timedelta(minutes=1), agg="max")
    assert series == [(T0, 1.0)]
