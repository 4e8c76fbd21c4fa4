"""The collector against a real Mosquitto: bad messages never stop it; a persistent session loses nothing."""

import itertools
import threading
import time
import json
from datetime import datetime, timezone

import pytest

from collector.service import Collector
from station.contract import Telemetry, topics
from tests.conftest import wait_until
from tests.collector.publisher import NODE, SITE, SPACE, EventPublisher

pytestmark = pytest.mark.mosquitto
_ids = itertools.count()


def test_garbage_between_good_events_is_dead_lettered_and_the_loop_goes_on(inventory, mqtt_settings, tmp_path):
    cid = f"collector-garbage-{next(_ids)}"
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path) as collector:
        publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
        publisher.publish(10)
        for bad in (b"", b"\x00\x01", b'{"v": 1}', json.dumps({"node": NODE, "kind": "explosion"}).encode()):
            publisher.client.publish(topics.node_events(SITE, NODE), bad, qos=1).wait_for_publish(5)
        publisher.client.publish(topics.node_telemetry(SITE, NODE),
                                 Telemetry(node="ls-porte-salle-aiguillage", space=SPACE).to_json(),
                                 qos=1).wait_for_publish(5)
        publisher.publish(10)
        wait_until(lambda: collector.history.count("event") == 20 and collector.dead_letters.count() == 5, timeout=10)
        publisher.close()
        assert collector.rejected[("nodes/events", "bad_json")] == 2
        assert collector.rejected[("nodes/events", "invalid_payload")] == 2
        assert collector.rejected[("nodes/telemetry", "node_mismatch")] == 1
        assert collector.stored_messages >= 20


def test_events_sent_while_the_collector_is_down_arrive_when_it_returns(inventory, mqtt_settings, tmp_path):
    cid = f"collector-session-{next(_ids)}"
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path) as collector:
        publisher.publish(50)
        wait_until(lambda: collector.history.count("event") == 50, timeout=10)
    publisher.publish(200)  # the broker queues them for the collector's persistent session
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path) as collector:
        wait_until(lambda: collector.history.count("event") == 250, timeout=10)
    publisher.close()


def test_occupancy_is_published_retained_and_written_to_history(inventory, mqtt_settings, tmp_path):
    import paho.mqtt.client as mqtt

    cid = f"collector-occupancy-{next(_ids)}"
    topic = topics.room_occupancy(SITE, SPACE)

    def retained_occupied():
        """What the retained message says (None when there is none within 2 s)."""
        got, arrived = [], threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"peek-{cid}-{next(_ids)}")
        client.on_message = lambda c, u, m: (got.append(m), arrived.set())
        client.connect("127.0.0.1", mqtt_settings.port)
        client.subscribe(topic, qos=1)
        client.loop_start()
        arrived.wait(2)
        client.loop_stop()
        client.disconnect()
        return json.loads(got[0].payload)["occupied"] if got and got[0].retain else None

    import paho.mqtt.publish as publish

    publish.single(topic, b"", qos=1, retain=True, hostname="127.0.0.1", port=mqtt_settings.port)  # earlier tests'
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path) as collector:
        wait_until(lambda: retained_occupied() is not True, timeout=5)  # its first judgement: nobody seen yet
        publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}", start=datetime.now(timezone.utc))
        publisher.publish(1)  # motion now
        wait_until(lambda: retained_occupied() is True, timeout=5)
        wait_until(lambda: collector.history.count("occupancy") >= 1, timeout=5)
        publisher.close()


def test_metrics_endpoint_counts_messages_rejects_and_writes(inventory, mqtt_settings, tmp_path):
    import httpx

    cid = f"collector-metrics-{next(_ids)}"
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path, metrics_port=0) as collector:
        publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
        publisher.publish(5)
        publisher.client.publish(topics.node_events(SITE, NODE), b"nope", qos=1).wait_for_publish(5)
        wait_until(lambda: collector.stored_messages >= 5 and collector.dead_letters.count() == 1, timeout=10)
        text = httpx.get(f"http://127.0.0.1:{collector.metrics_port}/metrics", timeout=5).text
        publisher.close()
    assert 'station_collector_messages_total{channel="nodes/events"} 5.0' in text
    assert 'station_collector_rejects_total{channel="nodes/events",reason="bad_json"} 1.0' in text
    assert "station_collector_write_seconds_count" in text and "station_collector_spool_batches" in text


def test_collectors_partitioned_by_site_each_store_and_speak_for_their_own(inventory, mqtt_settings, tmp_path):
    from station.contract import EventKind, NodeEvent

    cid = f"collector-part-{next(_ids)}"
    main = Collector(inventory, mqtt_settings, client_id=f"{cid}-main", state_dir=tmp_path / "main",
                     sites=["la-station"])
    mini = Collector(inventory, mqtt_settings, client_id=f"{cid}-mini", state_dir=tmp_path / "mini",
                     sites=["mini-arques"])
    with main, mini:
        publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
        publisher.publish(3)  # a La Station node
        arques = NodeEvent(id=f"evt-{cid}-arques", seq=1, node="arques-salle", kind=EventKind.motion,
                           space="arques-coworking")
        publisher.client.publish(topics.node_events("mini-arques", "arques-salle"), arques.to_json(),
                                 qos=1).wait_for_publish(5)
        wait_until(lambda: main.history.count("event") == 3 and mini.history.count("event") == 1, timeout=10)
        time.sleep(0.3)
        publisher.close()
        assert main.received["nodes/events"] == 3 and mini.received["nodes/events"] == 1
        # Each spoke (retained occupancy, written to its history) for its own spaces only.
        assert mini.history.spaces("occupancy") == {"arques-coworking"}
        la_station = {space.id for space in inventory.site("la-station").spaces}
        assert main.history.spaces("occupancy") == la_station
