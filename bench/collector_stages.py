"""The collector's path, stage by stage: CPU microseconds per telemetry message, one thread.

Each stage of what the collector does with one message — topic parse, pydantic
validation, the collector's own checks and counters, the occupancy engine, point
building, the queue, line protocol, gzip — timed alone over the bench's telemetry
stream (``bench/collector_throughput.py``), with no broker or InfluxDB: where the
microseconds go that the py-spy profile of the drain shares out
(``bench/collector_profile.py``). Framing (paho and ``ThroughputClient``) is not here:
the throughput bench's ``bare_throughput_client_cpu_us_per_msg`` is its figure.

Prototypes for issue #20's phase 2 are timed beside the stage they would replace
(``proto:`` rows): nothing in the collector uses them. Prints a table and one JSON line
(``{"stage": us_per_msg}``; the machine is shared, so compare rows of one run).

    .venv/bin/python bench/collector_stages.py [--messages 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import queue
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.collector_throughput import START, stream  # noqa: E402
from collector import influx as influx_lines  # noqa: E402
from collector.engine import OccupancyEngine  # noqa: E402
from collector.points import PointMaker  # noqa: E402
from collector.service import Collector  # noqa: E402
from station.contract import Telemetry, topics  # noqa: E402
from station.contract.receive import receive  # noqa: E402
from station.inventory import load_inventory  # noqa: E402
from station.mqtt import MqttSettings  # noqa: E402


def timed(fn, items, repeat: int) -> float:
    """Best of ``repeat`` runs of ``fn`` over ``items``: microseconds per item."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - started)
    return best / len(items) * 1e6


def timed_batches(fn, batches, repeat: int, per: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for batch in batches:
            fn(batch)
        best = min(best, time.process_time() - started)
    return best / per * 1e6


try:  # a prototype only: msgspec is not a dependency of the project
    import msgspec
except ImportError:
    msgspec = None
else:
    from datetime import datetime
    from typing import Annotated, Literal

    _Ident = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]

    class FastTelemetry(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        """The contract's Telemetry as a msgspec Struct (the same keys, bounds and strictness)."""

        node: _Ident
        space: _Ident
        v: Literal[1] = 1
        ts: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
        co2_ppm: Annotated[float, msgspec.Meta(ge=0, le=40000)] | None = None
        temperature_c: Annotated[float, msgspec.Meta(ge=-40, le=85)] | None = None
        humidity_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
        light_lux: Annotated[float, msgspec.Meta(ge=0, le=200000)] | None = None
        faults: list[str] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inventory = load_inventory()
    messages = stream(inventory, args.messages, START, "stages", "telemetry")
    topics_only = [t for t, _ in messages]
    payloads = [p for _, p in messages]
    models = [Telemetry.model_validate_json(p) for p in payloads]
    maker = PointMaker(inventory)
    points = [maker.telemetry(m)[0] for m in models]
    batches = [points[k:k + 2000] for k in range(0, len(points), 2000)]
    bodies = [influx_lines.lines(b) for b in batches]
    n, r = len(messages), args.repeat
    rows: dict[str, float] = {}

    rows["topic parse (topics.parse)"] = timed(topics.parse, topics_only, r)
    cache: dict = {}

    def parse_cached(topic):
        parsed = cache.get(topic)
        if parsed is None:
            parsed = cache[topic] = topics.parse(topic)
        return parsed
    rows["proto: topic parse, cached per topic"] = timed(parse_cached, topics_only, r)
    rows["validation (Telemetry.model_validate_json)"] = timed(Telemetry.model_validate_json, payloads, r)
    if msgspec is not None:
        fast = msgspec.json.Decoder(FastTelemetry)
        rows["proto: validation, msgspec Struct (same bounds)"] = timed(fast.decode, payloads, r)
    rows["receive (parse + pydantic + sender checks)"] = timed(lambda m: receive(inventory, *m, START), messages, r)
    with tempfile.TemporaryDirectory() as state:
        collector = Collector(inventory, MqttSettings(port=1), state_dir=state)
        rows["collector count (a tally read when scraped)"] = timed(lambda _: collector._count("nodes/telemetry"),
                                                                    messages, r)
        counter = collector.metrics.rejects.labels("nodes/telemetry", "bench")
        rows["prometheus counter inc (the rejects')"] = timed(lambda _: counter.inc(), messages, r)
        collector.history.close()
        collector.dead_letters.close()
    engine = OccupancyEngine(inventory)
    rows["engine.on_telemetry"] = timed(engine.on_telemetry, models, r)
    rows["points (PointMaker.telemetry)"] = timed(maker.telemetry, models, r)
    simple = queue.SimpleQueue()
    rows["queue put + get"] = timed(lambda m: (simple.put(m), simple.get()), models, r)
    rows["line protocol (collector.influx.line)"] = timed(influx_lines.line, points, r)
    rows["gzip level 9 (influxdb-client's), per message"] = timed_batches(gzip.compress, bodies, r, n)
    rows["proto: gzip level 1, per message"] = timed_batches(lambda b: gzip.compress(b, 1), bodies, r, n)
    rows["proto: zlib level 1 (no gzip header), per message"] = timed_batches(lambda b: zlib.compress(b, 1), bodies,
                                                                             r, n)
    width = max(map(len, rows))
    for name, us in rows.items():
        print(f"{name:<{width}}  {us:7.2f} µs", file=sys.stderr)
    print(json.dumps({"messages": n, "us_per_msg": {k: round(v, 2) for k, v in rows.items()}}))


if __name__ == "__main__":
    main()
