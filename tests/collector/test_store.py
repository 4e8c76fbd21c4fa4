"""The store path: a point the store refuses costs only its own message; a store that is down holds the acks.

Real SQLite files, a real Mosquitto and the real InfluxDB fixture: refused points
(a time outside 64-bit nanoseconds, a non-finite number, a field type conflict in
InfluxDB) are dead-lettered and acknowledged while the rest is stored; a full disk
holds every acknowledgement back until there is room, and a collector stopped
meanwhile leaves those messages to the broker, which hands them to the next one.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from collector.influx import InfluxSettings, InfluxWriter
from collector.service import Collector
from collector.store import Item, StoreLoop
from station.contract import NodeEvent, Telemetry, topics
from station.history import Point, SqliteHistory
from tests.collector.publisher import NODE, SITE, SPACE, EventPublisher, redelivered
from tests.conftest import wait_until

_ids = itertools.count()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture()
def mqtt_settings(broker):
    """A broker of each test's own: what these tests count (acknowledged, handed back) must
    not include what earlier tests left retained on the shared one."""
    from station.mqtt import MqttSettings

    return MqttSettings(host=broker.host, port=broker.port)


def event_item(k: int, at: datetime | None = None, **fields) -> Item:
    point = Point("event", {"node": NODE, "kind": "motion"}, {"seq": k, "count": 1, "id": f"e{k}", **fields},
                  at or T0 + timedelta(seconds=k))
    return Item([point], msg=f"msg-{k}", topic=topics.node_events(SITE, NODE), payload=b"{}", channel="nodes/events")


def test_refused_points_cost_only_their_own_messages(tmp_path):
    history = SqliteHistory(tmp_path / "history.sqlite")
    outcomes = []
    loop = StoreLoop(history, on_done=outcomes.append, on_write=lambda n, s: None, on_outage=lambda e: None)
    bad = {7: datetime(2262, 4, 12, tzinfo=timezone.utc), 40: datetime(1677, 9, 20, tzinfo=timezone.utc)}
    items = [event_item(k, bad.get(k)) for k in range(100)]
    items[63] = event_item(63, reason=None)  # None is fine in JSON...
    items[64].points[0].fields["seq"] = float("inf")  # ...infinity is not
    for item in items:
        loop.put(item)
    loop.run_pending()
    [outcome] = outcomes
    assert sorted(int(i.msg.split("-")[1]) for i, _ in outcome.refused) == [7, 40, 64]
    assert "64-bit nanoseconds" in outcome.refused[0][1]
    assert len(outcome.stored) == 97 and history.count("event") == 97
    assert [i.msg for i in outcome.finished] == [f"msg-{k}" for k in range(100)]  # all acknowledged, in order
    history.close()


def fill(history: SqliteHistory) -> None:
    """A full disk, as SQLite sees one: no page may be added, and the free space is used up:
    batches first, then single small rows, until even those are refused. A row small enough
    for a leaf's last free bytes may still fit afterwards, as on a real full disk."""
    history._db.execute("PRAGMA max_page_count = 1")  # clamped to the file's current size
    for size in (20, 1):
        for k in itertools.count():
            try:
                history.write([Point("telemetry", {"node": f"f{size}-{k}-{j}"}, {"co2_ppm": 1.0}, T0) for j in range(size)])
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)
                break


def make_room(history: SqliteHistory) -> None:
    history._db.execute("PRAGMA max_page_count = 1073741823")


@pytest.mark.mosquitto
def test_a_full_disk_holds_every_acknowledgement_until_there_is_room(inventory, mqtt_settings, tmp_path):
    cid = f"collector-full-{next(_ids)}"
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path) as collector:
        wait_until(lambda: collector.stored_messages == 0 and collector.history.count("occupancy") > 0)
        fill(collector.history)
        acked = collector.stored_messages
        publisher.publish(20)
        wait_until(lambda: collector.metrics.registry.get_sample_value("station_collector_store_errors_total") >= 2)
        time.sleep(0.5)
        stored = collector.history.count("event")
        assert stored < 20 and collector.stored_messages == acked + stored  # acknowledged only what was stored
        make_room(collector.history)
        wait_until(lambda: collector.history.count("event") == 20, timeout=15)
        wait_until(lambda: collector.stored_messages == acked + 20)
        assert collector.dead_letters.count() == 0  # an outage is not the data's fault
    assert redelivered(lambda: Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path), publisher) == 0
    publisher.close()


