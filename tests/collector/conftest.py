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


@pytest.fixture()
def make_collector(inventory, tmp_path, request):
    """Collectors on a manual clock, never connected, each in a state folder of its own
    (``state``: the name of one to share); ``engine_process``: the engine in its own process."""
    from collector.service import Collector
    from station.mqtt import MqttSettings
    from tests.utils.clocks import ManualClock

    made = []

    def make(engine_process: bool = False, state: str | None = None) -> Collector:
        c = Collector(inventory, MqttSettings(port=1),
                      client_id=f"collector-{request.module.__name__.rsplit('.', 1)[-1]}",
                      state_dir=tmp_path / (state or f"state-{len(made)}"), clock=ManualClock(),
                      engine_process=engine_process)
        made.append(c)
        return c
    yield make
    for c in made:
        c.engine.close()
        c.history.close()
        c.dead_letters.close()
        c.seen.close()
