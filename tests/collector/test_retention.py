"""The collector's retention: dead letters past their horizon deleted (and gone from the
file: secure_delete), the history's access events folded; ``held`` says what is left."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from collector.deadletter import DeadLetters
from collector.retention import CollectorRetention
from station.history import Point, SqliteHistory
from station.privacy import RetentionPolicy

NOW = datetime(2026, 9, 15, 12, 0, tzinfo=timezone.utc)
TOPIC = "station/v1/la-station/nodes/ls-x/events"
OLD_HASH, NEW_HASH = "ab" * 32, "cd" * 32


def test_dead_letters_and_history_events_past_their_horizon_go(tmp_path):
    letters = DeadLetters(tmp_path / "dl.sqlite", rate_per_s=1e6, burst=10**6, total_rate_per_s=1e6,
                          total_burst=10**6)
    letters.add(TOPIC, "nodes/events", "bad_json", "old", f'{{"credential_hash": "{OLD_HASH}"'.encode(),
                received_at=NOW - timedelta(days=93), sender="ls-x")
    letters.add(TOPIC, "nodes/events", "bad_json", "new", f'{{"credential_hash": "{NEW_HASH}"'.encode(),
                received_at=NOW - timedelta(days=91), sender="ls-x")
    assert letters.flush()
    history = SqliteHistory(tmp_path / "history.sqlite")
    history.write([Point("event", {"site": "la-station", "kind": "access_granted", "door": "d", "space": "s"},
                         {"count": 1, "seq": k, "id": f"e{k}"}, NOW - timedelta(days=100 - k)) for k in range(20)])
    retention = CollectorRetention(history, letters, RetentionPolicy())

    done = retention.sweep(NOW)

    assert done == {"history access events folded": 8, "dead letters": 1}  # 100..93 days old
    assert [letter.detail for letter in letters.latest()] == ["new"]
    assert letters.summary()["stored"] == 1 and letters.rows == 1
    held = {(h["store"], h["what"]): h for h in retention.held()}
    dl = held[("collector dead letters", "refused messages (excerpts)")]
    assert dl["rows"] == 1 and dl["oldest"] == (NOW - timedelta(days=91)).isoformat() and dl["horizon_days"] == 92
    events = next(h for (store, what), h in held.items() if what.startswith("event (person"))
    assert events["rows"] == 12 and events["horizon_days"] == 92
    assert held[("history (SQLite)", "access_daily")]["rows"] == 8
    letters.close()
    history.close()
    # the deleted letter is gone from the file itself, not only from the table
    assert OLD_HASH.encode() not in (tmp_path / "dl.sqlite").read_bytes() + _wal(tmp_path / "dl.sqlite")


def _wal(path):
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_maybe_sweep_waits_for_its_interval(tmp_path):
    letters = DeadLetters(tmp_path / "dl.sqlite")
    retention = CollectorRetention(None, letters, RetentionPolicy(sweep_interval_s=60))
    assert retention.maybe_sweep(NOW) is not None
    assert retention.maybe_sweep(NOW + timedelta(seconds=30)) is None
    assert retention.maybe_sweep(NOW + timedelta(seconds=61)) is not None
    letters.close()
