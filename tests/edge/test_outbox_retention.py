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
