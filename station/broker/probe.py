"""A small synchronous MQTT v5 client to test what the broker allows: connect, publish, subscribe.

Used by ``station broker check`` and by the tests. Every call waits for the broker's
answer (CONNACK, PUBACK, SUBACK) and returns its reason code, so a refusal shows as
Mosquitto reports it (``Not authorized``, 0x87)::

    with Probe("ls-porte-guichet", password, port=8883, ca=ca) as p:
        p.publish("station/v1/la-station/doors/porte-guichet/grants", b"x")  # → 0x87
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode


@dataclass(frozen=True)
class Answer:
    """A broker's answer: reason code value and name; ``None`` when nothing came back in time."""

    code: int | None
    name: str

    @property
    def refused(self) -> bool:
        return self.code is None or self.code >= 0x80

    def __str__(self) -> str:
        return self.name if self.code is None else f"{self.name} (0x{self.code:02x})"


NO_ANSWER = Answer(None, "no answer")


def _answer(rc) -> Answer:
    if isinstance(rc, ReasonCode):
        return Answer(rc.value, rc.getName())
    if isinstance(rc, list) and rc:
        return _answer(rc[0])
    return Answer(int(rc), mqtt.error_string(int(rc)) if isinstance(rc, int) else str(rc))


class Probe:
    """One MQTT v5 connection; messages received are kept in ``received`` as (topic, payload)."""

    def __init__(self, username: str | None, password: str | None, *, host: str = "127.0.0.1", port: int,
                 ca: Path | str | None = None, client_id: str = "", timeout: float = 5.0,
                 verify_hostname: bool = True, clean_start: bool = True, session_expiry_s: int = 0):
        self.timeout = timeout
        self.clean_start, self.session_expiry_s = clean_start, session_expiry_s
        self.host, self.port = host, port
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=MQTTProtocolVersion.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca:
            self.client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
            self.client.tls_insecure_set(not verify_hostname)
        self.received: list[tuple[str, bytes]] = []
        self.connack: Answer = NO_ANSWER
        self.disconnect_reason: Answer | None = None
        self._connected = threading.Event()
        self._disconnected = threading.Event()
        self._acks: dict[int, tuple[threading.Event, list]] = {}
        self._lock = threading.Lock()
        c = self.client
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = lambda cl, ud, mid, rc, props: self._ack(mid, rc)
        c.on_subscribe = lambda cl, ud, mid, rcs, props: self._ack(mid, rcs)
        c.on_message = lambda cl, ud, msg: self.received.append((msg.topic, msg.payload))

    # -- callbacks ------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, rc, props) -> None:
        self.connack = _answer(rc)
        self._disconnected.clear()
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, rc, props) -> None:
        self.disconnect_reason = _answer(rc)
        self._disconnected.set()
        self._connected.set()

    def _slot(self, mid: int) -> tuple[threading.Event, list]:
        with self._lock:
            return self._acks.setdefault(mid, (threading.Event(), []))

    def _ack(self, mid: int, rc) -> None:
        event, box = self._slot(mid)
        box.append(_answer(rc))
        event.set()

    def _wait(self, mid: int) -> Answer:
        event, box = self._slot(mid)
        return box[0] if event.wait(self.timeout) and box else NO_ANSWER

    # -- actions --------------------------------------------------------------------------
    def connect(self) -> Answer:
        """Connect and wait for the CONNACK (or a TLS / socket failure, reported as its error)."""
        try:
            props = None
            if self.session_expiry_s:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.session_expiry_s
            self.client.reconnect_delay_set(min_delay=1, max_delay=2)
            self.client.connect(self.host, self.port, keepalive=30, clean_start=self.clean_start,
                                properties=props)
        except (OSError, ssl.SSLError) as exc:
            self.connack = Answer(None, f"{type(exc).__name__}: {exc}")
            return self.connack
        self.client.loop_start()
        if not self._connected.wait(self.timeout):
            self.connack = Answer(None, "no CONNACK")
        return self.connack

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> Answer:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return Answer(None, f"not sent: {mqtt.error_string(info.rc)}")
        if qos == 0:
            return Answer(0, "sent (QoS 0, no answer)")
        return self._wait(info.mid)

    def subscribe(self, topic: str, *, qos: int = 1) -> Answer:
        rc, mid = self.client.subscribe(topic, qos)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return Answer(None, f"not sent: {mqtt.error_string(rc)}")
        return self._wait(mid)

    def wait_disconnected(self, timeout: float) -> bool:
        return self._disconnected.wait(timeout)

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    def __enter__(self) -> "Probe":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
