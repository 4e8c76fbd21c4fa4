"""Edge footprint: resident memory and CPU of an idle door node over 60 s.

Runs a door node (mock pins, outbox and grant cache on disk, a signed 1,000-entry grant
list, connected to a real Mosquitto on loopback) in a child process and samples its
``/proc/<pid>`` for ``--seconds``: peak RSS and CPU time (user + system) as a share of
one core. Baseline, measured in the same run: a child that imports the same modules
and sleeps, without starting the node — the ratio is the node's own cost.

Prints one JSON object on its last line. Targets: < 60 MB RSS, < 2 % of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NODE, DOOR = "ls-porte-salle-aiguillage", "porte-salle-aiguillage"


def child(mode: str, port: int, workdir: Path) -> None:
    """The measured process: ``node`` runs an idle door node; ``baseline`` only imports."""
    from datetime import timedelta

    from gpiozero.pins.mock import MockFactory

    from edge.node import EdgeNode
    from station.contract import GrantEntry, GrantList, utcnow
    from station.access import Signer, generate_key_set, hash_credential, load_node_keys, load_private_key, sign
    from station.inventory import DEFAULT_INVENTORY, load_inventory
    from station.mqtt import MqttSettings

    if mode == "node":
        paths = generate_key_set(workdir / "keys")
        keys = load_node_keys(paths.public, paths.hmac)
        grants = sign(GrantList(site="la-station", door=DOOR, version=1, expires_at=utcnow() + timedelta(days=1),
                                key_id="-", entries=[GrantEntry(credential_hash=hash_credential(keys.hmac_key, c))
                                                        for c in range(1000)]), Signer(load_private_key(paths.private)))
        factory = MockFactory()
        node = EdgeNode(load_inventory(DEFAULT_INVENTORY), NODE, MqttSettings(port=port), pin_factory=factory,
                        data_dir=workdir / "node", keys=keys).start()
        node.grants.update(DOOR, grants)
        for name in ("door_contact", "fire_input", "tamper"):
            factory.pin(node.profile.pins[name]).drive_low()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(mode: str, port: int, workdir: Path, seconds: float) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, "--port", str(port), "--workdir",
                             str(workdir / mode)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(2.0)  # settle: connection, retained grants, first status
        cpu0, t0, peak = cpu_seconds(proc.pid), time.monotonic(), 0.0
        while time.monotonic() - t0 < seconds:
            peak = max(peak, rss_mb(proc.pid))
            time.sleep(0.5)
        cpu = cpu_seconds(proc.pid) - cpu0
        elapsed = time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait()
    return {"rss_mb": round(peak, 1), "cpu_pct_of_one_core": round(100 * cpu / elapsed, 3), "seconds": round(elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--child", choices=["node", "baseline"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.child:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return child(args.child, args.port, args.workdir)
    from station.broker.dev import DevBroker

    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp, DevBroker(Path(tmp) / "broker") as broker:
        base = measure("baseline", broker.port, Path(tmp), args.seconds)
        node = measure("node", broker.port, Path(tmp), args.seconds)
    result = {
        "bench": "edge_footprint", "node": node, "baseline_imports_only": base,
        "rss_ratio": round(node["rss_mb"] / base["rss_mb"], 3),
        "cpu_extra_pct": round(node["cpu_pct_of_one_core"] - base["cpu_pct_of_one_core"], 3),
        "targets": {"rss_mb": 60, "cpu_pct": 2},
        "target_met": node["rss_mb"] < 60 and node["cpu_pct_of_one_core"] < 2,
    }
    print(f"idle door node: {node['rss_mb']} MB RSS, {node['cpu_pct_of_one_core']} % of one core "
          f"(baseline {base['rss_mb']} MB, {base['cpu_pct_of_one_core']} %)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
