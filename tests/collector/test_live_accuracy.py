"""The live path against ground truth: simulated nodes on mock pins → real Mosquitto → collector.

The fab-lab bus (one space, a door node and a room node), from its opening, simulated for an hour
at 120× (30 s of wall time). The collector's judgement is read back from what it wrote
in its history (the `occupancy` measurement, one point a simulated minute at least) and
compared, minute by minute, with the simulator's ground-truth CSV.
"""

import csv
import time
from datetime import datetime, timedelta

import pytest

from collector.service import Collector
from edge.simulator import BuildingSimulator
from station.clock import AcceleratedClock
from station.clock import weekday_morning
from station.mqtt import MqttSettings

pytestmark = pytest.mark.mosquitto
SITE, SPACE = "bus-fablab", "bus-atelier"


def test_simulated_hour_through_the_broker_matches_ground_truth(inventory, broker, tmp_path):
    # A private broker: the accelerated clock stamps retained messages in the simulated
    # future, which must not leak into other tests' brokers.
    mqtt_settings = MqttSettings(host=broker.host, port=broker.port)
    clock = AcceleratedClock(weekday_morning(inventory.sites[0].timezone), speed=120)
    truth_csv = tmp_path / "truth.csv"
    with Collector(inventory, mqtt_settings, clock=clock, client_id=f"collector-live-{time.time_ns()}",
                   state_dir=tmp_path / "state", publish_every_s=60) as collector:
        simulator = BuildingSimulator(inventory, mqtt_settings, clock=clock, sites=[SITE], truth_csv=truth_csv,
                                      seed=21).start()
        began = clock.now()
        clock.sleep(3600)
        simulator.stop()
        ended = clock.now()
        time.sleep(0.5)  # the last batch reaches the history
        judged = collector.history.series(SPACE, "occupancy", "occupied", began, ended, timedelta(minutes=1), "last")
    truth = {}
    with open(truth_csv) as handle:
        for row in csv.DictReader(handle):
            if row["space"] == SPACE:
                truth[datetime.fromisoformat(row["minute"])] = int(row["people"])
    scored, right, vacant, last = 0, 0, 0, None
    for at, value in judged:
        last = value if value is not None else last
        if at in truth and last is not None and at >= began + timedelta(minutes=5):  # after warm-up
            scored += 1
            right += (truth[at] > 0) == bool(last)
            vacant += truth[at] == 0
    assert scored >= 45
    assert 3 <= vacant <= scored - 3  # both states are scored: neither "always" guess passes
    print(f"live minute accuracy {right / scored:.3f} over {scored} minutes, {vacant} of them vacant")
    assert right / scored >= 0.9, right / scored
