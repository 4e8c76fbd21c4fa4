"""Collector throughput: QoS 1 node events through a real Mosquitto into the collector and InfluxDB.

Everything is real and on loopback: Mosquitto (the project's dev config, with an
unlimited queue so the whole stream can wait for a consumer), InfluxDB 1.6 behind the
nginx ``/api/v2/write`` front (``tests/utils/influx.py``), the collector writing
through influxdb-client with its spool and manual acknowledgements.

1. **Drain.** ``--messages`` events (200-odd bytes, from every node of the inventory)
   are queued in the broker for a consumer's persistent session, then the consumer
   connects and drains them. Baseline, measured in the same run on the same stream: a
   bare paho subscriber that only counts messages (auto-ack) — the ceiling for a Python
   MQTT consumer on this machine — and a second one with the collector's own client
   (``station.mqtt_throughput.ThroughputClient``), the ceiling for *that* client.
   The collector's rate is counted up to the moment
   every message is *stored* (written to InfluxDB or spooled) and acknowledged.
2. **Lost.** Events in InfluxDB afterwards (``count(seq)``), against those sent.
3. **Latency.** A publisher in another process sends ``--rate`` events per second for
   ``--seconds``; each event's ``ts`` is its publish time, and the collector notes when
   its batch was stored: p50/p99 of publish → stored.

``*_cpu_us_per_msg`` is the CPU time of the bench process (user + system) per message
while draining: Python holds one core at a time (the GIL), so it bounds the rate; the
broker, InfluxDB and nginx run beside it on the same two cores.

Prints one JSON object on its last line: ``msgs_per_s``, ``bare_subscriber_msgs_per_s``,
``ratio``, ``lost``, ``p99_latency_ms`` (and a few more).
Targets: ≥ 10,000 msg/s, ratio ≥ 0.4, lost = 0, p99 ≤ 250 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from collector.influx import InfluxSettings  # noqa: E402
from collector.service import Collector  # noqa: E402
from station.broker.dev import DEV_CONFIG, DevBroker  # noqa: E402
from station.contract import EventKind, NodeEvent, topics  # noqa: E402
from station.inventory import NodeProfile, load_inventory  # noqa: E402
from station.mqtt import MqttSettings  # noqa: E402
from station.mqtt_throughput import ThroughputClient  # noqa: E402
from tests.utils.influx import InfluxServer  # noqa: E402


def cpu_seconds() -> float:
    """CPU time (user + system) of this process: where a Python consumer's time goes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stream(inventory, n: int, start: datetime, tag: str) -> list[tuple[str, bytes]]:
    """``n`` events spread over every node of the inventory, each unique (id, seq, ts)."""
    nodes = [(site.id, node) for site, node in inventory.nodes()]
    out = []
    for k in range(n):
        site, node = nodes[k % len(nodes)]
        seq = k // len(nodes)
        room = node.profile is NodeProfile.room_node
        space = node.space if room else inventory.door(node.doors[0])[1].space
        event = NodeEvent(id=f"{tag}-{node.id[:30]}-{seq:08d}", seq=seq, node=node.id,
                          kind=EventKind.motion if room else EventKind.door_opened, space=space,
                          door=None if room else node.doors[0], ts=start + timedelta(microseconds=seq))
        out.append((topics.node_events(site, node.id), event.to_json()))
    return out


def publish_all(port: int, messages: list[tuple[str, bytes]], client_id: str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for k in range(0, len(messages), 10_000):  # paho's message ids wrap at 65,535: publish in chunks
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages[k:k + 10_000]]
        for info in infos:
            info.wait_for_publish(600)
    client.disconnect()
    client.loop_stop()


