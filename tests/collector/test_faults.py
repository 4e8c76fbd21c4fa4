"""Faults: the collector killed with SIGKILL mid-stream, InfluxDB down for a minute — nothing lost."""

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.subscribe as subscribe
import pytest

from collector.influx import InfluxSettings
from collector.service import Collector
from station.contract import topics
from tests.collector.publisher import SITE, SPACE, EventPublisher
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
ROOT = Path(__file__).resolve().parents[2]
_ids = itertools.count()
OUTAGE_S = 60.0  # the figure: InfluxDB stopped for a minute mid-stream


def start_collector_process(port: int, influx_url: str, bucket: str, state_dir: Path, client_id: str,
                            log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "collector", "run", "--mqtt-port", str(port),
                             "--influx-url", influx_url, "--influx-bucket", bucket, "--state-dir", str(state_dir),
                             "--client-id", client_id], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    # Connected and subscribed once it has published every room's retained occupancy.
    subscribe.simple(topics.room_occupancy(SITE, SPACE), hostname="127.0.0.1", port=port, qos=1)
    return proc


def test_collector_killed_mid_stream_loses_no_event_and_counts_none_twice(inventory, mosquitto, influxdb, tmp_path):
    run = next(_ids)
    bucket, cid = influxdb.create_bucket(f"sigkill_{run}"), f"collector-sigkill-{run}"
    logfile = tmp_path / "collector.log"
    # A retained occupancy from an earlier run would fool the readiness check: clear it.
    subscribe_clear = EventPublisher(mosquitto.port, f"clear-{cid}")
    subscribe_clear.client.publish(topics.room_occupancy(SITE, SPACE), b"", qos=1, retain=True).wait_for_publish(5)
    subscribe_clear.close()
    proc = start_collector_process(mosquitto.port, influxdb.url, bucket, tmp_path / "state", cid, logfile)
    publisher = EventPublisher(mosquitto.port, f"pub-{cid}")
    sender = threading.Thread(target=lambda: [publisher.publish(200) or time.sleep(0.02) for _ in range(20)])
    sender.start()
    try:
        wait_until(lambda: publisher.sent >= 1200, timeout=30)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: batches in flight, messages unacknowledged
        proc.wait(5)
        stored_before_restart = influxdb.count("event", "seq", db=bucket)
        proc = start_collector_process(mosquitto.port, influxdb.url, bucket, tmp_path / "state", cid, logfile)
        sender.join(60)
        assert publisher.sent == 4000
        wait_until(lambda: influxdb.count("event", "seq", db=bucket) >= 4000, timeout=60, interval=0.5)
        time.sleep(1.0)  # anything still redelivered must overwrite, not add
        assert influxdb.count("event", "seq", db=bucket) == 4000
        assert 0 < stored_before_restart < 4000
    finally:
        publisher.close()
        proc.terminate()
        proc.wait(10)


def test_influxdb_down_for_a_minute_mid_stream_loses_nothing(inventory, mqtt_settings, influxdb, tmp_path):
    run = next(_ids)
    bucket, cid = influxdb.create_bucket(f"outage_{run}"), f"collector-outage-{run}"
    settings = InfluxSettings(url=influxdb.url, bucket=bucket, replay_every_s=0.5, backoff_s=0.05)
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path / "state", influx=settings) as c:
        publisher.publish(300)
        wait_until(lambda: influxdb.count("event", "seq", db=bucket) == 300, timeout=20)
        influxdb.stop()
        try:
            outage_ends = time.monotonic() + OUTAGE_S
            while time.monotonic() < outage_ends:  # the building goes on: 20 events a second
                publisher.publish(20)
                time.sleep(1.0)
            # Every message of the outage was stored (spooled) and acknowledged.
            wait_until(lambda: c.stored_messages >= publisher.sent, timeout=10)
            assert c.influx_writer.spooled_batches > 0 and len(c.influx_writer.spool) > 0
            assert sum(c.rejected.values()) == 0  # an outage is not the data's fault: spooled, not refused
        finally:
            influxdb.start()
        publisher.publish(100)
        wait_until(lambda: influxdb.count("event", "seq", db=bucket) == publisher.sent, timeout=60, interval=0.5)
        assert len(c.influx_writer.spool) == 0
        depth = c.metrics.registry.get_sample_value("station_collector_spool_batches")
        assert depth == 0
    publisher.close()
