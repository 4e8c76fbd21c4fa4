"""A subscribed MQTT v5 client that keeps every message it gets (stock paho or the
collector's own client class), for tests that compare what two clients saw."""

from __future__ import annotations

import threading

from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class Inbox:

    def __init__(self, client_class, port: int, client_id: str, pattern: str = "t/#", *, qos: int = 1,
                 clean_start: bool = True, manual_ack: bool = False, session_expiry_s: int | None = 600):
        self.messages: list = []
        self.arrived = threading.Condition()
        self.client = client_class(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=MQTTProtocolVersion.MQTTv5, manual_ack=manual_ack)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(pattern, qos=qos)
        props = None
        if session_expiry_s is not None:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry_s
        self.client.connect("127.0.0.1", port, clean_start=clean_start, properties=props)
        self.client.loop_start()
        assert subscribed.wait(10), "no SUBACK"

    def _on_message(self, client, userdata, msg):
        with self.arrived:
            self.messages.append(msg)
            self.arrived.notify_all()

    def wait_for(self, n: int, timeout: float = 30.0) -> list:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= n, timeout), \
                f"{len(self.messages)} of {n} messages"
        return self.messages

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
