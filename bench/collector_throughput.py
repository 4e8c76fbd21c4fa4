"""Collector throughput: QoS 1 node messages through a real Mosquitto into the collector and InfluxDB.

Everything is real and on loopback: Mosquitto (the project's dev config, with an
unlimited queue so the whole stream can wait for a consumer), InfluxDB 1.6 behind the
nginx ``/api/v2/write`` front (``tests/utils/influx.py``), the collector writing
through influxdb-client with its spool and manual acknowledgements.

The stream (``--stream``): ``telemetry`` (default, the readings of every room node of the
inventory, a minute apart per node, ~150 bytes) or ``events`` (door and motion events of
every node, ~200 bytes). Every phase below uses the same stream.

1. **Drain.** ``--messages`` messages are queued in the broker for a consumer's
   persistent session, then the consumer connects and drains them. Baselines, measured in
   the same run on the same stream: a bare paho subscriber that only counts messages
   (auto-ack) — the ceiling for a Python MQTT consumer on this machine — and a second one
   with the collector's own client (``station.mqtt_throughput.ThroughputClient``), the
   ceiling for *that* client. The collector's rate is counted up to the moment every
   message is *stored* (written to InfluxDB or spooled) and acknowledged.
2. **Lost.** Points in InfluxDB afterwards, against messages sent.
3. **Latency.** A publisher in another process sends ``--rate`` messages per second for
   ``--seconds``; each message's ``ts`` is its publish time, and the collector notes when
   its batch was stored: p50/p99 of publish → stored.
4. **Node-RED**, the peer a person building this by hand picks (``bench/nodered/``,
   installed with npm into ``~/.cache/la-station/node-red``; skipped, with the reason in
   ``nodered_skipped``, when Node.js or npm is missing or ``--no-nodered``), on the
   telemetry stream, the same broker and the same InfluxDB (its own 1.x ``/write``, as a
   MING stack writes; ``--nodered-influx nginx``: through the collector's nginx front):
   the usual flow (``mqtt in`` → ``function`` → ``influxdb out``, one write a message)
   draining the queued stream, and again live (subscribed first, the stream published at
   full speed); the hand-batched flow (``join`` 1,000 / 1 s → ``influxdb batch``)
   draining it. Its rate runs from the ``mqtt in`` node's connection (live: from the first
   publish) to the last write the InfluxDB node finished; lost is counted in InfluxDB.

``disk_fsync_*_ms``: after the phases above, 200 fsyncs of 4 KiB in InfluxDB's folder, 50 a
second — InfluxDB 1.6 fsyncs its WAL on every write, so the disk's stalls are the tail of
the stored latency (``--influx-tmpfs`` puts InfluxDB's files in ``/dev/shm``, to see the
latency without them).

``engine_process_cpu_us_per_msg``: the occupancy engine's own process (the default, as
``station collector run``; ``--engine-in-process`` keeps it in the collector's process).

``*_cpu_us_per_msg`` is the CPU time (user + system) per message while draining, of the
bench process (Python consumers: Python holds one core at a time, the GIL, so it bounds
the rate) or of the Node-RED process; the broker, InfluxDB and nginx run beside it on
the same two cores.

Prints one JSON object on its last line: ``msgs_per_s``, ``bare_subscriber_msgs_per_s``,
``ratio``, ``lost``, ``p99_latency_ms``, ``nodered_msgs_per_s``, ``nodered_lost``,
``nodered_batch_msgs_per_s``, ``nodered_batch_lost``, ``ratio_to_nodered_batch`` (and a
few more). Targets: ≥ 10,000 msg/s, ratio ≥ 0.4, lost = 0, p99 ≤ 250 ms (issue #20:
``ratio_to_nodered_batch`` ≥ 1.2 on the telemetry stream).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
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

from bench import nodered  # noqa: E402
from collector.influx import InfluxSettings  # noqa: E402
from collector.service import Collector  # noqa: E402
from station.broker.dev import DEV_CONFIG, DevBroker  # noqa: E402
from station.contract import EventKind, NodeEvent, Telemetry, topics  # noqa: E402
from station.inventory import NodeProfile, load_inventory  # noqa: E402
from station.mqtt import MqttSettings  # noqa: E402
from station.mqtt_throughput import ThroughputClient  # noqa: E402
from tests.utils.influx import InfluxServer  # noqa: E402

START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # the queued streams' first ts
MEASUREMENT = {"telemetry": ("telemetry", "co2_ppm"), "events": ("event", "seq")}  # point, field counted


def cpu_seconds() -> float:
    """CPU time (user + system) of this process: where a Python consumer's time goes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of another process (Node-RED), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reading(node, k: int, ts: datetime) -> Telemetry:
    """A room node's plausible reading (CO2 drifting up and down, steady lamps)."""
    return Telemetry(node=node.id, space=node.space, co2_ppm=450.0 + (k % 40) * 10, temperature_c=20.0 + (k % 10) / 10,
                     humidity_pct=40.0 + k % 5, light_lux=300.0 + k % 3, ts=ts)


