"""One messaging interface (connect / publish / subscribe / stop) with paho-mqtt 2 behind it.

Every component talks MQTT v5 through :class:`MqttBus`: it reconnects with backoff,
re-subscribes after a reconnect, sets a retained last will when asked, and dispatches
messages to handlers by subscription pattern. Handlers get ``(topic, payload bytes)``;
validating payloads is the receiver's job (see ``station.contract.decode``).
"""

from __future__ import annotations

import logging
import struct
import threading
from typing import Callable

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
from pydantic import BaseModel

from .settings import MqttSettings

log = logging.getLogger(__name__)
Handler = Callable[[str, bytes], None]
_PUBACK = struct.Struct("!BBH")  # PUBACK: fixed header, remaining length 2, packet id


class MqttBus:
    """A paho-mqtt 2 client (MQTT v5) with handlers per subscription.

    ``will`` is ``(topic, payload, retain)``; ``on_connect`` runs after every (re)connect,
    once the subscriptions are renewed, on paho's network thread. ``throughput`` (for
    heavy consumers such as the collector) uses
    :class:`station.mqtt_throughput.ThroughputClient`: buffered reads, a lean decoder
    for PUBLISH packets without properties, cached routes.
    """

    def __init__(
        self,
        client_id: str,
        settings: MqttSettings,
        *,
        will: tuple[str, bytes, bool] | None = None,
        on_connect: Callable[[], None] | None = None,
        clean_start: bool = True,
        session_expiry_s: int | None = None,
        manual_ack: bool = False,
        receive_maximum: int | None = None,
        throughput: bool = False,
    ):
        self.client_id = client_id
        self.settings = settings
        self._subs: dict[str, tuple[int, Handler]] = {}
        self._on_connect_cb = on_connect
        self._clean_start = clean_start
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        self.manual_ack = manual_ack
        self.connected = threading.Event()
        #: Whether the broker kept this client's session at the last connect (MQTT v5
        #: CONNACK): with a persistent session, queued messages follow.
        self.session_present = False
        self.subscribed = threading.Event()  # every subscription of the last connect acknowledged
        self._pending_subs: set[int] = set()
        self.unrouted = 0  # messages that matched no subscription of this bus (acknowledged, dropped)
        self._stopping = False
        client_class = mqtt.Client
        if throughput:
            from . import mqtt_throughput

            if mqtt_throughput.supported():
                client_class = mqtt_throughput.ThroughputClient
            else:
                log.warning("%s: this paho-mqtt (%s) lacks what the throughput client builds on; "
                            "using the stock client", client_id, paho.mqtt.__version__)
        self.client = client_class(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=manual_ack,
        )
        if settings.username:
            self.client.username_pw_set(settings.username, settings.secret())
        if settings.tls_ca:
            self.client.tls_set(ca_certs=str(settings.tls_ca))
        if will:
            self.client.will_set(will[0], will[1], qos=1, retain=will[2])
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._handle_connect
        self.client.on_disconnect = self._handle_disconnect
        self.client.on_subscribe = self._handle_subscribe
        self.client.on_message = self._handle_unrouted

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait: float | None = 10.0) -> "MqttBus":
        """Connect in the background; with ``wait``, block until connected or raise."""
        props = None
        if self._session_expiry_s is not None or self._receive_maximum is not None:
            props = Properties(PacketTypes.CONNECT)
        if self._session_expiry_s is not None:
            props.SessionExpiryInterval = self._session_expiry_s
        if self._receive_maximum is not None:
            props.ReceiveMaximum = self._receive_maximum
        self.client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s,
                                  clean_start=self._clean_start, properties=props)
        self.client.loop_start()
        if wait and not (self.connected.wait(wait) and self.subscribed.wait(wait)):
            self.stop()
            raise ConnectionError(f"{self.client_id}: cannot connect to {self.settings.describe()} in {wait:.0f} s")
        return self

    def stop(self) -> None:
        self._stopping = True
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self.connected.clear()

    # -- messaging ----------------------------------------------------------------------
    @property
    def subscriptions(self) -> dict[str, int]:
        """What this bus subscribes to (renewed on every connect): topic filter → QoS."""
        return {pattern: qos for pattern, (qos, _) in self._subs.items()}

    def subscribe(self, pattern: str, handler: Handler, qos: int = 1, *, raw: bool = False) -> None:
        """Route messages matching ``pattern`` to ``handler(topic, payload)``.

        With ``raw=True`` the handler gets paho's message itself and, under ``manual_ack``,
        must call :meth:`ack` once what it carries is stored; otherwise the bus
        acknowledges after the handler returns.
        """
        self._subs[pattern] = (qos, handler)
        self.client.message_callback_add(pattern, self._wrap(handler, raw))
        if self.connected.is_set():
            self.client.subscribe(pattern, qos)

    def publish(self, topic: str, message: BaseModel | bytes, *, qos: int = 1, retain: bool = False):
        payload = message if isinstance(message, bytes) else message.model_dump_json().encode()
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def ack(self, message: mqtt.MQTTMessage) -> None:
        """Acknowledge a message received under ``manual_ack`` (any thread)."""
        if self.manual_ack and message.qos > 0:
            self.client.ack(message.mid, message.qos)

    def ack_many(self, messages) -> None:
        """Acknowledge many messages at once (any thread): one write, one wake-up.

        ``client.ack`` queues one 4-byte PUBACK per message, each with a wake-up byte on
        paho's socket pair and its own ``send``; here the PUBACKs of QoS 1 messages go
        out as one buffer (what a broker reads is the same sequence of packets).
        """
        if not self.manual_ack:
            return
        messages = list(messages)
        pubacks, others = [], []
        for message in messages:
            if message.qos == 1:
                pubacks.append(_PUBACK.pack(0x40, 2, message.mid))
            elif message.qos == 2:
                others.append(message)
        if pubacks:
            queue_packet = getattr(self.client, "_packet_queue", None)
            if queue_packet is None:  # another paho: one by one
                for message in messages:
                    if message.qos == 1:
                        self.client.ack(message.mid, 1)
            else:
                queue_packet(0x40, b"".join(pubacks), 0, 1)
        for message in others:
            self.client.ack(message.mid, message.qos)

    # -- paho callbacks -----------------------------------------------------------------
    def _wrap(self, handler, raw: bool = False):
        def on_message(client, userdata, msg):
            try:
                if raw:
                    handler(msg)
                else:
                    handler(msg.topic, msg.payload)
            except Exception:  # a handler bug must never kill the network loop
                log.exception("%s: handler failed on %s", self.client_id, msg.topic)
            finally:
                if self.manual_ack and not raw:
                    self.ack(msg)
        return on_message

    def _handle_unrouted(self, client, userdata, msg) -> None:
        """A message no handler takes: acknowledged all the same. A persistent session keeps
        every subscription it ever made (an older version's, a debugging ``#``); left
        unacknowledged, such messages fill the broker's in-flight window and nothing
        reaches this client again."""
        self.unrouted += 1
        if self.manual_ack:
            self.ack(msg)
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # not UTF-8 (paho routes it here): raising would end paho's loop
            topic = "(a topic that is not UTF-8)"
        log.debug("%s: no handler for %s", self.client_id, topic)

    def _handle_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("%s: broker refused the connection: %s", self.client_id, reason_code)
            return
        self.subscribed.clear()
        self.session_present = bool(getattr(flags, "session_present", False))
        pending = {client.subscribe(pattern, qos)[1] for pattern, (qos, _) in self._subs.items()}
        self._pending_subs = pending
        if not pending:
            self.subscribed.set()
        self.connected.set()
        log.info("%s: connected to %s", self.client_id, self.settings.describe())
        if self._on_connect_cb:
            try:
                self._on_connect_cb()
            except Exception:
                log.exception("%s: on_connect hook failed", self.client_id)

    def _handle_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._pending_subs.discard(mid)
        if not self._pending_subs:
            self.subscribed.set()

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._stopping:
            log.warning("%s: disconnected (%s); reconnecting", self.client_id, reason_code)
