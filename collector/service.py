"""The collector process: MQTT in, occupancy and time series out, losing nothing.

- Subscribes (QoS 1, MQTT v5 persistent session: ``clean_start=False``, session expiry
  a week by default) to every node's status, telemetry and events.
- Validates each payload with the shared contract. A malformed one is logged, counted
  by channel and reason, kept in the dead-letter store, acknowledged, and never stops
  the loop.
- Turns each valid message into points (:mod:`collector.points`) and queues them, with
  the message, for the store thread, which writes them in batches to the history
  (embedded SQLite, or InfluxDB with its disk spool) and only *then* acknowledges the
  messages (paho ``manual_ack``). Killed at any instant, the collector loses nothing:
  the broker redelivers what was not acknowledged, and writes are idempotent.
- Feeds the occupancy engine, judges the spaces concerned after each stored batch, and
  publishes retained ``rooms/<room>/occupancy`` on every change and at least every
  ``publish_every_s``; those judgements are written too.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from station.clock import Clock
from station.contract import NodeEvent, NodeState, NodeStatus, Telemetry, TopicError, decode, topics
from station.inventory import Inventory
from station.mqtt import MqttBus, MqttSettings

from .deadletter import DeadLetters
from .engine import EngineSettings, OccupancyEngine
from .history import History, InfluxHistory, SqliteHistory
from .influx import InfluxSettings, InfluxWriter
from .metrics import CollectorMetrics
from .points import PointMaker

log = logging.getLogger(__name__)
_STOP = object()


class Collector:
    TICK_S = 5.0
    SEEN_EVENTS = 100_000

    def __init__(self, inventory: Inventory, mqtt: MqttSettings, *, clock: Clock | None = None,
                 client_id: str = "collector", publish_every_s: float = 60.0,
                 engine_settings: EngineSettings | None = None, history: History | None = None,
                 state_dir: Path | str | None = None, influx: InfluxSettings | None = None,
                 metrics_port: int | None = None, session_expiry_s: int = 7 * 86400,
                 batch_size: int = 2000, flush_interval_s: float = 0.05, receive_maximum: int = 10_000,
                 sites: list[str] | None = None):
        self.inventory = inventory
        self.clock = clock or Clock()
        self.engine = OccupancyEngine(inventory, engine_settings)
        self.publish_every_s = publish_every_s
        self.received: Counter[str] = Counter()
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.published = 0
        self.stored_messages = 0
        self.metrics = CollectorMetrics()
        self.metrics_port = metrics_port
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="station-collector-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.dead_letters = DeadLetters(self.state_dir / "dead-letters.sqlite")
        self.influx_writer: InfluxWriter | None = None
        if history is not None:
            self.history = history
        elif influx is not None:
            self.influx_writer = InfluxWriter(influx, self.state_dir / "influx-spool",
                                              on_spool_change=self.metrics.spool_depth.set)
            self.history = InfluxHistory(influx.url, influx.bucket, token=influx.token, writer=self.influx_writer)
        else:
            self.history = SqliteHistory(self.state_dir / "history.sqlite")
        self.points = PointMaker(inventory)
        self.batch_size, self.flush_interval_s = batch_size, flush_interval_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self._message_counters: dict = {}
        self._touched: set[str] = set()  # spaces with news since the last judgement
        self._lock = threading.Lock()
        self._last_full_publish: datetime | None = None
        self._site_of = {space.id: site.id for site, space in inventory.spaces()}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store_thread: threading.Thread | None = None
        self.bus = MqttBus(client_id, mqtt, on_connect=self._publish_all, clean_start=False,
                           session_expiry_s=session_expiry_s, manual_ack=True, receive_maximum=receive_maximum,
                           throughput=True)
        # One collector per group of sites scales out (each process its own GIL): it hears
        # only their nodes and speaks only for their spaces.
        self.sites = [inventory.site(s).id for s in sites] if sites else None
        self._own_spaces = sorted(sp.id for site, sp in inventory.spaces() if not sites or site.id in self.sites)
        for site in self.sites or ["+"]:
            for channel in ("status", "telemetry", "events"):
                self.bus.subscribe(topics.subscription("nodes", channel, site), self.on_message, raw=True)
            # The API's availability (free / reserved / …) is stored too: boards compare
            # bookings with real use.
            self.bus.subscribe(topics.subscription("rooms", "availability", site), self.on_message, raw=True)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait: float | None = 10.0) -> "Collector":
        if self.metrics_port is not None:
            self.metrics_port = self.metrics.serve(self.metrics_port)
        self._store_thread = threading.Thread(target=self._store_loop, name="collector-store", daemon=True)
        self._store_thread.start()
        try:
            self.bus.start(wait=wait)
        except Exception:
            self._queue.put(_STOP)
            self._store_thread.join(timeout=5)
            self.metrics.close()
            raise
        self._thread = threading.Thread(target=self._run, name="collector-tick", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Store and acknowledge what is queued, then disconnect and close the stores."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._store_thread:
            self._queue.put(_STOP)
            self._store_thread.join(timeout=30)
        self.bus.stop()
        self.history.close()
        self.dead_letters.close()
        self.metrics.close()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> "Collector":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- input --------------------------------------------------------------------------
    def reject(self, topic: str, reason: str, detail: str, payload: bytes = b"") -> None:
        channel = "/".join(topic.split("/")[3::2][:2]) if topic.count("/") == 5 else "unknown"
        self.rejected[(channel, reason)] += 1
        self.metrics.rejects.labels(channel, reason).inc()
        log.warning("rejected message on %r: %s: %s", topic[:200], reason, detail[:300])
        try:
            self.dead_letters.add(topic, channel, reason, detail, payload, self.clock.now())
        except Exception:  # noqa: BLE001 - the dead-letter store failing must not stop ingestion
            log.exception("cannot keep the rejected message in the dead-letter store")

    def handle(self, topic: str, payload: bytes) -> None:
        """Process one message (no acknowledgement involved): tests and replays."""
        self._process(topic, payload, None)

    def on_message(self, msg) -> None:
        """paho's callback: process, and let the store thread acknowledge once stored."""
        self._process(msg.topic, msg.payload, msg)

    def _process(self, topic: str, payload: bytes, msg) -> None:
        message = self._validate(topic, payload)
        if message is None:
            if msg is not None:
                self.bus.ack(msg)  # kept in the dead-letter store: nothing more to do with it
            return
        if isinstance(message, NodeEvent):
            if message.id in self._seen_events:
                self.metrics.duplicates.inc()
            else:
                self._seen_events[message.id] = None
                if len(self._seen_events) > self.SEEN_EVENTS:
                    self._seen_events.popitem(last=False)
        with self._lock:
            if isinstance(message, NodeEvent):
                self.engine.on_event(message)
            elif isinstance(message, Telemetry):
                self.engine.on_telemetry(message)
            elif isinstance(message, NodeStatus):
                self.engine.on_status(message.node, message.state is NodeState.online, message.ts)
            if hasattr(message, "node"):
                self._touched.update(self.engine.node_spaces.get(message.node, ()))
        self._queue.put((self.points.of(message), msg))

    def _validate(self, topic: str, payload: bytes):
        try:
            parsed, message = decode(topic, payload)
        except TopicError as exc:
            return self.reject(topic, "bad_topic", str(exc), payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = "bad_json" if first["type"] in ("json_invalid", "json_type") else "invalid_payload"
            return self.reject(topic, reason, f"{'.'.join(map(str, first['loc']))}: {first['msg']}", payload)
        except Exception as exc:  # noqa: BLE001 - whatever the payload, the loop goes on
            return self.reject(topic, "undecodable", f"{type(exc).__name__}: {exc}", payload)
        if parsed.channel.key == "rooms/availability":
            if message.room != parsed.ident:
                return self.reject(topic, "room_mismatch", f"payload room {message.room!r} on topic of "
                                                           f"{parsed.ident!r}", payload)
            if parsed.ident not in self._site_of:
                return self.reject(topic, "unknown_room", parsed.ident, payload)
            return self._count(parsed.channel.key, message)
        if parsed.scope != "nodes":
            return self.reject(topic, "unexpected_channel", parsed.channel.key, payload)
        if message.node != parsed.ident:
            return self.reject(topic, "node_mismatch", f"payload node {message.node!r} on topic of "
                                                       f"{parsed.ident!r}", payload)
        if parsed.ident not in self.engine.node_spaces:
            return self.reject(topic, "unknown_node", parsed.ident, payload)
        return self._count(parsed.channel.key, message)

    def _count(self, key: str, message):
        self.received[key] += 1
        counter = self._message_counters.get(key)
        if counter is None:
            counter = self._message_counters[key] = self.metrics.messages.labels(key)
        counter.inc()
        return message

    # -- storage ------------------------------------------------------------------------
    def _store_loop(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            points = list(item[0])
            deadline = time.monotonic() + self.flush_interval_s
            while len(points) < self.batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        break
                    time.sleep(min(wait, 0.005))  # let messages gather: one wake-up, not one per message
                    continue
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                points.extend(item[0])
            self._store(points)
            self._ack([msg for _, msg in batch if msg is not None])
            self.judge_touched()

    def _ack(self, messages: list) -> None:
        """Acknowledge a stored batch's messages: one write of all their PUBACKs."""
        if messages:
            self.bus.ack_many(messages)
            self.stored_messages += len(messages)

    def judge_touched(self) -> None:
        """Re-judge the spaces the last messages spoke of; publish what changed.

        Once per stored batch (every ``flush_interval_s`` at most while messages flow), not
        once per message: a burst of a thousand events is judged once.
        """
        with self._lock:
            spaces, self._touched = self._touched, set()
            changed = self.engine.evaluate(self.clock.now(), spaces) if spaces else []
        for snapshot in changed:
            self._publish(snapshot)

    def _store(self, points: list) -> None:
        """Write one batch; retry until the store takes it (never drop, never ack before)."""
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                self.history.write(points)
            except Exception:  # noqa: BLE001 - a full disk, a locked file: wait and retry
                self.metrics.store_errors.inc()
                log.exception("cannot store %d points; retrying in %.1f s", len(points), delay)
                time.sleep(delay)
                delay = min(10.0, delay * 2)
                continue
            self.metrics.write_seconds.observe(time.perf_counter() - started)
            self.metrics.points.inc(len(points))
            return

    # -- output -------------------------------------------------------------------------
    def _publish(self, snapshot, changed: bool = True) -> None:
        topic = topics.room_occupancy(self._site_of[snapshot.room], snapshot.room)
        self.bus.publish(topic, snapshot, qos=1, retain=True)
        self._queue.put((self.points.occupancy(snapshot), None))
        self.published += 1
        if changed:
            self.metrics.occupancy_changes.inc()

    def _publish_all(self) -> None:
        with self._lock:
            now = self.clock.now()
            self.engine.evaluate(now, self._own_spaces)
            snapshots = [self.engine.spaces[s].snapshot(now) for s in self._own_spaces]
            self._last_full_publish = now
        for snapshot in snapshots:
            self._publish(snapshot, changed=False)

    def _run(self) -> None:
        while not self.clock.wait(self._stop, self.TICK_S):
            try:
                now = self.clock.now()
                if self._last_full_publish is None or (now - self._last_full_publish).total_seconds() >= self.publish_every_s:
                    self._publish_all()
                    continue
                with self._lock:
                    changed = self.engine.evaluate(now, self._own_spaces)
                for snapshot in changed:
                    self._publish(snapshot)
            except Exception:
                log.exception("collector tick failed")
