"""Node-RED, the N of the MING stack, as a peer baseline for ``bench/collector_throughput.py``.

What a person who builds this kind of system by hand reaches for: Mosquitto, InfluxDB,
Node-RED, Grafana. Two flows, both in ``flows/`` as Node-RED exports them:

- ``usual.json``: ``mqtt in`` (QoS 1, JSON) → ``function`` (our telemetry → fields and
  tags, the reading's own ``ts`` as the point's time) → ``influxdb out``: one HTTP write
  per message.
- ``batched.json``: ``mqtt in`` → ``function`` (→ one point) → ``join`` (1,000 messages
  or 1 s, into an array) → ``influxdb batch``: one HTTP write per 1,000 messages.

Both use a persistent MQTT v5 session (fixed client id, clean start off, session expiry
1 h, no unsubscribe on close), so a stream can wait in the broker for them, as it does
for the collector. They validate nothing, and Node-RED's MQTT client (mqtt.js)
acknowledges each message when it arrives, before it is stored.

``probes.json`` is added to either flow, measurement only, as a group in the same tab
(``status``, ``complete`` and ``catch`` nodes see only their own tab): a ``status`` node
notes when the ``mqtt in`` node connected, ``complete`` and ``catch`` nodes scoped to
the InfluxDB node count what it stored or failed to store and when, and an ``http in``
node answers ``GET /bench/stats`` with it. Their cost is one ``complete`` message a
write (a message a message in the usual flow, a message a batch in the batched one).

Node-RED itself is installed by :func:`install` with npm into a cache folder
(``~/.cache/la-station/node-red`` by default), from the pinned ``package.json`` and
``package-lock.json`` here, once: a stamp names the lock file's hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from station.broker.dev import free_port, terminate

HERE = Path(__file__).resolve().parent
NODE_RED_VERSION = "4.1.15"
INFLUXDB_NODES_VERSION = "0.7.0"
MIN_NODE = (18, 5)  # node-red 4.1's engines field
FLOWS = ("usual", "batched")


def default_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "la-station" / "node-red"


class Unavailable(RuntimeError):
    """Node-RED cannot run here; the message says why (the bench reports it, null figures)."""


def _node_version(node: str) -> tuple[int, ...]:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        return tuple(int(x) for x in out.lstrip("v").split(".")[:2])
    except ValueError:
        raise Unavailable(f"{node} --version says {out!r}") from None


def install(cache: Path | None = None, log=print) -> Path:
    """Install the pinned Node-RED into ``cache`` (once); return the path of its ``red.js``.

    Raises :class:`Unavailable` when Node.js or npm is missing or too old, or npm fails.
    """
    cache = cache or default_cache()
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise Unavailable("Node.js and npm are needed for the Node-RED baseline and "
                          f"{'node' if node is None else 'npm'} is not on PATH (Debian: apt-get install nodejs npm)")
    version = _node_version(node)
    if version < MIN_NODE:
        raise Unavailable(f"Node-RED {NODE_RED_VERSION} needs Node.js >= {'.'.join(map(str, MIN_NODE))}; "
                          f"this one is {'.'.join(map(str, version))}")
    lock = (HERE / "package-lock.json").read_bytes()
    stamp = cache / f".installed-{hashlib.sha256(lock).hexdigest()[:16]}"
    red = cache / "node_modules" / "node-red" / "red.js"
    if stamp.exists() and red.exists():
        return red
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(".installed-*"):
        old.unlink()
    shutil.copyfile(HERE / "package.json", cache / "package.json")
    shutil.copyfile(HERE / "package-lock.json", cache / "package-lock.json")
    log(f"installing node-red {NODE_RED_VERSION} and node-red-contrib-influxdb {INFLUXDB_NODES_VERSION} "
        f"into {cache} (npm ci, once)")
    done = subprocess.run([npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"],
                          cwd=cache, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise Unavailable(f"npm ci failed in {cache} (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    for package, want in (("node-red", NODE_RED_VERSION), ("node-red-contrib-influxdb", INFLUXDB_NODES_VERSION)):
        got = json.loads((cache / "node_modules" / package / "package.json").read_text())["version"]
        if got != want:
            raise Unavailable(f"npm installed {package} {got}, not the pinned {want}")
    stamp.touch()
    return red


class NodeRed:
    """One headless Node-RED process running one of the two flows, on a free loopback port.

    ``persistent`` keeps the MQTT session across restarts (a fixed client id and clean
    start off, as the collector); without it the session is clean (the live run).
    """

    def __init__(self, red_js: Path, workdir: Path, flow: str, *, mqtt_port: int, influx_port: int,
                 database: str, client_id: str, persistent: bool = True, influx_host: str = "127.0.0.1"):
        if flow not in FLOWS:
            raise ValueError(f"flow must be one of {FLOWS}")
        self.red_js, self.workdir, self.flow = red_js, workdir, flow
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        nodes = json.loads((HERE / "flows" / f"{flow}.json").read_text())
        nodes += json.loads((HERE / "flows" / "probes.json").read_text())
        for n in nodes:
            if n["type"] == "mqtt-broker":
                n.update(port=str(mqtt_port), clientid=client_id, cleansession=not persistent,
                         sessionExpiry=n["sessionExpiry"] if persistent else "")
            elif n["type"] == "influxdb":
                n.update(hostname=influx_host, port=str(influx_port), database=database)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "flows.json").write_text(json.dumps(nodes, indent=1))
        self.log_path = self.workdir / "node-red.log"

    def start(self, timeout: float = 90.0) -> "NodeRed":
        """Start Node-RED; return once its flows run (``/bench/stats`` answers)."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["node", str(self.red_js), "--settings", str(HERE / "settings.js"), "--userDir", str(self.workdir),
             "--port", str(self.port), "flows.json"],
            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Node-RED exited ({self.proc.returncode}); see {self.log_path}:\n{self.tail()}")
            try:
                self.stats()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Node-RED's flows did not start in {timeout:.0f} s; see {self.log_path}")

    def stats(self, timeout: float = 5.0) -> dict:
        """The probes: connected_ms, stored, failed, last_ms (Node-RED's clock, epoch ms), errors."""
        response = httpx.get(f"http://127.0.0.1:{self.port}/bench/stats", timeout=timeout)
        response.raise_for_status()
        return response.json()

    def wait(self, predicate, timeout: float, every: float = 0.05) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if predicate(stats) or time.monotonic() > deadline:
                return stats
            time.sleep(every)

    def wait_settled(self, expected: int, stall_s: float, timeout: float) -> dict:
        """Poll until ``expected`` messages were stored or failed, or nothing moved for ``stall_s``.

        A probe that does not answer (Node-RED's event loop busy with a flood of writes) is
        not a stall: only answers that show no progress count.
        """
        deadline = time.monotonic() + timeout
        last, moved = None, time.monotonic()
        while True:
            try:
                stats = self.stats(timeout=30)
            except httpx.HTTPError as exc:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"Node-RED exited ({self.proc.returncode}) mid-run:\n{self.tail()}") from exc
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Node-RED's probe did not answer for {timeout:.0f} s") from exc
                moved = time.monotonic()
                continue
            seen = stats["stored"] + stats["failed"]
            if seen >= expected:
                return stats
            now = time.monotonic()
            if last is None or seen != last["stored"] + last["failed"]:
                moved = now
            elif now - moved > stall_s or now > deadline:
                return stats
            last = stats
            time.sleep(0.1)

    def tail(self, n: int = 1500) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def stop(self) -> None:
        terminate(self.proc, timeout=15)
        self.proc = None

    def __enter__(self) -> "NodeRed":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
