"""The InfluxDB spool has a ceiling (``influx.spool_max_bytes``): a long outage, or a
node flooding valid readings while InfluxDB is away, must not fill the disk. Beyond it
the store is "down" — nothing more is acknowledged, the broker keeps the rest in the
collector's session — and once InfluxDB is back everything arrives."""

from __future__ import annotations

import itertools

import pytest

from collector.influx import InfluxSettings
from collector.service import Collector
from tests.collector.publisher import EventPublisher
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
_ids = itertools.count()
CAP = 64 * 1024


def spool_bytes(c: Collector) -> int:
    return sum(p.stat().st_size for p in c.influx_writer.spool.dir.glob("*.lp"))


def test_a_long_outage_fills_the_spool_to_its_ceiling_then_waits_with_the_broker(inventory, mqtt_settings, influxdb,
                                                                              tmp_path):
    run = next(_ids)
    bucket, cid = influxdb.create_bucket(f"spoolcap_{run}"), f"collector-spoolcap-{run}"
    settings = InfluxSettings(url=influxdb.url, bucket=bucket, replay_every_s=0.2, backoff_s=0.05,
                              spool_max_bytes=CAP)
    publisher = EventPublisher(mqtt_settings.port, f"pub-{cid}")
    with Collector(inventory, mqtt_settings, client_id=cid, state_dir=tmp_path / "state", influx=settings,
                   batch_size=100) as c:
        influxdb.stop()
        try:
            publisher.publish(2000)  # ~400 KB of line protocol: six times the ceiling
            wait_until(lambda: spool_bytes(c) > CAP // 2, timeout=20)
            wait_until(lambda: c.metrics.registry.get_sample_value("station_collector_store_errors_total") > 0,
                       timeout=20)
            acked = c.stored_messages
            assert spool_bytes(c) <= CAP  # the ceiling holds …
            assert acked < 2000  # … and what did not fit stays with the broker, unacknowledged
        finally:
            influxdb.start()
        wait_until(lambda: influxdb.count("event", "seq", db=bucket) == 2000, timeout=60, interval=0.5)
        wait_until(lambda: len(c.influx_writer.spool) == 0, timeout=20)
        assert sum(c.rejected.values()) == 0
    publisher.close()
