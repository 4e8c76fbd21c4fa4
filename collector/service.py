"""The collector process: MQTT in, occupancy and time series out, losing nothing.

- Subscribes (QoS 1, MQTT v5 persistent session: ``clean_start=False``, session expiry
  a week by default) to every node's status, telemetry and events, and to the API's
  room availability.
- Receives each message through the shared contract
  (:func:`station.contract.receive.receive`: the payload's model, its times against the
  collector's clock, its sender against the inventory). A refused one is logged,
  counted by channel and reason, kept as a bounded dead letter
  (:mod:`collector.deadletter`), acknowledged, and never stops the loop.
- Turns each valid message into points (:mod:`collector.points`) and queues them, with
  the message, for the store thread (:mod:`collector.store`), which writes them in
  batches to the history (embedded SQLite, or InfluxDB with its disk spool) and only
  *then* acknowledges the messages (paho ``manual_ack``). Killed at any instant, the
  collector loses nothing: the broker redelivers what was not acknowledged, and writes
  are idempotent. A point the store refuses costs only its own message (dead-lettered);
  a store that is down holds the acknowledgements back.
- Feeds the occupancy engine (a duplicate event — same id, also across restarts,
  :mod:`collector.seen` — only once), judges the spaces concerned after each stored
  batch, and publishes retained ``rooms/<room>/occupancy`` on every change and at least
  every ``publish_every_s``; those judgements are written too.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections import Counter, deque
from datetime import datetime
from pathlib import Path

from station.clock import Clock
from station.contract import NodeEvent, NodeStatus, Telemetry, topics
from station.contract.receive import Rejected, receive
from station.durable import private_dir
from station.history import History, InfluxHistory, SqliteHistory
from station.inventory import Inventory
from station.mqtt import MqttBus, MqttSettings
from station.privacy import RetentionPolicy

from .deadletter import KEPT, DeadLetters
from .engine import EngineSettings, OccupancyEngine
from .occupancy.engine import heard
from .occupancy.worker import EngineProcess, EngineUnavailable
from .occupancy.store import MODEL_FILE, SAVE_EVERY_S, load_model, save_model
from .influx import InfluxWriter
from .settings import CollectorSettings, InfluxSettings
from .metrics import CollectorMetrics
from .points import PointMaker
from .retention import CollectorRetention
from .seen import SeenEvents
from .store import Item, Outcome, StoreLoop

log = logging.getLogger(__name__)


class Collector:
    TICK_S = 5.0
    SEEN_EVENTS = 100_000
    #: A node's ``ts`` this far ahead of the collector's clock counts as a fast clock.
    CLOCK_AHEAD_TOLERANCE_S = 5.0
    #: The channels the collector takes in; anything else it is sent is refused.
    CHANNELS = ("nodes/status", "nodes/telemetry", "nodes/events", "rooms/availability")
    QUIET_LOG_S = 10.0  # rejects over the dead-letter rate: one summary line this often
    FEED_EVERY = 500  # messages queued for an engine process before they are sent (in this process: 20×)

    def __init__(self, inventory: Inventory, mqtt: MqttSettings, *, clock: Clock | None = None,
                 client_id: str | None = None, publish_every_s: float = 60.0,
                 engine_settings: EngineSettings | None = None, history: History | None = None,
                 state_dir: Path | str | None = None, influx: InfluxSettings | None = None,
                 metrics_port: int | None = None, session_expiry_s: int = 7 * 86400,
                 batch_size: int = 2000, flush_interval_s: float = 0.05, receive_maximum: int = 10_000,
                 sites: list[str] | None = None, dead_letters: dict | None = None, stop_timeout_s: float = 3.0,
                 retention: RetentionPolicy | None = None, history_retention: bool = True,
                 engine_process: bool = False):
        self.inventory = inventory
        self.clock = clock or Clock()
        self.engine = self._make_engine(inventory, engine_settings, engine_process)
        self.publish_every_s = publish_every_s
        self.stop_timeout_s = stop_timeout_s
        self.received: Counter[str] = Counter()
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.published = 0
        self.stored_messages = 0
        self.metrics = CollectorMetrics(received=lambda: self.received)
        self.metrics_port = metrics_port
        self._own_state_dir = state_dir is None
        self.state_dir = private_dir(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="station-collector-"))
        self._model_file = self.state_dir / MODEL_FILE  # what the engine learned of each space
        load_model(self.engine, self._model_file)
        self._model_saved_at = self.clock.now()
        self.dead_letters = DeadLetters(self.state_dir / "dead-letters.sqlite", on_outcome=self._dead_letter_outcome,
                                        **(dead_letters or {}))
        self.metrics.dead_letter_rows.set_function(lambda: self.dead_letters.rows)
        self.metrics.dead_letter_bytes.set_function(lambda: self.dead_letters.bytes)
        self.seen = SeenEvents(self.state_dir / "seen-events.sqlite", self.SEEN_EVENTS)
        self.influx_writer: InfluxWriter | None = None
        if history is not None:
            self.history = history
        elif influx is not None and influx.url:
            self.influx_writer = InfluxWriter(influx, self.state_dir / "influx-spool",
                                              on_spool_change=self.metrics.spool_depth.set,
                                              on_rejected=self._spooled_lines_refused)
            self.history = InfluxHistory(influx.url, influx.bucket, token=influx.token, writer=self.influx_writer)
        else:
            self.history = SqliteHistory(self.state_dir / "history.sqlite")
        self.points = PointMaker(inventory)
        self.retention = CollectorRetention(self.history if history_retention else None, self.dead_letters,
                                            retention or RetentionPolicy())
        self.store = StoreLoop(self.history, on_done=self._stored, on_write=self._written,
                               on_outage=lambda exc: self.metrics.store_errors.inc(),
                               batch_size=batch_size, flush_interval_s=flush_interval_s)
        self._node_ids = {node.id for _, node in inventory.nodes()}
        self._skews: dict[str, float] = {}  # node → its last message's ts minus our clock
        self._quiet = (0, 0.0)  # rejects not logged since, when the last summary went out
        self._touched: set[str] = set()  # spaces with news since the last judgement
        self._heard: deque = deque()  # what the engine takes of messages, not yet given (_feed_engine)
        self._feed_lock = threading.Lock()
        self._engine_apart = not isinstance(self.engine, OccupancyEngine)
        self._feed_every = self.FEED_EVERY if self._engine_apart else 20 * self.FEED_EVERY
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._last_full_publish: datetime | None = None
        self._site_of = {space.id: site.id for site, space in inventory.spaces()}
        self._stop = threading.Event()
        self._acks_closed = False
        self._thread: threading.Thread | None = None
        client_id = client_id or mqtt.client_id or mqtt.username or "collector"
        self.bus = MqttBus(client_id, mqtt, on_connect=self._publish_all, clean_start=False,
                           session_expiry_s=session_expiry_s, manual_ack=True, receive_maximum=receive_maximum,
                           throughput=True)
        # One collector per group of sites scales out (each process its own GIL): it hears
        # only their nodes and speaks only for their spaces.
        # ``sites=[]`` (a partition that owns no site) subscribes to nothing, never to everything.
        self.sites = [inventory.site(s).id for s in sites] if sites is not None else None
        self._own_spaces = sorted(sp.id for site, sp in inventory.spaces() if sites is None or site.id in self.sites)
        for site in ["+"] if self.sites is None else self.sites:
            for key in self.CHANNELS:
                scope, name = key.split("/")
                self.bus.subscribe(topics.subscription(scope, name, site), self.on_message, raw=True)

    def _make_engine(self, inventory: Inventory, settings: EngineSettings | None, own_process: bool):
        if own_process:
            try:
                return EngineProcess(inventory, settings, on_restart=lambda: self.metrics.engine_restarts.inc())
            except (OSError, RuntimeError) as exc:  # no process to be had (a sandbox, no temporary folder)
                log.warning("the occupancy engine cannot run in a process of its own (%s: %s); it runs in the "
                            "collector's process", type(exc).__name__, exc)
        return OccupancyEngine(inventory, settings)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait: float | None = 10.0) -> "Collector":
        if self.metrics_port is not None:
            self.metrics_port = self.metrics.serve(self.metrics_port)
        self.store.start()
        try:
            self.bus.start(wait=wait)
        except Exception:
            self.store.stop(1.0)
            self.metrics.close()
            raise
        self._thread = threading.Thread(target=self._run, name="collector-tick", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Store and acknowledge what is queued (for at most ``stop_timeout_s`` when the
        store is down: the rest stays with the broker), then disconnect and close."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        finished = self.store.stop(self.stop_timeout_s)
        self._acks_closed = True
        self.bus.stop()
        self._save_model()  # the store thread has stopped: the engine holds still
        self.engine.close()
        if finished:
            self.history.close()
        else:  # it holds the store: leave both to the process's end, and its messages to the broker
            log.warning("the store thread is still writing; its messages stay unacknowledged for redelivery")
        self.dead_letters.close()
        self.seen.close()
        self.metrics.close()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    @classmethod
    def from_settings(cls, settings: CollectorSettings, inventory: Inventory, **kw) -> "Collector":
        """The collector a settings tree describes (``station collector run``)."""
        return cls(inventory, settings.mqtt, client_id=settings.client_id, state_dir=settings.state_dir,
                   influx=settings.influx if settings.influx.url else None, metrics_port=settings.metrics_port,
                   sites=settings.own_sites(inventory), session_expiry_s=settings.session_expiry_s,
                   retention=settings.retention, history_retention=settings.history_retention,
                   engine_process=settings.engine_process, **kw)

    def __enter__(self) -> "Collector":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- input --------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> None:
        """Process one message (no acknowledgement involved): tests and replays."""
        self._process(topic, payload, None)

    def on_message(self, msg) -> None:
        """paho's callback: process, and let the store thread acknowledge once stored."""
        try:
            self._process(msg.topic, msg.payload, msg)
        except Exception as exc:  # noqa: BLE001 - a bug must not hold a message (and the session) forever
            log.exception("cannot process a message on %r", msg.topic[:200])
            self.reject(msg.topic, "internal_error", f"{type(exc).__name__}: {exc}", msg.payload)
            self.bus.ack(msg)

    def _process(self, topic: str, payload: bytes, msg) -> None:
        now = self.clock.now()
        try:
            parsed, message = receive(self.inventory, topic, payload, now)
            if parsed.channel.key not in self.CHANNELS:
                raise Rejected("unexpected_channel", parsed.channel.key, parsed=parsed)
        except Rejected as exc:
            self._note_skew(exc.parsed, exc.skew_s)
            self.reject(topic, exc.reason, exc.detail, payload, parsed=exc.parsed)
            if msg is not None:
                self.bus.ack(msg)  # kept in the dead-letter store: nothing more to do with it
            return
        key = parsed.channel.key
        self._count(key)
        self._note_skew(parsed, (message.ts - now).total_seconds())
        event_id = None
        if isinstance(message, NodeEvent):
            if self.seen.check_and_note(message.id):
                self.metrics.duplicates.inc()
                self.store.put(Item([], msg))  # stored before: acknowledged in its turn, not judged again
                return
            event_id = message.id
        if isinstance(message, (NodeEvent, Telemetry, NodeStatus)):
            self._heard.append(heard(self._heard_now(message, now)))
            if len(self._heard) >= self._feed_every:
                if self._engine_apart:
                    self._feed_engine()  # a send: the engine's process works while this one frames
                else:
                    with self._lock:  # no judgement for a long while (handle() without one): bounded
                        self._feed_engine()
        self.store.put(Item(self.points.of(message), msg, topic, payload, event_id, key, self._sender(parsed)))

    def _feed_engine(self) -> None:
        """Give the engine what was heard since, in the order heard.

        The network thread only queues what the engine takes of each message. An engine in
        this process takes it before each judgement (the caller holds ``_lock``); an
        engine in a process of its own (``engine_process``) is also sent every
        ``FEED_EVERY`` messages from the network thread, so that it works while messages
        are framed and stored (one in this process takes them every 20× as many, under
        ``_lock``, when no judgement comes)."""
        with self._feed_lock:
            items, pop = [], self._heard.popleft
            try:
                while True:
                    items.append(pop())
            except IndexError:
                pass
            node_spaces, touched = self.engine.node_spaces, self._touched
            for item in items:
                touched.update(node_spaces.get(item[1], ()))
            if items:
                self.engine.feed(items)

    def _heard_now(self, message, now: datetime):
        """The message as the engine hears it: stamped ahead of our clock (a fast clock, up
        to the contract's day), at our time. The engine walks evidence in time order, so
        one reading a day ahead would make every real one after it "older" and ignored for
        that day. The history keeps the message's own ``ts`` (redeliveries rewrite it)."""
        if (message.ts - now).total_seconds() > self.CLOCK_AHEAD_TOLERANCE_S:
            return message.model_copy(update={"ts": now})
        return message

    def reject(self, topic: str, reason: str, detail: str, payload: bytes = b"", *, parsed=None,
               channel: str | None = None, sender: str | None = None) -> None:
        """Count a refused message, keep it as a dead letter (within the rates), log it."""
        channel = channel or (parsed.channel.key if parsed else "unknown")
        with self._count_lock:  # the network thread, and the store thread for store_rejected
            self.rejected[(channel, reason)] += 1
        self.metrics.rejects.labels(channel, reason).inc()
        outcome = self.dead_letters.add(topic, channel, reason, detail, payload, self.clock.now(),
                                        sender=sender or self._sender(parsed))
        if outcome == KEPT:
            log.warning("rejected message on %r: %s: %s", topic[:200], reason, detail[:300])
            return
        quiet, since = self._quiet
        now = time.monotonic()
        if now - since >= self.QUIET_LOG_S:
            log.warning("%d rejected messages not logged one by one (over the dead-letter rate); last on %r: %s",
                        quiet + 1, topic[:200], reason)
            self._quiet = (0, now)
        else:
            self._quiet = (quiet + 1, since)

    @staticmethod
    def _sender(parsed) -> str:
        """Who sent it, for the dead letters' rate limit: the node, or the channel's sender role."""
        if parsed is None:
            return "unknown"
        return parsed.ident if parsed.scope == "nodes" else parsed.channel.senders[0].value

    def _count(self, key: str) -> None:
        self.received[key] += 1  # exported when scraped (collector.metrics.ReceivedCounts)

    def _note_skew(self, parsed, skew_s: float | None) -> None:
        """How far a known node's clock is from ours (label per inventory node, never per topic)."""
        if parsed is None or skew_s is None or parsed.scope != "nodes":
            return
        node = parsed.ident
        if node not in self._skews:
            if node not in self._node_ids:
                return
            self.metrics.clock_skew.labels(node).set_function(lambda: self._skews[node])  # read when scraped
        self._skews[node] = skew_s
        if skew_s > self.CLOCK_AHEAD_TOLERANCE_S:
            self.metrics.clock_ahead.labels(node).inc()

    def _dead_letter_outcome(self, outcome: str, n: int) -> None:
        self.metrics.dead_letters.labels(outcome).inc(n)

    def _spooled_lines_refused(self, refused: list[tuple[bytes, str]]) -> None:
        """Lines of a spooled (already acknowledged) batch that InfluxDB refused on replay."""
        for data, detail in refused:
            self.reject("(influx spool)", "store_rejected", f"InfluxDB: {detail}", data, channel="spool",
                        sender="spool")

    # -- storage (the store thread) -----------------------------------------------------
    def _written(self, points: int, seconds: float) -> None:
        self.metrics.write_seconds.observe(seconds)
        self.metrics.points.inc(points)

    def _stored(self, outcome: Outcome) -> None:
        """A batch is dealt with: dead-letter what the store refused, remember the events
        stored, acknowledge every finished message, judge the spaces they spoke of."""
        for item, detail in outcome.refused:
            self.reject(item.topic, "store_rejected", detail, item.payload, channel=item.channel or "unknown",
                        sender=item.sender or "unknown")
        ids = [item.event_id for item in outcome.stored if item.event_id]
        if ids:
            try:
                self.seen.persist(ids)
            except Exception:  # noqa: BLE001 - only redeliveries after a restart would be judged again
                log.exception("cannot remember %d stored event ids", len(ids))
        self._ack([item.msg for item in outcome.finished if item.msg is not None])
        left = sum(1 for item in outcome.pending if item.msg is not None)
        if left:
            self.metrics.unacked_at_stop.inc(left)
        self.judge_touched()

    def _ack(self, messages: list) -> None:
        """Acknowledge a stored batch's messages: one write of all their PUBACKs."""
        if messages and not self._acks_closed:
            self.bus.ack_many(messages)
            self.stored_messages += len(messages)

    def judge_touched(self) -> None:
        """Re-judge the spaces the last messages spoke of; publish what changed.

        Once per stored batch (every ``flush_interval_s`` at most while messages flow), not
        once per message: a burst of a thousand events is judged once.
        """
        with self._lock:
            self._feed_engine()
            with self._feed_lock:
                spaces, self._touched = self._touched, set()
            changed = self._evaluate(self.clock.now(), spaces) if spaces else []
        for snapshot in changed:
            self._publish(snapshot)

    def _evaluate(self, now: datetime, spaces) -> list:
        """The engine's new judgements."""
        return self._ask_engine(self.engine.evaluate, now, spaces)

    def _ask_engine(self, call, now: datetime, spaces) -> list:
        """The engine's answer about ``spaces``; none when it fails (the store thread, the
        tick and the bus's on_connect ask: a bug in a judgement must not stop storing,
        acknowledging or the session)."""
        try:
            return call(now, spaces)
        except EngineUnavailable:
            return []  # asked again on the next messages or tick, of the new process
        except Exception:  # noqa: BLE001
            log.exception("occupancy engine: %s of %d spaces failed", call.__name__, len(spaces))
            return []

    # -- output -------------------------------------------------------------------------
    def _publish(self, snapshot, changed: bool = True) -> None:
        topic = topics.room_occupancy(self._site_of[snapshot.room], snapshot.room)
        self.bus.publish(topic, snapshot, qos=1, retain=True)
        self.store.put(Item(self.points.occupancy(snapshot), None, topic, snapshot.to_json(), None, "rooms/occupancy",
                            "collector"))
        self.published += 1
        if changed:
            self.metrics.occupancy_changes.inc()

    def _publish_all(self) -> None:
        with self._lock:
            self._feed_engine()
            now = self.clock.now()
            snapshots = self._ask_engine(self.engine.snapshots, now, self._own_spaces)
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
                    self._feed_engine()
                    changed = self._evaluate(now, self._own_spaces)
                for snapshot in changed:
                    self._publish(snapshot)
                if (now - self._model_saved_at).total_seconds() >= SAVE_EVERY_S:
                    self._save_model()
                self.retention.maybe_sweep(now)
            except Exception:
                log.exception("collector tick failed")

    def _save_model(self) -> None:
        with self._lock:
            self._feed_engine()
            try:
                state = self.engine.state_dict()
            except EngineUnavailable:
                return  # the file keeps the last save; the new engine process starts from it
        try:
            save_model(self.engine, self._model_file, state)
            self._model_saved_at = self.clock.now()
        except OSError:
            log.exception("occupancy model not saved to %s", self._model_file)
