"""The durable outbox on SQLite: order, persistence, numbering across restarts, bounds."""

import sqlite3

import pytest

from edge.outbox import Outbox, OutboxFull


def put(box: Outbox, kind: str = "event", text: str = "x") -> int:
    return box.append(kind, "t", lambda seq: f"{text}{seq}".encode())


def test_rows_come_out_in_sequence_order_and_leave_only_when_removed(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3")
    seqs = [put(box) for _ in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    rows = box.after(0, limit=3)
    assert [r.seq for r in rows] == [1, 2, 3] and rows[0].payload == b"x1"
    box.remove([1, 2])
    assert [r.seq for r in box.after(0)] == [3, 4, 5]
    assert box.depth == 3


def test_rows_and_numbering_survive_reopening(tmp_path):
    path = tmp_path / "o.sqlite3"
    box = Outbox(path)
    put(box), put(box), put(box)
    box.remove([1])
    box.close()
    again = Outbox(path)
    assert [r.seq for r in again.after(0)] == [2, 3]
    assert put(again) == 4 and again.depth == 3


def test_database_is_in_wal_mode_with_full_sync(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3")
    assert box._db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("pragma synchronous").fetchone()[0] == 2  # FULL


def test_telemetry_is_downsampled_before_events_are_touched(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3", telemetry_cap=10)
    for i in range(30):
        put(box, "telemetry")
        if i % 3 == 0:
            put(box, "event")
    assert box.count("telemetry") <= 10 and box.downsampled > 0
    assert box.count("event") == 10
    telemetry = [r.seq for r in box.after(0, 1000) if r.kind == "telemetry"]
    assert telemetry[-1] == box.last_seq  # the newest reading is kept


def test_events_past_the_cap_are_refused_and_counted_not_silently_dropped(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3", event_cap=3)
    for _ in range(3):
        put(box)
    with pytest.raises(OutboxFull, match="3 events"):
        put(box)
    assert box.dropped_events == 1 and box.count("event") == 3
    assert box.append("event", "t", lambda s: b"alarm", force=True) == 5  # seq 4 was used: receivers see the gap


def test_a_failed_write_leaves_no_half_row(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3")

    def broken(seq):
        raise ValueError("cannot build")

    with pytest.raises(ValueError):
        box.append("event", "t", broken)
    assert box.depth == 0 and box.last_seq == 0
    db = sqlite3.connect(tmp_path / "o.sqlite3")
    assert db.execute("select count(*) from outbox").fetchone()[0] == 0


def test_a_full_outbox_raises_one_alarm_and_counts_what_it_refuses(inventory, tmp_path, caplog):
    from gpiozero.pins.mock import MockFactory

    from edge.node import EdgeNode
    from station.broker.dev import free_port
    from station.contract import EventKind, NodeEvent
    from station.mqtt import MqttSettings

    node = EdgeNode(inventory, "ls-salle-salle-aiguillage", MqttSettings(port=free_port()),  # no broker there
                    pin_factory=MockFactory(), data_dir=tmp_path / "node", outbox_event_cap=5,
                    telemetry_interval_s=3600)
    node.start(wait=None)
    try:
        results = [node.emit(EventKind.motion, space="salle-aiguillage") for _ in range(8)]
    finally:
        node.stop()
    assert [r is not None for r in results] == [True] * 5 + [False] * 3
    rows = Outbox(tmp_path / "node" / "outbox.sqlite3").after(0, 100)
    kinds = [NodeEvent.model_validate_json(r.payload).kind.value for r in rows if r.kind == "event"]
    assert kinds.count("outbox_alarm") == 1 and kinds.count("motion") == 5
    assert node.outbox.dropped_events == 3
    assert "outbox holds 5 events" in caplog.text
