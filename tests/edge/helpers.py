"""Factories for the edge tests: site keys, signed grant lists and commands, MQTT listeners."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import itertools

from station.access import NodeKeys, Signer, generate_key_set, hash_credential, load_node_keys, load_private_key, sign
from station.contract import DoorAction, DoorCommand, GrantEntry, GrantList, GrantRole, NodeEvent, topics
from station.mqtt import MqttBus, MqttSettings

_SEQ = itertools.count(1)


class KeySet:
    """A key set in ``directory``: the API's signer and what a node holds."""

    def __init__(self, directory: Path):
        self.paths = generate_key_set(directory)
        self.signer = Signer(load_private_key(self.paths.private))
        self.site: NodeKeys = load_node_keys(self.paths.public, self.paths.hmac)

    def credential(self, card_number: str | int) -> str:
        return hash_credential(self.site.hmac_key, card_number)

    def grants(self, door: str, version: int, cards: dict, *, site: str = "la-station",
               expires_in: timedelta = timedelta(hours=1), now: datetime | None = None) -> GrantList:
        """A signed list; ``cards`` maps card number → role or (role, not_before, not_after)."""
        now = now or datetime.now(timezone.utc)
        entries = []
        for card, spec in cards.items():
            role, nb, na = (spec, None, None) if not isinstance(spec, tuple) else spec
            entries.append(GrantEntry(credential_hash=self.credential(card), role=GrantRole(role),
                                      not_before=nb, not_after=na))
        unsigned = GrantList(site=site, door=door, version=version, expires_at=now + expires_in,
                             entries=entries, key_id=self.signer.key_id)
        return sign(unsigned, self.signer)

    def command(self, door: str, action: str, *, expires_in: timedelta = timedelta(minutes=5),
                ident: str | None = None, seq: int | None = None) -> DoorCommand:
        """A signed command; each gets the next sequence number unless ``seq`` is given."""
        seq = next(_SEQ) if seq is None else seq
        unsigned = DoorCommand(id=ident or f"cmd-{seq:06d}", seq=seq, door=door, action=DoorAction(action),
                               issued_by="staff:alice", expires_at=datetime.now(timezone.utc) + expires_in,
                               key_id=self.signer.key_id)
        return sign(unsigned, self.signer)


class EventListener:
    """Subscribes to every node's events on a real broker and keeps them in arrival order."""

    def __init__(self, settings: MqttSettings, client_id: str = "test-listener", site: str = "+"):
        self.events: list[NodeEvent] = []
        self._lock = threading.Lock()
        self.bus = MqttBus(client_id, settings)
        self.bus.subscribe(topics.subscription("nodes", "events", site), self._on_event)

    def _on_event(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.events.append(NodeEvent.model_validate_json(payload))

    def kinds(self, node: str | None = None) -> list[str]:
        with self._lock:
            return [e.kind.value for e in self.events if node is None or e.node == node]

    def of(self, kind: str) -> list[NodeEvent]:
        with self._lock:
            return [e for e in self.events if e.kind.value == kind]

    def unique(self) -> list[NodeEvent]:
        """Events deduplicated by id, first arrival kept, arrival order."""
        seen, out = set(), []
        with self._lock:
            for e in self.events:
                if e.id not in seen:
                    seen.add(e.id)
                    out.append(e)
        return out

    def __enter__(self) -> "EventListener":
        self.bus.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bus.stop()
