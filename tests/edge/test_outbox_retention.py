"""The outbox and privacy: a delivered event's card hash is gone from the file; an event
undelivered past its horizon is dropped and counted, the rest kept."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from edge.outbox import Outbox

NOW = datetime(2026, 9, 15, 12, 0, tzinfo=timezone.utc)


def event(box: Outbox, ts: datetime, card_hash: str) -> int:
    return box.append("event", "station/v1/la-station/nodes/n/events", lambda seq: (
        f'{{"v": 1, "ts": "{ts.isoformat()}", "id": "e{seq}", "seq": {seq}, "kind": "access_granted", '
        f'"credential_hash": "{card_hash}"}}').encode())


def file_bytes(path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_a_delivered_event_leaves_no_trace_of_its_card_in_the_file(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    delivered, waiting = "aa" * 32, "bb" * 32
    seq = event(box, NOW, delivered)
    event(box, NOW, waiting)
    assert delivered.encode() in file_bytes(path)
    box.remove([seq])  # its PUBACK
    box.expire_due(NOW)  # the hourly sweep: the write-ahead log's old copies go too
    assert delivered.encode() not in file_bytes(path)
    assert waiting.encode() in file_bytes(path)
    box.close()


def test_undelivered_events_past_the_horizon_are_dropped(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3", max_event_age_days=92)
    event(box, NOW - timedelta(days=100), "aa" * 32)
    event(box, NOW - timedelta(days=91), "bb" * 32)
    box.append("telemetry", "t", lambda seq: b'{"ts": "2000-01-01T00:00:00+00:00"}')  # no person: kept
    assert box.oldest_event() == (2, NOW - timedelta(days=100))
    assert box.expire_due(NOW) == 1
    assert box.expire_due(NOW) == 0  # once an hour
    assert box.count("event") == 1 and box.count("telemetry") == 1 and box.expired_events == 1
    assert box.oldest_event() == (1, NOW - timedelta(days=91))
    assert [r.seq for r in box.after(0)] == [2, 3]
    box.close()


class Ticks:
    """The node's monotonic clock, moved by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_wall_clock_leaping_months_ahead_does_not_age_the_waiting_events(tmp_path):
    """A spoofed NTP server (or a Pi without a battery clock) sets the wall clock 93 days
    ahead between two sweeps: the door_forced waiting for the network stays, events age on
    the node's running time, and the leap is remembered across a restart."""
    path, ticks = tmp_path / "outbox.sqlite3", Ticks()
    box = Outbox(path, max_event_age_days=92, monotonic=ticks)
    forced = event(box, NOW, "aa" * 32)
    old = event(box, NOW - timedelta(days=91, hours=12), "bb" * 32)
    assert box.expire_due(NOW) == 0
    ticks.now += 3600  # an hour of running time; the wall clock shows 93 days and an hour
    leapt = NOW + timedelta(days=93, hours=1)
    assert box.expire_due(leapt) == 0
    ticks.now += 86400
    assert box.expire_due(leapt + timedelta(days=1)) == 1  # 92.5 days on the node's clock
    assert [r.seq for r in box.after(0)] == [forced]
    later = event(box, leapt, "cc" * 32)
    box.close()

    box = Outbox(path, max_event_age_days=92, monotonic=ticks)  # restarted: the leap is on disk
    ticks.now += 3600
    assert box.expire_due(leapt + timedelta(days=91)) == 0
    ticks.now += 26 * 3600
    assert box.expire_due(leapt + timedelta(days=92, hours=2)) == 2  # 92 days on the node's own clock
    assert box.count("event") == 0 and box.expired_events == 2 and forced < old < later
    box.close()


def test_an_accelerated_clock_is_no_leap(tmp_path):
    ticks = Ticks()
    box = Outbox(tmp_path / "outbox.sqlite3", max_event_age_days=92, monotonic=ticks)
    event(box, NOW, "aa" * 32)
    box.expire_due(NOW, speed=60.0)
    ticks.now += 3600 * 24 * 93 / 60  # 93 simulated days at 60×
    assert box.expire_due(NOW + timedelta(days=93), speed=60.0) == 1
    box.close()
