"""Machine access latency: last Wiegand bit → power relay on, with a 10,000-entry machine list.

A real machine node (mock pins, a real Mosquitto on loopback, outbox on disk, the
laser cutter's E-stop and extraction inputs healthy) reads ``--reads`` badges sent with
real Wiegand timing. For each, the time from the last bit's falling edge to the power
relay pin going high is taken from the mock pins. Half the badges are trained members
(the machine free to use), half are not (denied reads do not switch the relay and are
not timed); after each granted read the session is switched off again.

Baseline, measured in the same run: the same reader and an ``OutputDevice`` relay with a
handler that switches it at once (no hashing, no machine rule, no safety check). The
helpers (relay watch, percentiles, the SCHED_FIFO sender) are those of
``bench/edge_access_latency.py``, so the two benches measure the same way.

Prints one JSON object on its last line. Target: p99 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpiozero import OutputDevice  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from edge_access_latency import direct_reads, report, run_reads, watch_relay  # noqa: E402
from edge.node import EdgeNode  # noqa: E402
from edge.simulator.fakes import FakeAdcChannel, ct_clamp_signal  # noqa: E402
from station.access import (Signer, generate_key_set, hash_credential, issue_grant_list, load_node_keys,  # noqa: E402
                            load_private_key)
from station.broker.dev import DevBroker  # noqa: E402
from station.contract import GrantEntry, GrantRole, Window, utcnow  # noqa: E402
from station.inventory import DEFAULT_INVENTORY, load_inventory  # noqa: E402
from station.mqtt import MqttSettings  # noqa: E402

NODE, MACHINE = "ls-machine-laser-trotec", "laser-trotec"


def baseline(reads: int) -> tuple[list[float], int]:
    factory = MockFactory()
    relay = OutputDevice(17, initial_value=False, pin_factory=factory)
    try:
        return direct_reads(factory, reads, relay.on, relay.off)
    finally:
        relay.close()


def full_path(reads: int, entries: int, workdir: Path) -> tuple[list[float], int, int]:
    paths = generate_key_set(workdir / "keys")
    keys = load_node_keys(paths.public, paths.hmac)
    signer = Signer(load_private_key(paths.private))
    trained = list(range(1, entries + 1))
    now = utcnow()
    grants = issue_grant_list(site="la-station", machine=MACHINE, now=now, expires_at=now + timedelta(hours=1),
                              previous_version=None, signer=signer,
                              entries=[GrantEntry(credential_hash=hash_credential(keys.hmac_key, c),
                                                  role=GrantRole.trained, not_after=now + timedelta(days=30))
                                       for c in trained],
                              free_windows=[Window(start=now - timedelta(hours=1), end=now + timedelta(hours=2))])
    with DevBroker(workdir / "broker") as broker:
        factory = MockFactory()
        node = EdgeNode(load_inventory(DEFAULT_INVENTORY), NODE, MqttSettings(port=broker.port),
                        pin_factory=factory, data_dir=workdir / "node", keys=keys,
                        adc=FakeAdcChannel(ct_clamp_signal(lambda: 3.0))).start()
        try:
            node.grants.update(MACHINE, grants)
            pins = node.profile.pins
            for name in ("estop", "extraction"):
                factory.pin(pins[name]).drive_low()
            times = watch_relay(factory, pins["power_relay"], True)
            cards = [trained[(i * 7919) % entries] if i % 2 == 0 else 10_000_000 + i for i in range(reads)]
            ctl = node.machine
            latencies = run_reads(factory, pins["wiegand_d0"], pins["wiegand_d1"], cards, times,
                                  lambda: ctl.power_off("bench"),
                                  lambda: ctl.counters["on"] + ctl.counters["denied"] + node.reader.counters["malformed"])
            denied, malformed = ctl.counters["denied"], node.reader.counters["malformed"]
        finally:
            node.stop()
    return latencies, denied, malformed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args()
    report("machine_access_latency", "machine access", baseline, full_path, args.reads, args.entries)

if __name__ == "__main__":
    main()
