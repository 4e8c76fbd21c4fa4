"""The alerts the staff console shows live: what needs a person now, each with since when.

Computed, never stored, from the running parts' state:

| kind | raised while | since |
| --- | --- | --- |
| ``door_forced`` | a door opened while locked is still open | the ``door_forced`` event |
| ``door_held_open`` | a door stays open past its ``held_open_after_s`` | the ``door_held_open`` event |
| ``fire_release`` | a door node reports the fire alarm, until ``fire_cleared`` | the event |
| ``node_offline`` | a node's retained status says offline (clean stop or last will) | when it went offline |
| ``node_stale`` | online, but silent for ``node_stale_after_s`` | the last message heard |
| ``co2_high`` | an occupied space's CO2 is at or above ``co2_alert_ppm`` (1,000, as Grafana's rule) | first seen high |
| ``sensor_fault`` / ``tamper`` | a node reported it (see :mod:`api.fleet`) | the report |

:meth:`Alerts.refresh` recomputes them and tells the staff stream what was raised and
what cleared (``alert`` events). It runs on every door, node and occupancy change and
every few seconds (staleness and CO2 are about time passing). Alerts name doors,
nodes and spaces, never people, and go only to the staff stream.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Callable

from station.inventory import Inventory

log = logging.getLogger(__name__)
SEVERITY = {"fire_release": "critical", "door_forced": "critical", "door_held_open": "warning",
            "node_offline": "warning", "node_stale": "warning", "co2_high": "warning", "tamper": "critical",
            "sensor_fault": "info", "outbox_alarm": "warning", "reader_error": "info", "grants_rejected": "warning"}


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str
    severity: str
    since: datetime | None
    site: str
    door: str | None = None
    node: str | None = None
    space: str | None = None
    detail: str | None = None

    def public(self) -> dict:
        return asdict(self)


class Alerts:
    TICK_S = 5.0

    def __init__(self, inventory: Inventory, clock, *, doors, fleet, occupancy, co2_alert_ppm: float,
                 broadcast: Callable[[str, dict], None] | None = None):
        self.inventory, self.clock = inventory, clock
        self.doors, self.fleet, self.occupancy = doors, fleet, occupancy
        self.co2_alert_ppm = co2_alert_ppm
        self.broadcast = broadcast
        self._current: dict[str, Alert] = {}
        self._co2_since: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="api-alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self.TICK_S):
            try:
                self.refresh()
            except Exception:
                log.exception("alerts refresh failed")

    # -- the rules ----------------------------------------------------------------------
    def compute(self) -> dict[str, Alert]:
        alerts: list[Alert] = []
        for site, door in self.inventory.doors():
            live = self.doors.get(door.id)
            if live.contact == "open" and live.alarm:
                kind = "door_forced" if live.alarm == "forced" else "door_held_open"
                alerts.append(Alert(f"{kind}:{door.id}", kind, SEVERITY[kind], live.alarm_since, site.id,
                                    door=door.id, space=door.space))
            if live.fire:
                alerts.append(Alert(f"fire_release:{door.id}", "fire_release", "critical", live.fire_since, site.id,
                                    door=door.id, space=door.space))
        for site, node in self.inventory.nodes():
            state = self.fleet.state(node.id)
            if state == "offline":
                alerts.append(Alert(f"node_offline:{node.id}", "node_offline", "warning", self.fleet.since.get(node.id),
                                    site.id, node=node.id, space=node.space))
            elif state == "stale":
                silent = self.fleet.silent_for_s(node.id)
                alerts.append(Alert(f"node_stale:{node.id}", "node_stale", "warning",
                                    self.fleet.last_heard.get(node.id), site.id, node=node.id, space=node.space,
                                    detail=None if silent is None else f"silent for {silent:.0f} s"))
            for fault in self.fleet.node_faults(node.id):
                kind = fault["kind"]
                alerts.append(Alert(f"{kind}:{node.id}:{fault['door'] or ''}:{fault['reason'] or ''}"[:200], kind,
                                    SEVERITY.get(kind, "info"), fault["since"], site.id, node=node.id,
                                    door=fault["door"], space=node.space, detail=fault["reason"]))
        now = self.clock.now()
        for site, space in self.inventory.spaces():
            occ = self.occupancy.get(space.id)
            high = occ is not None and occ.occupied and occ.co2_ppm is not None and occ.co2_ppm >= self.co2_alert_ppm
            if not high:
                self._co2_since.pop(space.id, None)
                continue
            since = self._co2_since.setdefault(space.id, now)
            alerts.append(Alert(f"co2_high:{space.id}", "co2_high", "warning", since, site.id, space=space.id,
                                detail=f"{occ.co2_ppm:.0f} ppm"))
        return {a.id: a for a in alerts}

    def refresh(self) -> dict[str, Alert]:
        """Recompute; tell the staff stream what was raised and what cleared."""
        with self._lock:
            new = self.compute()
            old = self._current
            self._current = new
        if self.broadcast is not None:
            for key in new.keys() - old.keys():
                self.broadcast("alert", {"change": "raised", "alert": new[key].public()})
            for key in old.keys() - new.keys():
                self.broadcast("alert", {"change": "cleared", "alert": old[key].public()})
        return new

    def current(self) -> list[Alert]:
        """Critical first, then the newest."""
        order = {"critical": 0, "warning": 1, "info": 2}
        return sorted(self.refresh().values(),
                      key=lambda a: (order.get(a.severity, 3), -(a.since.timestamp() if a.since else 0), a.id))
