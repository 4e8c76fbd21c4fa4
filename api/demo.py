"""What ``station demo`` lends the API so a person can try the whole story from a browser.

Only in the demo: a member taps their (simulated) badge at a door or a machine from the board;
``POST /api/v1/demo/badge`` asks the simulator to clock a real Wiegand frame into that
door node's reader on its mock pins, and the board shows the node's answer when its
event comes back; staff can stop a simulated node and watch the console see it go
offline. Outside the demo these hooks are absent and the endpoints answer 404.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from station.access import hash_credential
from station.contract import EventKind, NodeEvent


class DemoHooks(Protocol):
    def present_badge(self, door: str, card_number: str) -> None:
        """Clock the card's Wiegand frame into the door node's reader (raises KeyError: no such door)."""

    def present_machine_badge(self, machine: str, card_number: str) -> None:
        """The same at a machine node's reader (raises KeyError: no such machine)."""

    def cards_of(self, email: str) -> list[str]:
        """The demo card numbers of a member (the demo made them; the API keeps only hashes)."""

    def stop_node(self, node_id: str) -> None:
        """Stop a simulated node, as if it were unplugged cleanly (raises KeyError: no such node)."""


#: The node's answers to a tap: at a door, granted or denied; at a machine, on, off or denied.
ANSWERS = frozenset({EventKind.access_granted, EventKind.access_denied, EventKind.machine_on,
                     EventKind.machine_off, EventKind.machine_denied})


@dataclass
class Tap:
    id: str
    door: str | None
    credential_hash: str
    at: float
    result: dict | None = None
    machine: str | None = None


@dataclass
class Taps:
    """Badges tapped from the board, matched to the node's answer (granted or denied)."""

    site_key: bytes = field(repr=False)
    broadcast: Callable[[str, dict], None] | None = None
    keep_s: float = 120.0
    _taps: dict[str, Tap] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tapped(self, door: str | None, card_number: str, machine: str | None = None) -> Tap:
        tap = Tap(secrets.token_hex(8), door, hash_credential(self.site_key, card_number), time.monotonic(),
                  machine=machine)
        with self._lock:
            now = time.monotonic()
            self._taps = {k: t for k, t in self._taps.items() if now - t.at < self.keep_s}
            self._taps[tap.id] = tap
        return tap

    def get(self, tap_id: str) -> Tap | None:
        return self._taps.get(tap_id)

    def answered(self, event: NodeEvent, outcome: dict) -> None:
        if event.kind not in ANSWERS or not event.credential_hash:
            return
        with self._lock:
            waiting = [t for t in self._taps.values() if t.result is None and t.door == event.door
                       and t.machine == event.machine and t.credential_hash == event.credential_hash]
        for tap in waiting[:1]:
            tap.result = {"tap": tap.id, "door": tap.door, "machine": tap.machine,
                          "granted": event.kind in (EventKind.access_granted, EventKind.machine_on),
                          "reason": event.reason if event.kind is not EventKind.machine_off
                          else f"switched off ({event.reason})", "checked_in": outcome.get("checked_in")}
            if self.broadcast is not None:
                self.broadcast("tap", tap.result)
