"""Files at rest are their owner's only: 0600 files, 0700 directories (issue #12).

The collector's history, dead letters, duplicate ids and InfluxDB spool, and the edge
node's outbox and grant cache — through the two helpers they share
(``station.sqlite.open_wal``, ``station.durable``) — under the usual umask 022.
"""

from __future__ import annotations

import os
import threading
import stat
from pathlib import Path

import pytest

from station.durable import private_dir, private_file, write_durably
from station.sqlite import open_wal


@pytest.fixture(autouse=True)
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_sqlite_file_and_its_wal_and_shm_are_0600_and_new_folders_0700(tmp_path):
    db = open_wal(tmp_path / "a" / "b" / "x.sqlite")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    for name in ("x.sqlite", "x.sqlite-wal", "x.sqlite-shm"):
        assert mode(tmp_path / "a" / "b" / name) == 0o600, name
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
    db.close()


def test_an_older_world_readable_file_is_tightened_when_opened(tmp_path):
    path = tmp_path / "old.sqlite"
    open_wal(path).close()
    os.chmod(path, 0o644)
    open_wal(path).close()
    assert mode(path) == 0o600
    group = tmp_path / "shared.sqlite"
    open_wal(group, mode=0o640).close()  # where a group must read it
    assert mode(group) == 0o640


def test_durable_writes_are_0600_even_over_a_leftover_tmp(tmp_path):
    leftover = tmp_path / f"grants.{threading.get_ident()}.tmp"  # this thread's, from a crash
    leftover.write_bytes(b"half")
    os.chmod(leftover, 0o666)
    write_durably(tmp_path / "grants.json", b"{}")
    assert mode(tmp_path / "grants.json") == 0o600 and not leftover.exists()


def test_two_threads_writing_one_file_durably_never_fail(tmp_path):
    """A machine node notes its session from the badge thread and from its tick: with one
    temporary name, one thread renamed the other's away and its badge handler failed."""
    path, errors = tmp_path / "machine-session.json", []

    def write(tag: bytes) -> None:
        try:
            for _ in range(300):
                write_durably(path, tag * 100)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(tag,)) for tag in (b"a", b"b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and path.read_bytes() in (b"a" * 100, b"b" * 100)
    assert not list(tmp_path.glob("*.tmp"))


def test_existing_folders_are_left_alone(tmp_path):
    os.chmod(tmp_path, 0o755)
    private_dir(tmp_path / "new")
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "new") == 0o700
    assert mode(private_file(tmp_path / "new" / "f")) == 0o600


def test_the_collectors_files_are_private(inventory, tmp_path):
    from datetime import datetime, timezone

    from collector.influx import InfluxSettings
    from collector.service import Collector
    from station.history import Point
    from station.mqtt import MqttSettings

    state = tmp_path / "state"
    dead = InfluxSettings(url="http://127.0.0.1:9", bucket="x", retries=0, replay_every_s=3600)
    for influx in (None, dead):
        c = Collector(inventory, MqttSettings(port=1), state_dir=state, influx=influx)
        c.dead_letters.add("t", "nodes/events", "bad_json", "", b"{")
        assert c.dead_letters.flush()
        c.seen.persist(["evt-00000001"])
        c.history.write([Point("telemetry", {"space": "s"}, {"co2_ppm": 1.0}, datetime.now(timezone.utc))])
        c.history.close(), c.dead_letters.close(), c.seen.close()
    files = [p for p in state.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"history.sqlite", "dead-letters.sqlite", "seen-events.sqlite", "000000000000.lp"} <= names
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(state) == mode(state / "influx-spool") == 0o700


def test_the_edge_nodes_outbox_and_grant_cache_are_private(inventory, tmp_path):
    from edge.grants import GrantCache
    from station.access import generate_key_set, load_node_keys
    from edge.outbox import Outbox

    outbox = Outbox(tmp_path / "data" / "outbox.sqlite3")
    outbox.close()
    paths = generate_key_set(tmp_path / "keys")
    keys = load_node_keys(paths.public, paths.hmac)
    GrantCache(tmp_path / "data" / "grants", "la-station", ["porte-salle-aiguillage"], keys)
    assert mode(tmp_path / "data") == mode(tmp_path / "data" / "grants") == 0o700
    assert mode(tmp_path / "data" / "outbox.sqlite3") == 0o600
