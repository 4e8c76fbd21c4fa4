"""A dead-letter flood from one node: the others' messages are stored in time, the store holds its cap.

The issue's figures: 3,000 junk payloads of 200 KB from one node became 200 MB of dead
letters in 6 s, written and fsynced on the network thread, and a good message from
another node waited 8.3 s. Now a payload over the channel's limit is refused unread,
letters are excerpts written by their own thread, one node gets its rate, and the
store keeps to its cap.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from collector.service import Collector
from station.contract import EventKind, NodeEvent, topics
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
FLOODER, SITE = "ls-porte-guichet", "la-station"
OTHER, OTHER_SPACE = "ls-salle-salle-aiguillage", "salle-aiguillage"
CAP_ROWS, CAP_BYTES = 200, 48 * 1024  # the byte cap binds: about 11 letters of 4 KiB


def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=MQTTProtocolVersion.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


@pytest.mark.parametrize("size, count, reason", [(200_000, 3000, "too_large"), (12_000, 3000, "bad_json")],
                         ids=["200KB-unread", "12KB-parsed"])
def test_one_node_flooding_junk_does_not_delay_another_nodes_message(inventory, mqtt_settings, tmp_path,
                                                                      size, count, reason):
    cid = f"collector-flood-{size}"
    limits = {"max_rows": CAP_ROWS, "max_bytes": CAP_BYTES, "rate_per_s": 2.0, "burst": 20}
    flood, other = client(mqtt_settings.port, f"flood-{size}"), client(mqtt_settings.port, f"other-{size}")
    topic = topics.node_events(SITE, FLOODER)
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path, dead_letters=limits) as collector:
        junk = [os.urandom(size) for _ in range(8)]
        def send():
            infos = [flood.publish(topic, junk[k % 8], qos=1) for k in range(count)]
            for info in infos:
                info.wait_for_publish(60)
        sender = threading.Thread(target=send)
        started = time.monotonic()
        sender.start()
        wait_until(lambda: sum(collector.rejected.values()) >= count // 3, timeout=30, interval=0.005)
        event = NodeEvent(id=f"other-{size}-{time.monotonic_ns()}", seq=1, node=OTHER, kind=EventKind.motion,
                          space=OTHER_SPACE, ts=datetime.now(timezone.utc))
        sent = time.monotonic()
        other.publish(topics.node_events(SITE, OTHER), event.to_json(), qos=1)
        wait_until(lambda: collector.history.count("event") == 1, timeout=2.0, interval=0.005)
        latency = time.monotonic() - sent
        in_flood = sum(collector.rejected.values()) < count
        sender.join(120)
        wait_until(lambda: collector.rejected[("nodes/events", reason)] == count, timeout=60)
        flood_s = time.monotonic() - started
        assert collector.dead_letters.flush()
        summary = collector.dead_letters.summary()
        letters = collector.dead_letters.counts
    flood.disconnect(), other.disconnect()
    flood.loop_stop(), other.loop_stop()
    print(f"\n{count} × {size} B from {FLOODER}: {OTHER}'s event stored {latency * 1000:.0f} ms after it was sent "
          f"({'during' if in_flood else 'after'} the flood; all {count} refused in {flood_s:.1f} s); dead letters {summary}; outcomes {dict(letters)}")
    assert in_flood, "the flood was over before the other node's message: the test proved nothing"
    assert summary["stored"] <= CAP_ROWS and summary["stored_bytes"] <= CAP_BYTES
    assert letters["evicted"] == letters["kept"] - summary["stored"] > 0  # the oldest dropped, and counted
    assert letters["kept"] + letters["rate_limited"] + letters["queue_full"] == count  # every one counted
    assert letters["rate_limited"] >= count - 100  # one node gets its rate: burst 20, then 2 a second
    assert (tmp_path / "dead-letters.sqlite").stat().st_size < 4 * CAP_BYTES + 1024 * 1024
