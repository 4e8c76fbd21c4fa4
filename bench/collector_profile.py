"""Profile the collector's drain: one queued stream, one collector, nothing else in the process.

The same set-up as ``bench/collector_throughput.py`` (Mosquitto, InfluxDB 1.6 behind
nginx, the collector with manual acknowledgements), but the stream is published from
another process, so that a profiler attached to this one sees only the collector::

    .venv/bin/python bench/collector_profile.py --messages 100000 --ready /tmp/ready &
    while [ ! -s /tmp/ready ]; do sleep 0.2; done
    .venv/bin/py-spy record --pid "$(cat /tmp/ready)" --rate 500 --threads --format raw -o drain.txt
    .venv/bin/python bench/profile_report.py drain.txt

``--ready FILE``: write this process's id there once the stream is queued, then wait
``--delay`` seconds (for the profiler to attach) before the collector connects. Prints
one JSON line: the rate (lower than the bench's while a profiler samples).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.collector_throughput import START, publish_all, stream  # noqa: E402
from collector.influx import InfluxSettings  # noqa: E402
from collector.service import Collector  # noqa: E402
from station.broker.dev import DEV_CONFIG, DevBroker  # noqa: E402
from station.inventory import load_inventory  # noqa: E402
from station.mqtt import MqttSettings  # noqa: E402
from tests.utils.influx import InfluxServer  # noqa: E402


def publish_stream(port: int, n: int, kind: str) -> None:
    """In another process: queue the stream for the collector's session."""
    publish_all(port, stream(load_inventory(), n, START, "prof", kind), "profile-pub")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--stream", choices=("telemetry", "events"), default="telemetry")
    parser.add_argument("--ready", type=Path, help="write the pid here once the stream is queued")
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--engine-in-process", action="store_true",
                        help="profile the occupancy engine in the collector's process (default: its own, "
                             "as `station collector run` runs it; the profile then shows the collector's alone)")
    args = parser.parse_args()
    inventory = load_inventory()
    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    conf = work / "mosquitto.bench.conf"
    conf.write_text(re.sub(r"^max_queued_messages .*$", "max_queued_messages 0", DEV_CONFIG.read_text(), flags=re.M)
                    .replace("persistence true", "persistence false"))
    influx = InfluxServer(work / "influxdb", bucket="bench").start()
    try:
        with DevBroker(work / "mosquitto", config=conf) as broker:
            settings = MqttSettings(port=broker.port)
            influx_settings = InfluxSettings(url=influx.url, bucket="bench")
            state = work / "collector"
            Collector(inventory, settings, client_id="profile-collector", state_dir=state,
                      influx=influx_settings).start().stop()
            proc = multiprocessing.get_context("spawn").Process(target=publish_stream,
                                                                args=(broker.port, args.messages, args.stream))
            proc.start()
            proc.join()
            collector = Collector(inventory, settings, client_id="profile-collector", state_dir=state,
                                  influx=influx_settings, engine_process=not args.engine_in_process)
            if args.ready:
                args.ready.write_text(str(os.getpid()))
                time.sleep(args.delay)
            started = time.perf_counter()
            collector.start()
            while collector.stored_messages < args.messages:
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
            collector.stop()
            print(json.dumps({"messages": args.messages, "stream": args.stream,
                              "msgs_per_s": round(args.messages / elapsed)}))
    finally:
        influx.close()


if __name__ == "__main__":
    main()