def stream(inventory, n: int, start: datetime, tag: str, kind: str = "telemetry") -> list[tuple[str, bytes]]:
    """``n`` messages spread over the inventory's nodes, each a distinct point.

    ``telemetry``: every room node, a reading a minute apart per node. ``events``: every
    node, a motion or door event each (unique id, seq, ts).
    """
    out = []
    if kind == "telemetry":
        rooms = [(site.id, node) for site, node in inventory.nodes() if node.profile is NodeProfile.room_node]
        for k in range(n):
            site, node = rooms[k % len(rooms)]
            seq = k // len(rooms)
            out.append((topics.node_telemetry(site, node.id), reading(node, seq, start + timedelta(minutes=seq)).to_json()))
        return out
    nodes = [(site.id, node) for site, node in inventory.nodes()]
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


def forget_session(port: int, client_id: str) -> None:
    """End a consumer's persistent session, so the broker stops queueing for it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port, clean_start=True)  # no session expiry: gone on disconnect
    client.loop_start()
    client.disconnect()
    client.loop_stop()


def bare_drain(port: int, expected: int, client_id: str, prepare: bool, client_class=mqtt.Client,
               kind: str = "telemetry") -> float:
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
    client.on_connect = lambda c, *a: c.subscribe(topics.subscription("nodes", kind), qos=1)
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
    """The collector, noting when each message's batch was stored (for the latency run)."""

    def __init__(self, *a, measurement: str = "telemetry", **kw):
        super().__init__(*a, **kw)
        self.stored_at: list[tuple[float, float]] = []  # (publish time, stored time), epoch seconds
        self.timing = False
        self.measurement = measurement

    def _stored(self, outcome):
        if self.timing:
            now = time.time()
            self.stored_at += [(p.time.timestamp(), now) for item in outcome.stored for p in item.points
                               if p.measurement == self.measurement]
        super()._stored(outcome)


def paced_publisher(port: int, inventory_path: str, rate: float, seconds: float, tag: str,
                    kind: str = "telemetry") -> None:
    """Another process: ``rate`` messages per second, each stamped with its publish time."""
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
        now = datetime.now(timezone.utc)
        if kind == "telemetry":
            topic, payload = topics.node_telemetry(site, node.id), reading(node, k, now).to_json()
        else:
            topic = topics.node_events(site, node.id)
            payload = NodeEvent(id=f"{tag}-{k:09d}", seq=k, node=node.id, kind=EventKind.motion, space=node.space,
                                ts=now).to_json()
        client.publish(topic, payload, qos=1)
    time.sleep(1)
    client.disconnect()
    client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--stream", choices=("telemetry", "events"), default="telemetry")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-nodered", action="store_true", help="skip the Node-RED baseline")
    parser.add_argument("--influx-tmpfs", action="store_true",
                        help="InfluxDB's files in /dev/shm: the latency without the disk's fsync stalls")
    parser.add_argument("--engine-in-process", action="store_true",
                        help="the occupancy engine in the collector's own process (default: its own process, "
                             "as `station collector run` runs it)")
    parser.add_argument("--nodered-cache", type=Path, default=None,
                        help=f"where npm installs Node-RED (default {nodered.default_cache()})")
    parser.add_argument("--nodered-influx", choices=("direct", "nginx"), default="direct",
                        help="Node-RED writes to InfluxDB 1.6's own /write (direct, as a MING stack does) or "
                             "through the collector's nginx front")
    args = parser.parse_args()
    inventory = load_inventory()
    work = Path(tempfile.mkdtemp(prefix="bench-collector-"))
    conf = work / "mosquitto.bench.conf"
    conf.write_text(re.sub(r"^max_queued_messages .*$", "max_queued_messages 0", DEV_CONFIG.read_text(), flags=re.M)
                    .replace("persistence true", "persistence false"))
    influx_dir = Path(tempfile.mkdtemp(prefix="bench-influx-", dir="/dev/shm")) if args.influx_tmpfs \
        else work / "influxdb"
    influx = InfluxServer(influx_dir, bucket="bench")
    try:
        influx.start()
        results = measure(args, inventory, conf, work, influx)
        results.update(fsync_latency(influx_dir))
        results["influx_tmpfs"] = args.influx_tmpfs
    finally:
        influx.close()
    print(json.dumps(results))


