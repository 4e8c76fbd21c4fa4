"""Occupancy engine: CPU per message, and accuracy on simulated weeks, against a baseline engine.

The baseline is the engine of another git revision (``--baseline-rev``, by default the
last one before the Bayesian filter), loaded from ``git show`` into a temporary package
and run in the same process on the same inputs, so the ratio holds on a noisy machine.

1. **CPU.** A live-like stream for every space of the inventory, built before the clock
   starts: telemetry from each room node every minute, PIR motion, door passages and
   badge grants, in time order; the engine gets each message (``on_event`` /
   ``on_telemetry``) and judges the spaces touched after every batch of ``--batch``
   messages, as the collector does. CPU time (``time.process_time``) per message, best of
   ``--repeat`` runs, for both engines, twice: ``building`` (``--minutes`` of the
   building's own traffic, a message every few seconds of message time) and ``burst``
   (the same messages stamped 10,000 a second, the rate of ``collector_throughput.py``).
2. **Accuracy.** Two simulated weeks of ``salle-aiguillage`` (``tests/collector/
   test_recordings.py``: a sensor reading 100 ppm high, a holiday, a ventilation
   schedule), replayed through both engines' ``occupancy-eval`` with ``co2`` and
   ``co2,light``.

Prints one JSON object on its last line: ``{building,burst}_cpu_us_per_msg``, the
baseline's, ``…_cpu_ratio`` (target ≤ 1.2), and the accuracies.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from station.contract import EventKind, NodeEvent, Telemetry  # noqa: E402
from station.inventory import DEFAULT_INVENTORY, NodeProfile, load_inventory  # noqa: E402

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)


def load_baseline(rev: str, into: Path):
    """The ``collector`` engine, co2 and evaluate modules of ``rev``, as package ``baseline_collector``."""
    package = into / "baseline_collector"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("engine", "co2", "evaluate"):
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:collector/{name}.py"], check=True,
                              capture_output=True, text=True).stdout
        (package / f"{name}.py").write_text(text)
    sys.path.insert(0, str(into))
    return importlib.import_module("baseline_collector.engine"), importlib.import_module("baseline_collector.evaluate")


def stream(inventory, minutes: int, seed: int = 1) -> list:
    """The messages of ``minutes`` of a busy building, in time order."""
    rng = random.Random(seed)
    messages = []
    seq = 0
    for _, node in inventory.nodes():
        spaces = sorted(inventory.node_spaces(node.id))
        if not spaces:
            continue
        for m in range(minutes):
            at = T0 + timedelta(minutes=m, seconds=rng.random() * 60)
            if node.profile is NodeProfile.room_node:
                space = spaces[0]
                busy = (m // 45) % 2 == 0
                messages.append(Telemetry(node=node.id, space=space, ts=at,
                                          co2_ppm=round(450 + (300 if busy else 0) * min(1, (m % 45) / 20)
                                                        + rng.gauss(0, 8), 1),
                                          light_lux=round((450 if busy else 20) + rng.gauss(0, 5), 1)))
                for _ in range(rng.randint(0, 3) if busy else 0):
                    seq += 1
                    messages.append(NodeEvent(id=f"bench-{seq:08d}", seq=seq, node=node.id, kind=EventKind.motion,
                                              space=space, ts=at + timedelta(seconds=rng.random() * 50)))
            elif node.doors and rng.random() < 0.15:
                door = node.doors[0]
                space = inventory.door(door)[1].space
                for kind, dt in ((EventKind.access_granted, 0), (EventKind.door_opened, 1), (EventKind.door_closed, 7)):
                    seq += 1
                    messages.append(NodeEvent(id=f"bench-{seq:08d}", seq=seq, node=node.id, kind=kind, space=space,
                                              door=door, ts=at + timedelta(seconds=dt),
                                              credential_hash=f"{seq:064x}" if kind is EventKind.access_granted
                                              else None))
    return sorted(messages, key=lambda msg: msg.ts)


def cpu_per_message(engine_cls, inventory, messages, batch: int) -> float:
    engine = engine_cls(inventory)
    for node in {msg.node for msg in messages}:
        engine.on_status(node, True, T0)
    start = time.process_time()
    touched: set = set()
    for k, msg in enumerate(messages, start=1):
        if isinstance(msg, NodeEvent):
            engine.on_event(msg)
        else:
            engine.on_telemetry(msg)
        touched.update(engine.node_spaces.get(msg.node, ()))
        if k % batch == 0 or k == len(messages):
            engine.evaluate(msg.ts, sorted(touched))
            touched.clear()
    return (time.process_time() - start) / len(messages) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-rev", default="9473b50")
    parser.add_argument("--minutes", type=int, default=240)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-accuracy", action="store_true")
    args = parser.parse_args()

    from collector.engine import OccupancyEngine

    inventory = load_inventory(DEFAULT_INVENTORY)
    with tempfile.TemporaryDirectory() as tmp:
        base_engine, base_eval = load_baseline(args.baseline_rev, Path(tmp))
        building = stream(inventory, args.minutes)
        # the same messages at the collector bench's rate: 10,000 a second of message time
        burst = [msg.model_copy(update={"ts": T0 + timedelta(seconds=k / 10000)}) for k, msg in enumerate(building)]
        result = {"messages": len(building), "baseline_rev": args.baseline_rev}
        for name, messages in (("building", building), ("burst", burst)):
            new, old = [], []
            for _ in range(args.repeat):  # interleaved, so both see the same machine load
                new.append(cpu_per_message(OccupancyEngine, inventory, messages, args.batch))
                old.append(cpu_per_message(base_engine.OccupancyEngine, inventory, messages, args.batch))
            result.update({f"{name}_cpu_us_per_msg": round(min(new), 2),
                           f"{name}_baseline_cpu_us_per_msg": round(min(old), 2),
                           f"{name}_cpu_ratio": round(min(new) / min(old), 3)})
        if not args.no_accuracy:
            result.update(accuracy(inventory, base_eval, Path(tmp)))
    print(json.dumps(result))


def accuracy(inventory, base_eval, tmp: Path) -> dict:
    from collector.evaluate import evaluate_csv, read_rows
    from edge.simulator.recording import recording, write_columns

    path = tmp / "two-weeks.csv"
    samples = recording(inventory, "salle-aiguillage", date(2026, 3, 2), 14, seed=1,
                        holidays=(date(2026, 3, 11),), sensor_offset_ppm=100.0)
    write_columns(path, samples)
    volume = inventory.space("salle-aiguillage")[1].volume_m3
    rows = [(r.at, r.light, r.co2, r.occupied) for r in read_rows(path, "columns")]
    out = {}
    for signals in ("co2", "co2,light"):
        new = evaluate_csv(path, "columns", signals=signals, volume_m3=volume)
        old = base_eval.evaluate_rows(rows, signals=signals, volume_m3=volume)
        key = signals.replace(",", "_")
        out[f"two_weeks_{key}_accuracy"] = new["accuracy"]
        out[f"two_weeks_{key}_baseline_accuracy"] = old["accuracy"]
        out["two_weeks_always_empty_accuracy"] = new["always_empty_accuracy"]
    return out


if __name__ == "__main__":
    main()
