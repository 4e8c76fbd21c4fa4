"""The shared contract: topics round-trip, payloads are strict, docs do not drift."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from station.contract import (
    CHANNELS, EventKind, NodeEvent, RoomOccupancy, Telemetry, TopicError, decode, parse, topics,
)
from station.contract.docs import schema_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("builder,scope,name", [
    (topics.node_status, "nodes", "status"), (topics.node_telemetry, "nodes", "telemetry"),
    (topics.node_events, "nodes", "events"), (topics.door_grants, "doors", "grants"),
    (topics.door_command, "doors", "command"), (topics.room_occupancy, "rooms", "occupancy"),
    (topics.room_availability, "rooms", "availability"),
])
def test_every_topic_builder_round_trips_through_parse(builder, scope, name):
    topic = builder("la-station", "salle-depot")
    assert topic == f"station/v1/la-station/{scope}/salle-depot/{name}"
    parsed = parse(topic)
    assert (parsed.site, parsed.scope, parsed.ident, parsed.channel.name) == ("la-station", scope, "salle-depot", name)


def test_every_row_of_the_design_table_has_a_channel():
    assert {c.key for c in CHANNELS} == {"nodes/status", "nodes/telemetry", "nodes/events", "doors/grants",
                                         "doors/command", "rooms/occupancy", "rooms/availability", "machines/grants"}


@pytest.mark.parametrize("bad", ["node#1", "a/b", "+", "Upper", "", "x" * 64])
def test_identifiers_with_wildcards_or_slashes_are_refused(bad):
    with pytest.raises(TopicError):
        topics.node_events("la-station", bad)


@pytest.mark.parametrize("topic", ["station/v2/s/nodes/n/events", "station/v1/s/nodes/n/unknown",
                                   "station/v1/s/nodes/n", "other/v1/s/nodes/n/events"])
def test_parse_rejects_topics_outside_the_contract(topic):
    with pytest.raises(TopicError):
        parse(topic)


def test_payloads_reject_unknown_keys_naive_times_and_other_versions():
    ok = Telemetry(node="n1", space="s1", co2_ppm=600)
    data = ok.model_dump(mode="json")
    Telemetry.model_validate(data)
    with pytest.raises(ValidationError, match="Extra inputs"):
        Telemetry.model_validate({**data, "co2": 1})
    with pytest.raises(ValidationError, match="timezone"):
        Telemetry.model_validate({**data, "ts": "2026-11-26T10:00:00"})
    with pytest.raises(ValidationError):
        Telemetry.model_validate({**data, "v": 2})


def test_timestamps_are_normalised_to_utc():
    event = NodeEvent(id="abcdef012345", seq=1, node="n1", kind=EventKind.motion, ts="2026-11-26T10:00:00+01:00")
    assert event.ts == datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    assert event.ts.utcoffset() == timedelta(0)


def test_decode_validates_against_the_model_of_the_topic():
    occ = RoomOccupancy(room="salle-depot", occupied=True, confidence=0.9)
    parsed, message = decode(topics.room_occupancy("la-station", "salle-depot"), occ.to_json())
    assert message == occ
    with pytest.raises(ValidationError):
        decode(topics.node_events("la-station", "n1"), occ.to_json())


def test_checked_in_protocol_docs_match_the_code():
    """Run `make protocol` (station protocol export docs/protocol) after changing the contract."""
    docs = ROOT / "docs" / "protocol"
    expected = schema_files()
    on_disk = {p.name: p.read_text() for p in docs.iterdir() if p.is_file()}
    assert sorted(on_disk) == sorted(expected), "docs/protocol has missing or extra files"
    for name, content in expected.items():
        assert on_disk[name] == content, f"docs/protocol/{name} is stale: run `make protocol`"
