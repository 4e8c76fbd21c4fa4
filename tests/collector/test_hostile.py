"""Hostile input over a real Mosquitto: every channel the collector takes, any payload, any time.

Hypothesis draws batches of messages (`tests/contract/strategies.py`: plausible,
broken, oversized, stamped anywhere from year 1 to 9999) and publishes them to the
collector's topics; behind each batch comes one good event from another node. The
collector must never stall (the good event stored within a second), must count every
message as received or rejected, and must never fail to store what it accepted.
"""

from __future__ import annotations

import itertools
import time

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from collector.service import Collector
from station.broker.dev import BrokerError, DevBroker
from tests.conftest import started, wait_until
from tests.contract.strategies import good_event, messages

pytestmark = pytest.mark.mosquitto
_runs = itertools.count()


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory):
    """A broker of this module's own: what earlier tests left retained on the shared one
    (node status, events) would reach the collector during the first examples and be
    counted as if the batch had sent it."""
    broker = started("mosquitto", DevBroker(tmp_path_factory.mktemp("hostile-broker")), BrokerError)
    yield broker
    broker.close()


@pytest.fixture(scope="module")
def rig(inventory, own_broker, tmp_path_factory):
    from station.mqtt import MqttSettings

    collector = Collector(inventory, MqttSettings(port=own_broker.port), client_id="collector-hostile",
                          state_dir=tmp_path_factory.mktemp("hostile"),
                          dead_letters={"rate_per_s": 1000.0, "burst": 1000, "total_rate_per_s": 1000.0,
                                        "total_burst": 1000})
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="hostile-sender", protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", own_broker.port)
    client.loop_start()
    with collector:
        yield collector, client
    client.disconnect()
    client.loop_stop()


def heard(collector: Collector) -> int:
    return sum(collector.received.values()) + sum(n for (_, reason), n in collector.rejected.items()
                                                  if reason != "store_rejected")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(messages(channels=Collector.CHANNELS), min_size=1, max_size=12))
def test_hostile_batches_never_stall_the_collector_and_every_message_is_counted(rig, batch):
    collector, client = rig
    before, events_before = heard(collector), collector.history.count("event")
    for topic, payload in batch:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    topic, payload = good_event(next(_runs), "hostile", node_id="ls-salle-salle-depot", space="salle-depot")
    sent = time.monotonic()
    client.publish(topic, payload, qos=1).wait_for_publish(5)
    expected = before + len(batch) + 1
    try:
        wait_until(lambda: heard(collector) >= expected, timeout=5, interval=0.005)
    finally:  # short or over, say by how much: over means a message counted twice, or not ours
        assert heard(collector) == expected, (heard(collector) - expected, collector.received, collector.rejected)
    wait_until(lambda: collector.history.count("event") > events_before, timeout=max(0.0, sent + 1.0 - time.monotonic()),
               interval=0.005)
    assert not any(reason in ("store_rejected", "internal_error") for _, reason in collector.rejected), \
        collector.rejected
    metric = sum(s.value for m in collector.metrics.registry.collect() if m.name == "station_collector_rejects"
                 for s in m.samples if s.name.endswith("_total"))
    assert metric == sum(collector.rejected.values())