def fsync_latency(directory: Path, n: int = 200, every_s: float = 0.02) -> dict:
    """The disk under InfluxDB's files: how long an fsync of 4 KiB takes (``n`` of them, as
    a write a batch makes InfluxDB do). Its stalls are the stored latency's tail."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    took = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            took.append((time.perf_counter() - started) * 1000)
            time.sleep(every_s)
    finally:
        os.close(fd)
        path.unlink()
    took.sort()
    return {"disk_fsync_p50_ms": round(took[n // 2], 2), "disk_fsync_p99_ms": round(took[int(0.99 * (n - 1))], 1),
            "disk_fsync_max_ms": round(took[-1], 1)}


def measure(args, inventory, conf: Path, work: Path, influx: InfluxServer) -> dict:
    results: dict = {"messages": args.messages, "stream": args.stream}
    measurement, field = MEASUREMENT[args.stream]
    since = f"WHERE time >= '{START:%Y-%m-%dT%H:%M:%SZ}'"
    with DevBroker(work / "mosquitto", config=conf) as broker:
        # 1. the ceilings: a bare subscriber draining the queued stream — stock paho, then
        #    the collector's own client (station.mqtt_throughput)
        for rate_key, cpu_key, tag, client_class in (
                ("bare_subscriber_msgs_per_s", "bare_cpu_us_per_msg", "bare", mqtt.Client),
                ("bare_throughput_client_msgs_per_s", "bare_throughput_client_cpu_us_per_msg", "bare-tc",
                 ThroughputClient)):
            bare_drain(broker.port, args.messages, f"bench-{tag}", True, client_class, args.stream)
            publish_all(broker.port, stream(inventory, args.messages, START, tag, args.stream), f"bench-pub-{tag}")
            cpu = cpu_seconds()
            results[rate_key] = round(bare_drain(broker.port, args.messages, f"bench-{tag}", False, client_class,
                                                 args.stream))
            results[cpu_key] = round((cpu_seconds() - cpu) / args.messages * 1e6, 1)
            forget_session(broker.port, f"bench-{tag}")
        # 2. the collector draining the same stream into InfluxDB
        settings = MqttSettings(port=broker.port)
        influx_settings = InfluxSettings(url=influx.url, bucket="bench")
        state = work / "collector"
        Collector(inventory, settings, client_id="bench-collector", state_dir=state, influx=influx_settings).start().stop()
        publish_all(broker.port, stream(inventory, args.messages, START, "coll", args.stream), "bench-pub-coll")
        collector = TimedCollector(inventory, settings, client_id="bench-collector", state_dir=state,
                                   influx=influx_settings, measurement=measurement,
                                   engine_process=not args.engine_in_process)
        engine_pid = getattr(collector.engine, "pid", None)

        def engine_cpu() -> float:
            return process_cpu_seconds(engine_pid) if engine_pid else 0.0

        started, cpu, cpu_engine = time.perf_counter(), cpu_seconds(), engine_cpu()
        collector.start()
        deadline = time.monotonic() + 900
        while collector.stored_messages < args.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        collector.judge_touched()  # and the engine has taken every message (at once, when in this process)
        results["engine_caught_up_s"] = round(time.perf_counter() - started - elapsed, 3)
        results["collector_cpu_us_per_msg"] = round((cpu_seconds() - cpu) / args.messages * 1e6, 1)
        results["engine_process_cpu_us_per_msg"] = round((engine_cpu() - cpu_engine) / args.messages * 1e6, 1)
        results["engine_process"] = engine_pid is not None
        results["msgs_per_s"] = round(collector.stored_messages / elapsed)
        results["ratio"] = round(results["msgs_per_s"] / results["bare_subscriber_msgs_per_s"], 3)
        results["ratio_to_throughput_client"] = round(
            results["msgs_per_s"] / results["bare_throughput_client_msgs_per_s"], 3)
        results["spooled_batches"] = collector.influx_writer.spooled_batches
        collector.influx_writer.drain(60)
        results["lost"] = args.messages - influx.count(measurement, field, db="bench", where=since)
        # 3. latency at a steady rate, publisher in another process
        collector.timing = True
        proc = multiprocessing.get_context("spawn").Process(
            target=paced_publisher, args=(broker.port, str(Path(__file__).resolve().parents[1] / "inventory" /
                                                           "la-station.yaml"), args.rate, args.seconds, "lat",
                                          args.stream))
        proc.start()
        proc.join(args.seconds + 120)
        expected = int(args.rate * args.seconds)
        deadline = time.monotonic() + 60
        while len(collector.stored_at) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies = sorted((stored - sent) * 1000 for sent, stored in collector.stored_at)
        collector.stop()
        forget_session(broker.port, "bench-collector")
        results["latency_messages"] = len(latencies)
        results["p50_latency_ms"] = round(statistics.median(latencies), 1)
        results["p99_latency_ms"] = round(latencies[int(0.99 * (len(latencies) - 1))], 1)
        results["latency_rate_per_s"] = args.rate
        # 4. Node-RED, the same stream, broker and InfluxDB
        results.update(measure_nodered(args, inventory, broker.port, work, influx))
    if results.get("nodered_batch_msgs_per_s"):
        results["ratio_to_nodered_batch"] = round(results["msgs_per_s"] / results["nodered_batch_msgs_per_s"], 3)
    else:
        results["ratio_to_nodered_batch"] = None
    return results


NODERED_KEYS = {  # (flow, live) → key prefix
    ("usual", False): "nodered", ("usual", True): "nodered_live", ("batched", False): "nodered_batch"}


def measure_nodered(args, inventory, port: int, work: Path, influx: InfluxServer) -> dict:
    """Node-RED's usual flow (drained, then live) and hand-batched flow (drained); null when skipped."""
    out: dict = {f"{prefix}_{key}": None for prefix in NODERED_KEYS.values()
                 for key in ("msgs_per_s", "lost", "failed", "cpu_us_per_msg")}
    out["nodered_skipped"] = None
    reason = None
    if args.stream != "telemetry":
        reason = "the Node-RED flows take the telemetry stream (--stream telemetry)"
    elif args.no_nodered:
        reason = "--no-nodered"
    else:
        try:
            red = nodered.install(args.nodered_cache, log=lambda m: print(m, file=sys.stderr))
        except nodered.Unavailable as exc:
            reason = str(exc)
    if reason:
        print(f"Node-RED baseline skipped: {reason}", file=sys.stderr)
        out["nodered_skipped"] = reason
        return out
    out["nodered_influx"] = args.nodered_influx
    out["nodered_versions"] = {"node-red": nodered.NODE_RED_VERSION,
                               "node-red-contrib-influxdb": nodered.INFLUXDB_NODES_VERSION}
    errors = {}
    for (flow, live), prefix in NODERED_KEYS.items():
        figures = nodered_run(red, flow, live, inventory, args.messages, port, work, influx,
                              influx.http_port if args.nodered_influx == "direct" else influx.port)
        errors.update({f"{prefix}: {k}": v for k, v in figures.pop("errors").items()})
        out.update({f"{prefix}_{k}": v for k, v in figures.items()})
    out["nodered_errors"] = dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5])
    return out