def bare_drain(port: int, expected: int, client_id: str, prepare: bool, client_class=mqtt.Client) -> float:
    """A paho subscriber that only counts; messages per second from connect to the last one."""
    done, count = threading.Event(), [0]

    def on_message(client, userdata, msg):
        count[0] += 1
        if count[0] >= expected:
            done.set()

    client = client_class(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 1000
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_connect = lambda c, *a: c.subscribe(topics.subscription("nodes", "events"), qos=1)
    started = time.perf_counter()
    client.connect("127.0.0.1", port, clean_start=prepare, properties=props)
    client.loop_start()
    if prepare:
        subscribed.wait(10)
        client.disconnect()
        client.loop_stop()
        return 0.0
    if not done.wait(600):
        raise RuntimeError(f"bare subscriber got {count[0]} of {expected}")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return expected / elapsed


class TimedCollector(Collector):
    """The collector, noting when each event's batch was stored (for the latency run)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.stored_at: list[tuple[float, float]] = []  # (publish time, stored time), epoch seconds
        self.timing = False

    def _store(self, points):
        super()._store(points)
        if self.timing:
            now = time.time()
            self.stored_at += [(p.time.timestamp(), now) for p in points if p.measurement == "event"]


def paced_publisher(port: int, inventory_path: str, rate: float, seconds: float, tag: str) -> None:
    """Another process: ``rate`` events per second, each stamped with its publish time."""
    inventory = load_inventory(inventory_path)
    nodes = [(site.id, node) for site, node in inventory.nodes() if node.profile is NodeProfile.room_node]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"paced-{tag}", protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    total = int(rate * seconds)
    t0 = time.perf_counter()
    for k in range(total):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        site, node = nodes[k % len(nodes)]
        event = NodeEvent(id=f"{tag}-{k:09d}", seq=k, node=node.id, kind=EventKind.motion, space=node.space,
                          ts=datetime.now(timezone.utc))
        client.publish(topics.node_events(site, node.id), event.to_json(), qos=1)
    time.sleep(1)
    client.disconnect()
    client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    inventory = load_inventory()
    work = Path(tempfile.mkdtemp(prefix="bench-collector-"))
    conf = work / "mosquitto.bench.conf"
    conf.write_text(re.sub(r"^max_queued_messages .*$", "max_queued_messages 0", DEV_CONFIG.read_text(), flags=re.M)
                    .replace("persistence true", "persistence false"))
    influx = InfluxServer(work / "influxdb", bucket="bench")
    try:
        influx.start()
        results = measure(args, inventory, conf, work, influx)
    finally:
        influx.close()
    print(json.dumps(results))


def measure(args, inventory, conf: Path, work: Path, influx: InfluxServer) -> dict:
    results: dict = {"messages": args.messages}
    with DevBroker(work / "mosquitto", config=conf) as broker:
        start = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
        # 1. the ceilings: a bare subscriber draining the queued stream — stock paho, then
        #    the collector's own client (station.mqtt_throughput)
        for rate_key, cpu_key, tag, client_class in (
                ("bare_subscriber_msgs_per_s", "bare_cpu_us_per_msg", "bare", mqtt.Client),
                ("bare_throughput_client_msgs_per_s", "bare_throughput_client_cpu_us_per_msg", "bare-tc",
                 ThroughputClient)):
            bare_drain(broker.port, args.messages, f"bench-{tag}", True, client_class)
            publish_all(broker.port, stream(inventory, args.messages, start, tag), f"bench-pub-{tag}")
            cpu = cpu_seconds()
            results[rate_key] = round(bare_drain(broker.port, args.messages, f"bench-{tag}", False, client_class))
            results[cpu_key] = round((cpu_seconds() - cpu) / args.messages * 1e6, 1)
        # 2. the collector draining the same stream into InfluxDB
        settings = MqttSettings(port=broker.port)
        influx_settings = InfluxSettings(url=influx.url, bucket="bench")
        state = work / "collector"
        Collector(inventory, settings, client_id="bench-collector", state_dir=state, influx=influx_settings).start().stop()
        publish_all(broker.port, stream(inventory, args.messages, start, "coll"), "bench-pub-coll")
        collector = TimedCollector(inventory, settings, client_id="bench-collector", state_dir=state,
                                   influx=influx_settings)
        started, cpu = time.perf_counter(), cpu_seconds()
        collector.start()
        deadline = time.monotonic() + 900
        while collector.stored_messages < args.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        results["collector_cpu_us_per_msg"] = round((cpu_seconds() - cpu) / args.messages * 1e6, 1)
        results["msgs_per_s"] = round(collector.stored_messages / elapsed)
        results["ratio"] = round(results["msgs_per_s"] / results["bare_subscriber_msgs_per_s"], 3)
        results["ratio_to_throughput_client"] = round(
            results["msgs_per_s"] / results["bare_throughput_client_msgs_per_s"], 3)
        results["spooled_batches"] = collector.influx_writer.spooled_batches
        collector.influx_writer.drain(60)
        stored = influx.count("event", "seq", db="bench")
        results["lost"] = args.messages - stored
        # 3. latency at a steady rate, publisher in another process
        collector.timing = True
        proc = multiprocessing.get_context("spawn").Process(
            target=paced_publisher, args=(broker.port, str(Path(__file__).resolve().parents[1] / "inventory" /
                                                           "la-station.yaml"), args.rate, args.seconds, "lat"))
        proc.start()
        proc.join(args.seconds + 120)
        expected = int(args.rate * args.seconds)
        deadline = time.monotonic() + 60
        while len(collector.stored_at) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies = sorted((stored - sent) * 1000 for sent, stored in collector.stored_at)
        collector.stop()
        results["latency_messages"] = len(latencies)
        results["p50_latency_ms"] = round(statistics.median(latencies), 1)
        results["p99_latency_ms"] = round(latencies[int(0.99 * (len(latencies) - 1))], 1)
        results["latency_rate_per_s"] = args.rate
    return results


if __name__ == "__main__":
    main()
