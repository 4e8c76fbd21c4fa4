"""The collector process: MQTT in, occupancy out.

Subscribes to every node's status, telemetry and events, validates each payload with
the shared contract, feeds the occupancy engine, and publishes retained
``rooms/<room>/occupancy`` on every change and at least once a minute. A malformed
message is logged and counted (by channel and reason) and never stops the loop.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime

from pydantic import ValidationError

from station.clock import Clock
from station.contract import NodeEvent, NodeState, NodeStatus, Telemetry, TopicError, decode, topics
from station.inventory import Inventory
from station.mqtt import MqttBus, MqttSettings

from .engine import EngineSettings, OccupancyEngine

log = logging.getLogger(__name__)


class Collector:
    TICK_S = 5.0

    def __init__(self, inventory: Inventory, mqtt: MqttSettings, *, clock: Clock | None = None,
                 client_id: str = "collector", publish_every_s: float = 60.0,
                 engine_settings: EngineSettings | None = None):
        self.inventory = inventory
        self.clock = clock or Clock()
        self.engine = OccupancyEngine(inventory, engine_settings)
        self.publish_every_s = publish_every_s
        self.received: Counter[str] = Counter()
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.published = 0
        self._lock = threading.Lock()
        self._last_full_publish: datetime | None = None
        self._site_of = {space.id: site.id for site, space in inventory.spaces()}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bus = MqttBus(client_id, mqtt, on_connect=self._publish_all)
        for channel in ("status", "telemetry", "events"):
            self.bus.subscribe(topics.subscription("nodes", channel), self.handle)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait: float | None = 10.0) -> "Collector":
        self.bus.start(wait=wait)
        self._thread = threading.Thread(target=self._run, name="collector-tick", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.bus.stop()

    def __enter__(self) -> "Collector":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- input --------------------------------------------------------------------------
    def reject(self, topic: str, reason: str, detail: str) -> None:
        channel = "/".join(topic.split("/")[3::2][:2]) if topic.count("/") == 5 else "unknown"
        self.rejected[(channel, reason)] += 1
        log.warning("rejected message on %s: %s: %s", topic, reason, detail[:300])

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            parsed, message = decode(topic, payload)
        except TopicError as exc:
            return self.reject(topic, "bad_topic", str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = "bad_json" if first["type"] == "json_invalid" else "invalid_payload"
            return self.reject(topic, reason, f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
        if getattr(message, "node", parsed.ident) != parsed.ident:
            return self.reject(topic, "node_mismatch", f"payload node {message.node!r} on topic of {parsed.ident!r}")
        if parsed.ident not in self.engine.node_spaces:
            return self.reject(topic, "unknown_node", parsed.ident)
        self.received[parsed.channel.key] += 1
        with self._lock:
            if isinstance(message, NodeEvent):
                self.engine.on_event(message)
            elif isinstance(message, Telemetry):
                self.engine.on_telemetry(message)
            elif isinstance(message, NodeStatus):
                self.engine.on_status(message.node, message.state is NodeState.online, message.ts)
            changed = self.engine.evaluate(self.clock.now())
        for snapshot in changed:
            self._publish(snapshot)

    # -- output -------------------------------------------------------------------------
    def _publish(self, snapshot) -> None:
        topic = topics.room_occupancy(self._site_of[snapshot.room], snapshot.room)
        self.bus.publish(topic, snapshot, qos=1, retain=True)
        self.published += 1

    def _publish_all(self) -> None:
        with self._lock:
            now = self.clock.now()
            self.engine.evaluate(now)
            snapshots = self.engine.snapshot(now)
            self._last_full_publish = now
        for snapshot in snapshots:
            self._publish(snapshot)

    def _run(self) -> None:
        while not self.clock.wait(self._stop, self.TICK_S):
            try:
                now = self.clock.now()
                if self._last_full_publish is None or (now - self._last_full_publish).total_seconds() >= self.publish_every_s:
                    self._publish_all()
                    continue
                with self._lock:
                    changed = self.engine.evaluate(now)
                for snapshot in changed:
                    self._publish(snapshot)
            except Exception:
                log.exception("collector tick failed")
