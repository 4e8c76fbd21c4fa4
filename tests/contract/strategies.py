"""Hypothesis strategies: hostile and honest messages for every channel of the contract.

Shared by the contract's tests (``receive``), the collector's (over a real Mosquitto)
and the API's: ``messages(channels=…)`` draws ``(topic, payload)`` pairs whose topics
name real or wrong inventory ids and whose payloads are plausible, broken, or stamped
anywhere in the representable range of times (year 1 to 9999, offsets ±23:59).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from station.contract import CHANNELS, EventKind, topics
from station.inventory import DEFAULT_INVENTORY, load_inventory

INVENTORY = load_inventory(DEFAULT_INVENTORY)
SITES = [s.id for s in INVENTORY.sites]
NODES = [(site.id, node) for site, node in INVENTORY.nodes()]
SPACES = [(site.id, space.id) for site, space in INVENTORY.spaces()]
DOORS = [(site.id, door.id) for site, door in INVENTORY.doors()]
MACHINES = [(site.id, machine.id) for site, machine in INVENTORY.machines()]
HASH = "ab" * 32

_offsets = st.sampled_from([timezone.utc, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)),
                            timezone(timedelta(hours=23, minutes=59)), timezone(timedelta(hours=-23, minutes=-59))])
#: Any time a datetime can hold, with offsets that push it past year 1 or 9999 in UTC.
any_time = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets)
#: Times near the receiver's now: inside the bounds, and just outside them.
near_now = st.floats(min_value=-3 * 86400.0, max_value=2 * 86400.0).map(
    lambda s: datetime.now(timezone.utc) + timedelta(seconds=s))
EDGES = ["9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
         "1677-09-21T00:12:43Z", "1677-09-21T00:12:42Z", "2262-04-11T23:47:16Z", "2262-04-11T23:47:17Z",
         "1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2026-03-02T09:00:00"]


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, bad_in: int = 6) -> st.SearchStrategy:
    """``good`` most of the time, ``bad`` one time in ``bad_in``: messages near validity
    reach the deep checks (sender, store) instead of all failing on their first key."""
    return st.integers(1, bad_in).flatmap(lambda k: bad if k == 1 else good)


times = mostly(near_now.map(lambda t: t.isoformat()),
               st.one_of(any_time.map(lambda t: t.isoformat()), st.sampled_from(EDGES),
                         st.integers(-(2**70), 2**70), st.text(max_size=12)), bad_in=3)
numbers = mostly(st.floats(min_value=0, max_value=1000), st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70), st.none(),
    st.sampled_from(["1e309", "NaN", 600])))
idents = st.one_of(st.sampled_from([n.id for _, n in NODES] + [s for _, s in SPACES] + [d for _, d in DOORS]
                                   + [m for _, m in MACHINES]),
                   st.sampled_from(["", "UPPER", "a/b", "+", "x" * 70]))


def _node_fields(node):
    door = node.doors[0] if node.doors else None
    space = node.space or next((d.space for _, d in INVENTORY.doors() if d.id == door), None)
    return {"node": mostly(st.just(node.id), idents),
            "space": mostly(st.just(space), st.one_of(idents, st.none())),
            "door": mostly(st.just(door), st.one_of(idents, st.none()))}


def _payload(scope: str, name: str, ident_fields: dict) -> st.SearchStrategy[dict]:
    """A plausible payload of the channel, each key possibly wrong, missing or extra."""
    common = {"v": mostly(st.just(1), st.sampled_from([2, "1", None])), "ts": times}
    per_channel = {
        "nodes/status": {"node": ident_fields["node"], "state": mostly(st.sampled_from(["online", "offline"]), st.just("maybe")),
                         "uptime_s": numbers, "outbox_depth": numbers,
                         "grant_versions": st.dictionaries(ident_fields["door"].filter(bool), st.integers(0, 9),
                                                           max_size=2)},
        "nodes/telemetry": {"node": ident_fields["node"], "space": ident_fields["space"], "co2_ppm": numbers,
                            "temperature_c": numbers, "faults": st.lists(st.text(max_size=5), max_size=2)},
        "nodes/events": {"id": mostly(st.uuids().map(lambda u: u.hex), st.text(max_size=70)),
                         "seq": mostly(st.integers(0, 2**40), st.integers(-2, 2**70)), "node": ident_fields["node"],
                         "kind": mostly(st.sampled_from([k.value for k in EventKind]), st.just("explosion")),
                         "space": ident_fields["space"], "door": ident_fields["door"]},
        "doors/grants": {"site": st.sampled_from(SITES), "door": ident_fields["door"], "version": st.integers(-1, 9),
                         "expires_at": times, "key_id": st.just("k1"),
                         "entries": st.lists(st.fixed_dictionaries({"credential_hash": st.just(HASH)}, optional={
                             "not_before": times, "not_after": times}), max_size=2)},
        "doors/command": {"id": st.uuids().map(lambda u: u.hex), "door": ident_fields["door"],
                          "action": mostly(st.sampled_from(["unlock_once", "lockdown"]), st.just("open_sesame")),
                          "expires_at": times,
                          "issued_by": st.just("staff:1"), "key_id": st.just("k1")},
        "rooms/occupancy": {"room": ident_fields["space"],
                            "occupied": mostly(st.sampled_from([True, False, None]), st.just("yes")),
                            "confidence": mostly(st.floats(0, 1), numbers), "since": times},
        "rooms/availability": {"room": ident_fields["space"],
                               "status": mostly(st.sampled_from(["free", "reserved"]), st.just("odd")),
                               "free_until": times, "next_booking_start": times},
        "machines/grants": {"site": st.sampled_from(SITES), "machine": ident_fields.get("machine", idents),
                            "version": st.integers(-1, 9), "expires_at": times, "key_id": st.just("k1"),
                            "out_of_order": mostly(st.booleans(), st.just("broken")),
                            "free_windows": st.lists(st.fixed_dictionaries({"start": times, "end": times}), max_size=2),
                            "entries": st.lists(st.fixed_dictionaries({"credential_hash": st.just(HASH)}, optional={
                                "role": st.sampled_from(["trained", "member", "boss"]), "not_after": times}),
                                max_size=2)},
    }[f"{scope}/{name}"]
    fields = {**common, **per_channel}
    model = next(c.model for c in CHANNELS if c.key == f"{scope}/{name}")
    needed = {k for k, f in model.model_fields.items() if f.is_required()} | {"ts"}
    required = {k: v for k, v in fields.items() if k in needed}
    optional = {k: v for k, v in fields.items() if k not in required}
    return st.fixed_dictionaries(required, optional=optional).flatmap(
        lambda d: mostly(st.just(d), st.integers().map(lambda n: {**d, "extra": n}), bad_in=10))


@st.composite
def messages(draw, channels: tuple[str, ...] | None = None) -> tuple[str, bytes]:
    """One (topic, payload) on one of ``channels`` (every channel by default)."""
    wanted = [c for c in CHANNELS if channels is None or c.key in channels]
    channel = draw(st.sampled_from(wanted))
    if channel.scope == "nodes":
        site, node = draw(st.sampled_from(NODES))
        site = draw(mostly(st.just(site), st.sampled_from(SITES)))
        ident, fields = node.id, _node_fields(node)
    elif channel.scope == "rooms":
        site, ident = draw(st.sampled_from(SPACES))
        fields = {"node": idents, "space": mostly(st.just(ident), idents), "door": idents}
    elif channel.scope == "machines":
        site, ident = draw(st.sampled_from(MACHINES))
        fields = {"node": idents, "space": idents, "door": idents, "machine": mostly(st.just(ident), idents)}
    else:
        site, ident = draw(st.sampled_from(DOORS))
        fields = {"node": idents, "space": idents, "door": mostly(st.just(ident), idents)}
    topic = channel.pattern(site, ident)
    body = draw(mostly(
        _payload(channel.scope, channel.name, fields).map(lambda d: json.dumps(d, allow_nan=True).encode()),
        st.one_of(st.binary(max_size=64), st.sampled_from(
            [b"", b"null", b"[]", b"{", b"\xff\xfe", b'{"v": 1}', b" " * (channel.max_bytes + 1)]))))
    return topic, body


def good_event(seq: int, run: str, site: str = "la-station", node_id: str = "ls-salle-salle-aiguillage",
               space: str = "salle-aiguillage", ts: datetime | None = None) -> tuple[str, bytes]:
    """A valid motion event of a room node (the good message behind the bad ones)."""
    from station.contract import NodeEvent

    event = NodeEvent(id=f"good-{run}-{seq:08d}", seq=seq, node=node_id, kind=EventKind.motion, space=space,
                      ts=ts or datetime.now(timezone.utc))
    return topics.node_events(site, node_id), event.to_json()
