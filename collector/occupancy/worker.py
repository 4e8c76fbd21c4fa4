"""The occupancy engine in a process of its own, beside the collector's.

The collector's process is bound to one core at a time (Python's GIL): framing,
validation, points, line protocol and acknowledgements. On the telemetry stream the
engine was about half of that process's CPU a message (every fifth reading of a room
closes a CO2 block: a filter step and a learning pass). :class:`EngineProcess` runs the
very same :class:`~collector.occupancy.OccupancyEngine` in another process, so it runs on
the other core while the collector frames and stores, and answers the collector's calls
with the same results:

- ``feed(items)`` — what was heard (:func:`~collector.occupancy.engine.heard` tuples),
  in order; sent without waiting for an answer;
- ``evaluate(now, spaces)``, ``snapshots(now, spaces)``, ``state_dict()``,
  ``load_state(data)`` — a request and its answer, after everything fed before it (one
  pipe, first in, first out).

Nothing waits on the engine but a judgement: the collector stores and acknowledges
whatever the engine does. When the process dies (killed, out of memory), the next call
logs it, counts it (``restarts``) and starts a fresh one from what the engine had
learned at the last ``state_dict()`` (what the collector saves every few minutes), or
at start; what was fed since is lost *for the judgement only* — every message is in
the history. An answer that takes longer than ``timeout_s`` counts as a dead process.

The processes are forked from a small server process started once
(``forkserver``: safe beside the collector's threads, and a new engine process costs
milliseconds, not an interpreter's start).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from datetime import datetime

from station.inventory import Inventory

from .engine import OccupancyEngine
from .space import EngineSettings

log = logging.getLogger(__name__)

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["collector.occupancy.worker"])


def serve(conn, inventory: Inventory, settings: EngineSettings | None, state: dict | None) -> None:
    """The engine process: take requests from ``conn`` until ``stop`` or the pipe closes.

    Ctrl-C and SIGTERM are the collector's to handle (a terminal signals the whole process
    group; systemd's ``KillMode=mixed`` only the collector): it saves what the engine
    learned, then stops it. A collector killed outright closes the pipe, which ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    engine = OccupancyEngine(inventory, settings)
    if state:
        engine.load_state(state)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the collector is gone
        op = request[0]
        if op == "feed":
            engine.feed(request[1])  # each message that fails is logged; nothing to answer
            continue
        if op == "stop":
            conn.send(("ok", None))
            return
        try:
            answer = getattr(engine, op)(*request[1:])
        except Exception as exc:  # noqa: BLE001 - a bug in one call must not end the process
            log.exception("occupancy engine: %s failed", op)
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        else:
            conn.send(("ok", answer))


class EngineProcess:
    """:class:`~collector.occupancy.OccupancyEngine`'s calls the collector makes, answered by
    an engine in another process."""

    def __init__(self, inventory: Inventory, settings: EngineSettings | None = None, *, timeout_s: float = 30.0,
                 on_restart=None):
        self.inventory, self.settings, self.timeout_s = inventory, settings, timeout_s
        self.on_restart = on_restart
        # which spaces a node speaks for: the collector needs it for every message, here
        self.node_spaces = {node.id: inventory.node_spaces(node.id) for _, node in inventory.nodes()}
        self.restarts = 0
        self._state: dict | None = None  # what the engine had learned at the last state_dict() or load
        self._send_lock = threading.Lock()  # one message on the pipe at a time
        self._call_lock = threading.Lock()  # one request waiting for its answer at a time
        self._process = self._conn = None
        self._closed = False
        self._start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        mine, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=serve, args=(theirs, self.inventory, self.settings, self._state),
                                   name="occupancy-engine", daemon=True)
        process.start()
        theirs.close()
        self._process, self._conn = process, mine

    def _restart(self, why: str) -> None:
        self.restarts += 1
        if self.on_restart is not None:
            self.on_restart()
        log.error("occupancy engine process %s (%s); starting a new one from what it had learned at the last save",
                  self.pid, why)
        self._kill()
        if not self._closed:
            self._start()

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.kill()
            process.join(5)

    def feed(self, items: list[tuple]) -> None:
        if not items or self._closed:
            return
        with self._send_lock:
            try:
                self._conn.send(("feed", items))
            except (OSError, ValueError, AttributeError) as exc:
                self._restart(f"cannot be fed: {type(exc).__name__}")

    def _call(self, op: str, *args):
        with self._call_lock:
            if self._closed:
                raise RuntimeError("the occupancy engine process is closed")
            try:
                with self._send_lock:
                    self._conn.send((op, *args))
                if not self._conn.poll(self.timeout_s):
                    raise TimeoutError(f"no answer to {op} in {self.timeout_s:.0f} s")
                status, answer = self._conn.recv()
            except (OSError, EOFError, ValueError, AttributeError, TimeoutError) as exc:
                self._restart(f"{op}: {type(exc).__name__}: {exc}")
                raise EngineUnavailable(op) from exc
            if status == "error":
                raise RuntimeError(f"occupancy engine: {op}: {answer}")
            return answer

    def evaluate(self, now: datetime, spaces=None) -> list:
        return self._call("evaluate", now, spaces)

    def snapshots(self, now: datetime, spaces) -> list:
        return self._call("snapshots", now, spaces)

    def state_dict(self) -> dict:
        self._state = self._call("state_dict")
        return self._state

    def load_state(self, data: dict) -> int:
        """Restore a saved model: checked here first (a bad file raises what the engine
        would raise in this process), then handed to the engine process."""
        restored = OccupancyEngine(self.inventory, self.settings).load_state(data)
        self._call("load_state", data)
        self._state = data
        return restored

    def close(self) -> None:
        """Stop the engine process (after what it was fed)."""
        if self._closed:
            return
        with self._call_lock:
            self._closed = True
            try:
                with self._send_lock:
                    self._conn.send(("stop",))
                if self._conn.poll(5):
                    self._conn.recv()
            except (OSError, EOFError, ValueError, AttributeError):
                pass
            if self._process is not None:
                self._process.join(5)
            self._kill()


class EngineUnavailable(RuntimeError):
    """The engine process died or stalled during a call; a new one was started."""
