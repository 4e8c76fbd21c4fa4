"""Fixtures of the collector's tests."""

from __future__ import annotations

import itertools

import pytest

from collector.influx import InfluxSettings, InfluxWriter
from station.history import InfluxHistory, SqliteHistory

_buckets = itertools.count()


@pytest.fixture(params=["sqlite", "influxdb"])
def history(request, tmp_path):
    """Each history store the collector writes to: the embedded SQLite one, and a real
    InfluxDB 1.x (a bucket of the test's own)."""
    if request.param == "sqlite":
        h = SqliteHistory(tmp_path / "history.sqlite")
    else:
        server = request.getfixturevalue("influxdb")
        bucket = server.create_bucket(f"history_{next(_buckets)}")
        h = InfluxHistory(server.url, bucket, writer=InfluxWriter(InfluxSettings(url=server.url, bucket=bucket),
                                                                  tmp_path / "spool"))
    yield h
    h.close()


@pytest.fixture()
def unconnected_collector(inventory, tmp_path, history, request):
    """A collector whose handlers a test calls itself (no broker), on each history store."""
    from collector.service import Collector
    from station.mqtt import MqttSettings

    c = Collector(inventory, MqttSettings(port=1), client_id=f"collector-{request.module.__name__.rsplit('.', 1)[-1]}",
                  state_dir=tmp_path / "state", history=history)
    yield c
    c.dead_letters.close()
    c.seen.close()