@pytest.mark.mosquitto
def test_stopping_while_the_disk_is_full_is_quick_and_leaves_the_messages_to_the_broker(inventory, mqtt_settings,
                                                                                       tmp_path):
    cid = f"collector-full-stop-{next(_ids)}"
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    collector = Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path).start()
    wait_until(lambda: collector.history.count("occupancy") > 0)
    fill(collector.history)
    publisher.publish(15)
    wait_until(lambda: collector.received["nodes/events"] == 15)
    started = time.monotonic()
    collector.stop()
    took = time.monotonic() - started
    assert took < 5.0, took
    after = SqliteHistory(collector.history.path)
    stored = after.count("event")  # a row may fit a leaf's last free bytes
    after.close()
    assert stored < 15
    assert collector.metrics.registry.get_sample_value("station_collector_unacknowledged_at_stop_total") == 15 - stored
    # The next collector (its disk has room) is handed the 15 again and stores them.
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path) as again:
        wait_until(lambda: again.history.count("event") == 15, timeout=10)
    publisher.close()


@pytest.mark.mosquitto
@pytest.mark.parametrize("memory_s", [600.0, 0.0], ids=["conflict-named", "conflict-found-by-splitting"])
def test_a_field_type_conflict_in_influxdb_dead_letters_only_the_clashing_messages(inventory, mqtt_settings, influxdb,
                                                                                  tmp_path, memory_s):
    run = next(_ids)
    bucket, cid = influxdb.create_bucket(f"conflict_{run}"), f"collector-conflict-{run}"
    settings = InfluxSettings(url=influxdb.url, bucket=bucket, conflict_memory_s=memory_s)
    seed = InfluxWriter(settings, tmp_path / "seed-spool")
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    # co2_ppm is a string in this week's shard (InfluxDB checks field types per shard).
    seed.write([Point("telemetry", {"space": "ailleurs"}, {"co2_ppm": "high"}, publisher.start)])
    seed.close()
    telemetry = topics.node_telemetry(SITE, NODE)
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path / "state", influx=settings) as c:
        for k in range(10):
            publisher.publish(3)
            reading = Telemetry(node=NODE, space=SPACE, co2_ppm=600.0 + k, humidity_pct=40.0,
                                ts=publisher.start + timedelta(seconds=k + 1))
            publisher.client.publish(telemetry, reading.to_json(), qos=1).wait_for_publish(5)
        wait_until(lambda: influxdb.count("event", "seq", db=bucket) == 30, timeout=20, interval=0.2)
        wait_until(lambda: c.rejected[("nodes/telemetry", "store_rejected")] == 10, timeout=10)
        assert c.dead_letters.flush()
        letters = c.dead_letters.latest(reason="store_rejected")
        assert len(letters) == 10 and all("field type conflict" in d.detail for d in letters)
        assert {d.sender for d in letters} == {NODE}
    factory = lambda: Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path / "state",  # noqa: E731
                                influx=settings)
    assert redelivered(factory, publisher) == 0  # the refused ones were acknowledged too
    publisher.close()


@pytest.mark.mosquitto
def test_a_retained_event_is_judged_once_also_after_a_restart(inventory, mqtt_settings, tmp_path):
    cid = f"collector-retained-event-{next(_ids)}"
    topic = topics.node_events(SITE, NODE)
    event = NodeEvent(id=f"retained-{cid}", seq=1, node=NODE, kind="motion", space=SPACE,
                      ts=datetime.now(timezone.utc))
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    publisher.client.publish(topic, event.to_json(), qos=1, retain=True).wait_for_publish(5)
    try:
        for run in range(2):
            collector = Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path)
            judged = []
            event_taken = collector.engine.event
            collector.engine.event = lambda node, at, *a: (judged.append((node, at)), event_taken(node, at, *a))
            with collector:
                wait_until(lambda: collector.received["nodes/events"] == 1)
                wait_until(lambda: collector.stored_messages >= 1)
                duplicates = collector.metrics.registry.get_sample_value("station_collector_duplicate_events_total")
                assert collector.history.count("event") == 1
            assert judged == ([(NODE, event.ts)] if run == 0 else []), run
            assert duplicates == (0 if run == 0 else 1)
    finally:
        publisher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        publisher.close()


def test_seen_event_ids_survive_a_restart_and_stay_bounded(tmp_path):
    from collector.seen import SeenEvents

    seen = SeenEvents(tmp_path / "seen.sqlite", max_ids=250)
    for batch in range(10):  # 10 stored batches of 50 events
        ids = [f"evt-{batch:02d}-{k:04d}" for k in range(50)]
        assert not any(seen.check_and_note(i) for i in ids)
        seen.persist(ids)
    seen.close()
    again = SeenEvents(tmp_path / "seen.sqlite", max_ids=250)
    assert len(again) == 250
    assert again.check_and_note("evt-09-0049") and again.check_and_note("evt-05-0000")  # the newest 250
    assert not again.check_and_note("evt-04-0049")  # older ones forgotten, on disk too
    again.close()
    rows = sqlite3.connect(tmp_path / "seen.sqlite").execute("SELECT sum(count) FROM seen_batch").fetchone()[0]
    assert rows == 250
