"""The edge nodes as the API hears them: retained ``nodes/<node>/status`` and their events.

For staff (``GET /api/v1/nodes``): online, offline or stale, when last heard, software
version, config hash, uptime, outbox depth, the grant list version each door node
caches, and its sensor health (a sensor that stopped answering, an opened enclosure).

- **offline**: the node said so — on a clean stop, or through its last will (retained)
  when the broker lost it (keepalive × 1.5);
- **stale**: its last status says online but nothing was heard from it for
  ``node_stale_after_s`` (default 180 s: three of its 60 s status refreshes) —
  a node that hangs without dropping its connection, or a bridge that stopped
  forwarding. Silence is measured on this process's monotonic clock, at arrival, so an
  accelerated demo clock or a node's clock drift does not make nodes stale;
- **unknown**: never heard since this API started (no retained status either).

Sensor health comes from the node's events: ``sensor_fault`` ("co2 sensor not
answering") and ``tamper`` are kept, with when they were reported, until the sensor
answers again (``sensor_recovered``, "co2 sensor answering again"), the node restarts
(a status with a lower uptime) or staff clear them after a look
(``POST /api/v1/nodes/{node}/faults/clear``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Callable

from station.contract import EventKind, NodeEvent, NodeState, NodeStatus
from station.contract.receive import Rejected, receive
from station.inventory import Inventory

log = logging.getLogger(__name__)
FAULT_KINDS = frozenset({EventKind.sensor_fault, EventKind.tamper, EventKind.outbox_alarm, EventKind.reader_error,
                         EventKind.grants_rejected})


class NodeFleet:
    def __init__(self, inventory: Inventory, clock, *, stale_after_s: float = 180.0,
                 on_change: Callable[[str], None] | None = None):
        self.inventory, self.clock = inventory, clock
        self.stale_after_s = stale_after_s
        self.on_change = on_change  # callable(node id) when a node's status or health changed
        self.status: dict[str, NodeStatus] = {}
        self.last_heard: dict[str, datetime] = {}
        self.since: dict[str, datetime] = {}  # when the node went online or offline
        self.heard_at: dict[str, float] = {}  # time.monotonic() of the last message from the node
        self.faults: dict[str, dict[str, dict]] = {}  # node → fault key → {"kind", "reason", "since"}
        self.rejected: Counter[str] = Counter()
        self.accepted = 0  # statuses taken, and retained statuses cleared (an empty payload)
        #: callable(topic, payload, reason, detail) keeping a refused status (api.dead_letters)
        self.dead_letter: Callable[[str, bytes, str, str], None] | None = None
        self._lock = threading.Lock()

    def handle(self, topic: str, payload: bytes) -> None:
        if not payload:
            self.accepted += 1
            return  # a retained status cleared
        try:
            _, status = receive(self.inventory, topic, payload, self.clock.now())
        except Rejected as exc:
            self.rejected[exc.reason] += 1
            log.warning("refused node status on %s: %s", topic[:200], str(exc)[:300])
            if self.dead_letter is not None:
                self.dead_letter(topic, payload, exc.reason, exc.detail)
            return
        self.accepted += 1
        now = self.clock.now()
        with self._lock:
            current = self.status.get(status.node)
            # A last will carries the time the node made it (at its start), older than its
            # last "online": an offline status is always the newest word on its topic. One
            # stamped ahead of our clock (a clock that jumped, within the contract's day of
            # skew) is replaced by the next: it must not hide every honest status for a day.
            newer = current is None or status.ts >= current.ts or current.ts > now
            if newer or status.state is NodeState.offline:
                restarted = (current is not None and status.uptime_s is not None and current.uptime_s is not None
                             and status.uptime_s < current.uptime_s)
                if restarted:
                    self.faults.pop(status.node, None)  # a restarted node reports its faults anew
                if current is None or current.state is not status.state:
                    self.since[status.node] = status.ts if newer else now
                self.status[status.node] = status
            if status.state is NodeState.online:
                self._heard(status.node, status.ts)
        if self.on_change is not None:
            self.on_change(status.node)

    def heard(self, node: str, at: datetime) -> None:
        with self._lock:
            self._heard(node, at)

    def _heard(self, node: str, at: datetime) -> None:
        self.heard_at[node] = time.monotonic()
        last = self.last_heard.get(node)
        if last is None or at > last or last > self.clock.now():  # a time ahead of ours does not stick
            self.last_heard[node] = at

    def event(self, event: NodeEvent) -> None:
        """Every accepted node event: the node is alive; a fault event is remembered."""
        stale = self.state(event.node) == "stale"
        self.heard(event.node, event.ts)
        if event.kind is EventKind.sensor_recovered:
            key = f"{EventKind.sensor_fault.value}:{event.space or ''}:{(event.reason or '').split(' ')[0]}"
            with self._lock:
                known = self.faults.get(event.node, {})
                recovered = known.pop(key, None) is not None
                if not known:
                    self.faults.pop(event.node, None)
            if (recovered or stale) and self.on_change is not None:
                self.on_change(event.node)
            return
        if event.kind not in FAULT_KINDS:
            if stale and self.on_change is not None:
                self.on_change(event.node)
            return
        key = f"{event.kind.value}:{event.door or event.space or ''}:{(event.reason or '').split(' ')[0]}"
        with self._lock:
            self.faults.setdefault(event.node, {}).setdefault(
                key, {"kind": event.kind.value, "reason": event.reason, "door": event.door, "since": event.ts})
        if self.on_change is not None:
            self.on_change(event.node)

    def clear_faults(self, node: str) -> int:
        with self._lock:
            cleared = len(self.faults.pop(node, {}))
        if cleared and self.on_change is not None:
            self.on_change(node)
        return cleared

    def state(self, node: str) -> str:
        """online, offline, stale or unknown (see the module's docstring)."""
        status = self.status.get(node)
        if status is None:
            return "unknown"
        if status.state is NodeState.offline:
            return "offline"
        heard = self.heard_at.get(node)
        if heard is None or time.monotonic() - heard > self.stale_after_s:
            return "stale"
        return "online"

    def silent_for_s(self, node: str) -> float | None:
        heard = self.heard_at.get(node)
        return None if heard is None else time.monotonic() - heard

    def node_faults(self, node: str) -> list[dict]:
        with self._lock:
            return sorted(self.faults.get(node, {}).values(), key=lambda f: f["since"])
