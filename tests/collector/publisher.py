"""A node-like publisher for the collector's tests: QoS 1 events with unique ids, confirmed by the broker."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from station.contract import EventKind, NodeEvent, topics

SITE, NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"
_runs = itertools.count()


class EventPublisher:
    """Publishes motion events of one node, each with its own id, seq and microsecond-distinct ts."""

    def __init__(self, port: int, client_id: str, start: datetime | None = None):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.max_inflight_messages_set(200)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.start = start or datetime.now(timezone.utc).replace(microsecond=0)
        self.run = f"{next(_runs)}{client_id[-6:]}"
        self.sent = 0
        self.topic = topics.node_events(SITE, NODE)

    def payload(self, seq: int) -> bytes:
        return NodeEvent(id=f"t{self.run}-{seq:08d}", seq=seq, node=NODE,
                         kind=EventKind.motion, space=SPACE,
                         ts=self.start + timedelta(microseconds=seq)).to_json()

    def publish(self, n: int) -> None:
        """Publish ``n`` events and wait until the broker has acknowledged every one."""
        infos = [self.client.publish(self.topic, self.payload(self.sent + k), qos=1) for k in range(n)]
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published()
        self.sent += n

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def redelivered(collector_factory, publisher: "EventPublisher", channels=("nodes/events", "nodes/telemetry"),
                timeout: float = 10.0) -> int:
    """How many messages of ``channels`` the broker hands back to a new collector on the same
    session (0 when everything was acknowledged). A marker event, stored last, says when
    everything redelivered has arrived; the marker itself is not counted."""
    from tests.conftest import wait_until

    with collector_factory() as again:
        before = again.stored_messages
        publisher.publish(1)
        wait_until(lambda: again.received["nodes/events"] >= 1 and again.stored_messages > before, timeout=timeout)
        import time

        time.sleep(0.3)
        return sum(again.received[c] for c in channels) + sum(
            n for (c, _), n in again.rejected.items() if c in channels) - 1
