"""Outages together: InfluxDB killed (SIGKILL) and then the collector killed while the spool
holds acknowledged batches; the broker restarted while messages are in flight (redelivered
with DUP). Nothing acknowledged is lost, nothing is stored or judged twice."""

from __future__ import annotations

import itertools
import os
import signal
import time

import pytest

from collector.service import Collector
from station.mqtt import MqttSettings
from station.contract import topics
from tests.collector.publisher import SITE, SPACE, EventPublisher
from tests.collector.test_faults import start_collector_process
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
_ids = itertools.count()


def spooled(state_dir) -> int:
    spool = state_dir / "influx-spool"
    return len([p for p in spool.iterdir() if not p.name.startswith(".")]) if spool.exists() else 0


def test_influxdb_killed_then_the_collector_killed_with_a_full_spool_loses_nothing(mosquitto, influxdb, tmp_path):
    run = next(_ids)
    bucket, cid = influxdb.create_bucket(f"spoolkill_{run}"), f"collector-spoolkill-{run}"
    state, logfile = tmp_path / "state", tmp_path / "collector.log"
    # A retained occupancy from an earlier test would pass the readiness check before the
    # new session has subscribed (and the first events would go to nobody): clear it.
    clear = EventPublisher(mosquitto.port, f"clear-{cid}")
    clear.client.publish(topics.room_occupancy(SITE, SPACE), b"", qos=1, retain=True).wait_for_publish(5)
    clear.close()
    proc = start_collector_process(mosquitto.port, influxdb.url, bucket, state, cid, logfile)
    publisher = EventPublisher(mosquitto.port, f"pub-{cid}")
    try:
        publisher.publish(300)
        wait_until(lambda: influxdb.count("event", "seq", db=bucket) == 300, timeout=30, interval=0.2)
        os.kill(influxdb.influxd.pid, signal.SIGKILL)  # no goodbye: connections reset mid-write
        influxdb.influxd.wait(5)
        for _ in range(10):
            publisher.publish(100)
            time.sleep(0.1)
        wait_until(lambda: spooled(state) > 0, timeout=30, interval=0.2)
        time.sleep(2.0)  # the outage's messages spooled and acknowledged (or not: then the broker has them)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        assert spooled(state) > 0
        influxdb.start()
        proc = start_collector_process(mosquitto.port, influxdb.url, bucket, state, cid, logfile)
        publisher.publish(100)
        wait_until(lambda: influxdb.count("event", "seq", db=bucket) >= publisher.sent, timeout=90, interval=0.5)
        wait_until(lambda: spooled(state) == 0, timeout=30, interval=0.2)
        time.sleep(1.0)
        assert influxdb.count("event", "seq", db=bucket) == publisher.sent == 1400
    finally:
        publisher.close()
        proc.terminate()
        proc.wait(10)
        influxdb.start()


def test_a_broker_restart_mid_stream_redelivers_and_nothing_is_judged_twice(inventory, broker, tmp_path):
    run = next(_ids)
    cid = f"collector-brokerrestart-{run}"
    settings = MqttSettings(host="127.0.0.1", port=broker.port)
    with Collector(inventory, settings, client_id=cid, state_dir=tmp_path / "state",
                   flush_interval_s=0.2) as c:
        publisher = EventPublisher(broker.port, f"pub-{cid}")
        publisher.publish(2000)
        wait_until(lambda: c.received["nodes/events"] > 0, timeout=10, interval=0.001)
        broker.restart()  # messages delivered and not yet acknowledged: back with DUP
        wait_until(lambda: c.bus.client.is_connected(), timeout=30)
        wait_until(lambda: publisher.client.is_connected(), timeout=30)
        publisher.publish(2000)
        wait_until(lambda: c.history.count("event") >= 4000, timeout=60, interval=0.2)
        time.sleep(1.0)
        duplicates = c.metrics.registry.get_sample_value("station_collector_duplicate_events_total")
        assert c.history.count("event") == 4000
        assert c.received["nodes/events"] - duplicates == 4000  # each event judged once
        assert sum(c.rejected.values()) == 0
        publisher.close()
