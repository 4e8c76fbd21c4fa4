"""The dead-letter store: excerpts with size and hash, a total cap, a rate per sender, a writer thread."""

from __future__ import annotations

import hashlib
import sqlite3
import time

from collector.deadletter import KEPT, RATE_LIMITED, DeadLetters

TOPIC = "station/v1/la-station/nodes/ls-x/events"


def test_a_letter_keeps_an_excerpt_the_full_size_and_the_hash(tmp_path):
    store = DeadLetters(tmp_path / "dl.sqlite")
    payload = bytes(range(256)) * 800  # 200 KiB
    assert store.add(TOPIC, "nodes/events", "too_large", "204800 bytes", payload, sender="ls-x") == KEPT
    assert store.flush()
    [letter] = store.latest()
    assert letter.excerpt == payload[:DeadLetters.EXCERPT] and len(letter.excerpt) == 4096
    assert letter.size == len(payload) and letter.sha256 == hashlib.sha256(payload).hexdigest()
    assert (letter.sender, letter.reason, letter.channel) == ("ls-x", "too_large", "nodes/events")
    store.close()


def test_the_cap_drops_the_oldest_and_counts_them_across_restarts(tmp_path):
    path = tmp_path / "dl.sqlite"
    store = DeadLetters(path, max_rows=50, max_bytes=10**9, rate_per_s=1e6, burst=10**6, total_rate_per_s=1e6,
                        total_burst=10**6)
    for k in range(120):
        store.add(TOPIC, "nodes/events", "bad_json", f"letter {k}", b"x" * 10, sender=f"n{k % 3}")
    assert store.flush()
    assert store.count() == 50 and store.counts["evicted"] == 70
    assert [letter.detail for letter in store.latest(limit=2)] == ["letter 119", "letter 118"]
    store.close()
    reopened = DeadLetters(path, max_rows=50)
    summary = reopened.summary()
    assert (summary["stored"], summary["evicted"], summary["written"]) == (50, 70, 120)
    reopened.close()


def test_the_byte_cap_holds_with_large_excerpts(tmp_path):
    store = DeadLetters(tmp_path / "dl.sqlite", max_rows=10**6, max_bytes=64 * 1024, rate_per_s=1e6, burst=10**6,
                        total_rate_per_s=1e6, total_burst=10**6)
    for k in range(100):
        store.add(TOPIC, "nodes/events", "too_large", "big", b"y" * 100_000, sender="ls-x")
    assert store.flush()
    summary = store.summary()
    assert summary["stored_bytes"] <= 64 * 1024 and summary["stored"] == 64 * 1024 // (4096 + 100 + len(TOPIC) + 3)
    assert summary["evicted"] == 100 - summary["stored"]
    store.close()


def test_one_sender_over_its_rate_is_only_counted_and_others_still_get_through(tmp_path):
    store = DeadLetters(tmp_path / "dl.sqlite", rate_per_s=2.0, burst=5)
    outcomes = [store.add(TOPIC, "nodes/events", "bad_json", "", b"junk", sender="ls-noisy") for _ in range(100)]
    assert outcomes.count(KEPT) == 5 and outcomes.count(RATE_LIMITED) == 95
    assert store.add(TOPIC, "nodes/events", "bad_json", "", b"one", sender="ls-quiet") == KEPT
    time.sleep(0.6)  # 2 a second: one more token for the noisy one
    assert store.add(TOPIC, "nodes/events", "bad_json", "", b"later", sender="ls-noisy") == KEPT
    assert store.flush() and store.count() == 7
    store.close()
    assert DeadLetters(tmp_path / "dl.sqlite").summary()["not_kept"] == 95


def test_adding_does_no_io_on_the_callers_thread(tmp_path):
    """add() only queues: with the file locked by another writer, it still returns at once."""
    store = DeadLetters(tmp_path / "dl.sqlite")
    blocker = sqlite3.connect(tmp_path / "dl.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the writer thread waits
    started = time.perf_counter()
    for k in range(40):
        store.add(TOPIC, "nodes/events", "bad_json", "", b"{" * 1000, sender=f"n{k}")
    assert time.perf_counter() - started < 0.5
    assert store.count() == 0
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.flush(10) and store.count() == 40
    store.close()


def test_letters_of_the_earlier_layout_become_excerpts(tmp_path):
    path = tmp_path / "dl.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE dead_letter (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, "
                "topic TEXT NOT NULL, channel TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, "
                "payload BLOB NOT NULL)")
    old.executemany("INSERT INTO dead_letter (received_at, topic, channel, reason, detail, payload) "
                    "VALUES ('2026-11-01T10:00:00+00:00', ?, 'nodes/events', 'bad_json', ?, ?)",
                    [(TOPIC, f"old {k}", b"z" * 65536) for k in range(30)])
    old.commit()
    old.close()
    store = DeadLetters(path, max_rows=20)
    letters = store.latest(limit=100)
    assert len(letters) == 20 and letters[0].detail == "old 29" and letters[-1].detail == "old 10"
    assert letters[0].size == 65536 and len(letters[0].excerpt) == 4096
    store.close()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "dead_letter" not in tables and "letter" in tables
