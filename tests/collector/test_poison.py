"""A poison message — plain or retained — never stops the collector (issue #12).

Telemetry stamped ``9999-12-31`` overflowed the nanosecond time of the SQLite history;
the failed batch was retried forever, nothing behind it was acknowledged, and sent
retained it stalled a brand-new collector on its first connect. Now the contract
refuses it on receipt (``time_out_of_range``), it is dead-lettered and acknowledged,
and the good messages behind it are stored within a second.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timezone

import pytest

from collector.service import Collector
from station.contract import Telemetry, topics
from tests.collector.publisher import NODE, SITE, SPACE, EventPublisher, redelivered
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
_ids = itertools.count()
POISON = Telemetry(node=NODE, space=SPACE, co2_ppm=612.0, ts=datetime(9999, 12, 31, tzinfo=timezone.utc)).to_json()


@pytest.mark.parametrize("retained", [False, True], ids=["plain", "retained"])
def test_a_poison_message_then_good_ones_the_good_ones_are_stored_within_a_second(inventory, mqtt_settings, tmp_path,
                                                                                 retained):
    cid = f"collector-poison-{'retained' if retained else 'plain'}-{next(_ids)}"
    topic = topics.node_telemetry(SITE, NODE)
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    if retained:  # there before the collector ever connects
        publisher.client.publish(topic, POISON, qos=1, retain=True).wait_for_publish(5)
    factory = lambda: Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path)  # noqa: E731
    try:
        with factory() as collector:
            if not retained:
                publisher.client.publish(topic, POISON, qos=1).wait_for_publish(5)
            sent = time.monotonic()
            publisher.publish(20)
            wait_until(lambda: collector.history.count("event") == 20, timeout=1.0)
            stored_after = time.monotonic() - sent
            wait_until(lambda: collector.stored_messages >= 20)
            assert collector.rejected[("nodes/telemetry", "time_out_of_range")] == 1
            assert collector.dead_letters.flush()
            [letter] = collector.dead_letters.latest()
            assert letter.reason == "time_out_of_range" and letter.excerpt == POISON and "9999-12-31" in letter.detail
            # The node's clock was ~8,000 years fast once; its good messages since are on time.
            ahead = collector.metrics.registry.get_sample_value("station_collector_clock_ahead_total", {"node": NODE})
            skew = collector.metrics.registry.get_sample_value("station_collector_clock_skew_seconds", {"node": NODE})
            assert ahead == 1 and abs(skew) < 60
        print(f"good messages stored {stored_after * 1000:.0f} ms after the poison")
        # Everything was acknowledged: the same session gets nothing back (but the retained
        # poison, which any subscription receives again, and which is refused again).
        assert redelivered(factory, publisher, channels=("nodes/events",)) == 0
    finally:
        if retained:
            publisher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        publisher.close()


def test_a_retained_poison_is_refused_again_on_every_connect_and_stops_nothing(inventory, mqtt_settings, tmp_path):
    cid = f"collector-poison-again-{next(_ids)}"
    topic = topics.node_telemetry(SITE, NODE)
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    publisher.client.publish(topic, POISON, qos=1, retain=True).wait_for_publish(5)
    try:
        for run in range(3):
            with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path) as collector:
                publisher.publish(5)
                wait_until(lambda: collector.history.count("event") == 5 * (run + 1), timeout=2)
                assert collector.rejected[("nodes/telemetry", "time_out_of_range")] == 1
    finally:
        publisher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        publisher.close()
