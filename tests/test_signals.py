"""Every long-running command stops on SIGTERM or Ctrl-C (SIGINT) within seconds — also with its store down.

Real subprocesses (`station collector run`, `station edge run`) against a real Mosquitto,
a real signal, a stopwatch.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from collector.service import Collector
from station.broker.dev import free_port
from tests.collector.publisher import EventPublisher
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
ROOT = Path(__file__).resolve().parents[1]
STOP_WITHIN_S = 5.0
_ids = itertools.count()


def station(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lastation.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200", **(env or {})})


def metric(port: int, name: str) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return -1.0
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]
    return sum(values) if values else 0.0


def stop(proc: subprocess.Popen, signum: int) -> tuple[float, str]:
    started = time.monotonic()
    proc.send_signal(signum)
    try:
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0].decode(errors="replace")
    return time.monotonic() - started, out


def collector_cli(mqtt_port: int, state: Path, cid: str, metrics_port: int) -> subprocess.Popen:
    proc = station("collector", "run", "--mqtt-port", str(mqtt_port), "--state-dir", str(state), "--client-id", cid,
                   "--metrics-port", str(metrics_port))
    wait_until(lambda: metric(metrics_port, "station_collector_points_written_total") > 0, timeout=20, interval=0.1)
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_collector_run_stores_what_it_has_and_exits_quickly(mosquitto, tmp_path, signum):
    cid, port = f"collector-signal-{next(_ids)}", free_port()
    proc = collector_cli(mosquitto.port, tmp_path / "state", cid, port)
    publisher = EventPublisher(mosquitto.port, f"pub-{cid}")
    publisher.publish(200)
    wait_until(lambda: metric(port, 'station_collector_messages_total{channel="nodes/events"}') == 200, timeout=10)
    took, out = stop(proc, signum)
    publisher.close()
    print(f"stopped in {took:.2f} s")
    assert proc.returncode == 0 and took < STOP_WITHIN_S, (took, out[-2000:])


def test_collector_run_with_its_store_locked_exits_quickly_and_leaves_the_messages(inventory, mosquitto, tmp_path):
    """The issue's 40 s: SIGTERM while every write fails. Now bounded, and nothing unstored is acknowledged."""
    cid, port = f"collector-locked-{next(_ids)}", free_port()
    state = tmp_path / "state"
    proc = collector_cli(mosquitto.port, state, cid, port)
    lock = sqlite3.connect(state / "history.sqlite", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock: every write fails
    publisher = EventPublisher(mosquitto.port, f"pub-{cid}")
    publisher.publish(30)
    wait_until(lambda: metric(port, "station_collector_store_errors_total") >= 2, timeout=15, interval=0.1)
    took, out = stop(proc, signal.SIGTERM)
    lock.execute("ROLLBACK")
    lock.close()
    print(f"stopped in {took:.2f} s")
    assert proc.returncode == 0 and took < STOP_WITHIN_S, (took, out[-2000:])
    assert "unacknowledged" in " ".join(out.split())
    with Collector(inventory, mosquitto_settings(mosquitto), client_id=cid, state_dir=state) as again:
        wait_until(lambda: again.history.count("event") == 30, timeout=10)  # handed over again, stored now
    publisher.close()


def mosquitto_settings(broker):
    from station.mqtt import MqttSettings

    return MqttSettings(host=broker.host, port=broker.port)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_edge_run_exits_quickly(mosquitto, tmp_path, signum):
    import paho.mqtt.subscribe as subscribe

    node = "ls-salle-salle-depot"
    config = tmp_path / "edge.yaml"
    config.write_text(f"node: {node}\ninventory: {ROOT / 'inventory' / 'la-station.yaml'}\n"
                      f"data_dir: {tmp_path / 'data'}\nmqtt:\n  port: {mosquitto.port}\n"
                      "sensors:\n  co2: none\n  light: none\n  climate: none\ntelemetry_interval_s: 1\n")
    proc = station("edge", "run", "--config", str(config), env={"GPIOZERO_PIN_FACTORY": "mock"})
    try:
        msg = subscribe.simple(f"station/v1/la-station/nodes/{node}/telemetry", hostname="127.0.0.1",
                               port=mosquitto.port, qos=1, keepalive=10)
        assert msg.payload
    finally:
        took, out = stop(proc, signum)
    print(f"stopped in {took:.2f} s")
    assert proc.returncode == 0 and took < STOP_WITHIN_S, (took, out[-2000:])
