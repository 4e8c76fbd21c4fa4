"""Receiving: times judged by the receiver's clock, the sender checked against the inventory, one typed refusal."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from station.contract import (
    EARLIEST, REASONS, TIME_OUT_OF_RANGE, EventKind, GrantList, NodeEvent, NodeStatus, RoomAvailability,
    RoomOccupancy, RoomStatus, Telemetry, topics,
)
from station.contract.receive import Rejected, receive
from station.history import NS_MAX, SqliteHistory
from tests.contract.strategies import INVENTORY, any_time, messages

SITE, ROOM_NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"
DOOR_NODE, DOOR = "ls-porte-salle-aiguillage", "porte-salle-aiguillage"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)


def event(**kw) -> NodeEvent:
    fields = dict(id="evt-0000000001", seq=1, node=ROOM_NODE, kind=EventKind.motion, space=SPACE, ts=NOW)
    return NodeEvent(**{**fields, **kw})


def refused(topic: str, payload: bytes, now: datetime = NOW) -> Rejected:
    with pytest.raises(Rejected) as caught:
        receive(INVENTORY, topic, payload, now)
    assert caught.value.reason in REASONS
    return caught.value


# -- times -----------------------------------------------------------------------------
@pytest.mark.parametrize("ts", ["9999-12-31T00:00:00Z", "2263-01-01T00:00:00Z", "1676-01-01T00:00:00Z",
                                "1999-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_a_time_outside_the_bounds_is_refused_with_its_own_reason(ts):
    payload = json.dumps({**event().model_dump(mode="json"), "ts": ts}).encode()
    rejected = refused(topics.node_events(SITE, ROOM_NODE), payload)
    assert rejected.reason == "time_out_of_range" and "outside 2000-01-01" in rejected.detail
    assert rejected.skew_s is not None and abs(rejected.skew_s) > 86400


def test_the_upper_bound_is_the_receivers_clock_plus_a_day_not_the_wall_clock():
    ahead = NOW + timedelta(hours=23)
    payload = event(ts=ahead).to_json()
    topic = topics.node_events(SITE, ROOM_NODE)
    _, message = receive(INVENTORY, topic, payload, NOW)
    assert message.ts == ahead
    assert refused(topic, payload, now=NOW - timedelta(hours=2)).reason == "time_out_of_range"
    # An accelerated clock a week ahead of the wall clock (the demo): its own future is fine.
    week = datetime.now(timezone.utc) + timedelta(days=7)
    receive(INVENTORY, topic, event(ts=week).to_json(), week)
    # Without a receiver's clock, the wall clock judges.
    with pytest.raises(ValidationError) as wall:
        NodeEvent.model_validate_json(event(ts=week).to_json())
    assert wall.value.errors()[0]["type"] == TIME_OUT_OF_RANGE


def test_a_message_built_in_code_is_its_senders_and_is_not_judged():
    far = datetime(9999, 1, 1, tzinfo=timezone.utc)
    assert event(ts=far).ts == far  # the sender's clock is its own business; the receiver refuses it


def test_expiries_and_bookings_may_lie_ten_years_ahead_not_more():
    topic = topics.room_availability(SITE, SPACE)
    soon = RoomAvailability(room=SPACE, status=RoomStatus.reserved, ts=NOW, free_until=NOW + timedelta(days=90))
    receive(INVENTORY, topic, soon.to_json(), NOW)
    late = soon.model_copy(update={"next_booking_start": NOW + timedelta(days=3700)})
    rejected = refused(topic, late.to_json())
    assert rejected.reason == "time_out_of_range" and rejected.skew_s is None  # ts itself is fine


@settings(max_examples=300, deadline=None)
@given(ts=any_time)
def test_every_representable_time_is_either_in_bounds_or_refused_by_name(ts):
    payload = b'{"node": "%s", "space": "%s", "ts": "%s"}' % (ROOM_NODE.encode(), SPACE.encode(), ts.isoformat().encode())
    try:
        _, message = receive(INVENTORY, topics.node_telemetry(SITE, ROOM_NODE), payload, NOW)
    except Rejected as exc:
        assert exc.reason == "time_out_of_range", exc
        assert not EARLIEST <= ts <= NOW + timedelta(days=1)
    else:
        assert EARLIEST <= message.ts <= NOW + timedelta(days=1)
        assert message.ts.utcoffset() == timedelta(0)


# -- the sender ------------------------------------------------------------------------
@pytest.mark.parametrize("topic, message, reason", [
    ("station/v1/la-station/nodes/x/weather", event(), "bad_topic"),
    (topics.node_events(SITE, ROOM_NODE), event(node=DOOR_NODE), "node_mismatch"),
    (topics.node_events(SITE, "ls-inconnu"), event(node="ls-inconnu"), "unknown_node"),
    (topics.node_events("mini-arques", ROOM_NODE), event(), "site_mismatch"),
    (topics.node_events(SITE, ROOM_NODE), event(door=DOOR, space=None), "door_not_served"),
    (topics.node_events(SITE, DOOR_NODE), event(node=DOOR_NODE, door="porte-guichet", space=None), "door_not_served"),
    (topics.node_events(SITE, ROOM_NODE), event(space="guichet"), "space_not_observed"),
    (topics.node_telemetry(SITE, ROOM_NODE), Telemetry(node=ROOM_NODE, space="salle-depot", ts=NOW),
     "space_not_observed"),
    (topics.node_status(SITE, ROOM_NODE), NodeStatus(node=ROOM_NODE, state="online", ts=NOW,
                                                     grant_versions={DOOR: 3}), "door_not_served"),
    (topics.room_availability(SITE, SPACE), RoomAvailability(room="salle-depot", status=RoomStatus.free, ts=NOW),
     "room_mismatch"),
    (topics.room_occupancy(SITE, "salle-inconnue"), RoomOccupancy(room="salle-inconnue", occupied=True,
                                                                  confidence=1, ts=NOW), "unknown_room"),
    (topics.room_occupancy("mini-arques", SPACE), RoomOccupancy(room=SPACE, occupied=True, confidence=1, ts=NOW),
     "site_mismatch"),
])
def test_each_sender_check_refuses_with_its_reason(topic, message, reason):
    assert refused(topic, message.to_json()).reason == reason


def test_what_the_inventory_allows_passes():
    for topic, message in [
        (topics.node_events(SITE, DOOR_NODE), event(node=DOOR_NODE, door=DOOR, space=SPACE, kind=EventKind.door_opened)),
        (topics.node_events(SITE, ROOM_NODE), event()),
        (topics.node_telemetry(SITE, ROOM_NODE), Telemetry(node=ROOM_NODE, space=SPACE, co2_ppm=600, ts=NOW)),
        (topics.node_status(SITE, DOOR_NODE), NodeStatus(node=DOOR_NODE, state="online", ts=NOW,
                                                         grant_versions={DOOR: 3})),
        (topics.room_availability(SITE, SPACE), RoomAvailability(room=SPACE, status=RoomStatus.free, ts=NOW)),
    ]:
        parsed, received = receive(INVENTORY, topic, message.to_json(), NOW)
        assert received == message and parsed.channel.model is type(message)


def test_grant_lists_and_commands_name_their_door_and_site():
    grants = GrantList(site=SITE, door=DOOR, version=1, expires_at=NOW + timedelta(days=1), key_id="k", ts=NOW)
    receive(INVENTORY, topics.door_grants(SITE, DOOR), grants.to_json(), NOW)
    assert refused(topics.door_grants(SITE, "porte-guichet"), grants.to_json()).reason == "door_mismatch"
    other = grants.model_copy(update={"site": "mini-arques"})
    assert refused(topics.door_grants(SITE, DOOR), other.to_json()).reason == "door_mismatch"
    ghost = grants.model_copy(update={"door": "porte-fantome"})
    assert refused(topics.door_grants(SITE, "porte-fantome"), ghost.to_json()).reason == "unknown_door"


def test_a_payload_over_the_channels_size_is_refused_before_it_is_parsed():
    huge = b'{"x": "' + b"a" * 200_000 + b'"}'
    rejected = refused(topics.node_events(SITE, ROOM_NODE), huge)
    assert rejected.reason == "too_large" and "200009 bytes" in rejected.detail


@pytest.mark.parametrize("payload, reason", [(b"{nope", "bad_json"), (b"[1, 2]", "bad_json"), (b"", "bad_json"),
                                             (b'{"v": 1}', "invalid_payload"), (b"\xff\xfe", "bad_json")])
def test_malformed_payloads_have_their_reasons(payload, reason):
    assert refused(topics.node_events(SITE, ROOM_NODE), payload).reason == reason


# -- every channel, hostile ------------------------------------------------------------
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages(), now=st.sampled_from([NOW, datetime.now(timezone.utc)]))
def test_every_channel_either_yields_a_storable_message_or_one_typed_refusal(message, now):
    """Whatever arrives on any channel: a message whose times fit the bounds (so every
    store can hold them), or Rejected with a documented reason — nothing else escapes."""
    topic, payload = message
    try:
        parsed, received = receive(INVENTORY, topic, payload, now)
    except Rejected as exc:
        assert exc.reason in REASONS
        return
    for name, value in received:
        if isinstance(value, datetime):
            assert EARLIEST <= value <= now + timedelta(days=3653), (name, value)
    assert EARLIEST <= received.ts <= now + timedelta(days=1)
    assert (received.ts - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 1000 <= NS_MAX


def test_points_of_accepted_messages_are_storable(tmp_path):
    """The collector's store takes whatever receive() accepts: the bounds sit inside 64-bit nanoseconds."""
    from collector.points import PointMaker

    history = SqliteHistory(tmp_path / "h.sqlite")
    latest = NOW + timedelta(days=1)
    history.write(PointMaker(INVENTORY).of(event(ts=latest)) + PointMaker(INVENTORY).of(event(ts=EARLIEST)))
    history.close()
