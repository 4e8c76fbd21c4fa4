"""Where the collector's time goes, per thread, from a py-spy profile of its drain.

Reads py-spy's ``--format raw`` output (one collapsed stack a line, root first, then the
sample count; record with ``--threads``; see ``bench/collector_profile.py``), finds each
sample's thread by the function at its root (paho's network loop, the store loop…),
and puts each sample in a category by its innermost frame that belongs to a known part
(leaf first: pydantic called from the contract is "validation", gzip called from
influxdb-client is "gzip"). Prints a table per thread, percentages of that thread's
samples and of all samples, and one JSON line.

    .venv/bin/python bench/profile_report.py drain.txt
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict

#: thread → how its name starts (py-spy's ``--threads`` puts ``thread (tid): name`` first)
THREADS = (("network", "paho-mqtt-client-"), ("store", "collector-store"), ("influx-replay", "influx-replay"),
           ("tick", "collector-tick"), ("main", "MainThread"))

#: (category, what a frame's text contains), checked on every frame from the leaf outwards
RULES = (
    ("validation: pydantic", "pydantic/"),
    ("validation: pydantic", "pydantic_core/"),
    ("validation: topic parse", "station/contract/topics.py"),
    ("validation: contract models", "station/contract/"),
    ("validation: collector checks", "_validate (collector/service.py"),
    ("validation: collector checks", "_count (collector/service.py"),
    ("metrics (prometheus)", "prometheus_client/"),
    ("engine", "collector/engine.py"),
    ("engine", "collector/co2.py"),
    ("points", "collector/points.py"),
    ("points", "station/history/"),
    ("line protocol", "collector/influx.py:"),  # line() and lines(); write() is glue
    ("gzip", "gzip.py"),
    ("gzip", "zlib"),
    ("influxdb-client", "influxdb_client/"),
    ("http (urllib3, http.client)", "urllib3/"),
    ("http (urllib3, http.client)", "http/client.py"),
    ("queueing", "queue.py"),
    ("queueing", "put (collector"),
    ("ack (MqttBus.ack_many)", "ack_many (station/mqtt.py"),
    ("ack (MqttBus.ack_many)", "_packet_queue (paho"),
    ("dead letters / sqlite", "deadletter.py"),
    ("throughput client", "station/mqtt_throughput.py"),
    ("bus dispatch", "station/mqtt.py"),
    ("collector glue", "collector/service.py"),
    ("paho framing", "paho/mqtt/"),
    ("sockets", "socket.py"),
    ("sockets", "selectors.py"),
    ("threading", "threading.py"),
)

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def thread_of(first: str) -> str:
    name = first.split(": ", 1)[-1]
    for thread, prefix in THREADS:
        if name.startswith(prefix):
            return thread
    return "other: " + name


def category_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for category, marker in RULES:
            if marker in frame:
                # line protocol: only line()/lines(), not InfluxWriter's glue
                if category == "line protocol" and not re.match(r"(line|lines|_field|_escaped_key|_escape_key) ",
                                                                frame):
                    continue
                return category
    return "other: " + (frames[-1] if frames else "?")[:60]


def report(path: str) -> dict:
    per: dict[str, Counter] = defaultdict(Counter)
    for raw in open(path, encoding="utf-8", errors="replace"):
        match = _LINE.match(raw.rstrip("\n"))
        if not match:
            continue
        frames = [f.strip() for f in match["stack"].split(";") if f.strip()]
        if not frames or not frames[0].startswith("thread ("):
            continue  # recorded without --threads
        per[thread_of(frames[0])][category_of(frames[1:])] += int(match["count"])
    total = sum(sum(c.values()) for c in per.values()) or 1
    out: dict = {"samples": total, "threads": {}}
    for thread, counts in sorted(per.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(counts.values())
        out["threads"][thread] = {"share_of_process_pct": round(100 * n / total, 1),
                                  "categories_pct": {c: round(100 * k / n, 1) for c, k in counts.most_common()}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--min", type=float, default=0.5, help="hide categories below this percentage")
    args = parser.parse_args()
    result = report(args.profile)
    for thread, data in result["threads"].items():
        print(f"{thread}: {data['share_of_process_pct']} % of the samples", file=sys.stderr)
        for category, pct in data["categories_pct"].items():
            if pct >= args.min:
                print(f"  {pct:5.1f} %  {category}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
