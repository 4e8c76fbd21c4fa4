"""Broker security cost: what passwords, the ACL, TLS and a bridge cost in throughput.

Each configuration runs a real Mosquitto on loopback; a node publishes ``--messages``
QoS 1 events (pipelined, 200 bytes each) and a collector subscribed to every node's
events receives them. Measured: end-to-end messages per second (first publish → last
message received) and the median connect time (CONNACK, including the PBKDF2 check).

Baseline, measured in the same run: the development broker (anonymous, no ACL, no
TLS). The other rows: the generated central broker (passwords + ACL), the same over
TLS, and the bus: the node on its site broker, bridged to the central one.

At these rates the Python (paho) clients, not the broker, are the bottleneck, and on a
shared 2-core machine rows differ by up to ±30 % from run to run: read the ratios as
"same order", not as the cost of a feature. Connect times show the TLS handshake
(including paho building its SSL context); the PBKDF2 check at 101 iterations is well
under a millisecond.

Prints one JSON object on its last line with every row and its ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.broker.dev import DevBroker, free_port  # noqa: E402
from station.broker.gen import GenOptions, generate  # noqa: E402
from station.broker.probe import Probe  # noqa: E402
from station.broker.process import ConfiguredBroker  # noqa: E402
from station.inventory import load_inventory  # noqa: E402

PAYLOAD = b"x" * 200


def run(pub: tuple, sub: tuple, topic: str, pattern: str, messages: int, repeat: int = 3) -> float:
    """Best of ``repeat`` runs (the Python client is noisy), in messages per second."""
    return max(run_once(pub, sub, topic, pattern, messages) for _ in range(repeat))


def run_once(pub: tuple, sub: tuple, topic: str, pattern: str, messages: int) -> float:
    """Messages per second from the first publish to the last message received."""
    got = threading.Event()
    count = [0]
    receiver = Probe(*sub[:2], port=sub[2], ca=sub[3], timeout=10)
    assert receiver.connect().code == 0, receiver.connack

    def on_message(client, userdata, msg):
        count[0] += 1
        if count[0] >= messages:
            got.set()

    receiver.client.on_message = on_message
    receiver.subscribe(pattern)
    sender = Probe(*pub[:2], port=pub[2], ca=pub[3], timeout=10)
    assert sender.connect().code == 0, sender.connack
    sender.publish(topic, b"warm-up")  # the bridge, if any, is up
    deadline = time.monotonic() + 15
    while count[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    count[0] = 0
    start = time.perf_counter()
    for _ in range(messages):
        sender.client.publish(topic, PAYLOAD, qos=1)
    ok = got.wait(120)
    elapsed = time.perf_counter() - start
    sender.close(), receiver.close()
    if not ok:
        raise RuntimeError(f"only {count[0]} of {messages} messages arrived")
    return messages / elapsed


def connect_ms(user, password, port, ca, n: int = 20) -> float:
    times = []
    for _ in range(n):
        p = Probe(user, password, port=port, ca=ca, timeout=5)
        t = time.perf_counter()
        assert p.connect().code == 0
        times.append((time.perf_counter() - t) * 1000)
        p.close()
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000)
    args = ap.parse_args()
    inv = load_inventory()
    site_node = next(n for s, n in inv.nodes() if s.id == "bus-fablab" and n.doors).id
    node = next(n for s, n in inv.nodes() if s.id == "la-station" and n.doors).id
    pattern = "station/v1/+/nodes/+/events"
    root = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    root.chmod(0o755)
    rows = {}
    brokers = []
    try:
        dev = DevBroker(root / "dev").start()
        brokers.append(dev)
        topic = f"station/v1/la-station/nodes/{node}/events"
        rows["dev (anonymous, no ACL)"] = (run((None, None, dev.port, None), (None, None, dev.port, None), topic,
                                               pattern, args.messages),
                                           connect_ms(None, None, dev.port, None))
        for name, tls in (("generated (passwords + ACL)", False), ("generated + TLS", True)):
            port, site_port = free_port(), free_port()
            res = generate(inv, root / name.split()[0] / str(tls), GenOptions(
                port=port, bind="127.0.0.1", central_host="127.0.0.1", site_port=site_port, site_bind="127.0.0.1",
                tls_dir=root / "tls" if tls else None, bridge_restart=(1, 2)))
            ca = res.tls.ca if tls else None
            central = ConfiguredBroker(res.config, port=port, log=root / f"{port}.log").start()
            brokers.append(central)
            cred = res.credentials
            rows[name] = (run((node, cred[node], port, ca), ("collector", cred["collector"], port, ca), topic,
                              pattern, args.messages),
                          connect_ms(node, cred[node], port, ca))
            if tls:
                site = ConfiguredBroker(res.site_dirs["bus-fablab"] / "mosquitto.conf", port=site_port,
                                        log=root / f"{site_port}.log").start()
                brokers.append(site)
                rows["bus node → site broker → TLS bridge → central"] = (
                    run((site_node, cred[site_node], site_port, None), ("collector", cred["collector"], port, ca),
                        f"station/v1/bus-fablab/nodes/{site_node}/events", pattern, args.messages),
                    connect_ms(site_node, cred[site_node], site_port, None))
    finally:
        for b in brokers:
            b.stop()
        shutil.rmtree(root, ignore_errors=True)
    base_rate, base_connect = rows["dev (anonymous, no ACL)"]
    result = {"bench": "broker_security", "messages": args.messages, "rows": {
        name: {"msgs_per_s": round(rate), "ratio_to_dev": round(rate / base_rate, 3),
               "connect_ms_p50": round(conn, 2), "connect_ratio_to_dev": round(conn / base_connect, 2)}
        for name, (rate, conn) in rows.items()}}
    for name, r in result["rows"].items():
        print(f"{name:50s} {r['msgs_per_s']:>8} msg/s  ×{r['ratio_to_dev']:<6} connect {r['connect_ms_p50']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