def nodered_run(red, flow: str, live: bool, inventory, n: int, port: int, work: Path, influx: InfluxServer,
                influx_port: int) -> dict:
    """One Node-RED measurement: queue (or publish live) the stream, time it into InfluxDB."""
    client_id = f"bench-nodered-{flow}{'-live' if live else ''}"
    database = influx.create_bucket(client_id.replace("-", "_"))
    probe = stream(inventory, 1, START - timedelta(days=1), "probe")  # not counted: before START

    def node_red() -> nodered.NodeRed:
        return nodered.NodeRed(red, work / client_id, flow, mqtt_port=port, influx_port=influx_port,
                               database=database, client_id=client_id, persistent=not live)

    messages = stream(inventory, n, START, client_id)
    runner = node_red().start()
    try:
        # subscribed and writing: one reading from the day before the stream goes through
        runner.wait(lambda s: s["connected_ms"], 30)
        publish_all(port, probe, f"{client_id}-probe")
        if runner.wait(lambda s: s["stored"] + s["failed"] >= 1, 30)["stored"] < 1:
            raise RuntimeError(f"Node-RED ({flow}) did not store the probe reading:\n{runner.tail()}")
        if live:
            before = runner.stats()
            begin_ms = time.time() * 1000
            cpu = process_cpu_seconds(runner.proc.pid)
            publish_all(port, messages, f"{client_id}-pub")
        else:
            runner.stop()
            publish_all(port, messages, f"{client_id}-pub")
            runner = node_red().start()
            before = {"stored": 0, "failed": 0}
            cpu = process_cpu_seconds(runner.proc.pid)
        stats = runner.wait_settled(n + before["stored"] + before["failed"], stall_s=30, timeout=1800)
        cpu = process_cpu_seconds(runner.proc.pid) - cpu
        if not live:
            begin_ms = stats["connected_ms"]
    finally:
        runner.stop()
        forget_session(port, client_id)
    stored = influx.count("telemetry", "co2_ppm", db=database, where=f"WHERE time >= '{START:%Y-%m-%dT%H:%M:%SZ}'")
    elapsed = (stats["last_ms"] - begin_ms) / 1000 if stats.get("last_ms") else None
    return {"msgs_per_s": round(stored / elapsed) if elapsed else 0, "lost": n - stored,
            "failed": stats.get("failed", 0) - before["failed"], "cpu_us_per_msg": round(cpu / n * 1e6, 1),
            "errors": stats.get("errors", {})}


if __name__ == "__main__":
    main()
